#!/usr/bin/perl

# Failure counting and lockout, as an attacker would try to turn it
# against a user.  Failures are counted per user and client (the pair),
# per user from every client, and per client across users; clients are
# told apart by their source address (127.0.0.x), by an address a
# trusted proxy passes in X-Real-IP (realip), or by totp_client_key.
#
# Server A counts by address: pair limit 3, user limit 6, client limit 5,
# each a minute; locks for 60 s.  Server B keys clients with a geo block,
# as docs/lockout.md shows for an office behind one NAT address; its pair
# window (20 s) outlasts its lockout (8 s); its keys are those of realm
# "b".

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field gate_setup login enroll verify);

my $t = TotpTest->new;
my $redis = $t->redis;
my $port_b = $t->port('http_b');
my $dir = $t->dir;

my %users = map { $_ => "pw-$_" }
    qw(alice bob carol dave erin frank gina hank ivan judy kate liam mia nora
       oscar paul);

my $limits = "totp_fail_limit 3 1m;\n"
             . "    totp_fail_limit_user 6 1m;\n"
             . "    totp_fail_limit_ip 5 1m;";

gate_setup(t => $t, redis => $redis, no_run => 1, users => \%users,
    limits => "$limits\n    totp_lockout 60s;",
    server => <<'EOF',
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Real-IP;
EOF
    http => <<"EOF");
    geo \$totp_office {
        default      "";
        127.0.0.40   off;
        127.0.0.42   "branch}*";
        127.0.0.45   "[2001:db8:7:7::1]:50123";
        127.0.0.46   "2001:db8:7:7:ffff::2";
    }

    server {
        listen 127.0.0.1:$port_b;

        # limits of its own: a user base of its own, or nginx -t refuses
        totp_realm b;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file $dir/htpasswd;
            totp_client_key \$totp_office;
            totp_fail_limit 3 20s;
            totp_lockout 8s;
            proxy_pass http://127.0.0.1:@{[ $t->port('http_upstream') ]};
        }
    }
EOF
$t->run;

my $port = $t->port('http');

# a browser at client address $n (127.0.0.$n) of server A, or of %o
sub ua_at {
    my ($n, %o) = @_;
    return $t->ua(port => $port, local => "127.0.0.$n", %o);
}

my %secret;
my %trust;

sub enrolled {
    my ($user, %o) = @_;
    my $ua = ua_at(200);
    my ($res, $secret) = enroll($ua,
        login($ua, $user, $users{$user})->{headers}{location}, %o);
    die "enroll $user: $res->{status}\n" unless $res->{status} == 302;
    $secret{$user} = $secret;
    $trust{$user} = $ua->cookies->{totp_trust} if $o{trust};
    return $ua;
}

enrolled($_, trust => 1) for qw(alice carol dave gina);
enrolled($_) for qw(bob erin frank hank ivan judy kate liam mia nora oscar
                    paul);

sub wrong_code {
    my ($secret) = @_;
    my $good = TotpTest::totp_code($secret);
    my $next = TotpTest::totp_code($secret, time + 30);
    my $prev = TotpTest::totp_code($secret, time - 30);
    for my $n (0 .. 9) {
        my $c = sprintf '%06d', (int($good) + 500_000 + $n) % 1_000_000;
        return $c unless grep { $_ eq $c } $good, $next, $prev;
    }
}

# a code the replay rule has not seen: the next step's
sub right_code {
    my ($user) = @_;
    return TotpTest::totp_code($secret{$user}, time + 30);
}

sub hash_field {
    my ($key, $field) = @_;
    return $redis->cli('HGET', $key, $field);
}

# signs $user in from $ua, password then code: the final status
sub sign_in {
    my ($ua, $user) = @_;
    my $res = login($ua, $user, $users{$user});
    return $res->{status} unless $res->{status} == 302
                                 && $res->{headers}{location} =~ /verify/;
    return verify($ua, $res->{headers}{location}, right_code($user))->{status};
}

# $user's trusted browser, at client $n
sub trusted_at {
    my ($user, $n, %o) = @_;
    my $ua = ua_at($n, %o);
    $ua->set_cookie('totp_trust', $trust{$user});
    return $ua;
}

