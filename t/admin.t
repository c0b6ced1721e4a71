# tools/totp-admin: status, reset, revoke, unlock, invite, list, clients
# and unlock-client against real Redis servers (TCP, unix socket,
# requirepass), with the keys laid out as the module writes them (the
# failure counters: hashes "user:{NAME}:failures", "user:{NAME}:pair:KEY",
# "user:{NAME}:trust:HEX" and "ip:{KEY}", written here by hand); user
# names and client keys that a shell or a glob would mangle; --prefix,
# --realm, --db, --password-file; usage and Redis errors.  A fake
# redis-cli first in PATH shows what the tool hands redis-cli: its argv and
# REDISCLI_AUTH.  nginx is not run.  The audit records the tool sends to
# syslog go to a UDP socket of this test's, unread: t/admin-audit.t reads
# them.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Digest::SHA ();
use IO::Socket::INET;
use MIME::Base64 ();
use POSIX qw(strftime);
use Test::More;

use TotpTest;
use TotpAdmin qw(slurp quiet_syslog);
use TotpGate qw(user_key);


my $syslog = quiet_syslog();

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

sub admin {
    return TotpAdmin::admin($dir, @_);
}

# the tool against $redis (default: the TCP one)
sub on {
    my ($redis, @args) = @_;
    return admin('--redis', $redis->addr, @args);
}

# A client key as the module writes it in keys: every byte but
# [A-Za-z0-9._@+:/-] percent-encoded, upper case.
sub client_enc {
    my ($key) = @_;
    return $key =~ s{([^A-Za-z0-9._\@+:/-])}{sprintf '%%%02X', ord $1}ger;
}

# NAME's counter of failures from client KEY
sub pair_key {
    my ($name, $client, %o) = @_;
    return user_key($name, %o, suffix => ':pair:' . client_enc($client));
}

