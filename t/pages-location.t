#!/usr/bin/perl

# The pages are a location the admin writes ("location ^~ /_totp/ {
# totp_pages; }"): what guards an ordinary location guards them (allow and
# deny, auth_basic, limit_req), other locations under their prefix work
# (the health check), and they sign users in under the settings of the
# gated location that sent them, which also decide which sessions and
# trusted browsers pass there.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use Test::More;

use TotpTest qw(totp_code);
use TotpGate qw(field secret_of login enroll verify cookie_key token_parse
                token_payload token_sign);

my $t = TotpTest->new;
my $redis = $t->redis;

my $KEY = 'p' x 32;
my $key = $t->write_file('totp.key', $KEY);

sub apr1 {
    my ($pw) = @_;
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', $pw);
    chomp $hash;
    return $hash;
}

my %USERS = (alice => 'wonderland', bob => 'builder', carol => 'singer');
my $pw = $t->write_file('htpasswd',
    join '', map { "$_:" . apr1($USERS{$_}) . "\n" } sort keys %USERS);
my $staff = $t->write_file('staff', 'staff:' . apr1('door') . "\n");

my $up = $t->port('http_upstream');
my $deny = $t->port('http');
my $basic = $t->port('http_basic');
my $limit = $t->port('http_limit');
my $two = $t->port('http_two');

my $gated = <<"EOF";
            totp on;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
EOF

$t->write_config(<<"EOF", workers => 2);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
    totp_password_file $pw;
    totp_recovery_codes 0;
    totp_fail_limit 1000 1m;
    totp_fail_limit_ip 1000 1m;

    limit_req_zone \$binary_remote_addr zone=signin:1m rate=1r/m;

    server {
        listen 127.0.0.1:$up;
        location / { return 200 "upstream user=\$http_remote_user\\n"; }
    }

    # the pages answer 127.0.0.2 only; the health check, under their
    # prefix, answers anyone
    server {
        listen 127.0.0.1:$deny;
        server_name deny.test;

        location ^~ /_totp/ {
            allow 127.0.0.2;
            deny all;
            totp_pages;
        }

        location = /_totp/health {
            totp_health;
        }

        location / {
$gated        }
    }

    # the whole server behind auth_basic, the pages included; "totp on" at
    # the server level is inherited by every location but the pages'
    server {
        listen 127.0.0.1:$basic;
        server_name basic.test;

        auth_basic "staff";
        auth_basic_user_file $staff;

        totp on;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }
    }

    # nginx's own rate limit on the password form
    server {
        listen 127.0.0.1:$limit;
        server_name limit.test;

        location ^~ /_totp/ {
            limit_req zone=signin burst=2 nodelay;
            limit_req_status 429;
            totp_pages;
        }

        location / {
$gated        }
    }

    # two consoles, one user base, settings of their own
    server {
        listen 127.0.0.1:$two;
        server_name two.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location /a/ {
$gated        }

        location /b/ {
            totp_session_ttl 1h;
            totp_trust_ttl off;
            totp_digits 8;
            totp_issuer "B console";
$gated        }
    }
EOF

$t->run;

sub counters {
    return grep { /fail|lock/ } $redis->cli('--scan', '--pattern', '*');
}

sub basic_auth {
    return { Authorization => 'Basic ' . encode_base64("$_[0]:$_[1]", '') };
}


subtest 'deny: the pages answer only whom the location allows' => sub {
    my $ua = $t->ua(port => $deny);

    my $res = $ua->get('/console');
    is $res->{status}, 302, 'the gate still sends 127.0.0.1 to sign in';
    like $res->{headers}{location}, qr{/_totp/login\?next=/console$},
        '... to the login page';

    $res = $ua->get('/_totp/login');
    is $res->{status}, 403, 'the login page: 403 for 127.0.0.1';
    unlike $res->{body}, qr/name="password"/, '... and no form';

    $res = $ua->post('/_totp/login',
                     { user => 'alice', password => 'guess', csrf => 'x' });
    is $res->{status}, 403, 'a password posted from 127.0.0.1: 403';
    is_deeply [ counters() ], [], '... nothing counted in Redis';

    my $ok = $t->ua(port => $deny, local => '127.0.0.2');
    $res = $ok->get('/console');
    $res = $ok->get('/_totp/login?next=/console');
    is $res->{status}, 200, 'the login page answers 127.0.0.2';
    like $res->{body}, qr/name="password"/, '... with its form';

    $res = $ua->get('/_totp/health');
    is $res->{status}, 200, 'the health check under the prefix answers';
    like $res->{body}, qr/^\{"redis":"ok","rtt_ms":[\d.]+\}\r?\n\z/,
        '... its JSON, no version in it';
    is $res->{headers}{'cache-control'}, 'no-store', '... not cached';
};


subtest 'auth_basic around the server guards the pages too' => sub {
    my $ua = $t->ua(port => $basic);

    my $res = $ua->get('/_totp/login');
    is $res->{status}, 401, 'the login page without the staff password: 401';
    like $res->{headers}{'www-authenticate'}, qr/^Basic realm="staff"/,
        '... auth_basic\'s own challenge';
    unlike $res->{body}, qr/name="password"/, '... and no form';

    $res = $ua->post('/_totp/login',
                     { user => 'alice', password => 'guess', csrf => 'x' });
    is $res->{status}, 401, 'a password posted without it: 401';
    is_deeply [ counters() ], [], '... nothing counted in Redis';

    my $door = basic_auth('staff', 'door');

    $res = $ua->get('/console', $door);
    is $res->{status}, 302, 'with it, the gated console sends to sign in';

    $res = $ua->get('/_totp/login?next=/console', $door);
    is $res->{status}, 200, 'the login page answers with it';
    like $res->{body}, qr/name="password"/,
        '... the form, not a redirect: "totp on" is not inherited there';
};