subtest 'an attacker at one address cannot lock the user out at another' => sub {
    my $attacker = ua_at(2);
    my @status = map { login($attacker, 'bob', 'guess')->{status} } 1 .. 4;
    is "@status", '401 401 429 429', 'the attacker\'s pair is locked at 3';

    my $pair = 'totp:user:{bob}:pair:127.0.0.2';
    is hash_field($pair, 'locked'), 1, "$pair is locked";
    my $ttl = $redis->cli('TTL', $pair);
    ok $ttl > 50 && $ttl <= 60, "... for totp_lockout ($ttl s)";

    my $res = login(ua_at(2), 'bob', $users{bob});
    is $res->{status}, 429, 'at the locked pair even the right password';
    like $res->{headers}{'retry-after'}, qr/^\d+$/, 'the 429 says when';
    like $res->{body}, qr/Try again in 1 minute/, '... on the page too';

    is sign_in(ua_at(3), 'bob'), 302, 'bob at 127.0.0.3 signs in';
    ok scalar(grep { /totp: user "bob" locked at client "127\.0\.0\.2" for 60 s after 3 failures/ }
              $t->error_log), 'the lock is logged with its client';
};

subtest 'the page warns when one or two tries remain' => sub {
    my $ua = ua_at(4);
    my $res = login($ua, 'erin', 'guess');
    like $res->{body}, qr/2 more failed tries and sign-in pauses/,
        'after the first of 3: two left';
    $res = login($ua, 'erin', 'guess');
    like $res->{body}, qr/1 more failed try and sign-in pauses/,
        'after the second: one left';
};

subtest 'a success clears only its own pair' => sub {
    my $attacker = ua_at(5);
    login($attacker, 'frank', 'guess') for 1 .. 2;

    my $ua = ua_at(6);
    is login($ua, 'frank', 'typo')->{status}, 401, 'frank mistypes once';
    is sign_in($ua, 'frank'), 302, 'then signs in';

    is $redis->cli('EXISTS', 'totp:user:{frank}:pair:127.0.0.6'), 0,
        'his own pair is cleared';
    is hash_field('totp:user:{frank}:pair:127.0.0.5', 'n'), 2,
        'the attacker\'s pair keeps its two failures';
    is hash_field('totp:user:{frank}:failures', 'n'), 3,
        'the user\'s count keeps every failure, not the right attempts';
};

subtest 'past totp_fail_limit_user, the user is locked for untrusted browsers' => sub {
    my @status;
    for my $n (10 .. 12) {
        my $ua = ua_at($n);
        push @status, login($ua, 'carol', 'guess')->{status} for 1 .. 2;
    }
    is "@status", '401 401 401 401 401 429',
        'six failures from three addresses: the sixth locks carol';
    is hash_field('totp:user:{carol}:failures', 'locked'), 1,
        'totp:user:{carol}:failures is locked';
    is login(ua_at(13), 'carol', $users{carol})->{status}, 429,
        'a fresh address is refused, right password and all';
    ok scalar(grep { /totp: user "carol" locked for untrusted browsers for 60 s after 6 failures from all clients/ }
              $t->error_log), 'logged';

    my $res = login(trusted_at('carol', 13), 'carol', $users{carol},
                    next => '/console');
    is $res->{status}, 302, 'her trusted browser passes the user lock';
    is $res->{headers}{location}, "http://127.0.0.1:$port/console",
        '... straight to the console';
};

subtest 'another user\'s trust cookie exempts nothing' => sub {
    my $ua = trusted_at('dave', 13);
    is login($ua, 'carol', $users{carol})->{status}, 429,
        'dave\'s trust cookie does not let carol past her lock';
};

