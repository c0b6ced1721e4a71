# tools/totp-admin: status, reset, revoke, unlock, invite and list against
# real Redis
# servers (TCP, unix socket, requirepass), with the keys laid out as the
# docs/redis.md says; user names that a shell or a glob would mangle; --prefix,
# --db, --password-file; usage and Redis errors.  A fake redis-cli first in
# PATH shows what the tool hands redis-cli: its argv and REDISCLI_AUTH.
# nginx is not run.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Digest::SHA ();
use MIME::Base64 ();
use POSIX qw(strftime);
use Test::More;

use TotpTest;
use TotpGate qw(user_key);

my $TOOL = abs_path(dirname(abs_path(__FILE__)) . '/../tools/totp-admin');

# the tool, like redis-cli, would send a password found here
delete $ENV{REDISCLI_AUTH};

# nginx never runs here: any existing file will do as the module
my $t = TotpTest->new(module => abs_path(__FILE__));
my $dir = $t->dir;

my $r = $t->redis;

# 2023-11-14 22:13:20 UTC
my $CREATED = 1700000000;
my $CREATED_UTC = '2023-11-14 22:13:20 UTC';
my $SECRET = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp';

# the names the brief warns about, bytes as they come (zoë is UTF-8)
my @TRICKY = ("o'neil", 'a b', 'x}y', '$HOME', "zo\xc3\xab", '--help',
              '-n', 'a"b\\c', '*', '[x]');

# Runs the tool; returns (stdout, stderr, exit status).
sub admin {
    my (@args) = @_;

    my ($out, $err) = ("$dir/admin.out", "$dir/admin.err");

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        { exec { $TOOL } $TOOL, @args };
        POSIX::_exit(127);
    }

    waitpid $pid, 0;
    my $status = $?;

    die "totp-admin killed by signal " . ($status & 127) . "\n"
        if $status & 127;

    return (slurp($out), slurp($err), $status >> 8);
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar(<$fh>) // '';
}

# the tool against $redis (default: the TCP one)
sub on {
    my ($redis, @args) = @_;
    return admin('--redis', $redis->addr, @args);
}

# A user as the module leaves it; %o: which other keys, in db 0 by default.
sub enroll {
    my ($redis, $name, %o) = @_;

    my $p = $o{prefix} // 'totp:';
    my @n = defined $o{db} ? ('-n', $o{db}) : ();
    my $k = user_key($name, prefix => $p);

    $redis->cli(@n, 'HSET', $k, secret => $SECRET, algorithm => 'sha256',
                digits => 8, period => 60, epoch => 'q1w2e3', last => 0,
                created => $CREATED);
    $redis->cli(@n, 'SET', "$k:enroll", 'pending', 'EX', 600)
        if $o{enroll};
    $redis->cli(@n, 'SADD', "$k:recovery", map { "h$_" } 1 .. $o{recovery})
        if $o{recovery};
    $redis->cli(@n, 'SET', "$k:fail", $o{fail}, 'EX', 300) if $o{fail};
    $redis->cli(@n, 'SET', "$k:lock", 1, 'EX', 900) if $o{lock};

    # sessions and trusted browsers, as "s:ID" or "t:ID" => seconds left
    $redis->cli(@n, 'HSET', "$k:sessions",
                map { ($_ => (time + $o{sessions}{$_}) . ' -') }
                sort keys %{ $o{sessions} })
        if $o{sessions};
}

# EXISTS of each key, in one round trip
sub exists_keys {
    my ($redis, @keys) = @_;

    my @r = $redis->cli('EVAL', 'local r = {} for i, k in ipairs(KEYS) do'
                        . " r[i] = redis.call('EXISTS', k) end return r",
                        scalar @keys, @keys);

    die "EXISTS: @r\n" if grep { !/^[01]\z/ } @r;
    return @r;
}

sub all_keys {
    my ($name, $p) = @_;
    my $k = user_key($name, prefix => $p);
    return ($k, map { "$k$_" } qw(:enroll :recovery :fail :lock :sessions));
}

