#!/usr/bin/perl

# totp_realm: two consoles on one server, each with its own user base
# (password file, issuer, settings) and its own pages location.  The same
# user name in both is two users: two enrollments, two sessions, two
# failure counts, kept apart in cookies (totp_session_REALM) and in Redis
# (totp:REALM:user:{NAME}).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest qw(totp_code);
use TotpGate qw(field secret_of user_key);

my $t = TotpTest->new;
my $redis = $t->redis;

my $key = $t->write_file('totp.key', 'r' x 32);

sub apr1 {
    my ($pw) = @_;
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', $pw);
    chomp $hash;
    return $hash;
}

my $file_a = $t->write_file('a.htpasswd', 'alice:' . apr1('alpha') . "\n");
my $file_b = $t->write_file('b.htpasswd', 'alice:' . apr1('bravo') . "\n");

my $up = $t->port('http_upstream');
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 2);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
    totp_recovery_codes 0;
    totp_revalidate 1s;
    totp_fail_limit_ip 1000 1m;

    server {
        listen 127.0.0.1:$up;
        location / { return 200 "upstream user=\$http_remote_user\\n"; }
    }

    server {
        listen 127.0.0.1:$port;
        server_name consoles.test;

        location ^~ /_totp_a/ {
            totp_pages;
        }

        location ^~ /_totp_b/ {
            totp_pages;
        }

        location /a/ {
            totp on;
            totp_realm a;
            totp_path /_totp_a/;
            totp_password_file $file_a;
            totp_issuer "Console A";
            totp_fail_limit 50 1m;

            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }

        location /b/ {
            totp on;
            totp_realm b;
            totp_path /_totp_b/;
            totp_password_file $file_b;
            totp_issuer "Console B";
            totp_digits 8;
            totp_fail_limit 3 1m;

            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }
    }
EOF

$t->run;

my $base = "http://127.0.0.1:$port";

# the gated page, then the password at the pages it sends to
sub password {
    my ($ua, $console, $pw) = @_;

    my $res = $ua->get("/$console/");
    die "/$console/: $res->{status}\n" unless $res->{status} == 302;

    my $page = $ua->get("/_totp_$console/login?next=/$console/");
    die "login page: $page->{status}\n" unless $page->{status} == 200;

    return $ua->post("/_totp_$console/login", {
        user => 'alice', password => $pw,
        csrf => field($page->{body}, 'csrf'), next => "/$console/",
    });
}

sub enroll_at {
    my ($ua, $console, %otp) = @_;

    my $page = $ua->get("/_totp_$console/enroll?next=/$console/");
    my $secret = secret_of($page->{body});

    my $res = $ua->post("/_totp_$console/enroll", {
        code => totp_code($secret, undef, %otp),
        csrf => field($page->{body}, 'csrf'), next => "/$console/",
    });

    return ($res, $secret, $page);
}

my $ua = $t->ua;
my %secret;

subtest 'alice enrolls in console A' => sub {
    my $res = password($ua, 'a', 'alpha');
    is $res->{headers}{location}, "$base/_totp_a/enroll?next=/a/",
        'A\'s password: on to A\'s enrollment';

    my $page;
    ($res, $secret{a}, $page) = enroll_at($ua, 'a');
    like $page->{body}, qr{otpauth://totp/Console%20A:alice\?},
        'A\'s issuer in the QR code';
    is $res->{headers}{location}, "$base/a/", 'enrolled, back to /a/';

    ok $ua->cookie('totp_session_a'), 'the session cookie is A\'s own';
    ok !$ua->cookie('totp_session'), '... no unnamed one';
    is $ua->get('/a/x')->{body}, "upstream user=alice\n", 'alice is in A';

    is $redis->cli('EXISTS', user_key('alice', realm => 'a')), 1,
        'Redis: totp:a:user:{alice}';
    is $redis->cli('EXISTS', user_key('alice')), 0,
        '... and nothing without the realm';
};

subtest 'A\'s session and A\'s password are nothing in console B' => sub {
    my $res = $ua->get('/b/x');
    is $res->{status}, 302, 'A\'s session does not pass /b/';
    is $res->{headers}{location}, "$base/_totp_b/login?next=/b/x",
        '... it goes to B\'s pages';

    $res = $ua->request('PUT', '/b/x', {}, 'x');
    is $res->{status}, 401, 'a PUT to /b/: 401';
    is $res->{headers}{'www-authenticate'},
        'TOTP realm="b", login="/_totp_b/login"',
        '... with B\'s realm and login page in the challenge';

    $res = password($ua, 'b', 'alpha');
    is $res->{status}, 401, 'A\'s password at B\'s login: refused';
    is $redis->cli('HGET', user_key('alice', realm => 'b',
                                    suffix => ':failures'), 'n'),
        1, 'counted against B\'s alice';
    is $redis->cli('EXISTS', user_key('alice', realm => 'a',
                                      suffix => ':fail')),
        0, 'not A\'s';
};

subtest 'alice enrolls in console B under its settings' => sub {
    my $res = password($ua, 'b', 'bravo');
    is $res->{headers}{location}, "$base/_totp_b/enroll?next=/b/",
        'B\'s password: B\'s alice is not enrolled yet';

    my $page;
    ($res, $secret{b}, $page) = enroll_at($ua, 'b', digits => 8);
    like $page->{body}, qr{otpauth://totp/Console%20B:alice\?.*digits=8},
        'B\'s issuer and eight digits';
    is $res->{headers}{location}, "$base/b/", 'enrolled in B';
    isnt $secret{b}, $secret{a}, 'a secret of its own';

    is $ua->get('/b/x')->{body}, "upstream user=alice\n", 'alice is in B';
    is $ua->get('/a/x')->{body}, "upstream user=alice\n",
        '... and still in A: two sessions side by side';
    ok $ua->cookie('totp_session_a') && $ua->cookie('totp_session_b'),
        'two cookies';
};

subtest 'ops reset one alice, the other stays' => sub {
    is $redis->cli('DEL', user_key('alice', realm => 'b')), 1,
        'DEL totp:b:user:{alice}';

    ok $t->wait_for(sub { $ua->get('/b/x')->{status} == 302 }, 5,
                    'B\'s session to end'),
        'B\'s session ends within totp_revalidate';
    is $ua->get('/a/x')->{status}, 200, 'A\'s session goes on';
};

$t->done;