subtest 'a trusted browser loses its trust after its own failures' => sub {
    my $ua = trusted_at('carol', 14);
    my @res = (login($ua, 'carol', 'guess'));

    # counted as long as the trust lasts: waiting out a window gives a
    # stolen cookie no fresh tries
    my ($key) = split /\n/, $redis->cli('--scan', '--pattern',
                                        'totp:user:{carol}:trust:*');
    my $ttl = $redis->cli('TTL', $key // 'none');
    ok $ttl > 86400, "the browser's failures are kept with its trust ($ttl s)";

    push @res, map { login($ua, 'carol', 'guess') } 2 .. 3;
    is join(' ', map { $_->{status} } @res), '401 401 401',
        'a trusted browser is never locked';
    unlike $res[1]{body}, qr/more failed tr/,
        'no count-down: its trust ends, not its sign-in';
    like $res[2]{body}, qr/no longer trusted/, 'the third failure ends trust';

    my $sessions = $redis->cli('HKEYS', 'totp:user:{carol}:sessions');
    unlike $sessions, qr/^t:/m, 'the trust is gone from Redis';
    cmp_ok hash_field('totp:user:{carol}:failures', 'n'), '>=', 9,
        'its failures counted for carol';
    is $redis->cli('EXISTS', 'totp:user:{carol}:pair:127.0.0.14'), 0,
        '... not for its address';
    is login($ua, 'carol', $users{carol})->{status}, 429,
        'now an untrusted browser, it is held by the user lock';
    ok scalar(grep { /totp: user "carol": a browser at client "127\.0\.0\.14" is no longer trusted after 3 failures/ }
              $t->error_log), 'logged';
};

subtest 'a NAT address full of failures does not stop a trusted browser' => sub {
    my $nat = 20;
    my @status = map { login(ua_at($nat), $_, 'guess')->{status} }
                     qw(hank ivan judy kate liam);
    is "@status", '401 401 401 401 429',
        'five failures across users lock the client (totp_fail_limit_ip 5)';
    is hash_field('totp:ip:{127.0.0.20}', 'locked'), 1,
        'totp:ip:{127.0.0.20} is locked';
    ok scalar(grep { /totp: client "127\.0\.0\.20" locked for 60 s after 5 failures across users/ }
              $t->error_log), 'logged';

    is login(ua_at($nat), 'alice', $users{alice})->{status}, 429,
        'an untrusted browser behind it is refused';
    my $res = login(trusted_at('alice', $nat), 'alice', $users{alice},
                    next => '/console');
    is $res->{status}, 302, 'alice\'s trusted browser behind it signs in';
    like $res->{headers}{location}, qr{/console$}, '... without a code';
};

subtest 'a trust cookie from before a password change exempts nothing' => sub {
    # dave's password changes; then his user is locked from elsewhere
    my %changed = (%users, dave => 'pw-dave-2');
    $t->write_file('htpasswd', join '', map { "$_:{PLAIN}$changed{$_}\n" }
                                            sort keys %changed);
    login(ua_at(22 + $_ % 3), 'dave', 'guess') for 1 .. 6;
    is hash_field('totp:user:{dave}:failures', 'locked'), 1, 'dave is locked';

    my $ua = trusted_at('dave', 25);
    is login($ua, 'dave', 'pw-dave-2')->{status}, 429,
        'his old trust cookie no longer passes the lock';

    $t->write_file('htpasswd', join '', map { "$_:{PLAIN}$users{$_}\n" }
                                            sort keys %users);
};

subtest 'a trust cookie from before a reset exempts nothing' => sub {
    $redis->cli('DEL', 'totp:user:{gina}');
    enrolled('gina');

    my $ua = trusted_at('gina', 21);
    my @status = map { login($ua, 'gina', 'guess')->{status} } 1 .. 4;
    is "@status", '401 401 429 429',
        'the stale cookie is held by the pair lock like any browser';
};

subtest 'IPv6 clients count by /64, mapped IPv4 as IPv4 (realip)' => sub {
    for my $host (qw(2001:db8:1:2::a 2001:db8:1:2:ffff::b)) {
        my $ua = $t->ua(port => $port, headers => { 'X-Real-IP' => $host });
        login($ua, 'nora', 'guess');
    }
    is hash_field('totp:user:{nora}:pair:2001:db8:1:2::/64', 'n'), 2,
        'two hosts of one /64 are one client';
    is hash_field('totp:ip:{2001:db8:1:2::/64}', 'n'), 2,
        '... for the client limit too';

    my $ua = $t->ua(port => $port,
                    headers => { 'X-Real-IP' => '2001:db8:1:3::a' });
    login($ua, 'nora', 'guess');
    is hash_field('totp:ip:{2001:db8:1:3::/64}', 'n'), 1,
        'the next /64 is another client';

    $ua = $t->ua(port => $port,
                 headers => { 'X-Real-IP' => '::ffff:192.0.2.7' });
    login($ua, 'nora', 'guess');
    is hash_field('totp:ip:{192.0.2.7}', 'n'), 1,
        '::ffff:192.0.2.7 counts as 192.0.2.7';
};

subtest 'malformed codes are answered with a hint, not counted' => sub {
    my $ua = ua_at(30);
    my $res = login($ua, 'judy', $users{judy});
    my $page = $ua->get('/_totp/verify');
    my $csrf = field($page->{body}, 'csrf');

    for my $code ('12345', 'abcdef', '1234567', '12 34 5x') {
        $res = $ua->post('/_totp/verify', { code => $code, csrf => $csrf });
        is $res->{status}, 400, "\"$code\": 400";
    }
    like $res->{body}, qr/not a code/, 'with a hint';
    ok $t->wait_for(sub {
        !$redis->cli('EXISTS', 'totp:user:{judy}:pair:127.0.0.30') }, 3),
        'nothing counted for the pair';

    my $code = right_code('judy');
    $code =~ s/^(...)/$1-/;
    $res = $ua->post('/_totp/verify', { code => $code, csrf => $csrf });
    is $res->{status}, 302, "the right code with a dash ($code) signs in";
};

subtest 'a missing password file is the server\'s fault, not counted' => sub {
    $t->allow_log(qr/\[crit\].*open\(\) ".*htpasswd" failed/);
    rename "$dir/htpasswd", "$dir/htpasswd.away" or die "rename: $!";
    my $res = login(ua_at(31), 'kate', $users{kate});
    rename "$dir/htpasswd.away", "$dir/htpasswd" or die "rename: $!";

    cmp_ok $res->{status}, '>=', 500, "no password file: $res->{status}";
    ok $t->wait_for(sub {
        !$redis->cli('EXISTS', 'totp:user:{kate}:pair:127.0.0.31')
        && !$redis->cli('EXISTS', 'totp:ip:{127.0.0.31}') }, 3),
        'the attempt was given back';
    is sign_in(ua_at(31), 'kate'), 302, 'once the file is back, kate signs in';
};

subtest 'totp_client_key: "off" is never locked across users' => sub {
    my @status = map { login(ua_at(40, port => $port_b), $_,
                             'guess')->{status} }
                     qw(hank ivan judy kate liam mia);
    is "@status", '401 401 401 401 401 401',
        'six failures across users, never a client lock';
    is $redis->cli('EXISTS', 'totp:b:ip:{127.0.0.40}'), 0,
        'no client counter';
    is hash_field('totp:b:user:{hank}:pair:127.0.0.40', 'n'), 1,
        'the pairs count, by the address';

    my $ua = ua_at(40, port => $port_b);
    @status = map { login($ua, 'hank', 'guess')->{status} } 1 .. 3;
    is "@status", '401 429 429', 'and the pair is locked at its limit';
};

subtest 'totp_client_key: an empty value counts as the address' => sub {
    my @status = map { login(ua_at(41, port => $port_b), $_,
                             'guess')->{status} }
                     qw(ivan judy kate liam mia);
    is "@status", '401 401 401 401 429',
        'no header: the address is limited across users';
    is hash_field('totp:b:ip:{127.0.0.41}', 'locked'), 1,
        'totp:b:ip:{127.0.0.41} is locked';

    login(ua_at(42, port => $port_b), 'ivan', 'guess');
    is hash_field('totp:b:ip:{branch%7D%2A}', 'n'), 1,
        'a value is the key, written so that it cannot end the hash tag';

    login(ua_at($_, port => $port_b), 'ivan', 'guess') for 45, 46;
    is hash_field('totp:b:ip:{2001:db8:7:7::/64}', 'n'), 2,
        'a value that is an address, with a port or without, is one';
};

subtest 'a lock ends by itself, not before its window' => sub {
    my $ua = ua_at(43, port => $port_b);
    my @res = map { login($ua, 'oscar', 'guess') } 1 .. 4;
    is join(' ', map { $_->{status} } @res), '401 401 429 429',
        'oscar\'s pair at 127.0.0.43 locked';
    cmp_ok $res[2]{headers}{'retry-after'}, '>', 8,
        'Retry-After: when the lock ends, not totp_lockout';

    # the count is never started afresh before its window ends: with a
    # lockout shorter than the window, the lock lasts the window
    my $pair = 'totp:b:user:{oscar}:pair:127.0.0.43';
    my $ttl = $redis->cli('TTL', $pair);
    ok $ttl > 8 && $ttl <= 20,
        "the lock lasts the rest of the window, not 8 s ($ttl s)";

    my $start = time;
    ok $t->wait_for(sub {
        login(ua_at(43, port => $port_b), 'oscar', $users{oscar})->{status}
            == 302 }, 40, 'the lock to end'),
        'then the right password works again';
    cmp_ok time - $start, '>=', $ttl - 2, '... not before';

    my $b = ua_at(44, port => $port_b);
    login($b, 'paul', 'guess') for 1 .. 3;
    $redis->cli('DEL', 'totp:b:user:{paul}:pair:127.0.0.44');
    is login($b, 'paul', $users{paul})->{status}, 302,
        'ops: DEL of the pair\'s key lifts it at once';
};

subtest 'a success gives back its own count, even after SCRIPT FLUSH' => sub {
    my $ua = ua_at(50);
    is login($ua, 'liam', 'typo')->{status}, 401, 'one failure';
    $redis->cli('SCRIPT', 'FLUSH');
    is sign_in($ua, 'liam'), 302, 'liam signs in';
    ok $t->wait_for(sub {
        !$redis->cli('EXISTS', 'totp:user:{liam}:pair:127.0.0.50') }, 3),
        'his pair is cleared, the script sent again by EVAL';
};

$t->done;
