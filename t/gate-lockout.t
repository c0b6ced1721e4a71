#!/usr/bin/perl

# Failure counting and lockout: per user and per client address, wrong
# passwords and wrong codes alike, 429 with Retry-After, a lockout that
# ends by itself, a success that clears the user's count, a trusted
# browser that failures from elsewhere cannot lock out, and the ops
# promise: deleting :fail and :lock lifts a lockout at once.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field gate_setup login enroll verify);

my $t = TotpTest->new;
my $redis = $t->redis;
my $port_ip = $t->port('http_ip');

my %users = map { $_ => "pw-$_" } qw(alice bob carol dave erin frank);

# server two: the same users, a low limit per address
gate_setup(t => $t, redis => $redis, no_run => 1, users => \%users,
    limits => "totp_fail_limit 3 1m;\n"
              . "    totp_fail_limit_ip 50 1m;\n"
              . "    totp_lockout 3s;",
    http => <<"EOF");
    server {
        listen 127.0.0.1:$port_ip;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file @{[ $t->dir ]}/htpasswd;
            totp_fail_limit_ip 4 1m;
            proxy_pass http://127.0.0.1:@{[ $t->port('http_upstream') ]};
        }
    }
EOF
$t->run;

my $port = $t->port('http');

my %secret;

sub enrolled {
    my ($user, %o) = @_;
    my $ua = $t->ua(port => $port);
    my ($res, $secret) = enroll($ua,
        login($ua, $user, $users{$user})->{headers}{location}, %o);
    die "enroll $user: $res->{status}\n" unless $res->{status} == 302;
    $secret{$user} = $secret;
    return $ua;
}

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

# a browser that passed alice's password, on the verify page
sub at_verify {
    my ($user, $port_) = @_;
    my $ua = $t->ua(port => $port_ // $port);
    my $res = login($ua, $user, $users{$user});
    die "login $user: $res->{status}\n" unless $res->{status} == 302;
    my $page = $ua->get('/_totp/verify');
    return ($ua, field($page->{body}, 'csrf'));
}

my $trusted = enrolled('alice', trust => 1);
enrolled($_) for qw(bob dave erin);
my $carol = enrolled('carol', trust => 1);

# carol, from her trusted browser: the password alone signs her in
sub enroll_trusted {
    my ($user) = @_;
    my $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $carol->cookies->{totp_trust});
    my $res = login($b, $user, $users{$user}, next => '/console');
    die "trusted login: $res->{status} $res->{headers}{location}\n"
        unless $res->{headers}{location} =~ m{/console$};
    return $res;
}

subtest 'wrong codes lock the user out: 429, Retry-After, a page that says when' => sub {
    my ($ua, $csrf) = at_verify('bob');

    for my $n (1, 2) {
        my $res = $ua->post('/_totp/verify',
                            { code => wrong_code($secret{bob}), csrf => $csrf });
        is $res->{status}, 401, "wrong code $n: 401";
    }

    is $redis->cli('GET', 'totp:user:{bob}:fail'), 2, 'two failures counted';

    my $res = $ua->post('/_totp/verify',
                        { code => wrong_code($secret{bob}), csrf => $csrf });
    is $res->{status}, 429, 'the third, the limit: 429';
    like $res->{headers}{'retry-after'}, qr/^[1-3]$/, 'Retry-After: the lockout';
    like $res->{body}, qr/Try again in 1 minute/, 'the page says when';
    ok !grep({ /^totp_session=/ } @{ $res->{headers}{'set-cookie'} // [] }),
        'no session';

    my $ttl = $redis->cli('TTL', 'totp:user:{bob}:lock');
    ok $ttl > 0 && $ttl <= 3, "totp:user:{bob}:lock, TTL $ttl";
    ok scalar(grep { /\[notice\].*totp: user "bob" locked for 3 s after 3 failures/ }
              $t->error_log), 'audit line for the lockout';

    $res = $ua->post('/_totp/verify', {
        code => TotpTest::totp_code($secret{bob}, time + 30), csrf => $csrf });
    is $res->{status}, 429, 'locked: even the right code is refused';

    # the lockout ends by itself, when totp_lockout has passed; until
    # then even the right password is refused, and not counted
    my $start = time;
    ok $t->wait_for(sub {
        my $b = $t->ua(port => $port);
        return 0 if login($b, 'bob', $users{bob})->{status} == 429;
        verify($b, '/_totp/verify',
               TotpTest::totp_code($secret{bob}, time + 30))->{status} == 302;
    }, 8, 'the lockout to end'), 'after totp_lockout, bob signs in';
    cmp_ok time - $start, '>=', 1, '... not before';
};

subtest 'wrong passwords count too' => sub {
    my $ua = $t->ua(port => $port);
    is login($ua, 'carol', 'nope')->{status}, 401, 'wrong password 1';
    is login($ua, 'carol', 'nope')->{status}, 401, 'wrong password 2';
    is login($ua, 'carol', 'nope')->{status}, 429, 'wrong password 3: 429';
    is login($ua, 'carol', $users{carol})->{status}, 429,
        'the right password is refused while locked';

    # ops: deleting :fail and :lock lifts a lockout at once
    $redis->cli('DEL', 'totp:user:{carol}:fail', 'totp:user:{carol}:lock');
    is login($ua, 'carol', $users{carol})->{status}, 302,
        'DEL of :fail and :lock lifts it at once';
};

subtest 'a success clears the user\'s count; a right password alone does not' => sub {
    my ($ua, $csrf) = at_verify('dave');
    for (1, 2) {
        $ua->post('/_totp/verify',
                  { code => wrong_code($secret{dave}), csrf => $csrf });
    }
    is $redis->cli('GET', 'totp:user:{dave}:fail'), 2, 'two failures';

    # a right password between guesses must not wipe the slate
    ($ua, $csrf) = at_verify('dave');
    is $redis->cli('GET', 'totp:user:{dave}:fail'), 2,
        'a right password leaves the count as it was';

    my $res = $ua->post('/_totp/verify', {
        code => TotpTest::totp_code($secret{dave}, time + 30), csrf => $csrf });
    is $res->{status}, 302, 'the right code';
    is $redis->cli('EXISTS', 'totp:user:{dave}:fail'), 0, 'count cleared';
};

subtest 'a trusted browser is not locked out by failures from elsewhere' => sub {
    my $ua = $t->ua(port => $port);
    login($ua, 'alice', 'wrong') for 1 .. 3;
    ok $redis->cli('EXISTS', 'totp:user:{alice}:lock'),
        'an attacker locked alice out';
    is login($t->ua(port => $port), 'alice', $users{alice})->{status}, 429,
        'another browser is refused';

    my $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $trusted->cookies->{totp_trust});
    my $res = login($b, 'alice', $users{alice}, next => '/console');
    is $res->{status}, 302, 'her trusted browser: the password still works';
    is $res->{headers}{location}, "http://127.0.0.1:$port/console",
        '... straight to the console';
};

subtest 'a trust cookie from before a reset exempts nothing' => sub {
    my $stale = $trusted->cookies->{totp_trust};

    # alice's lockout from the last subtest is over by ops; then she is
    # reset and enrolls again: the old trust cookie is for the old epoch
    $redis->cli('DEL', map { "totp:user:{alice}$_" } '', ':fail', ':lock');
    enrolled('alice');

    my $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $stale);
    my @status = map { login($b, 'alice', 'wrong')->{status} } 1 .. 4;
    is "@status", '401 401 429 429',
        'the stale trust cookie is held by the lockout like any browser';
};

