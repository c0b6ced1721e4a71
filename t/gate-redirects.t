#!/usr/bin/perl

# nginx's own machinery around a gated location: $totp_user and
# $totp_status survive internal redirects (error_page, try_files to a
# named location), as auth_request's and limit_req's variables do; the
# decision does not: a redirect into another gated location is checked
# again there.  A subrequest into a gated location (SSI, auth_request)
# passes only when its main request passed a gate of the same user base.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest qw(totp_code);
use TotpGate qw(login enroll);

my $t = TotpTest->new;
my $redis = $t->redis;

my $key = $t->write_file('totp.key', 'x' x 32);

my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                     'wonderland');
chomp $hash;
my $pw = $t->write_file('htpasswd', "alice:$hash\n");

my $up = $t->port('http_upstream');
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 2);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
    totp_password_file $pw;
    totp_recovery_codes 0;
    totp_fail_limit_ip 1000 1m;

    server {
        listen 127.0.0.1:$up;

        location / {
            return 200 "upstream user=\$http_remote_user uri=\$uri\\n";
        }

        location /console/missing {
            return 404;
        }

        location /teapot {
            return 418;
        }

        location /source/ {
            default_type text/html;
            return 200 '[<!--# include virtual="/inner/x" -->][<!--# include virtual="/b-area/x" -->]';
        }
    }

    server {
        listen 127.0.0.1:$port;
        server_name redirects.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location ^~ /_b/ {
            totp_pages;
        }

        location /console/ {
            totp on;
            proxy_set_header Remote-User \$totp_user;
            proxy_intercept_errors on;
            error_page 404 = /notfound;
            proxy_pass http://127.0.0.1:$up;
        }

        location = /notfound {
            return 200 "notfound user=\$totp_user status=\$totp_status\\n";
        }

        location /tried/ {
            totp on;
            try_files /no/such/file \@named;
        }

        location \@named {
            return 200 "named user=\$totp_user status=\$totp_status\\n";
        }

        # SSI includes from a gated page and from an open one
        location /ssi/ {
            totp on;
            ssi on;
            proxy_pass http://127.0.0.1:$up/source/;
        }

        location /open/ {
            ssi on;
            proxy_pass http://127.0.0.1:$up/source/;
        }

        # (content from the upstream: a "return" runs in the rewrite
        # phase, before any access check or gate, as nginx documents)
        location /inner/ {
            totp on;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up/inner/;
        }

        # another user base
        location /b-area/ {
            totp on;
            totp_realm b;
            totp_path /_b/;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:$up/b-area/;
        }

        # forward auth into a gated location from an open one
        location /checked/ {
            auth_request /inner/check;
            proxy_pass http://127.0.0.1:$up;
        }

        # a gated location that redirects into another
        location /to-console/ {
            totp on;
            proxy_intercept_errors on;
            error_page 418 = /console/again;
            proxy_pass http://127.0.0.1:$up/teapot;
        }

        location /to-b/ {
            totp on;
            proxy_intercept_errors on;
            error_page 418 = /b-area/x;
            proxy_pass http://127.0.0.1:$up/teapot;
        }
    }
EOF

$t->run;

my $base = "http://127.0.0.1:$port";
my $ua = $t->ua;

subtest 'alice signs in' => sub {
    $ua->get('/console/');
    my ($res) = enroll($ua, login($ua, 'alice', 'wonderland')
                              ->{headers}{location});
    is $res->{status}, 302, 'enrolled';
    is $ua->get('/console/x')->{body}, "upstream user=alice uri=/console/x\n",
        'the console sees alice';
};

subtest 'the variables survive internal redirects' => sub {
    is $ua->get('/console/missing')->{body},
        "notfound user=alice status=session\n",
        'error_page into an ungated location: user and status kept';
    is $ua->get('/tried/page')->{body},
        "named user=alice status=session\n",
        'try_files into a named location: kept';

    my $anon = $t->ua;
    is $anon->get('/notfound')->{body}, "notfound user= status=\n",
        'the ungated location itself, without the gate: empty';
};

subtest 'the decision does not: a redirect is checked again' => sub {
    is $ua->get('/to-console/y')->{body},
        "upstream user=alice uri=/console/again\n",
        'into another location of the same user base: alice passes';

    my $res = $ua->get('/to-b/y');
    is $res->{status}, 302, 'into another user base: refused';
    is $res->{headers}{location}, "$base/_b/login?next=/to-b/y",
        '... sent to that user base\'s pages';

    $res = $t->ua->get('/to-console/y');
    is $res->{status}, 302, 'without a session, the first gate refuses';
};

subtest 'subrequests pass only for a main request that passed' => sub {
    my $res = $ua->get('/ssi/page');
    is $res->{status}, 200, 'a gated page with SSI includes';
    like $res->{body}, qr{^\[upstream user=alice uri=/inner/x\n\]},
        'the include of the same user base passes';
    unlike $res->{body}, qr{uri=/b-area/},
        'the include of another user base does not';

    $res = $ua->get('/open/page');
    is $res->{status}, 200, 'an open page with the same includes';
    unlike $res->{body}, qr/upstream/,
        'neither include passes: the main request passed no gate';

    $res = $ua->get('/checked/z');
    is $res->{status}, 403, 'auth_request into a gated location from an '
                            . 'open one: refused';

    ok grep({ /subrequest "\/inner\/x" refused/ } $t->error_log),
        'the refusal is logged';
};

$t->done;