# client KEY's counter of failures, for every user
sub ip_key {
    my ($client, %o) = @_;
    return ($o{prefix} // 'totp:') . (defined $o{realm} ? "$o{realm}:" : '')
           . 'ip:{' . client_enc($client) . '}';
}

# A counter of failures as the module leaves it: hash KEY with n, locked
# if LOCKED, expiring in TTL s (none if undef); @n: ('-n', DB) or none.
sub counter {
    my ($redis, $key, $n, $locked, $ttl, @n) = @_;

    $redis->cli(@n, 'HSET', $key, n => $n, $locked ? (locked => 1) : ());
    $redis->cli(@n, 'EXPIRE', $key, $ttl) if defined $ttl;
}

# A user as the module leaves it; %o: which other keys, in db 0 by default:
# fail (failures from all clients, for 300 s), lock (locked, then for
# 900 s), pairs ({ KEY => [n, locked, ttl] }), trust (a number of trusted
# browsers' counters), legacy (an older module's :fail and :lock).
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
    counter($redis, "$k:failures", $o{fail} // 1, $o{lock},
            $o{lock} ? 900 : 300, @n)
        if $o{fail} || $o{lock};

    for my $client (sort keys %{ $o{pairs} // {} }) {
        counter($redis, "$k:pair:" . client_enc($client),
                @{ $o{pairs}{$client} }, @n);
    }

    counter($redis, sprintf('%s:trust:%032x', $k, $_), 1, 0, 600, @n)
        for 1 .. $o{trust} // 0;

    if ($o{legacy}) {
        $redis->cli(@n, 'SET', "$k:fail", 3, 'EX', 300);
        $redis->cli(@n, 'SET', "$k:lock", 1, 'EX', 900);
    }

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
    return ($k, map { "$k$_" } qw(:enroll :recovery :failures :sessions));
}

# every key of the pattern, sorted
sub keys_like {
    my ($redis, $pattern) = @_;
    return [sort grep { length } $redis->cli('--scan', '--pattern', $pattern)];
}

# "N s" within [lo, hi]
sub secs_in {
    my ($got, $lo, $hi, $what) = @_;
    ok(defined $got && $got >= $lo && $got <= $hi, $what)
        or diag("got " . ($got // 'nothing') . ", want $lo..$hi");
}

# "UTC (S s)" of a lockout that ends in $ttl s, its seconds within a
# second or so of that, checked against the clock around the command
sub until_ok {
    my ($text, $ttl, $before, $after, $what) = @_;

    my ($until, $left) = ($text // '') =~
        /\A(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC \((\d+) s\)\z/;
    secs_in($left, $ttl - 10, $ttl, "$what: seconds from the TTL");
    ok defined $until
       && grep({ $until eq strftime('%Y-%m-%d %H:%M:%S', gmtime $_) }
               $before + $ttl - 15 .. $after + $ttl), "$what: a UTC time"
        or diag $text // 'nothing';
}

subtest 'status' => sub {
    $r->cli('FLUSHALL');

    enroll($r, "o'neil", enroll => 1, recovery => 3, fail => 4, lock => 1,
           sessions => { 's:aa' => 60, 's:bb' => 60, 's:cc' => -5,
                         't:dd' => 3600 },
           pairs => { '192.0.2.7' => [3, 1, 600],
                      '2001:db8:1:2::/64' => [1, 0, 300],
                      'x}y*' => [2, 0, 300] },
           trust => 2, legacy => 1);

    # other users' and clients' counters, not o'neil's
    enroll($r, 'o', fail => 1, pairs => { '10.9.9.9' => [1, 1, 600] },
           trust => 1);
    counter($r, ip_key('192.0.2.7'), 9, 1, 600);

    my $before = time;
    my ($out, $err, $rc) = on($r, 'status', "o'neil");
    my $after = time;

    is $rc, 0, 'exit 0';
    is $err, '', 'nothing on stderr';

    my @l = split /\n/, $out;
    is scalar @l, 12, 'twelve lines' or diag $out;

    is $l[0], "user: o'neil", 'user';
    is $l[1], "enrolled: yes, since $CREATED_UTC (sha256, 8 digits, 60 s)",
        'enrolled, from the hash';

    my ($enroll) =
        $l[2] =~ /^pending device change: yes, expires in (\d+) s$/;
    secs_in($enroll, 590, 600,
            'pending change (the user is enrolled) with its TTL');

    # locked: the TTL is the lockout's, no window
    is $l[3], 'failures: 4', 'failures from the counter, n';

    my ($until) =
        $l[4] =~ /^locked: yes, for untrusted browsers, until (.*)$/;
    until_ok($until, 900, $before, $after, 'lockout');

    my ($pair_until) =
        $l[5] =~ /^client 192\.0\.2\.7: 3 failures, locked until (.*)$/;
    until_ok($pair_until, 600, $before, $after, 'locked client');
    is $l[6], 'client 2001:db8:1:2::/64: 1 failure',
        'a client not locked, a /64 decoded';
    is $l[7], 'client x}y*: 2 failures', 'a configured key decoded';
    is $l[8], 'trusted browsers with failures: 2', 'trust counters counted';

    is $l[9], 'recovery codes left: 3', 'recovery codes counted';
    is $l[10], 'sessions: 2', 'live sessions counted, an expired one not';
    is $l[11], 'trusted browsers: 1', 'trusted browsers counted';

    unlike $out, qr/\Q$SECRET\E|q1w2e3/, 'neither secret nor epoch shown';
    unlike $out, qr/10\.9\.9\.9/, 'a prefix of the name: not its clients';

    # failures not locked: the window is the TTL
    ($out) = on($r, 'status', 'o');
    like $out, qr/^failures: 1 \(window ends in (29\d|300) s\)\nlocked: no\n/m,
        'failures in a window, not locked';
    like $out, qr/^locked: no\nclient 10\.9\.9\.9: 1 failure, locked until/m,
        '... its own locked client';
    like $out, qr/^trusted browsers with failures: 1\nrecovery codes/m,
        '... its own trusted browser';

    # the module locks with a TTL; without one, unlock alone lifts it
    $r->cli('PERSIST', user_key('o', suffix => ':failures'));
    $r->cli('HSET', user_key('o', suffix => ':failures'), 'locked', 1);
    $r->cli('PERSIST', pair_key('o', '10.9.9.9'));
    ($out) = on($r, 'status', 'o');
    like $out,
        qr/^failures: 1\nlocked: yes, with no end \(unlock lifts it\)\n/m,
        'a user lock with no TTL';
    like $out, qr/^client 10\.9\.9\.9: 1 failure, locked with no end\n/m,
        'a client lock with no TTL';

    ($out, $err, $rc) = on($r, 'status', 'nobody');
    is $rc, 0, 'unknown user: exit 0';
    is $out, "user: nobody\nenrolled: no\nfailures: 0\nlocked: no\n"
             . "recovery codes left: 0\nsessions: 0\ntrusted browsers: 0\n",
        'unknown user: not enrolled';

    # an older module's counter and lock: read by none
    enroll($r, 'old', legacy => 1);
    ($out) = on($r, 'status', 'old');
    like $out, qr/^failures: 0\nlocked: no\nrecovery codes/m,
        'the old :fail and :lock are no counters';

    # a pair key the module would not write: said, skipped
    $r->cli('HSET', user_key('old', suffix => ':pair:a%41'), 'n', 1);
    $r->cli('HSET', user_key('old', suffix => ':pair:b%zz'), 'n', 1);
    ($out, $err, $rc) = on($r, 'status', 'old');
    is $rc, 0, 'odd pair keys: exit 0';
    unlike $out, qr/^client/m, 'odd pair keys: no client line';
    like $err, qr/skipped "totp:user:\{old\}:pair:a%41": not a client key/,
        'odd pair keys: a spelling the module would not write';
    like $err, qr/skipped "totp:user:\{old\}:pair:b%zz"/,
        'odd pair keys: a broken escape';

    # a first login that has not confirmed its code yet
    $r->cli('SET', 'totp:user:{new}:enroll', 'sealed', 'EX', 600);
    ($out) = on($r, 'status', 'new');
    like $out, qr/^enrolled: no\npending enrollment: yes, expires in \d+ s$/m,
        'pending enrollment without a user record';

    $r->cli('FLUSHALL');

    for my $name (@TRICKY) {
        enroll($r, $name, recovery => 2, fail => 1,
               pairs => { "10.0.0.1" => [1, 0, 300] });
    }

    for my $name (@TRICKY) {
        ($out, $err, $rc) = on($r, 'status', $name);
        like $out, qr/^user:\ \Q$name\E\n
                      enrolled:\ yes,\ since\ \Q$CREATED_UTC\E\ \(sha256,
                      \ 8\ digits,\ 60\ s\)\n
                      failures:\ 1\ \(window\ ends\ in\ \d+\ s\)\n
                      locked:\ no\n
                      client\ 10\.0\.0\.1:\ 1\ failure\n
                      recovery\ codes\ left:\ 2\n
                      sessions:\ 0\n
                      trusted\ browsers:\ 0\n\z/x,
            "status of \"$name\": its one client" or diag $err;
    }

    # a key of the wrong type is a Redis error, not a guess
    $r->cli('SET', 'totp:user:{odd}', 'string');
    ($out, $err, $rc) = on($r, 'status', 'odd');
    is $rc, 1, 'wrong type: exit 1';
    like $err, qr/WRONGTYPE/, 'wrong type: Redis says so';

    $r->cli('SET', 'totp:user:{odd2}:failures', '3');
    ($out, $err, $rc) = on($r, 'status', 'odd2');
    is $rc, 1, 'a counter of the wrong type: exit 1';
    like $err, qr/WRONGTYPE/, '... Redis says so';
};

subtest 'unlock' => sub {
    $r->cli('FLUSHALL');

    my %pairs = ('192.0.2.7' => [3, 1, 600], '2001:db8::/64' => [2, 1, 600],
                 '10.0.0.9' => [1, 0, 300]);

    enroll($r, 'a b', recovery => 2, fail => 7, lock => 1, pairs => \%pairs,
           trust => 1, legacy => 1);
    enroll($r, 'a', fail => 2, lock => 1, pairs => \%pairs, trust => 2,
           legacy => 1);
    counter($r, ip_key('192.0.2.7'), 9, 1, 600);

    my $a_keys = keys_like($r, 'totp:user:{a}*');

    my ($out, $err, $rc) = on($r, 'unlock', 'a b');
    is $rc, 0, 'exit 0';
    is $err, '', 'nothing on stderr';
    is $out, "unlock a b: lockout lifted (user lock, 2 client locks; 7"
             . " failures and 1 trusted browser's count cleared)\n", 'lifted';
    is_deeply keys_like($r, 'totp:user:{a%20b}*'),
        ['totp:user:{a%20b}', 'totp:user:{a%20b}:recovery'],
        'the counters, pairs, trust counters and old keys gone, the rest'
        . ' kept';
    is_deeply keys_like($r, 'totp:user:{a}*'), $a_keys,
        'a user whose name is a prefix of it untouched';
    is $r->cli('EXISTS', ip_key('192.0.2.7')), 1,
        'the client\'s lock for all users untouched';

    ($out, $err, $rc) = on($r, 'unlock', 'a b');
    is $rc, 0, 'again: exit 0';
    is $out, "unlock a b: was not locked\n", 'again: was not locked';

    counter($r, user_key('a b', suffix => ':failures'), 2, 0, 300);
    ($out) = on($r, 'unlock', 'a b');
    is $out, "unlock a b: was not locked (2 failures cleared)\n",
        'failures only: not locked';
    is $r->cli('EXISTS', user_key('a b', suffix => ':failures')), 0,
        'failures only: counter gone';

    # locked from one client only; the count of each says more
    counter($r, pair_key('a b', '192.0.2.7'), 5, 1, 600);
    counter($r, pair_key('a b', '192.0.2.8'), 1, 0, 600);
    ($out) = on($r, 'unlock', 'a b');
    is $out, "unlock a b: lockout lifted (1 client lock; 6 failures"
             . " cleared)\n", 'a client lock only';
    is_deeply keys_like($r, 'totp:user:{a%20b}:*'),
        ['totp:user:{a%20b}:recovery'], 'its pairs gone';

    counter($r, user_key('a b', suffix => ':trust:' . 'f' x 32), 2, 0, 600);
    counter($r, user_key('a b', suffix => ':trust:' . 'e' x 32), 1, 0, 600);
    ($out) = on($r, 'unlock', 'a b');
    is $out, "unlock a b: was not locked (2 trusted browsers' counts"
             . " cleared)\n", 'trusted browsers only';

    # an older module's keys go without a word: no lock of this one
    enroll($r, 'a b', legacy => 1);
    ($out) = on($r, 'unlock', 'a b');
    is $out, "unlock a b: was not locked\n", 'old keys only: not locked';
    is_deeply [exists_keys($r, map { user_key('a b', suffix => $_) }
                                qw(:fail :lock))], [0, 0],
        'old keys only: gone all the same';

    ($out) = on($r, 'status', 'a b');
    like $out, qr/^failures: 0\nlocked: no\nrecovery/m, 'status agrees';
};

subtest 'reset' => sub {
    $r->cli('FLUSHALL');

    enroll($r, $_, enroll => 1, recovery => 3, fail => 4, lock => 1,
           sessions => { 's:01' => 60 }, legacy => 1, trust => 1,
           pairs => { '192.0.2.7' => [3, 1, 600], 'x}y' => [1, 0, 300] })
        for @TRICKY, 'x';
    counter($r, ip_key('127.0.0.1'), 3, 0, 300);

    my $x_keys = keys_like($r, 'totp:user:{x}*');
    is scalar @$x_keys, 10, 'user "x" has ten keys';

    for my $name (@TRICKY) {
        my $k = user_key($name);

        # recovery codes kept sealed for a reload of their page
        $r->cli('SET', "$k:shown", 'sealed', 'EX', 600);

        my ($out, $err, $rc) = on($r, 'reset', $name);
        is $rc, 0, "\"$name\": exit 0";
        is $out, "reset $name: enrollment removed; the next login enrolls"
                 . " again (also removed: pending enrollment, recovery codes,"
                 . " failure counter, lockout, 2 client counters, 1 trusted"
                 . " browser counter, sessions, codes kept for a reload)\n",
            "\"$name\": says so";
        is_deeply keys_like($r, user_key($name) =~ s/([*?\[\]\\])/\\$1/gr
                                . '*'), [],
            "\"$name\": every key gone, pairs, trust and old keys too";

        ($out, $err, $rc) = on($r, 'reset', $name);
        is $out, "reset $name: nothing to remove\n", "\"$name\": then nothing";
    }

    is_deeply keys_like($r, 'totp:user:{x}*'), $x_keys,
        'user "x" (x}y, x]...) untouched';
    is $r->cli('EXISTS', ip_key('127.0.0.1')), 1,
        'per-client counter untouched';

    # leftovers of a user who never enrolled
    counter($r, 'totp:user:{ghost}:failures', 3, 0, 300);
    my ($out, $err, $rc) = on($r, 'reset', 'ghost');
    is $out, "reset ghost: not enrolled; removed failure counter\n",
        'not enrolled: what went';
    is $r->cli('EXISTS', 'totp:user:{ghost}:failures'), 0,
        'not enrolled: gone';

    counter($r, pair_key('ghost', '::/64'), 3, 1, 300);
    ($out) = on($r, 'reset', 'ghost');
    is $out, "reset ghost: not enrolled; removed lockout, 1 client"
             . " counter\n", 'a locked client only: what went';
    is_deeply keys_like($r, 'totp:user:{ghost}*'), [], '... gone';

    # an older module's keys go without a word
    enroll($r, 'ghost', legacy => 1);
    $r->cli('DEL', 'totp:user:{ghost}');
    ($out) = on($r, 'reset', 'ghost');
    is $out, "reset ghost: nothing to remove\n", 'old keys only: not told';
    is_deeply keys_like($r, 'totp:user:{ghost}*'), [], 'old keys gone';

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
        is_deeply [exists_keys($r, all_keys($name))], [1, 0, 1, 0, 0],
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
    is_deeply [exists_keys($r, all_keys('y'))], [1, 0, 0, 0, 0],
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
    $r->cli('HSET', 'totp:user:{h}:pair:10.0.0.1', 'n', 1);
    $r->cli('HSET', 'totp:user:{h}:pair:x%7D', 'n', 1);
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

# the lines of "clients", the seconds left of each as "S"
sub clients_of {
    my ($out) = @_;

    my @s;
    my @l = map { s/, (\d+) s left/push @s, $1; ', S s left'/er }
            split /\n/, $out;

    return (\@l, \@s);
}

subtest 'clients' => sub {
    $r->cli('FLUSHALL');

    my ($out, $err, $rc) = on($r, 'clients');
    is $rc, 0, 'none: exit 0';
    is $out, '', 'none: nothing printed';
    is $err, '', 'none: nothing on stderr';

    # locked for all users; counting only; locked with no TTL
    counter($r, ip_key('192.0.2.7'), 9, 1, 1200);
    counter($r, ip_key('198.51.100.1'), 2, 0, 300);
    counter($r, ip_key('2001:db8:1:2::/64'), 10, 1, 600);
    counter($r, ip_key('203.0.113.5'), 1, 1, undef);

    # locked for one user; counting only
    counter($r, pair_key('alice', '192.0.2.7'), 5, 1, 600);
    counter($r, pair_key("o'neil", '198.51.100.1'), 5, 1, 900);
    counter($r, pair_key('bob', '10.0.0.1'), 4, 0, 300);
    counter($r, pair_key('alice', 'x}y*'), 5, 1, 300);
    counter($r, pair_key('a b', '192.0.2.7'), 5, 1, 60);

    # no client counters: a user's, a trusted browser's, an older
    # module's, another realm's, another prefix's, another db's
    enroll($r, 'carol', fail => 5, lock => 1, trust => 1, legacy => 1);
    $r->cli('SET', 'totp:ip:{10.0.0.2}:fail', 5, 'EX', 300);
    counter($r, ip_key('10.0.0.3', realm => 'ops'), 9, 1, 300);
    counter($r, pair_key('dave', '10.0.0.3', realm => 'ops'), 9, 1, 300);
    counter($r, ip_key('10.0.0.4', prefix => 'other:'), 9, 1, 300);
    counter($r, ip_key('10.0.0.5'), 9, 1, 300, '-n', 3);

    ($out, $err, $rc) = on($r, 'clients');
    is $rc, 0, 'exit 0';
    is $err, '', 'nothing on stderr';

    my ($l, $s) = clients_of($out);

    is_deeply $l,
        ['192.0.2.7  locked for all users, S s left (9 failures)',
         '192.0.2.7  locked for user a b, S s left',
         '192.0.2.7  locked for user alice, S s left',
         "198.51.100.1  locked for user o'neil, S s left",
         '2001:db8:1:2::/64  locked for all users, S s left (10 failures)',
         '203.0.113.5  locked for all users, with no end (1 failure)',
         'x}y*  locked for user alice, S s left'],
        'the locked clients, sorted by key, decoded; not those counting'
        or diag $out;
    secs_in($s->[0], 1190, 1200, 'time left: for all users');
    secs_in($s->[1], 50, 60, 'time left: for user a b');
    secs_in($s->[2], 590, 600, 'time left: for user alice');
    secs_in($s->[3], 890, 900, "time left: for user o'neil");
    secs_in($s->[4], 590, 600, 'time left: a /64');
    secs_in($s->[5], 290, 300, 'time left: a configured key');

    # locks of realm ops only
    ($out) = on($r, '--realm', 'ops', 'clients');
    ($l) = clients_of($out);
    is_deeply $l, ['10.0.0.3  locked for all users, S s left (9 failures)',
                   '10.0.0.3  locked for user dave, S s left'],
        '--realm: its own clients only';

    ($out) = on($r, '--db', 3, 'clients');
    ($l) = clients_of($out);
    is_deeply $l, ['10.0.0.5  locked for all users, S s left (9 failures)'],
        '--db: its own clients only';

    # keys the module would not write: said, skipped
    counter($r, 'totp:ip:{a%zz}', 1, 1, 300);
    counter($r, 'totp:ip:{%41}', 1, 1, 300);
    counter($r, 'totp:user:{a%zz}:pair:10.0.0.1', 1, 1, 300);
    counter($r, 'totp:user:{ok}:pair:a}b', 1, 1, 300);

    ($out, $err, $rc) = on($r, 'clients');
    is $rc, 0, 'odd keys: exit 0';
    is scalar @{ (clients_of($out))[0] }, 7, 'odd keys: not listed';
    is scalar(() = $err =~ /^totp-admin: warning: skipped "totp:/mg), 4,
        'odd keys: each told' or diag $err;
    like $err, qr/skipped "totp:ip:\{a%zz\}": not a client key/,
        'odd keys: a broken escape';
    like $err, qr/skipped "totp:user:\{ok\}:pair:a\}b": not a user name/,
        'odd keys: a "}" no client key holds';
};

subtest 'unlock-client' => sub {
    $r->cli('FLUSHALL');

    # a client's counters, and their neighbours: another address that
    # begins alike, another /64, a key for the realm ops
    my $neighbours = sub {
        counter($r, ip_key('192.0.2.70'), 9, 1, 600);
        counter($r, pair_key('alice', '192.0.2.70'), 5, 1, 600);
        counter($r, pair_key('alice', '192.0.2.7/64'), 5, 1, 600);
        counter($r, ip_key('2001:db8:1:3::/64'), 9, 1, 600);
        counter($r, pair_key('alice', '2001:db8:1:3::/64'), 5, 1, 600);
        counter($r, ip_key('192.0.2.7', realm => 'ops'), 9, 1, 600);
        counter($r, pair_key('alice', '192.0.2.7', realm => 'ops'), 5, 1,
                600);
        counter($r, pair_key('alice', 'x}y*extra'), 5, 1, 600);
        counter($r, pair_key('alice', 'x}yz'), 5, 1, 600);
        enroll($r, 'alice', fail => 5, lock => 1, trust => 1);

        # what a MATCH of "*}:pair:192.0.2.7" finds, and no encoded name
        # holds
        counter($r, 'totp:user:{a}:pair:q}:pair:192.0.2.7', 1, 1, 600);
        counter($r, 'totp:user:{a}:pair:x}y*', 1, 1, 600);
    };

    $neighbours->();

    my $all = keys_like($r, '*');

    my $client = sub {
        my ($key, $users, $locked) = @_;

        counter($r, ip_key($key), 9, 1, 600);
        counter($r, pair_key($_, $key), 5, $locked, 600) for @$users;
        return (ip_key($key), map { pair_key($_, $key) } @$users);
    };

    for (['192.0.2.7', '192.0.2.7'],
         ['192.000.002.007', '192.0.2.7'],
         ['::ffff:192.0.2.7', '192.0.2.7'],
         ['::FFFF:c000:0207', '192.0.2.7'],
         ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
         ['2001:db8:1:2::/64', '2001:db8:1:2::/64'],
         ['2001:db8::5', '2001:db8::/64'],
         ['::1', '::/64'],
         ['x}y*', 'x}y*'])
    {
        my ($typed, $key) = @$_;

        my @keys = $client->($key, ['alice', 'a b', '*', 'bob'], 1);
        $r->cli('HDEL', pair_key('bob', $key), 'locked');

        is_deeply [exists_keys($r, @keys)], [1, 1, 1, 1, 1],
            "\"$typed\": the counters to lift";

        my ($out, $err, $rc) = on($r, 'unlock-client', $typed);
        is $rc, 0, "\"$typed\": exit 0";
        is $err, '', "\"$typed\": nothing on stderr";
        is $out, "unlock-client $key: lifted (client lock, 3 user pair"
                 . " locks; 20 failures cleared)\n", "\"$typed\": lifted";
        is_deeply [exists_keys($r, @keys)], [0, 0, 0, 0, 0],
            "\"$typed\": the client's counters for all users and for each"
            . " gone";
        is_deeply keys_like($r, '*'), $all, "\"$typed\": nothing else";

        ($out) = on($r, 'unlock-client', $typed);
        is $out, "unlock-client $key: was not locked\n",
            "\"$typed\": then was not locked";
    }

    # counting only
    my @keys = $client->('10.0.0.1', ['alice'], 0);
    $r->cli('HDEL', ip_key('10.0.0.1'), 'locked');
    my ($out) = on($r, 'unlock-client', '10.0.0.1');
    is $out, "unlock-client 10.0.0.1: was not locked (9 failures"
             . " cleared)\n", 'counting only: was not locked';
    is_deeply [exists_keys($r, @keys)], [0, 0], 'counting only: cleared';

    # locked for one user only
    @keys = $client->('10.0.0.1', ['alice'], 1);
    $r->cli('DEL', ip_key('10.0.0.1'));
    ($out) = on($r, 'unlock-client', '10.0.0.1');
    is $out, "unlock-client 10.0.0.1: lifted (1 user pair lock; 5 failures"
             . " cleared)\n", 'one pair only: lifted';

    # a key that is no address, as a header may give it
    @keys = $client->('203.0.113.9, 10.0.0.1', ['alice'], 1);
    ($out) = on($r, 'unlock-client', '203.0.113.9, 10.0.0.1');
    like $out, qr/^unlock-client 203\.0\.113\.9, 10\.0\.0\.1: lifted/,
        'a configured key: as it is';
    is_deeply [exists_keys($r, @keys)], [0, 0], '... lifted';
    is_deeply keys_like($r, '*'), $all, '... nothing else';

    # the realm ops: its keys only
    ($out) = on($r, '--realm', 'ops', 'unlock-client', '192.0.2.7');
    is $out, "unlock-client 192.0.2.7: lifted (client lock, 1 user pair"
             . " lock; 9 failures cleared)\n", '--realm: lifted';
    is_deeply [exists_keys($r, ip_key('192.0.2.7', realm => 'ops'),
                           pair_key('alice', '192.0.2.7', realm => 'ops'))],
        [0, 0], '--realm: its keys gone';
    is scalar @{ keys_like($r, '*') }, @$all - 2, '--realm: nothing else';

    # glob characters in the prefix match only themselves
    $r->cli('FLUSHALL');
    for my $p ('t*:', 'tx:') {
        counter($r, ip_key('192.0.2.7', prefix => $p), 9, 1, 600);
        counter($r, pair_key('alice', '192.0.2.7', prefix => $p), 5, 1,
                600);
    }

    ($out) = on($r, '--prefix', 't*:', 'clients');
    my ($l) = clients_of($out);
    is_deeply $l, ['192.0.2.7  locked for all users, S s left (9 failures)',
                   '192.0.2.7  locked for user alice, S s left'],
        '--prefix with "*": clients of its own';

    ($out) = on($r, '--prefix', 't*:', 'unlock-client', '192.0.2.7');
    is $out, "unlock-client 192.0.2.7: lifted (client lock, 1 user pair"
             . " lock; 9 failures cleared)\n", '--prefix with "*": lifted';
    is_deeply keys_like($r, '*'),
        ['tx:ip:{192.0.2.7}', 'tx:user:{alice}:pair:192.0.2.7'],
        '--prefix with "*": the keys of "tx:" untouched';
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

    # the clients of each alice
    my %pairs = ('192.0.2.7' => [3, 1, 600], '10.0.0.1' => [1, 0, 600]);
    enroll($r, 'alice', fail => 4, pairs => \%pairs, trust => 1);
    enroll($r, 'alice', prefix => 'totp:ops:', fail => 2, lock => 1,
           pairs => { '192.0.2.8' => [2, 1, 600] }, trust => 1);
    my $plain = keys_like($r, 'totp:user:{alice}*');

    my ($out) = on($r, '--realm', 'ops', 'status', 'alice');
    my $want = join '\n', 'locked: yes, for untrusted browsers, until .*',
                          'client 192\.0\.2\.8: 2 failures, locked until .*',
                          'trusted browsers with failures: 1',
                          'recovery codes';
    like $out, qr/^$want/m, 'status in realm ops: its clients';
    ($out) = on($r, 'status', 'alice');
    $want = join '\n', 'locked: no', 'client 10\.0\.0\.1: 1 failure',
                       'client 192\.0\.2\.7: 3 failures, locked until .*',
                       'trusted browsers with failures: 1', 'recovery codes';
    like $out, qr/^$want/m, 'status of no realm: its clients';

    is((on($r, '--realm', 'ops', 'unlock', 'alice'))[0],
       "unlock alice: lockout lifted (user lock, 1 client lock; 2 failures"
       . " and 1 trusted browser's count cleared)\n", 'unlock in realm ops');
    is_deeply keys_like($r, 'totp:ops:user:{alice}*'),
        ['totp:ops:user:{alice}'], 'realm ops\'s alice: the counters gone';
    is_deeply keys_like($r, 'totp:user:{alice}*'), $plain,
        'the other alice\'s counters untouched';

    enroll($r, 'alice', prefix => 'totp:ops:', fail => 2, lock => 1,
           pairs => { '192.0.2.8' => [2, 1, 600] }, trust => 1);

    like((on($r, '--realm', 'ops', 'reset', 'alice'))[0],
         qr/^reset alice: enrollment removed/, 'reset in realm ops');
    is_deeply [exists_keys($r, all_keys('alice', 'totp:ops:'))],
        [0, 0, 0, 0, 0], 'realm ops\'s alice gone';
    is_deeply keys_like($r, 'totp:ops:user:{alice}*'), [],
        '... its clients\' and trusted browsers\' counters too';
    is_deeply keys_like($r, 'totp:user:{alice}*'), $plain,
        'the other alice untouched';

    my ($err, $rc);
    ($out, $err, $rc) = on($r, '--realm', 'a:b', 'list');
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
    is_deeply [exists_keys($r, all_keys('bob', 'other:'))], [1, 0, 0, 1, 0],
        'other:\'s keys untouched';

    like((on($r, '--prefix', 'other:', 'unlock', 'bob'))[0],
         qr/^unlock bob: lockout lifted/, 'unlock under other:');
    like((on($r, '--prefix', 'other:', 'reset', 'bob'))[0],
         qr/^reset bob: enrollment removed/, 'reset under other:');
    is_deeply [exists_keys($r, all_keys('bob', 'other:'))], [0, 0, 0, 0, 0],
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

    # and so do NAME's counters
    my %pairs = ('192.0.2.7' => [3, 1, 600]);
    enroll($r, 'what', prefix => $_, fail => 3, lock => 1, trust => 1,
           pairs => { %pairs, $_ => [1, 0, 600] })
        for 't?:', 'tx:';

    my $tx = keys_like($r, 'tx:*');

    my ($out) = on($r, '--prefix', 't?:', 'status', 'what');
    my $want = join '\n', 'client 192\.0\.2\.7: 3 failures, locked until .*',
                          'client t\?:: 1 failure',
                          'trusted browsers with failures: 1',
                          'recovery codes';
    like $out, qr/^$want/m, 'prefix with ?: status shows its own clients';
    is((on($r, '--prefix', 't?:', 'unlock', 'what'))[0],
       "unlock what: lockout lifted (user lock, 1 client lock; 4 failures"
       . " and 1 trusted browser's count cleared)\n",
       'prefix with ?: unlock counts its own');
    is_deeply keys_like($r, 't\?:*'), ['t?:user:{what}'],
        'prefix with ?: unlock lifts its own';
    is_deeply keys_like($r, 'tx:*'), $tx, '... and not those of "tx:"';

    enroll($r, 'what', prefix => 't?:', fail => 3, lock => 1, trust => 1,
           pairs => \%pairs);
    like((on($r, '--prefix', 't?:', 'reset', 'what'))[0],
         qr/^reset what: .*lockout, 1 client counter, 1 trusted browser/,
         'prefix with ?: reset');
    is_deeply keys_like($r, 't\?:*'), [], 'prefix with ?: reset all';
    is_deeply keys_like($r, 'tx:*'), $tx, '... and nothing of "tx:"';

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
         qr/^enrolled: yes.*\nfailures: 2\nlocked: yes/m,
         'carol known in db 3');

    like((on($r, '--db', 3, 'unlock', 'carol'))[0],
         qr/^unlock carol: lockout lifted/, 'unlock in db 3');
    like((on($r, '--db', 3, 'reset', 'carol'))[0],
         qr/^reset carol: enrollment removed/, 'reset in db 3');
    is $r->cli('-n', 3, 'DBSIZE'), 0, 'db 3 empty';
    is $r->cli('DBSIZE'), 2, 'db 0 untouched';

    # redis-cli carries on in db 0 when SELECT fails
    enroll($r, 'carol', fail => 2, lock => 1);

    my %arg = (reset => 'carol', unlock => 'carol', status => 'carol',
               'unlock-client' => '192.0.2.7');

    counter($r, ip_key('192.0.2.7'), 9, 1, 600);

    for my $cmd (qw(reset unlock status list clients unlock-client)) {
        my ($out, $err, $rc) = on($r, '--db', 99, $cmd, $arg{$cmd} // ());
        is $rc, 1, "$cmd in a db Redis lacks: exit 1";
        like $err, qr/--db 99.*out of range/, 'the message says why';
        is $out, '', 'and nothing from db 0 is shown';
    }

    is_deeply [exists_keys($r, all_keys('carol'), ip_key('192.0.2.7'))],
        [1, 0, 0, 1, 0, 1], 'nothing deleted in db 0 instead';

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
    is $u->cli('EXISTS', user_key("zo\xc3\xab", suffix => ':failures')), 0,
        'lock gone';

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
             PTTL => -2, SCARD => 0, HMGET => 'NULL,NULL,NULL,NULL',
             EVAL => 'NULL,NULL,-2');
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
    is scalar @del, 2, 'two DELs';
    my @args = @{ $del[0] // [] };
    is_deeply [@args[-8 .. -1]],
        ['DEL', $k, map { "$k$_" }
                    qw(:enroll :recovery :failures :sessions :invite :shown)],
        'DEL with all seven keys, each one argument';
    @args = @{ $del[1] // [] };
    is_deeply [@args[-3 .. -1]], ['DEL', "$k:fail", "$k:lock"],
        'and one with an older module\'s two';

    my ($scan) = grep { grep { $_ eq 'SCAN' } @$_ } @calls;
    is_deeply [@{ $scan // [] }[-8 .. -1]],
        ['SCAN', 0, 'MATCH', "$k:*", 'TYPE', 'hash', 'COUNT', 1000],
        'its counters found by SCAN, the name encoded';

    # a client key that ends a hash tag and globs: encoded, then escaped
    ($out, $err, $rc) = admin('--prefix', 't*?[x]\\:', 'unlock-client',
                              'x}y*[?]\\');
    is $rc, 0, 'unlock-client: exit 0' or diag $err;
    @calls = $calls->();
    ($scan) = grep { grep { $_ eq 'SCAN' } @$_ } @calls;
    is_deeply [@{ $scan // [] }[-8 .. -1]],
        ['SCAN', 0, 'MATCH', 't\\*\\?\\[x\\]\\\\:user:{*}:pair:'
                             . 'x%7Dy%2A%5B%3F%5D%5C', 'TYPE', 'hash',
         'COUNT', 1000], 'unlock-client: MATCH with the key encoded';
    @del = grep { grep { $_ eq 'DEL' } @$_ } @calls;
    is_deeply [map { @$_[-2 .. -1] } @del],
        ['DEL', 't*?[x]\\:ip:{x%7Dy%2A%5B%3F%5D%5C}'],
        'unlock-client: DEL of the client\'s own counter';

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
         ['unlock-client without KEY', ['unlock-client']],
         ['unlock-client with two', ['unlock-client', 'a', 'b']],
         ['empty client key', ['unlock-client', '']],
         ['257-byte client key', ['unlock-client', 'k' x 257]],
         ['tab in client key', ['unlock-client', "1.2.3.4\t"]],
         ['DEL in client key', ['unlock-client', "a\x7f"]],
         ['clients with an argument', ['clients', 'x']],
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
         ['--syslog-server without a port',
          ['--syslog-server', 'loghost', 'reset', 'a']],
         ['--syslog-server port 0',
          ['--syslog-server', 'loghost:0', 'reset', 'a']],
         ['--syslog-server IPv6', ['--syslog-server', '[::1]:514', 'list']],
         ['--syslog-server empty', ['--syslog-server', '', 'list']],
         ['unreadable password file',
          ['--password-file', "$dir/none", 'list']])
    {
        my ($what, $args) = @$_;
        ($out, $err, $rc) = admin(@$args);
        is $rc, 2, "$what: exit 2";
        like $err, qr/^totp-admin:\ .+\nusage:\ totp-admin\ .*\n(?:.*\n){4,5}
                      \s+invite\ NAME\ \|\ list\ \|\ clients\ \|
                      \ unlock-client\ KEY\n
                      \(totp-admin\ --help\ tells\ more\)\n\z/x,
            "$what: says why, and the whole synopsis";
        is $out, '', "$what: nothing on stdout";
        is scalar(() = $calls->()), 0, "$what: redis-cli not run";
    }

    ($out, $err, $rc) = admin('status', 'n' x 256);
    is $rc, 0, '256-byte name accepted';
    $calls->();

    ($out, $err, $rc) = admin('unlock-client', 'k' x 256);
    is $rc, 0, '256-byte client key accepted';
    $calls->();

    ($out, $err, $rc) = admin('--help');
    is $rc, 0, '--help: exit 0';
    like $out, qr/\Ausage:\ totp-admin\ \[--redis\ ADDR\ \|\ --sentinel
                  \ ADDR\.\.\.\ --master\ NAME\]\n
                  \s+\[--user\ U\]\ \[--password-file\ F\]\ \[--db\ N\]\n
                  \s+\[--tls\ \[--cacert\ F\]\ \[--sni\ NAME\]
                  \ \[--cert\ F\ --key\ F\]\]\n
                  \s+\[--prefix\ P\]\ \[--realm\ R\]\ \[--url\ URL\]\n
                  \s+\[--syslog-server\ HOST:PORT\]\n
                  \s+status\ NAME\ \|\ reset\ NAME\ \|\ revoke\ NAME\ \|
                  \ unlock\ NAME\ \|\n
                  \s+invite\ NAME\ \|\ list\ \|\ clients\ \|
                  \ unlock-client\ KEY\n/x,
        '--help: usage on stdout';
    like $out, qr/^  --syslog-server HOST:PORT\n +send the audit records/m,
        '--help: --syslog-server';
    like $out, qr/^  clients       the locked clients/m, '--help: clients';
    like $out, qr/^  unlock-client KEY\n +delete the failure counters/m,
        '--help: unlock-client';
    like $out, qr/^reset, revoke, unlock, unlock-client and invite each/m,
        '--help: what syslog gets';
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