subtest 'a success gives back its own count, once' => sub {
    my $ip = 'totp:ip:{127.0.0.1}:fail';
    $redis->cli('DEL', 'totp:user:{alice}:fail', 'totp:user:{alice}:lock');
    $redis->cli('SET', $ip, 2, 'EX', 60);

    my $b = $t->ua(port => $port);
    my $res = enroll_trusted('carol');
    is $redis->cli('GET', $ip), 2, 'a trusted sign-in leaves the count as it was';

    # after SCRIPT FLUSH the give-back goes by EVAL, though nobody waits
    my ($ua, $csrf) = at_verify('erin');
    $ua->post('/_totp/verify', { code => wrong_code($secret{erin}), csrf => $csrf });
    is $redis->cli('GET', 'totp:user:{erin}:fail'), 1, 'erin: one failure';
    $redis->cli('SCRIPT', 'FLUSH');
    $res = $ua->post('/_totp/verify', {
        code => TotpTest::totp_code($secret{erin}, time + 30), csrf => $csrf });
    is $res->{status}, 302, 'erin signs in';
    ok $t->wait_for(sub { !$redis->cli('EXISTS', 'totp:user:{erin}:fail') },
                    3, "erin's count cleared"),
        '... and her count is cleared even after SCRIPT FLUSH';
    $redis->cli('DEL', $ip);
};

subtest 'the client address is limited across users' => sub {
    $redis->cli('DEL', 'totp:ip:{127.0.0.1}:fail');

    my $ua = $t->ua(port => $port_ip);
    my @status = map { login($ua, $_, 'wrong')->{status} } qw(erin frank erin);
    is "@status", '401 401 401', 'three failures for two users';

    is login($ua, 'frank', 'wrong')->{status}, 429,
        'the fourth from this address: 429 (totp_fail_limit_ip 4)';
    is login($t->ua(port => $port_ip), 'dave', $users{dave})->{status}, 429,
        'then any user from this address is refused';
    my $ttl = $redis->cli('TTL', 'totp:ip:{127.0.0.1}:fail');
    ok $ttl > 0 && $ttl <= 3, "totp:ip:{127.0.0.1}:fail holds it for the lockout ($ttl s)";
    ok scalar(grep { /totp: client address locked for 3 s after 4 failures/ }
              $t->error_log), 'audit line';

    $redis->cli('DEL', 'totp:ip:{127.0.0.1}:fail');
    is login($t->ua(port => $port_ip), 'dave', $users{dave})->{status}, 302,
        'ops: DEL of the address\'s key lifts it';
};

$t->done;
