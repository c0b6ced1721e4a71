# tools/totp-admin's audit records: reset, revoke, unlock, unlock-client
# and invite each send one JSON object to syslog, done or failed, naming
# the operator; status, list and clients none.  syslog here is a UDP
# socket of this test's (TOTP_ADMIN_SYSLOG, --syslog-server), read with a
# timeout; each record is parsed strictly (JSON::PP) and checked key by
# key.  Names are bytes: quotes, backslashes, UTF-8 and bytes that are no
# UTF-8.  The invite link and the Redis password never reach syslog; a
# syslog out of reach costs a warning, not the command.  Against a real
# Redis; nginx is not run.

use strict;
use warnings;

use Cwd qw(abs_path);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();
use Time::Local qw(timegm);

use TotpTest;
use TotpAdmin qw(slurp);
use TotpGate qw(user_key);


# the tool, like redis-cli, would send a password found here
delete $ENV{REDISCLI_AUTH};

# nginx never runs here: any existing file will do as the module
my $t = TotpTest->new(module => abs_path(__FILE__));
my $dir = $t->dir;

my $r = $t->redis;

# syslog: the records of every run but where a test says otherwise
my $sink = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'udp')
    or die "cannot bind a UDP socket: $!\n";
my $SYSLOG = '127.0.0.1:' . $sink->sockport;
my $select = IO::Select->new($sink);

$ENV{TOTP_ADMIN_SYSLOG} = $SYSLOG;

# seconds a record may take to come: the tool has exited by then, so it
# is there already, unless something is badly wrong
my $WAIT = 10;

my $JSON = JSON::PP->new->utf8;

my @KEYS = qw(time event user client client_key realm server location
              request_id user_agent outcome reason operator);

my $HOST = (POSIX::uname())[1];

sub admin {
    return TotpAdmin::admin($dir, @_);
}

# the tool against the test's Redis
sub on {
    return admin('--redis', $r->addr, @_);
}

# Who the tool should name: what sudo says, else the login, else the uid.
sub operator {
    return $ENV{SUDO_USER} // getlogin() // scalar getpwuid($<);
}

# An enrolled user, with a lock if %o says: fail => N failures, locked.
sub enroll {
    my ($name, %o) = @_;

    my $k = user_key($name, realm => $o{realm});

    $r->cli('HSET', $k, secret => 'AAEC', algorithm => 'sha1', digits => 6,
            period => 30, epoch => 'e1', last => 0, created => 1700000000);
    $r->cli('HSET', "$k:failures", n => $o{fail}, locked => 1)
        if $o{fail};
    $r->cli('EXPIRE', "$k:failures", 900) if $o{fail};
    $r->cli('HSET', "$k:sessions", 's:aa', (time + 60) . ' -')
        if $o{sessions};
}

# The messages that came, waiting up to $WAIT s for the first: the
# empty datagram with which Sys::Syslog sees that someone listens left
# out.  The tool has exited, so what it sent is there.
sub messages {
    my @got;

    while (!@got && $select->can_read($WAIT)) {
        while ($select->can_read(0)) {
            defined $sink->recv(my $buf, 65536) or last;
            push @got, $buf if length $buf;
        }
    }

    return @got;
}

# The keys of a flat JSON object of strings and nulls, in their order;
# () unless it is one.
sub keys_in_order {
    my ($json) = @_;

    my @keys;

    return () unless $json =~ /\G\{/gc;

    while ($json =~ /\G"([a-z_]+)":(?:"(?:[^"\\]|\\.)*"|null)([,}])/gcs) {
        push @keys, $1;
        return pos($json) == length $json ? @keys : () if $2 eq '}';
    }

    return ();
}

