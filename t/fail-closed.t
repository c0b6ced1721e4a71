#!/usr/bin/perl

# The gate's refusals reach the client as they are, whatever error_page,
# recursive_error_pages or named locations the admin wrote around it: a
# refusal that became an internal redirect would carry the request,
# method and body included, to a location without the gate.  Each
# location below points the gate's own statuses at an ungated backup;
# none of them may ever answer for a refused request.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;
use TotpGate qw(login enroll user_key);

my $t = TotpTest->new;
my $redis = $t->redis;

my $key = $t->write_file('totp.key', 'f' x 32);

my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                     'wonderland');
chomp $hash;
my $pw = $t->write_file('htpasswd', "alice:$hash\n");

my $up = $t->port('http_upstream');
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 1);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
    totp_password_file $pw;
    totp_recovery_codes 0;
    totp_fail_limit_ip 1000 1m;
    totp_redis_timeout 500ms;

    server {
        listen 127.0.0.1:$up;

        location / {
            return 200 "console \$request_method \$uri\\n";
        }

        location /backup/ {
            return 200 "BACKUP \$request_method \$uri\\n";
        }

        location /unavailable/ {
            return 503;
        }

        location /source/ {
            default_type text/html;
            return 200 '[<!--# include virtual="/included/x" -->]';
        }
    }

    server {
        listen 127.0.0.1:$port;
        server_name fail-closed.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location ^~ /_id/ {
            totp_pages;
        }

        location \@backup {
            return 200 "BACKUP \$request_method \$uri\\n";
        }

        location /fallback/ {
            proxy_pass http://127.0.0.1:$up/backup/;
        }

        # the common "serve something else when the upstream is down";
        # totp_revalidate 0: every request asks Redis
        location /down/ {
            totp on;
            totp_revalidate 0;
            error_page 500 502 503 504 = \@backup;
            proxy_pass http://127.0.0.1:$up;
        }

        # the same, for the upstream's own 503: error_page works here
        location /upstream-down/ {
            totp on;
            proxy_intercept_errors on;
            error_page 500 502 503 504 = \@backup;
            proxy_pass http://127.0.0.1:$up/unavailable/;
        }

        # the gate's redirect and challenge pointed elsewhere
        location /signin/ {
            totp on;
            error_page 302 401 403 = \@backup;
            proxy_pass http://127.0.0.1:$up;
        }

        # a URI rather than a named location, recursively
        location /recursive/ {
            totp on;
            totp_revalidate 0;
            recursive_error_pages on;
            error_page 302 401 503 /fallback/x;
            proxy_pass http://127.0.0.1:$up;
        }

        # an identity from an earlier module: none is a 400
        location /identity/ {
            totp on;
            totp_user \$http_x_user;
            totp_realm id;
            totp_path /_id/;
            error_page 400 = \@backup;
            proxy_pass http://127.0.0.1:$up;
        }

        # a subrequest the gate refuses
        location /page/ {
            ssi on;
            proxy_pass http://127.0.0.1:$up/source/;
        }

        location /included/ {
            totp on;
            error_page 403 = \@backup;
            proxy_pass http://127.0.0.1:$up;
        }
    }
EOF

$t->run;

my $base = "http://127.0.0.1:$port";

my $ua = $t->ua;
$ua->get('/signin/');
my ($res) = enroll($ua, login($ua, 'alice', 'wonderland')->{headers}{location});
is $res->{status}, 302, 'alice enrolled';

my $session = $ua->cookie('totp_session');
ok $session, '... and holds a session';

sub no_backup {
    my ($res, $status, $name) = @_;

    is $res->{status}, $status, "$name: $status";
    unlike $res->{body} // '', qr/BACKUP|console/, "$name: no backup, no console";
}

subtest 'control: error_page works where the admin means it' => sub {
    my $res = $ua->get('/upstream-down/x');
    is $res->{status}, 200, 'the upstream\'s own 503 goes to the backup';
    like $res->{body}, qr/^BACKUP GET/, '... which answers';

    like $ua->get('/down/x')->{body}, qr{^console GET /down/x},
        'alice passes the gate of /down/ while Redis is up';
};

subtest 'redirect and challenge: sent, not redirected' => sub {
    my $anon = $t->ua;

    my $res = $anon->get('/signin/page');
    no_backup($res, 302, 'GET without a session');
    is $res->{headers}{location}, "$base/_totp/login?next=/signin/page",
        '... to the login page';
    is $res->{headers}{'cache-control'}, 'no-store', '... not to be cached';

    $res = $anon->post('/signin/form', { field => 'value' });
    no_backup($res, 401, 'POST without a session');
    like $res->{headers}{'www-authenticate'}, qr/^TOTP realm=/,
        '... with the challenge';

    $res = $anon->request('HEAD', '/signin/page');
    is $res->{status}, 302, 'HEAD: 302';
    is $res->{body}, '', '... without a body';

    $res = $anon->get('/recursive/page');
    no_backup($res, 302, 'recursive_error_pages with a URI');

    # the connection stays usable after a refused POST's body
    $res = $anon->post('/signin/form', { field => 'x' x 5000 });
    is $res->{status}, 401, 'a refused POST with a larger body';
    is $anon->get('/signin/page')->{status}, 302,
        '... and the next request on the connection is read right';
};

subtest 'a missing identity: 400, not the backup' => sub {
    no_backup($t->ua->get('/identity/x'), 400, 'no X-User');
};

subtest 'a refused subrequest stays refused' => sub {
    my $res = $t->ua->get('/page/x');
    is $res->{status}, 200, 'the page with the include';
    is $res->{body}, "[<html>\n<head><title>403 Forbidden</title></head>\n"
                     . "<body>\n<center><h1>403 Forbidden</h1></center>\n"
                     . "</body>\n</html>\n]",
        'the include is the gate\'s 403, not the backup';
};

subtest 'Redis down, a reset user\'s cookie: 503 everywhere' => sub {
    $redis->cli('DEL', user_key('alice'));
    $redis->stop;

    for my $path ('/down/x', '/recursive/x') {
        no_backup($ua->get($path), 503, "GET $path");
        no_backup($ua->post($path, { amount => 100 }), 503, "POST $path");
    }

    $redis->start;

    # the workers reconnect on their own schedule
    my $res;
    $t->wait_for(sub { ($res = $ua->get('/down/x'))->{status} != 503 },
                 10, 'the gate to reach Redis again');

    is $res->{status}, 302, 'Redis back: the reset session is refused';
    like $res->{headers}{location}, qr{/_totp/login}, '... to the login page';
};

$t->done;
