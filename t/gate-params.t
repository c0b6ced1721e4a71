#!/usr/bin/perl

# Enrollment parameters other than the defaults reach the authenticator
# app and the code check: SHA256, 8 digits, a 60 s period; totp_issuer,
# totp_path and totp_trust_ttl off.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field secret_of gate_setup login user_key);

my ($t, $redis, $port) = gate_setup(
    users => { 'ann o\'neil' => 'pw1', bo => 'pw2' },
    location => <<'EOF',
            totp_algorithm sha256;
            totp_digits 8;
            totp_period 60;
            totp_issuer "Ops <Console>";
            totp_trust_ttl off;
EOF
    server => '        totp_path /auth/2fa/;',
    pages => '/auth/2fa/',
);

my $base = "http://127.0.0.1:$port";

subtest 'sha256, 8 digits, 60 s period' => sub {
    my $ua = $t->ua(port => $port);

    my $res = $ua->get('/console');
    is $res->{headers}{location}, "$base/auth/2fa/login?next=/console",
        'pages live under totp_path';

    my $page = $ua->get('/auth/2fa/login?next=/console');
    $res = $ua->post('/auth/2fa/login', {
        user => "ann o'neil", password => 'pw1',
        csrf => field($page->{body}, 'csrf'), next => '/console' });
    is $res->{headers}{location}, "$base/auth/2fa/enroll?next=/console",
        'to enrollment';

    $page = $ua->get('/auth/2fa/enroll?next=/console');
    my $secret = secret_of($page->{body});
    like $secret, qr/^[A-Z2-7]{52}$/, 'a 32-byte secret for SHA256';
    like $page->{body},
        qr{href="otpauth://totp/Ops%20%3CConsole%3E:ann%20o%27neil\?secret=$secret&amp;issuer=Ops%20%3CConsole%3E&amp;algorithm=SHA256&amp;digits=8&amp;period=60"},
        'the URI names algorithm, digits and period';
    like $page->{body}, qr/Ops &lt;Console&gt;/, 'the issuer is escaped';
    unlike $page->{body}, qr/<Console>/, '... everywhere';
    like $page->{body}, qr/ann o&#39;neil/, 'so is the user name';
    unlike $page->{body}, qr/name="trust"/, 'no trust checkbox when off';
    like $page->{body}, qr/8-digit code/, 'the page asks for 8 digits';

    my $six = TotpTest::totp_code($secret, time, algorithm => 'sha256');
    $res = $ua->post('/auth/2fa/enroll', {
        code => $six, csrf => field($page->{body}, 'csrf'),
        next => '/console' });
    is $res->{status}, 400, 'a 6-digit code does not confirm it: not a code';

    my $sha1 = TotpTest::totp_code($secret, time, digits => 8, period => 60);
    $res = $ua->post('/auth/2fa/enroll', {
        code => $sha1, csrf => field($page->{body}, 'csrf'),
        next => '/console' });
    is $res->{status}, 401, 'nor does a SHA1 code';

    my $at = time;
    my $code = TotpTest::totp_code($secret, $at, algorithm => 'sha256',
                                   digits => 8, period => 60);
    $res = $ua->post('/auth/2fa/enroll', {
        code => $code, csrf => field($page->{body}, 'csrf'),
        next => '/console', trust => 1 });
    is $res->{status}, 302, 'the SHA256, 8-digit, 60 s code confirms it';
    ok !grep({ /^totp_trust=/ } @{ $res->{headers}{'set-cookie'} }),
        'no trust cookie when totp_trust_ttl is off, even if asked';
    like $ua->get('/console')->{body}, qr/user=ann o'neil /, 'signed in';

    my %h = $redis->cli('HGETALL', user_key("ann o'neil"));
    is $redis->cli('EXISTS', "totp:user:{ann%20o%27neil}"), 1,
        'the name percent-encoded in the key, as ops type it';
    is "$h{algorithm} $h{digits} $h{period}", 'sha256 8 60',
        'parameters stored with the enrollment';

    # a second login, one 60 s step later in the app's view
    my $other = $t->ua(port => $port);
    $page = $other->get('/auth/2fa/login');
    $res = $other->post('/auth/2fa/login', {
        user => "ann o'neil", password => 'pw1',
        csrf => field($page->{body}, 'csrf') });
    $page = $other->get('/auth/2fa/verify');
    like $page->{body}, qr/8-digit code/, 'verify asks for 8 digits';
    $res = $other->post('/auth/2fa/verify', {
        code => TotpTest::totp_code($secret, $at + 60, algorithm => 'sha256',
                                    digits => 8, period => 60),
        csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 302, 'the next 60 s step is accepted';
};

subtest 'the old path is not the gate\'s' => sub {
    my $ua = $t->ua(port => $port);
    my $res = $ua->get('/_totp/login');
    is $res->{status}, 302, '/_totp/ is an ordinary, gated URI here';
};

subtest 'stylesheet' => sub {
    my $ua = $t->ua(port => $port);
    my $res = $ua->get('/auth/2fa/style.css');
    is $res->{status}, 200, 'served without a session';
    like $res->{headers}{'content-type'}, qr{^text/css}, 'as CSS';
    like $res->{body}, qr/prefers-color-scheme:\s*dark/, 'with a dark scheme';
    is $ua->get('/auth/2fa/nothing')->{status}, 404, 'unknown page: 404';
    is $ua->request('PUT', '/auth/2fa/login')->{status}, 405,
        'PUT on a page: 405';
};

$t->done;
