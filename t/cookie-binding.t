#!/usr/bin/perl

# The gate's cookies are bound to what was checked, and stay with the
# gate:
#   - with a password file whose path has variables, a session made where
#     one file was checked never passes where another is;
#   - with totp_user, cookies are bound to the realm, whatever variable
#     each location reads the identity from;
#   - the gate takes its cookies (any realm's) out of the Cookie header
#     that goes upstream, so that no console, and none of its logs, holds
#     a token that passes the gate; a gate after an internal redirect
#     still reads them.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;
use TotpGate qw(login enroll);

my $t = TotpTest->new;
my $redis = $t->redis;
my $dir = $t->dir;

my $key = $t->write_file('totp.key', 'b' x 32);

sub htpasswd {
    my ($password) = @_;
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                         $password);
    chomp $hash;
    return "alice:$hash\n";
}

# one user name, two tenants' files, each with its own password
$t->write_file('htpasswd.a.test', htpasswd('password-a'));
$t->write_file('htpasswd.b.test', htpasswd('password-b'));

my $up = $t->port('http_upstream');
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 1);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
    totp_recovery_codes 0;
    totp_fail_limit_ip 1000 1m;

    log_format cookies '\$http_cookie';

    server {
        listen 127.0.0.1:$up;
        access_log $dir/console.log cookies;

        location / {
            return 200 "cookie=[\$http_cookie] user=\$http_remote_user uri=\$uri\\n";
        }

        location /notfound/ {
            return 404;
        }
    }

    server {
        listen 127.0.0.1:$port;
        server_name a.test b.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file $dir/htpasswd.\$host;
            proxy_set_header Remote-User \$totp_user;
            proxy_intercept_errors on;
            error_page 404 = /again/;
            proxy_pass http://127.0.0.1:$up;
        }

        location /again/ {
            totp on;
            totp_password_file $dir/htpasswd.\$host;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }

        location ^~ /_id/ {
            totp_pages;
        }

        # an identity from two places, one realm
        location /id-a/ {
            totp on;
            totp_realm staff;
            totp_path /_id/;
            totp_user \$http_x_a;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }

        location /id-b/ {
            totp on;
            totp_realm staff;
            totp_path /_id/;
            totp_user \$http_x_b;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up;
        }
    }
EOF

$t->run;

sub path_of { my ($l) = @_; $l =~ s{^https?://[^/]+}{}; return $l }

# alice of tenant a enrolls there
my $a = $t->ua(vhost => 'a.test');

$a->get('/console/');
my ($res) = enroll($a, login($a, 'alice', 'password-a', next => '/console/')
                         ->{headers}{location});
is $res->{status}, 302, 'tenant a: alice enrolled';

my $session = $a->cookie('totp_session');
ok $session, 'tenant a: a session';

subtest 'a variable password file: the session is bound to the file' => sub {
    my %cookie = (Cookie => "totp_session=$session");

    my $res = $t->ua(vhost => 'a.test')->get('/console/x', \%cookie);
    is $res->{status}, 200, 'the session passes where it was made';
    like $res->{body}, qr/user=alice/, '... as alice';

    $res = $t->ua(vhost => 'b.test')->get('/console/x', \%cookie);
    is $res->{status}, 302,
        'another host, another file: the same cookie does not pass';
    like $res->{headers}{location}, qr{/_totp/login}, '... to the login';
};

subtest 'the upstream never sees the gate\'s cookies' => sub {
    my $pre = 'totp_pre=' . ('x' x 20);
    my $other_realm = 'totp_session_staff=abc.def';
    my $host_prefixed = '__Host-totp_trust=xyz';

    my $ua = $t->ua(vhost => 'a.test');

    my $res = $ua->get('/console/y', {
        Cookie => "theme=dark; totp_session=$session; $pre; lang=en; "
                  . "$other_realm; $host_prefixed; totp_sessions=keep",
    });
    is $res->{status}, 200, 'passes';
    like $res->{body}, qr/^cookie=\[theme=dark; lang=en; totp_sessions=keep\] /,
        'the console gets the other cookies, none of the gate\'s';

    $res = $ua->get('/console/y', { Cookie => "totp_session=$session" });
    like $res->{body}, qr/^cookie=\[\] /, 'only the session: an empty header';

    $res = $ua->get('/console/y', {
        Cookie => ["a=1; totp_session=$session", 'totp_trust=t; b=2'],
    });
    like $res->{body}, qr/^cookie=\[a=1; b=2\] /,
        'two Cookie headers: both cleaned';

    $res = $ua->get('/notfound/z', {
        Cookie => "totp_session=$session; keep=1",
    });
    is $res->{status}, 200,
        'an internal redirect into another gated location: passes there too';
    like $res->{body}, qr{^cookie=\[keep=1\] user=alice uri=/again/},
        '... and its upstream sees no gate cookie either';

    my @console = TotpTest::_read_log("$dir/console.log");
    ok @console >= 5, 'the console logged the requests it got';
    ok !grep({ /totp_(session|pre|trust)(_\w+)?=/ } @console),
        '... and none of the gate\'s cookies'
        or diag explain \@console;
};

subtest 'totp_user: bound to the realm, whatever variable' => sub {
    my $ua = $t->ua(vhost => 'a.test');

    my $res = $ua->get('/id-a/x', { 'X-A' => 'carol' });
    is $res->{status}, 302, 'carol, known to an earlier module: to the pages';

    $res = $ua->get(path_of($res->{headers}{location}));
    like $res->{headers}{location}, qr{/_id/enroll}, '... on to enroll';

    ($res) = enroll($ua, $res->{headers}{location});
    is $res->{status}, 302, 'carol enrolled';

    $res = $ua->get('/id-b/x', { 'X-B' => 'carol' });
    is $res->{status}, 200,
        'her session passes where the identity comes from another header';

    $res = $ua->get('/id-b/x', { 'X-B' => 'dave' });
    is $res->{status}, 302, '... for carol only';
};

$t->done;