# The one record a run sent: its syslog header checked and cut, the JSON
# parsed strictly.  Returns (the record, its JSON as sent).
sub record {
    my ($what) = @_;

    my @got = messages();
    is scalar @got, 1, "$what: one message" or diag explain \@got;

    my ($head, $json) = ($got[0] // '') =~ /\A([^{]*)(\{.*)\z/s;

    # authpriv (10) * 8 + notice (5); no line end, no NUL after the JSON
    like $head // '', qr/\A<85>[A-Z][a-z]{2}[ ][ \d]\d[ ]\d\d:\d\d:\d\d
                         [ ]totp-admin\[\d+\]:[ ]\z/x,
        "$what: authpriv.notice, ident totp-admin";

    my $rec = eval { $JSON->decode($json // '') };
    is ref $rec, 'HASH', "$what: a JSON object, as a strict parser reads it"
        or diag $@, $got[0] // 'no message';
    is_deeply [keys_in_order($json // '')], \@KEYS,
        "$what: one line, the keys in their order, strings and nulls";

    return ($rec // {}, $json // '');
}

# Checks every key of the record; %want: those that differ from a
# success of no client, no realm, no reason, by operator(), a qr// for a
# value only partly known.  time: ISO 8601 UTC with ms, within the run.
sub record_is {
    my ($rec, $before, $after, $what, %want) = @_;

    my %rec = %$rec;
    my $time = delete $rec{time};

    for my $key (grep { ref $want{$_} eq 'Regexp' } keys %want) {
        like $rec{$key}, $want{$key}, "$what: $key";
        $rec{$key} = $want{$key};
    }

    my ($y, $mo, $d, $h, $mi, $s) = ($time // '') =~
        /\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z\z/;
    ok defined $s, "$what: time, ISO 8601 UTC with milliseconds"
        or diag $time // 'none';
    my $at = defined $s ? timegm($s, $mi, $h, $d, $mo - 1, $y) : -1;
    ok $at >= int $before && $at <= $after, "$what: time, of the run"
        or diag "$time not within $before .. $after";

    is_deeply \%rec, { event => undef, user => undef, client => undef,
                       client_key => undef, realm => undef, server => $HOST,
                       location => undef, request_id => undef,
                       user_agent => 'totp-admin', outcome => 'success',
                       reason => undef, operator => operator(), %want },
        "$what: every key";
}

# Runs the tool and checks the one record it sent; returns (stdout,
# stderr, exit status, JSON as sent).
sub recorded {
    my ($args, $what, %want) = @_;

    my $before = Time::HiRes::time();
    my ($out, $err, $rc) = on(@$args);
    my $after = Time::HiRes::time();

    my ($rec, $json) = record($what);
    record_is($rec, $before, $after, $what, %want);

    return ($out, $err, $rc, $json);
}

subtest 'each command: one record' => sub {
    $r->cli('FLUSHALL');

    enroll($_, sessions => 1) for qw(alice bob);
    enroll('carol', fail => 3);
    $r->cli('HSET', 'totp:ip:{2001:db8:1:2::/64}', n => 20, locked => 1);
    $r->cli('EXPIRE', 'totp:ip:{2001:db8:1:2::/64}', 600);

    my ($out, $err, $rc) = recorded(['reset', 'alice'], 'reset',
                                    event => 'reset', user => 'alice');
    is $rc, 0, 'reset: exit 0';
    is $err, '', 'reset: nothing on stderr';
    like $out, qr/^reset alice: enrollment removed/, 'reset: done';
    is $r->cli('EXISTS', user_key('alice')), 0, 'reset: alice gone';

    ($out, $err, $rc) = recorded(['revoke', 'bob'], 'revoke',
                                 event => 'revoked', user => 'bob');
    is $rc, 0, 'revoke: exit 0';
    like $out, qr/^revoke bob: 1 session and 0 trusted browsers ended/,
        'revoke: done';

    # unlock: the reason is what it lifted, as it says on stdout
    ($out, $err, $rc) = recorded(
        ['unlock', 'carol'], 'unlock', event => 'unlocked', user => 'carol',
        reason => 'lockout lifted (user lock; 3 failures cleared)');
    is $rc, 0, 'unlock: exit 0';
    is $out, "unlock carol: lockout lifted (user lock; 3 failures"
             . " cleared)\n", 'unlock: stdout says the same';

    recorded(['unlock', 'carol'], 'unlock again', event => 'unlocked',
             user => 'carol', reason => 'was not locked');

    # unlock-client: the client's key as the module writes it, no user
    ($out, $err, $rc) = recorded(
        ['unlock-client', '2001:db8:1:2:abcd::7'], 'unlock-client',
        event => 'unlocked', client_key => '2001:db8:1:2::/64',
        reason => 'lifted (client lock; 20 failures cleared)');
    is $rc, 0, 'unlock-client: exit 0';
    is $out, "unlock-client 2001:db8:1:2::/64: lifted (client lock; 20"
             . " failures cleared)\n", 'unlock-client: stdout says the same';

    recorded(['unlock-client', '192.0.2.7'], 'unlock-client, not locked',
             event => 'unlocked', client_key => '192.0.2.7',
             reason => 'was not locked');

    # --realm
    enroll('dave', realm => 'ops');
    recorded(['--realm', 'ops', 'reset', 'dave'], 'reset in a realm',
             event => 'reset', user => 'dave', realm => 'ops');
    is $r->cli('EXISTS', user_key('dave', realm => 'ops')), 0,
        'reset in a realm: done';
};

subtest 'invite: the link is not in the record' => sub {
    $r->cli('FLUSHALL');

    my ($out, $err, $rc, $json) = recorded(
        ['--url', 'https://console.example/_totp/', 'invite', 'erin'],
        'invite', event => 'invited', user => 'erin');
    is $rc, 0, 'exit 0';

    my ($link, $token, $secret) =
        $out =~ m{^(https://console\.example/_totp/invite\?t=(\S+?)\.(\S+))$}m;
    ok defined $secret && length $secret >= 43, 'the link on stdout'
        or diag $out;
    unlike $json, qr/\Q$secret\E/, 'its secret is not in the record';
    unlike $json, qr/\Q$token.\E|invite\?|console\.example/,
        'nor the link, nor the URL';
};

subtest 'status, list and clients: no record' => sub {
    $r->cli('FLUSHALL');

    enroll('frank', fail => 2);
    enroll('marker');

    is((on('status', 'frank'))[2], 0, 'status: exit 0');
    is((on('list'))[2], 0, 'list: exit 0');
    is((on('clients'))[2], 0, 'clients: exit 0');

    # refused: nothing done, nothing recorded
    is((on('reset', "fr\nank"))[2], 2, 'a name with a line break: exit 2');
    is((on('reset', "fr\tank"))[2], 2, 'a name with a tab: exit 2');

    # had any of them sent one, it would come first
    recorded(['reset', 'marker'], 'the reset after them',
                         event => 'reset', user => 'marker');
};

subtest 'names and operators are bytes' => sub {
    $r->cli('FLUSHALL');

    # '"', '\', what printf would read, UTF-8 of 2 and 4 bytes, then bytes
    # that are no UTF-8: a lone \xff, a cut 3-byte character, a surrogate,
    # an overlong "/"
    my $name = qq{q"b\\s %s%m x\xffz\xc3\xab\xf0\x9f\x94\x91\xe2\x82}
               . qq{\xed\xa0\x80\xc0\xaf};
    my $chars = qq{q"b\\s %s%m x\x{fffd}z\x{eb}\x{1f511}} . "\x{fffd}" x 7;

    enroll($name);

    my (undef, undef, $rc, $json) = recorded(['reset', $name], 'odd name',
                                             event => 'reset',
                                             user => $chars);
    is $rc, 0, 'odd name: exit 0';
    is $r->cli('EXISTS', user_key($name)), 0, 'odd name: reset';

    like $json, qr/"user":"q\\"b\\\\s %s%m x\\ufffdz\xc3\xab\xf0\x9f\x94\x91/,
        'odd name: quote and backslash escaped, UTF-8 as it is';
    like $json, qr/(?:\\ufffd){7}","client"/,
        'odd name: each byte of what is no UTF-8 is \\ufffd';

    # names refuse control characters; the operator may hold any
    {
        local $ENV{SUDO_USER} = qq{op\n\t"\\\x01\x7f\xff\xc3\xa9};

        my (undef, undef, undef, $json) =
            recorded(['reset', 'nobody'], 'SUDO_USER: the operator',
                     event => 'reset', user => 'nobody',
                     operator => qq{op\n\t"\\\x01\x7f\x{fffd}\x{e9}});
        like $json, qr/"operator":"op\\u000a\\u0009\\"\\\\\\u0001\\u007f
                       \\ufffd\xc3\xa9"}\z/x,
            'operator: control characters and DEL as \u00XX';
    }

    {
        local $ENV{SUDO_USER};
        delete $ENV{SUDO_USER};

        my $who = getlogin() // getpwuid($<);
        recorded(['reset', 'nobody'], 'no SUDO_USER: login, else uid',
                 event => 'reset', user => 'nobody', operator => $who);
    }
};

subtest 'failures are recorded' => sub {
    $r->cli('FLUSHALL');

    # Redis out of reach: nothing done, recorded with why, exit 1
    my $port = $t->port('closed');
    my $why = "cannot connect to Redis at 127.0.0.1:$port: Connection"
              . " refused";
    my ($out, $err, $rc) = recorded(
        ['--redis', "127.0.0.1:$port", 'reset', 'alice'],
        'Redis out of reach', event => 'reset', user => 'alice',
        outcome => 'failure', reason => $why);
    is $rc, 1, 'Redis out of reach: exit 1';
    is $err, "totp-admin: $why\n", 'Redis out of reach: says so';

    # Redis refuses the command
    $r->cli('SET', user_key('odd', suffix => ':failures'), 3);
    ($out, $err, $rc) = recorded(
        ['unlock', 'odd'], 'WRONGTYPE', event => 'unlocked', user => 'odd',
        outcome => 'failure',
        reason => qr/\ARedis at \Q${\ $r->addr }\E: WRONGTYPE Operation/);
    is $rc, 1, 'WRONGTYPE: exit 1';
    like $err, qr/\Atotp-admin: Redis at .*: WRONGTYPE .*\n\z/,
        'WRONGTYPE: Redis says so';

    # invite refuses an enrolled user
    enroll('gina');
    $why = 'gina is enrolled already; "reset" first to let them enroll again';
    ($out, $err, $rc) = recorded(['invite', 'gina'], 'invite refused',
                                 event => 'invited', user => 'gina',
                                 outcome => 'failure', reason => $why);
    is $rc, 1, 'invite refused: exit 1';
    is $err, "totp-admin: $why\n", 'invite refused: says why';
    is $out, '', 'invite refused: no link';

    # the password, right or wrong, never goes to syslog
    my $password = 'Pa55 "w0rd" secret';
    my $p = $t->redis(name => 'redis-pw', password => $password);
    my $right = $t->write_file('pw-right', "$password\n");
    my $wrong = $t->write_file('pw-wrong', "wr0ng-secret\n");
    my $json;

    enroll('alice');
    $why = 'Redis at ' . $p->addr . " refused the password from \"$wrong\":"
           . ' the password is wrong';
    ($out, $err, $rc, $json) = recorded(
        ['--redis', $p->addr, '--password-file', $wrong, 'reset', 'alice'],
        'wrong password', event => 'reset', user => 'alice',
        outcome => 'failure', reason => $why);
    is $rc, 1, 'wrong password: exit 1';
    unlike $json, qr/wr0ng|Pa55|w0rd/, 'wrong password: not in the record';

    ($out, $err, $rc, $json) = recorded(
        ['--redis', $p->addr, '--password-file', $right, 'reset', 'alice'],
        'right password', event => 'reset', user => 'alice');
    is $rc, 0, 'right password: exit 0';
    unlike $json, qr/Pa55|w0rd/, 'right password: not in the record';

    $p->stop;
};

subtest 'syslog out of reach: done all the same, one warning' => sub {
    my $WARNING = qr/totp-admin: warning: could not write to syslog/;

    $r->cli('FLUSHALL');

    # the option wins over the environment
    {
        local $ENV{TOTP_ADMIN_SYSLOG} = '255.255.255.255:514';

        enroll('alice');
        my ($out, $err, $rc) = on('--syslog-server', $SYSLOG, 'reset',
                                  'alice');
        is $err, '', '--syslog-server over TOTP_ADMIN_SYSLOG: no warning';
        my ($rec) = record('--syslog-server over TOTP_ADMIN_SYSLOG');
        is $rec->{user}, 'alice', '... the record came';
    }

    # a broadcast address a UDP socket may not send to; a host name that
    # no resolver takes (a label of 64 bytes: no query is even sent)
    for (['broadcast', '255.255.255.255:514'],
         ['unresolvable', 'a' x 64 . '.example:514'])
    {
        my ($what, $to) = @$_;

        local $ENV{TOTP_ADMIN_SYSLOG} = $to;

        enroll('alice', fail => 2);
        my ($out, $err, $rc) = on('unlock', 'alice');
        is $rc, 0, "$what: exit 0";
        is $out, "unlock alice: lockout lifted (user lock; 2 failures"
                 . " cleared)\n", "$what: done";
        is $r->cli('EXISTS', user_key('alice', suffix => ':failures')), 0,
            "$what: the lock is gone";
        like $err, qr/\A$WARNING: \Q$to\E: .+\n\z/, "$what: one warning";

        ($out, $err, $rc) = on('--redis', '127.0.0.1:' . $t->port('closed'),
                               'reset', 'alice');
        is $rc, 1, "$what, Redis out of reach: exit 1";
        like $err, qr/\Atotp-admin: cannot connect to .*\n$WARNING: .+\n\z/,
            "$what, Redis out of reach: the error, then the warning";
    }

    SKIP: {
        skip '/dev/log is there: no test writes to it', 3 if -e '/dev/log';

        local $ENV{TOTP_ADMIN_SYSLOG};
        delete $ENV{TOTP_ADMIN_SYSLOG};

        enroll('alice');
        my ($out, $err, $rc) = on('reset', 'alice');
        is $rc, 0, 'no /dev/log: exit 0';
        is $r->cli('EXISTS', user_key('alice')), 0, 'no /dev/log: done';
        like $err, qr{\A$WARNING: /dev/log: .+\n\z},
            'no /dev/log: one warning';
    }

    # an address that is no HOST:PORT: a usage error, before anything
    enroll('alice');

    for my $bad ('loghost', 'loghost:', ':514', 'loghost:0', 'loghost:65536',
                 '[::1]:514', 'log host:514') {
        local $ENV{TOTP_ADMIN_SYSLOG} = $bad;

        my ($out, $err, $rc) = on('reset', 'alice');
        is $rc, 2, "TOTP_ADMIN_SYSLOG \"$bad\": exit 2";
        like $err, qr/^totp-admin: TOTP_ADMIN_SYSLOG "\Q$bad\E": expected/,
            "TOTP_ADMIN_SYSLOG \"$bad\": says why";
    }

    is $r->cli('EXISTS', user_key('alice')), 1, 'nothing done';

    # and nothing sent: the next record is the next command's
    recorded(['reset', 'alice'], 'after the usage errors', event => 'reset',
             user => 'alice');
};

$t->done;
