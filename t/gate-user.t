#!/usr/bin/perl

# totp_user: the first factor is an earlier module's (here auth_basic's
# $remote_user); the gate asks no password, only the second factor, and
# trusts the identity only on the location that earlier module guards.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use MIME::Base64 qw(encode_base64);
use Test::More;

use TotpTest;
use TotpGate qw(field secret_of gate_setup);

my $t = TotpTest->new;
my $redis = $t->redis;
my $port = $t->port('http');
my $up = $t->port('http_upstream');

my %users = (alice => 'wonderland', bob => 'builder');
my $htpasswd = join '', map {
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                         $users{$_});
    chomp $hash;
    "$_:$hash\n";
} sort keys %users;

my $pw = $t->write_file('htpasswd', $htpasswd);
my $key = $t->write_file('totp.key', 'u' x 40);

$t->write_config(<<"EOF", workers => 2);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};

    server {
        listen 127.0.0.1:$up;
        location / { return 200 "upstream user=\$http_remote_user\\n"; }
    }

    server {
        listen 127.0.0.1:$port;
        server_name console.test;

        totp_user \$remote_user;
        totp_recovery_codes 0;    # t/gate-recovery.t shows them

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            auth_basic "console";
            auth_basic_user_file $pw;
            totp on;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }

        location /open/ {
            totp on;
            proxy_pass http://127.0.0.1:$up;
        }

        # who may enroll is one setting per user base: a realm of its own
        location ^~ /_inv/ {
            totp_pages;
        }

        location /invited/ {
            auth_basic "console";
            auth_basic_user_file $pw;
            totp on;
            totp_enroll invite;
            totp_realm invited;
            totp_path /_inv/;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }
    }
EOF
$t->run;

my $base = "http://127.0.0.1:$port";

sub basic { return { Authorization => 'Basic ' . encode_base64("$_[0]:$_[1]", '') } }

my $ua = $t->ua(port => $port);
my $alice = basic('alice', 'wonderland');
my $secret;

subtest 'no password page: the identity comes from auth_basic' => sub {
    is $ua->get('/console')->{status}, 401,
        'auth_basic runs first: no credentials, its 401';

    my $res = $ua->get('/console', $alice);
    is $res->{status}, 302, 'auth_basic passed: the gate redirects';
    is $res->{headers}{location}, "$base/_totp/login?next=/console",
        '... to the login page';

    $res = $ua->get('/_totp/login?next=/console');
    is $res->{status}, 302, 'the login page asks nothing';
    is $res->{headers}{location}, "$base/_totp/enroll?next=/console",
        '... and sends alice to enrollment';

    my $page = $ua->get('/_totp/enroll?next=/console');
    like $page->{body}, qr/otpauth:\/\/totp\/console\.test:alice\?/,
        'enrolling alice';
    $secret = secret_of($page->{body});

    $res = $ua->post('/_totp/enroll', {
        code => TotpTest::totp_code($secret),
        csrf => field($page->{body}, 'csrf'), next => '/console',
        trust => 1 });
    is $res->{status}, 302, 'enrolled';

    like $ua->get('/console', $alice)->{body}, qr/user=alice$/m,
        'signed in as alice';
};

subtest 'the pages never take the identity from the request' => sub {
    my $mallory = $t->ua(port => $port);

    my $res = $mallory->get('/_totp/login',
                            basic('alice', 'not-her-password'));
    is $res->{status}, 200, 'without the pre-session of a gated location';
    unlike $res->{body}, qr/name="code"/, 'no code form';

    $res = $mallory->get('/_totp/verify', basic('alice', 'x'));
    is $res->{status}, 302, 'verify sends back to login';
};

subtest "a session is the identity's only" => sub {
    my $res = $ua->get('/console', basic('bob', 'builder'));
    is $res->{status}, 302,
        "alice's session does not let bob in under his own name";
    like $ua->get('/console', $alice)->{body}, qr/user=alice$/m,
        'alice still in';
};

subtest 'a trusted browser needs no code' => sub {
    my $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $ua->cookies->{totp_trust});

    my $res = $b->get('/console', $alice);
    is $res->{status}, 200, 'trusted: straight through';
    like $res->{body}, qr/user=alice$/m, 'as alice';
    ok grep({ /^totp_session=/ } @{ $res->{headers}{'set-cookie'} }),
        'with a new session';

    $res = $b->get('/console', basic('bob', 'builder'));
    is $res->{status}, 302, "... but the trust is alice's, not bob's";
};

# totp_enroll invite with totp_user: the link's invitation waits in the
# pre-session until the gate, which knows the identity, carries it on
subtest 'an invitation, with the identity from auth_basic' => sub {
    my $bob = basic('bob', 'builder');
    my $b = $t->ua(port => $port);

    $b->get('/invited/', $bob);
    my $res = $b->get('/_inv/login?next=/invited/');
    is $res->{headers}{location}, "$base/_inv/enroll?next=/invited/",
        'bob, not enrolled, is sent to enroll';
    is $b->get('/_inv/enroll?next=/invited/')->{status}, 403,
        '... where, without an invitation, he may not';

    my ($out) = TotpTest::Proc::capture(
        abs_path(dirname(abs_path(__FILE__)) . '/../tools/totp-admin'),
        '--redis', $redis->addr, '--realm', 'invited', 'invite', 'bob');
    my ($link) = $out =~ /^(invite\?t=\S+)$/m;

    $res = $b->get("/_inv/$link");
    is $res->{status}, 302, 'bob opens his invitation';
    like $b->get('/_inv/login')->{body}, qr/Open the console first/,
        '... and the login page sends him to the console';

    $res = $b->get('/invited/', $bob);
    is $res->{status}, 302, 'the gate sends him to sign in';
    $res = $b->get('/_inv/login?next=/invited/');
    my $page = $b->get('/_inv/enroll?next=/invited/');
    is $page->{status}, 200, '... and, invited, to his QR code';
    $res = $b->post('/_inv/enroll', {
        code => TotpTest::totp_code(secret_of($page->{body})),
        csrf => field($page->{body}, 'csrf'), next => '/invited/' });
    is $res->{status}, 302, 'bob enrolled';
    like $b->get('/invited/', $bob)->{body}, qr/user=bob$/m, 'and passes';
};

subtest 'no identity: 400' => sub {
    my $res = $t->ua(port => $port)->get('/open/x');
    is $res->{status}, 400, 'totp_user empty on a location without auth: 400';
    $t->allow_log(qr/totp_user" is empty/);
};

$t->done;