# "N s" within [lo, hi]
sub secs_in {
    my ($got, $lo, $hi, $what) = @_;
    ok(defined $got && $got >= $lo && $got <= $hi, $what)
        or diag("got " . ($got // 'nothing') . ", want $lo..$hi");
}

subtest 'status' => sub {
    $r->cli('FLUSHALL');

    enroll($r, "o'neil", enroll => 1, recovery => 3, fail => 4, lock => 1,
           sessions => { 's:aa' => 60, 's:bb' => 60, 's:cc' => -5,
                         't:dd' => 3600 });

    my $before = time;
    my ($out, $err, $rc) = on($r, 'status', "o'neil");
    my $after = time;

    is $rc, 0, 'exit 0';
    is $err, '', 'nothing on stderr';

    my @l = split /\n/, $out;
    is scalar @l, 8, 'eight lines' or diag $out;

    is $l[0], "user: o'neil", 'user';
    is $l[1], "enrolled: yes, since $CREATED_UTC (sha256, 8 digits, 60 s)",
        'enrolled, from the hash';

    my ($enroll) =
        $l[2] =~ /^pending device change: yes, expires in (\d+) s$/;
    secs_in($enroll, 590, 600,
            'pending change (the user is enrolled) with its TTL');

    my ($fails, $window) =
        $l[3] =~ /^failures: (\d+) \(window ends in (\d+) s\)$/;
    is $fails, 4, 'failures counted';
    secs_in($window, 290, 300, 'failure window from the TTL');

    my ($until, $left) = $l[4] =~
        /^locked: yes, until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC \((\d+) s\)$/;
    secs_in($left, 890, 900, 'lockout seconds from the TTL');
    ok defined $until
       && grep({ $until eq strftime('%Y-%m-%d %H:%M:%S', gmtime $_) }
               $before + 885 .. $after + 900), 'lockout end as a UTC time'
        or diag $l[4];

    is $l[5], 'recovery codes left: 3', 'recovery codes counted';
    is $l[6], 'sessions: 2', 'live sessions counted, an expired one not';
    is $l[7], 'trusted browsers: 1', 'trusted browsers counted';

    unlike $out, qr/\Q$SECRET\E|q1w2e3/, 'neither secret nor epoch shown';

    ($out, $err, $rc) = on($r, 'status', 'nobody');
    is $rc, 0, 'unknown user: exit 0';
    is $out, "user: nobody\nenrolled: no\nfailures: 0\nlocked: no\n"
             . "recovery codes left: 0\nsessions: 0\ntrusted browsers: 0\n",
        'unknown user: not enrolled';

    # a first login that has not confirmed its code yet
    $r->cli('SET', 'totp:user:{new}:enroll', 'sealed', 'EX', 600);
    ($out) = on($r, 'status', 'new');
    like $out, qr/^enrolled: no\npending enrollment: yes, expires in \d+ s$/m,
        'pending enrollment without a user record';

    for my $name (@TRICKY) {
        $r->cli('DEL', all_keys($name));
        enroll($r, $name, recovery => 2, fail => 1);
        ($out, $err, $rc) = on($r, 'status', $name);
        like $out, qr/^user:\ \Q$name\E\n
                      enrolled:\ yes,\ since\ \Q$CREATED_UTC\E\ \(sha256,
                      \ 8\ digits,\ 60\ s\)\n
                      failures:\ 1\ \(window\ ends\ in\ \d+\ s\)\n
                      locked:\ no\n
                      recovery\ codes\ left:\ 2\n
                      sessions:\ 0\n
                      trusted\ browsers:\ 0\n\z/x,
            "status of \"$name\"" or diag $err;
    }

    # a key of the wrong type is a Redis error, not a guess
    $r->cli('SET', 'totp:user:{odd}', 'string');
    ($out, $err, $rc) = on($r, 'status', 'odd');
    is $rc, 1, 'wrong type: exit 1';
    like $err, qr/WRONGTYPE/, 'wrong type: Redis says so';
};

subtest 'unlock' => sub {
    $r->cli('FLUSHALL');

    enroll($r, 'a b', recovery => 2, fail => 5, lock => 1);
    enroll($r, 'a', fail => 2, lock => 1);

    my ($out, $err, $rc) = on($r, 'unlock', 'a b');
    is $rc, 0, 'exit 0';
    is $out, "unlock a b: lockout lifted (failure count 5 cleared)\n",
        'lifted';
    is_deeply [exists_keys($r, all_keys('a b'))], [1, 0, 1, 0, 0, 0],
        ':fail and :lock gone, the rest kept';
    is_deeply [exists_keys($r, all_keys('a'))], [1, 0, 0, 1, 1, 0],
        'a user whose name is a prefix of it untouched';

    ($out, $err, $rc) = on($r, 'unlock', 'a b');
    is $rc, 0, 'again: exit 0';
    is $out, "unlock a b: was not locked\n", 'again: was not locked';

    $r->cli('SET', 'totp:user:{a%20b}:fail', 2, 'EX', 300);
    ($out) = on($r, 'unlock', 'a b');
    is $out, "unlock a b: was not locked (failure count 2 cleared)\n",
        'failures only: not locked';
    is $r->cli('EXISTS', 'totp:user:{a%20b}:fail'), 0,
        'failures only: counter gone';

    ($out) = on($r, 'status', 'a b');
    like $out, qr/^failures: 0\nlocked: no$/m, 'status agrees';
};

subtest 'reset' => sub {
    $r->cli('FLUSHALL');

    enroll($r, $_, enroll => 1, recovery => 3, fail => 4, lock => 1,
           sessions => { 's:01' => 60 })
        for @TRICKY, 'x';
    $r->cli('SET', 'totp:ip:{127.0.0.1}:fail', 3, 'EX', 300);

    for my $name (@TRICKY) {
        my ($out, $err, $rc) = on($r, 'reset', $name);
        is $rc, 0, "\"$name\": exit 0";
        is $out, "reset $name: enrollment removed; the next login enrolls"
                 . " again (also removed: pending enrollment, recovery codes,"
                 . " failure counter, lockout, sessions)\n",
            "\"$name\": says so";
        is_deeply [exists_keys($r, all_keys($name))], [0, 0, 0, 0, 0, 0],
            "\"$name\": all six keys gone";

        ($out, $err, $rc) = on($r, 'reset', $name);
        is $out, "reset $name: nothing to remove\n", "\"$name\": then nothing";
    }

    is_deeply [exists_keys($r, all_keys('x'))], [1, 1, 1, 1, 1, 1],
        'user "x" (x}y, x]...) untouched';
    is $r->cli('EXISTS', 'totp:ip:{127.0.0.1}:fail'), 1,
        'per-address counter untouched';

    # leftovers of a user who never enrolled
    $r->cli('SET', 'totp:user:{ghost}:fail', 3, 'EX', 300);
    my ($out, $err, $rc) = on($r, 'reset', 'ghost');
    is $out, "reset ghost: not enrolled; removed failure counter\n",
        'not enrolled: what went';
    is $r->cli('EXISTS', 'totp:user:{ghost}:fail'), 0, 'not enrolled: gone';

    ($out) = on($r, 'list');
    is $out, "x\n", 'list after the resets';
};

subtest 'revoke' => sub {
    $r->cli('FLUSHALL');

    enroll($r, $_, recovery => 2,
           sessions => { 's:aa' => 60, 's:bb' => 60, 's:cc' => -5,
                         't:dd' => 3600 })
        for @TRICKY, 'x';

    for my $name (@TRICKY) {
        my ($out, $err, $rc) = on($r, 'revoke', $name);
        is $rc, 0, "\"$name\": exit 0";
        is $out, "revoke $name: 2 sessions and 1 trusted browser ended;"
                 . " the enrollment stays\n", "\"$name\": says so";
        is_deeply [exists_keys($r, all_keys($name))], [1, 0, 1, 0, 0, 0],
            "\"$name\": the sessions gone, the enrollment and codes kept";

        ($out) = on($r, 'revoke', $name);
        is $out, "revoke $name: 0 sessions and 0 trusted browsers ended;"
                 . " the enrollment stays\n", "\"$name\": then none";
    }

    is $r->cli('HLEN', user_key('x', suffix => ':sessions')), 4,
        'user "x" untouched';

    # a change of device begun by one of the sessions ends with them
    enroll($r, 'y', enroll => 1);
    my ($out) = on($r, 'revoke', 'y');
    is $out, "revoke y: 0 sessions and 0 trusted browsers ended, pending"
             . " device change voided; the enrollment stays\n",
        'a pending change: says so';
    is_deeply [exists_keys($r, all_keys('y'))], [1, 0, 0, 0, 0, 0],
        '... and it is gone, the enrollment kept';
};

# invite: a link of NAME and a secret; Redis keeps its id for a day
subtest 'invite' => sub {
    $r->cli('FLUSHALL');

    my $before = time;
    my ($out, $err, $rc) = on($r, '--url', 'https://console.example/_totp',
                              'invite', "o'neil");
    is $rc, 0, 'exit 0';
    my ($until, $name64, $secret64) = $out =~
        m{\Ainvite o'neil: this link enrolls o'neil once, until (.+ UTC); it needs their password too:\nhttps://console\.example/_totp/invite\?t=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})\n\z}
        or diag $out;
    ok defined $secret64, 'prints the link under --url';
    is MIME::Base64::decode_base64url($name64 // ''), "o'neil",
        'the link names the user';

    my $secret = MIME::Base64::decode_base64url($secret64 // '');
    is length $secret, 32, 'a 32-byte secret';
    my $k = user_key("o'neil", suffix => ':invite');
    is $r->cli('GET', $k),
        substr(unpack('H*', Digest::SHA::hmac_sha256($secret, '')), 0, 32),
        'Redis holds its id only';
    secs_in($r->cli('TTL', $k), 86390, 86400, 'for a day');

    ($out) = on($r, 'status', "o'neil");
    like $out, qr/^invitation: open, expires in \d+ s$/m, 'status shows it';

    ($out) = on($r, 'invite', "o'neil");
    my ($again) = $out =~ /\?t=\S+\.(\S+)\n/;
    isnt $again, $secret64, 'a second link has a new secret';
    like $out, qr/^\(put the URL of the totp_pages location before it/m,
        'without --url: says what to put before it';
    isnt $r->cli('GET', $k),
        substr(unpack('H*', Digest::SHA::hmac_sha256($secret, '')), 0, 32),
        '... and replaces the first';

    enroll($r, 'done');
    ($out, $err, $rc) = on($r, 'invite', 'done');
    is $rc, 1, 'an enrolled user: exit 1';
    like $err, qr/done is enrolled already; "reset" first/, '... says why';
    is $r->cli('EXISTS', user_key('done', suffix => ':invite')), 0,
        '... and invites nobody';

    on($r, 'reset', "o'neil");
    is $r->cli('EXISTS', $k), 0, 'reset removes the invitation';
};

subtest 'list' => sub {
    $r->cli('FLUSHALL');

    enroll($r, $_, recovery => 1, enroll => 1, fail => 1, lock => 1)
        for @TRICKY;

    # not users: other types under the user pattern, other prefixes, db 3
    $r->cli('SET', 'totp:user:{string}', 'x');
    $r->cli('SADD', 'totp:user:{set}', 'x');
    $r->cli('HSET', 'totp:user:{h}:extra', 'x', 1);
    $r->cli('HSET', 'totp:ip:{10.0.0.1}', 'x', 1);
    $r->cli('HSET', 'other:user:{bob}', 'x', 1);
    $r->cli('HSET', 'totpuser:{eve}', 'x', 1);
    enroll($r, 'carol', db => 3);

    # enough users that SCAN takes several rounds at COUNT 1000
    $r->cli('EVAL', "for i = 1, 2500 do redis.call('HSET',"
                    . " 'totp:user:{u' .. i .. '}', 'created', 1) end", 0);

    my @want = sort(@TRICKY, map { "u$_" } 1 .. 2500);

    my ($out, $err, $rc) = on($r, 'list');
    is $rc, 0, 'exit 0';
    is $err, '', 'nothing on stderr';
    is_deeply [split /\n/, $out], \@want,
        'every enrolled user once, sorted, nothing else';
};

subtest '--realm' => sub {
    $r->cli('FLUSHALL');

    # one name in two user bases, and in none
    enroll($r, 'alice');
    enroll($r, 'alice', prefix => 'totp:ops:', fail => 2, lock => 1);
    enroll($r, 'bob', prefix => 'totp:ops:');

    is((on($r, 'list'))[0], "alice\n", 'no realm: alice only');
    is((on($r, '--realm', 'ops', 'list'))[0], "alice\nbob\n",
       'realm ops: its own alice and bob');

    like((on($r, 'status', 'alice'))[0], qr/^locked: no$/m,
         'alice of no realm is not locked');
    like((on($r, '--realm', 'ops', 'status', 'alice'))[0],
         qr/^locked: yes/m, 'alice of realm ops is');

    like((on($r, '--realm', 'ops', 'reset', 'alice'))[0],
         qr/^reset alice: enrollment removed/, 'reset in realm ops');
    is_deeply [exists_keys($r, all_keys('alice', 'totp:ops:'))],
        [0, 0, 0, 0, 0, 0], 'realm ops\'s alice gone';
    is $r->cli('EXISTS', 'totp:user:{alice}'), 1,
        'the other alice untouched';

    my ($out, $err, $rc) = on($r, '--realm', 'a:b', 'list');
    is $rc, 2, 'a realm with ":": usage error';
    like $err, qr/--realm "a:b": 1 to 32 letters/, '... that says why';
    ($out, $err, $rc) = on($r, '--realm', 'r' x 33, 'list');
    is $rc, 2, 'a realm of 33 bytes: usage error';
};

subtest '--prefix' => sub {
    $r->cli('FLUSHALL');

    enroll($r, 'alice');
    enroll($r, 'bob', prefix => 'other:', fail => 3, lock => 1);

    is((on($r, 'list'))[0], "alice\n", 'default prefix: alice only');
    is((on($r, '--prefix', 'other:', 'list'))[0], "bob\n",
       'other: bob only');

    like((on($r, 'status', 'bob'))[0], qr/^enrolled: no$/m,
         'bob unknown under the default prefix');
    like((on($r, '--prefix', 'other:', 'status', 'bob'))[0],
         qr/^enrolled: yes.*\n.*\nlocked: yes/m, 'bob known under other:');

    is((on($r, 'reset', 'bob'))[0], "reset bob: nothing to remove\n",
       'reset bob under the default prefix: nothing');
    is((on($r, 'unlock', 'bob'))[0], "unlock bob: was not locked\n",
       'unlock bob under the default prefix: nothing');
    is_deeply [exists_keys($r, all_keys('bob', 'other:'))], [1, 0, 0, 1, 1, 0],
        'other:\'s keys untouched';

    like((on($r, '--prefix', 'other:', 'unlock', 'bob'))[0],
         qr/^unlock bob: lockout lifted/, 'unlock under other:');
    like((on($r, '--prefix', 'other:', 'reset', 'bob'))[0],
         qr/^reset bob: enrollment removed/, 'reset under other:');
    is_deeply [exists_keys($r, all_keys('bob', 'other:'))], [0, 0, 0, 0, 0, 0],
        'other:\'s keys gone';
    is $r->cli('EXISTS', 'totp:user:{alice}'), 1, 'alice untouched';

    # glob characters in the prefix match only themselves
    enroll($r, $_->[1], prefix => $_->[0])
        for ['t*:', 'star'], ['t?:', 'what'], ['[ab]\\x:', 'class'],
            ['tx:', 'fake-what'], ['ax:', 'fake-class'];

    is((on($r, '--prefix', 't*:', 'list'))[0], "star\n", 'prefix with *');
    is((on($r, '--prefix', 't?:', 'list'))[0], "what\n", 'prefix with ?');
    is((on($r, '--prefix', '[ab]\\x:', 'list'))[0], "class\n",
       'prefix with [, ] and \\');

    for my $bad ('a b:', 'a{b}:', "a\tb", 'x' x 65, "\xc3\xa9:") {
        my ($out, $err, $rc) = on($r, '--prefix', $bad, 'list');
        is $rc, 2, "prefix \"$bad\" refused as the module does";
        like $err, qr/--prefix/, 'and the message says which option';
    }

    is((on($r, '--prefix', '', 'list'))[2], 0, 'an empty prefix is fine');
};

subtest '--db' => sub {
    $r->cli('FLUSHALL');

    enroll($r, 'alice', fail => 1);
    enroll($r, 'carol', db => 3, fail => 2, lock => 1);

    is((on($r, 'list'))[0], "alice\n", 'db 0: alice only');
    is((on($r, '--db', 3, 'list'))[0], "carol\n", 'db 3: carol only');
    like((on($r, 'status', 'carol'))[0], qr/^enrolled: no$/m,
         'carol unknown in db 0');
    like((on($r, '--db', '3', 'status', 'carol'))[0],
         qr/^enrolled: yes.*\nfailures: 2 .*\nlocked: yes/m,
         'carol known in db 3');

    like((on($r, '--db', 3, 'unlock', 'carol'))[0],
         qr/^unlock carol: lockout lifted/, 'unlock in db 3');
    like((on($r, '--db', 3, 'reset', 'carol'))[0],
         qr/^reset carol: enrollment removed/, 'reset in db 3');
    is $r->cli('-n', 3, 'DBSIZE'), 0, 'db 3 empty';
    is $r->cli('DBSIZE'), 2, 'db 0 untouched';

    # redis-cli carries on in db 0 when SELECT fails
    enroll($r, 'carol', fail => 2, lock => 1);

    for my $cmd (qw(reset unlock status list)) {
        my ($out, $err, $rc) = on($r, '--db', 99, $cmd,
                                  $cmd eq 'list' ? () : 'carol');
        is $rc, 1, "$cmd in a db Redis lacks: exit 1";
        like $err, qr/--db 99.*out of range/, 'the message says why';
        is $out, '', 'and nothing from db 0 is shown';
    }

    is_deeply [exists_keys($r, all_keys('carol'))], [1, 0, 0, 1, 1, 0],
        'nothing deleted in db 0 instead';

    for my $bad ('x', '-1', '1.5', '', '99999999999') {
        is((on($r, '--db', $bad, 'list'))[2], 2, "--db \"$bad\": exit 2");
    }
};

subtest 'unix socket' => sub {
    my $u = $t->redis(name => 'redis-unix', unix => 1);

    enroll($u, "zo\xc3\xab", fail => 3, lock => 1);

    my ($out, $err, $rc) = admin('--redis', 'unix:' . $u->socket, 'list');
    is $rc, 0, 'exit 0' or diag $err;
    is $out, "zo\xc3\xab\n", 'listed over the socket';

    ($out) = admin('--redis', 'unix:' . $u->socket, 'unlock', "zo\xc3\xab");
    like $out, qr/lockout lifted/, 'unlocked over the socket';
    is $u->cli('EXISTS', "totp:user:{zo\xc3\xab}:lock"), 0, 'lock gone';

    ($out, $err, $rc) = admin('--redis', "unix:$dir/nothing.sock", 'list');
    is $rc, 1, 'no socket: exit 1';
    like $err, qr{cannot connect to Redis at unix:\Q$dir\E/nothing\.sock},
        'no socket: says which';

    $u->stop;
};

subtest '--password-file' => sub {
    my $password = q{pa$$ "w0rd" {x} 'y' \\z};
    my $p = $t->redis(name => 'redis-pw', password => $password);

    enroll($p, 'alice');

    local $ENV{REDISCLI_AUTH};
    delete $ENV{REDISCLI_AUTH};

    # as totp_redis_password reads it: line breaks at the end are no part
    my $right = $t->write_file('pw-right', "$password\r\n");
    my $wrong = $t->write_file('pw-wrong', "nope\n");

    my ($out, $err, $rc) = on($p, '--password-file', $right, 'list');
    is $rc, 0, 'right password: exit 0' or diag $err;
    is $out, "alice\n", 'right password: listed';
    is $err, '', 'right password: no warning';

    ($out, $err, $rc) = on($p, '--password-file', $right, 'reset', 'alice');
    like $out, qr/^reset alice: enrollment removed/, 'right password: reset';
    is $p->cli('EXISTS', 'totp:user:{alice}'), 0, 'right password: gone';

    enroll($p, 'alice');

    ($out, $err, $rc) = on($p, 'list');
    is $rc, 1, 'no password: exit 1';
    like $err, qr/password is missing/, 'no password: says so';
    like $err, qr/\Q${\ $p->addr }\E/, 'no password: names the server';

    ($out, $err, $rc) = on($p, '--password-file', $wrong, 'reset', 'alice');
    is $rc, 1, 'wrong password: exit 1';
    like $err, qr/password is wrong/, 'wrong password: says so';
    is $p->cli('EXISTS', 'totp:user:{alice}'), 1,
        'wrong password: nothing deleted';

    {
        local $ENV{REDISCLI_AUTH} = $password;
        is((on($p, 'list'))[0], "alice\n",
           'REDISCLI_AUTH from the environment, as redis-cli takes it');
    }

    ($out, $err, $rc) = on($p, '--password-file', "$dir/absent", 'list');
    is $rc, 2, 'unreadable password file: exit 2';
    like $err, qr/\Q$dir\E\/absent/, 'unreadable password file: named';

    my $empty = $t->write_file('pw-empty', "\n");
    is((on($p, '--password-file', $empty, 'list'))[2], 2,
       'empty password file: exit 2');

    $p->stop;
};

subtest 'what redis-cli is given' => sub {
    my $log = "$dir/fake-cli.log";

    # records its argv and REDISCLI_AUTH, answers like an empty Redis
    my $fake = $t->write_file('fakebin/redis-cli', <<'EOF');
#!/usr/bin/perl
open my $fh, '>>', $ENV{FAKE_CLI_LOG} or die "$ENV{FAKE_CLI_LOG}: $!";
print $fh join("\0", $ENV{REDISCLI_AUTH} // '<unset>', @ARGV), "\n";
close $fh;
my %reply = (SCAN => '"0",', DEL => 0, EXISTS => 0, GET => 'NULL',
             PTTL => -2, SCARD => 0, HMGET => 'NULL,NULL,NULL,NULL');
my ($cmd) = grep { exists $reply{$_} } @ARGV;
print "$reply{$cmd}\n";
EOF
    chmod 0755, $fake or die "$fake: $!";

    local $ENV{PATH} = dirname($fake) . ":$ENV{PATH}";
    local $ENV{FAKE_CLI_LOG} = $log;
    local $ENV{REDISCLI_AUTH};
    delete $ENV{REDISCLI_AUTH};

    my $calls = sub {
        my @calls = map { [split /\0/, $_, -1] } split /\n/, slurp($log);
        unlink $log;
        return @calls;
    };

    my $password = 'top $ecret';
    my $pw = $t->write_file('pw-fake', "$password\n");

    my ($out, $err, $rc) =
        admin('--password-file', $pw, 'reset', q{o'neil $HOME});
    is $rc, 0, 'reset: exit 0' or diag $err;

    my @calls = $calls->();
    ok @calls >= 1, 'redis-cli ran';
    is_deeply [grep { $_->[0] ne $password } @calls], [],
        'every call got the password in REDISCLI_AUTH';
    is_deeply [grep { grep { /\Q$password\E|top/ } @$_[1 .. $#$_] } @calls],
        [], 'no call got it in argv';
    is_deeply [grep { !grep { $_ eq '--no-auth-warning' } @$_ } @calls], [],
        'every call with --no-auth-warning';

    my $k = q{totp:user:{o%27neil%20%24HOME}};
    my @del = grep { grep { $_ eq 'DEL' } @$_ } @calls;
    is scalar @del, 1, 'one DEL';
    my @args = @{ $del[0] // [] };
    is_deeply [@args[-8 .. -1]],
        ['DEL', $k, map { "$k$_" }
                    qw(:enroll :recovery :fail :lock :sessions :invite)],
        'DEL with all seven keys, each one argument';

    # addresses as totp_redis takes them, and the db
    for (['127.0.0.1:6380', '-h', '127.0.0.1', '-p', '6380'],
         ['[::1]:7000', '-h', '::1', '-p', '7000'],
         ['[::1]', '-h', '::1', '-p', '6379'],
         ['redis.example', '-h', 'redis.example', '-p', '6379'],
         ['10.0.0.5', '-h', '10.0.0.5', '-p', '6379'],
         ['unix:/run/redis dir/r.sock', '-s', '/run/redis dir/r.sock'],
         [undef, '-h', '127.0.0.1', '-p', '6379'])
    {
        my ($addr, @want) = @$_;
        ($out, $err, $rc) = admin(defined $addr ? ('--redis', $addr) : (),
                                  '--db', 5, 'list');
        my @got = @{ ($calls->())[0] // [] };
        shift @got;
        my $name = $addr // 'the default';
        is $rc, 0, "$name: exit 0" or diag $err;
        is_deeply \@got,
            ['--no-auth-warning', '-e', '--csv', @want, '-n', 5, 'SCAN', 0,
             'MATCH', 'totp:user:{*', 'TYPE', 'hash', 'COUNT', 1000],
            "$name: redis-cli's arguments";
        is $out, '', "$name: no users";
    }

    # the prefix goes into MATCH with its glob characters escaped
    ($out, $err, $rc) = admin('--prefix', 't*?[x]\\:', 'list');
    my ($match) = map { $_->[$#$_ - 4] } $calls->();
    is $match, 't\\*\\?\\[x\\]\\\\:user:{*', 'MATCH pattern escaped';

    # usage errors: nothing reaches redis-cli
    my $long = 'n' x 257;

    for (['no command', []],
         ['unknown command', ['frobnicate']],
         ['unknown option', ['--verbose', 'list']],
         ['-h is no host option', ['-h', 'localhost', 'list']],
         ['status without NAME', ['status']],
         ['reset without NAME', ['reset']],
         ['unlock without NAME', ['unlock']],
         ['list with an argument', ['list', 'x']],
         ['two names', ['status', 'a', 'b']],
         ['empty name', ['status', '']],
         ['257-byte name', ['reset', $long]],
         ['tab in name', ['reset', "a\tb"]],
         ['newline in name', ['reset', "a\nb"]],
         ['DEL in name', ['unlock', "a\x7fb"]],
         ['port too big', ['--redis', '127.0.0.1:65536', 'list']],
         ['port not a number', ['--redis', 'host:http', 'list']],
         ['bare IPv6', ['--redis', '::1', 'list']],
         ['unclosed bracket', ['--redis', '[::1', 'list']],
         ['relative unix path', ['--redis', 'unix:redis.sock', 'list']],
         ['empty address', ['--redis', '', 'list']],
         ['--db missing', ['--db']],
         ['--db not a number', ['--db', 'one', 'list']],
         ['unreadable password file',
          ['--password-file', "$dir/none", 'list']])
    {
        my ($what, $args) = @$_;
        ($out, $err, $rc) = admin(@$args);
        is $rc, 2, "$what: exit 2";
        like $err, qr/^totp-admin: .+\nusage: totp-admin/, "$what: says why";
        is $out, '', "$what: nothing on stdout";
        is scalar(() = $calls->()), 0, "$what: redis-cli not run";
    }

    ($out, $err, $rc) = admin('status', 'n' x 256);
    is $rc, 0, '256-byte name accepted';
    $calls->();

    ($out, $err, $rc) = admin('--help');
    is $rc, 0, '--help: exit 0';
    like $out, qr/\Ausage: totp-admin .*\n\s+\[--realm R\] \[--url URL\] status NAME \| reset NAME \|\n\s+revoke NAME \| unlock NAME \| invite NAME \| list\n/,
        '--help: usage on stdout';
    is scalar(() = $calls->()), 0, '--help: redis-cli not run';

    # a name that looks like an option is a name after the command
    ($out, $err, $rc) = admin('status', '--help');
    is $rc, 0, 'status --help: exit 0';
    like $out, qr/^user: --help$/m, 'status --help: the user "--help"';
    $calls->();
};

subtest 'connection refused' => sub {
    # a port taken from the kernel and closed again: nobody listens
    my $port = $t->port('closed');

    my ($out, $err, $rc) = admin('--redis', "127.0.0.1:$port", 'status', 'a');
    is $rc, 1, 'exit 1';
    like $err, qr/cannot connect to Redis at 127\.0\.0\.1:$port\b/,
        'names the address';
    is $out, '', 'nothing on stdout';
};

$t->done;