subtest 'limit_req on the pages holds back a password guesser' => sub {
    my $ua = $t->ua(port => $limit);

    $ua->get('/console');
    my $page = $ua->get('/_totp/login');
    is $page->{status}, 200, 'the login page';

    my @status;

    for my $try (1 .. 4) {
        my $res = $ua->post('/_totp/login', {
            user => 'carol', password => "guess$try",
            csrf => field($page->{body}, 'csrf'), next => '/console',
        });
        push @status, $res->{status};
    }

    # the GET took the first of 1 + burst 2; two guesses are judged
    is_deeply \@status, [ 401, 401, 429, 429 ],
        'two wrong passwords judged, then nginx\'s 429';

    is $redis->cli('HGET', 'totp:user:{carol}:failures', 'n'), 2,
        'Redis counted the two the gate saw, no more';
};


# two gated locations with one pages location: each signs its users in
# under its own settings

my (%secret, %last);

sub sign_in {
    my ($ua, $console, $user, %o) = @_;

    my $res = $ua->get("$console/");
    die "$console: $res->{status}\n" unless $res->{status} == 302;

    return login($ua, $user, $USERS{$user}, next => "$console/");
}

subtest 'the pages use the settings of the location that sent the user' => sub {
    my $a = $t->ua(port => $two);
    my $res = sign_in($a, '/a', 'alice');
    like $res->{headers}{location}, qr{/_totp/enroll}, 'alice: to enrollment';

    my $page = $a->get('/_totp/enroll?next=/a/');
    my $uri = field($page->{body}, 'uri') // ($page->{body} =~ /(otpauth:[^"<]+)/)[0];
    like $page->{body}, qr{otpauth://totp/two\.test:alice\?}, 'from /a/: the server name as issuer';
    unlike $page->{body}, qr{digits=8}, '... six digits';
    like $page->{body}, qr/trust-for|Trust this browser/i,
        '... and "trust this browser"';

    my $b = $t->ua(port => $two);
    $res = sign_in($b, '/b', 'bob');
    $page = $b->get('/_totp/enroll?next=/b/');
    like $page->{body}, qr{otpauth://totp/B%20console:bob\?}, 'from /b/: its totp_issuer';
    like $page->{body}, qr{digits=8}, '... its eight digits';
    unlike $page->{body}, qr/name="trust"/, '... no "trust this browser"';

    $secret{bob} = secret_of($page->{body});
    my $code = totp_code($secret{bob}, undef, digits => 8);
    $res = $b->post('/_totp/enroll', {
        code => $code, csrf => field($page->{body}, 'csrf'), next => '/b/',
    });
    is $res->{status}, 302, 'bob confirms with an eight-digit code';
    is $res->{headers}{location}, "http://127.0.0.1:$two/b/",
        '... and lands on /b/';
    is $b->get('/b/x')->{body}, "upstream user=bob\n", 'bob is in /b/';
};

subtest 'a login page nobody was sent to, with two consoles' => sub {
    my $ua = $t->ua(port => $two);

    my $res = $ua->get('/_totp/login');
    is $res->{status}, 200, 'a page';
    like $res->{body}, qr/Open the console first/,
        '... that sends the user to the console first';
    unlike $res->{body}, qr/name="password"/, '... no form to guess with';

    $res = $t->ua(port => $deny, local => '127.0.0.2')->get('/_totp/login');
    like $res->{body}, qr/name="password"/,
        'with one console, the form is shown at once';
};

subtest 'sessions and trust pass where the settings allow' => sub {
    my $ua = $t->ua(port => $two);

    my $res = sign_in($ua, '/a', 'carol');
    ($res, $secret{carol}) = enroll($ua, $res->{headers}{location},
                                    trust => 1);
    is $res->{status}, 302, 'carol enrolled through /a/, trusting';
    my $session = $ua->cookie('totp_session');
    my $trust = $ua->cookie('totp_trust');
    ok $session && $trust, '... with a session and a trust cookie';

    is $ua->get('/a/x')->{status}, 200, 'her session passes /a/';
    is $ua->get('/b/x')->{status}, 200, '... and /b/, an hour old at most';

    # the same session, as if made 2 hours ago (signed here with the key
    # the module derives): /a/ keeps it for 12 hours, /b/ for one
    my $s = token_parse($session);
    my $binding = "totp_password_file $pw";
    my $old = token_sign(token_payload(%$s, issued => time - 7200,
                                       expires => time + 36000),
                         cookie_key($KEY, 'session', $binding));

    my $b = $t->ua(port => $two);
    $b->set_cookie(totp_session => $old);
    is $b->get('/a/x')->{status}, 200, 'a 2-hour-old session passes /a/';
    $res = $b->get('/b/x');
    is $res->{status}, 302, '... not /b/, where sessions last an hour';

    # without the session: /a/ lets the trusted browser in on the
    # password, /b/ (trust off) asks for the code
    my $c = $t->ua(port => $two);
    $c->set_cookie(totp_trust => $trust);

    $res = sign_in($c, '/a', 'carol');
    is $res->{status}, 302, 'trusted, through /a/';
    is $res->{headers}{location}, "http://127.0.0.1:$two/a/",
        '... the password is enough';

    $c = $t->ua(port => $two);
    $c->set_cookie(totp_trust => $trust);
    $res = sign_in($c, '/b', 'carol');
    like $res->{headers}{location}, qr{/_totp/verify},
        'trusted, through /b/ (trust off there): the code is asked';
};

$t->done;
