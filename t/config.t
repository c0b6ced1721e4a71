#!/usr/bin/perl

# Configuration checks: the module loads, good values pass `nginx -t`, and
# bad ones fail it with a message that names the directive (docs/configuration.md:
# an admin must be able to tell which line to fix).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;

my $t = TotpTest->new;
my $port = $t->port('http');

# file names that hold no directive name, so that "names the directive"
# cannot be satisfied by a path in the message
my $key = $t->write_file('good.key', join '', map { chr } 0 .. 31);
my $key_max = $t->write_file('max.key', 'k' x 4096);
my $key_big = $t->write_file('big.key', 'k' x 4097);
my $key_short = $t->write_file('short.key', 'k' x 31);
my $empty = $t->write_file('empty', '');
my $newline = $t->write_file('newline', "\n");
my $password = $t->write_file('pass', "secret\n");
my $missing = $t->dir . '/no-such-file';
my $a_dir = $t->dir . '/a-dir';

mkdir $a_dir or die "$a_dir: $!";

# A config around the given lines: %o: http, server, location (lines for
# that level), main (lines at the top), no_key (leave totp_key_file out),
# pages (the prefix of the server's totp_pages location, /_totp/ unless
# set; "" for none).
sub conf {
    my (%o) = @_;

    my $http = $o{http} // '';
    $http = "totp_key_file $key;\n$http" unless $o{no_key};

    my $pages = $o{pages} // '/_totp/';
    $pages = length $pages ? "location ^~ $pages { totp_pages; }" : '';

    return <<"EOF";
$http

server {
    listen 127.0.0.1:$port;
    $o{server}

    $pages

    location / {
        $o{location}
        return 204;
    }
}
EOF
}

sub accepts {
    my ($name, %o) = @_;

    $o{$_} //= '' for qw(server location);
    $t->write_config(conf(%o), main => $o{main});

    my ($ok, $out) = $t->nginx_test;
    ok($ok, "accepted: $name") or diag $out;
}

# $fragment: a regexp for what the message must say beyond the name
sub rejects {
    my ($name, $directive, $fragment, %o) = @_;

    $o{$_} //= '' for qw(server location);
    $t->write_config(conf(%o), main => $o{main});

    my ($ok, $out) = $t->nginx_test;

    subtest "rejected: $name" => sub {
        ok(!$ok, 'nginx -t fails');

        # a crash fails too, but without this line
        like($out, qr/test failed/, 'as a configuration error');

        # not for want of the module
        unlike($out, qr/unknown directive/, 'the directive is known');

        like($out, qr/(?<![\w-])\Q$directive\E(?![\w-])/,
             "the message names $directive");

        like($out, $fragment, 'the message says why') if $fragment;
    } or diag $out;
}


# loading

# Debian loads modules for every site (modules-enabled): loaded and unused,
# the module must not demand anything.
accepts('module loaded, no totp directive', no_key => 1);

accepts('minimal config using the module',
        location => 'location /health { totp_health; }');


# totp_key_file

accepts('totp_key_file, 32 bytes (binary)');
accepts('totp_key_file, 4096 bytes', no_key => 1,
        http => "totp_key_file $key_max;");

rejects('totp_key_file, missing file', 'totp_key_file',
        qr/\Q$missing\E.*No such file/, no_key => 1,
        http => "totp_key_file $missing;");
rejects('totp_key_file, 31 bytes', 'totp_key_file', qr/at least 32/,
        no_key => 1, http => "totp_key_file $key_short;");
rejects('totp_key_file, empty', 'totp_key_file', qr/at least 32/,
        no_key => 1, http => "totp_key_file $empty;");
rejects('totp_key_file, 4097 bytes', 'totp_key_file', qr/4096/,
        no_key => 1, http => "totp_key_file $key_big;");
rejects('totp_key_file, a directory', 'totp_key_file', qr/directory/,
        no_key => 1, http => "totp_key_file $a_dir;");
rejects('totp_key_file, duplicate', 'totp_key_file', qr/duplicate/,
        http => "totp_key_file $key;");
rejects('totp_key_file, in server', 'totp_key_file', qr/not allowed here/,
        server => "totp_key_file $key;");
rejects('totp_key_file, no argument', 'totp_key_file',
        qr/invalid number of arguments/, http => 'totp_key_file;');


# totp_key_file_previous

accepts('totp_key_file_previous', http => "totp_key_file_previous $key;");

rejects('totp_key_file_previous, missing file', 'totp_key_file_previous',
        qr/No such file/, http => "totp_key_file_previous $missing;");
rejects('totp_key_file_previous, 31 bytes', 'totp_key_file_previous',
        qr/at least 32/, http => "totp_key_file_previous $key_short;");
rejects('totp_key_file_previous, duplicate', 'totp_key_file_previous',
        qr/duplicate/, http => "totp_key_file_previous $key;\n"
                              . "totp_key_file_previous $key;");


# totp_algorithm, totp_digits, totp_period, totp_skew: every level

for my $alg (qw(sha1 sha256 sha512)) {
    accepts("totp_algorithm $alg", location => "totp_algorithm $alg;");
}

accepts('totp_digits 6 (http), 8 (server)', http => 'totp_digits 6;',
        server => 'totp_digits 8;');
accepts('totp_period 30, 60s, 1h', http => 'totp_period 30;',
        server => 'totp_period 60s;', location => 'totp_period 1h;');
accepts('totp_skew 0, 10', http => 'totp_skew 0;',
        location => 'totp_skew 10;');

rejects('totp_algorithm md5', 'totp_algorithm', qr/md5/,
        location => 'totp_algorithm md5;');
rejects('totp_algorithm SHA-1', 'totp_algorithm', qr/SHA-1/,
        http => 'totp_algorithm SHA-1;');

rejects('totp_digits 7', 'totp_digits', qr/6 or 8/,
        location => 'totp_digits 7;');
rejects('totp_digits 5', 'totp_digits', qr/6 or 8/,
        server => 'totp_digits 5;');
rejects('totp_digits abc', 'totp_digits', qr/invalid/,
        http => 'totp_digits abc;');

rejects('totp_period 0', 'totp_period', qr/between 1s and 1h/,
        location => 'totp_period 0;');
rejects('totp_period 2h', 'totp_period', qr/between 1s and 1h/,
        location => 'totp_period 2h;');
rejects('totp_period abc', 'totp_period', qr/invalid/,
        http => 'totp_period abc;');

rejects('totp_skew 11', 'totp_skew', qr/\b10\b/,
        location => 'totp_skew 11;');
rejects('totp_skew -1', 'totp_skew', qr/invalid/,
        location => 'totp_skew -1;');


# totp_redis: resolved at configuration time, never in a worker

accepts('totp_redis unix:/tmp/x.sock', http => 'totp_redis unix:/tmp/x.sock;');
accepts('totp_redis [::1]:6380', http => 'totp_redis [::1]:6380;');
accepts('totp_redis localhost:6379', http => 'totp_redis localhost:6379;');
accepts('totp_redis 127.0.0.1 (default port)',
        http => 'totp_redis 127.0.0.1;');

rejects('totp_redis, name that does not resolve', 'totp_redis',
        qr/no-such-host\.invalid/,
        http => 'totp_redis no-such-host.invalid:6379;');
rejects('totp_redis unix:relative', 'totp_redis', qr/absolute/,
        http => 'totp_redis unix:relative;');
rejects('totp_redis, socket path too long', 'totp_redis', qr/shorter/,
        http => 'totp_redis unix:/' . ('x' x 120) . ';');
rejects('totp_redis 1.2.3.4:99999', 'totp_redis', qr/port/,
        http => 'totp_redis 1.2.3.4:99999;');
rejects('totp_redis 127.0.0.1:0', 'totp_redis', qr/port/,
        http => 'totp_redis 127.0.0.1:0;');
rejects('totp_redis with a path', 'totp_redis', qr/127\.0\.0\.1:6379\/x/,
        http => 'totp_redis 127.0.0.1:6379/x;');
rejects('totp_redis, duplicate', 'totp_redis', qr/duplicate/,
        http => "totp_redis 127.0.0.1:6379;\ntotp_redis 127.0.0.1:6380;");
rejects('totp_redis in server', 'totp_redis', qr/not allowed here/,
        server => 'totp_redis 127.0.0.1:6379;');


# totp_redis_user: a Redis ACL user, with its password

accepts('totp_redis_user with totp_redis_password',
        http => "totp_redis_user totp;\ntotp_redis_password $password;");
rejects('totp_redis_user without a password', 'totp_redis_user',
        qr/needs "totp_redis_password"/, http => 'totp_redis_user totp;');
rejects('totp_redis_user with a space', 'totp_redis_user',
        qr/without spaces/, http => "totp_redis_user 'a b';\n"
                                    . "totp_redis_password $password;");
rejects('totp_redis_user, too long', 'totp_redis_user', qr/1 to 128 bytes/,
        http => 'totp_redis_user ' . ('u' x 129) . ";\n"
                . "totp_redis_password $password;");
rejects('totp_redis_user, duplicate', 'totp_redis_user', qr/duplicate/,
        http => "totp_redis_user a;\ntotp_redis_user b;\n"
                . "totp_redis_password $password;");
rejects('totp_redis_user in server', 'totp_redis_user', qr/not allowed here/,
        server => 'totp_redis_user a;');


# totp_redis_password: read once, by the master

accepts('totp_redis_password, a file ending with a newline',
        http => "totp_redis_password $password;");

rejects('totp_redis_password, missing file', 'totp_redis_password',
        qr/No such file/, http => "totp_redis_password $missing;");
rejects('totp_redis_password, empty file', 'totp_redis_password', undef,
        http => "totp_redis_password $empty;");
rejects('totp_redis_password, only a newline', 'totp_redis_password',
        qr/empty/, http => "totp_redis_password $newline;");
rejects('totp_redis_password, duplicate', 'totp_redis_password',
        qr/duplicate/, http => "totp_redis_password $password;\n"
                             . "totp_redis_password $password;");


# totp_redis_db, totp_redis_prefix, totp_redis_timeout

accepts('totp_redis_db 0, prefix app:, timeout 250ms',
        http => "totp_redis_db 0;\ntotp_redis_prefix app:;\n"
                . 'totp_redis_timeout 250ms;');
accepts('totp_redis_db 15, timeout 1s',
        http => "totp_redis_db 15;\ntotp_redis_timeout 1s;");

rejects('totp_redis_db -1', 'totp_redis_db', qr/invalid/,
        http => 'totp_redis_db -1;');
rejects('totp_redis_db x', 'totp_redis_db', qr/invalid/,
        http => 'totp_redis_db x;');

rejects('totp_redis_prefix "a b"', 'totp_redis_prefix', qr/space/,
        http => 'totp_redis_prefix "a b";');
rejects('totp_redis_prefix x{y}', 'totp_redis_prefix', qr/"\{"/,
        http => 'totp_redis_prefix "x{y}";');
rejects('totp_redis_prefix x{', 'totp_redis_prefix', qr/"\{"/,
        http => 'totp_redis_prefix "x{";');
rejects('totp_redis_prefix x}', 'totp_redis_prefix', qr/"\}"/,
        http => 'totp_redis_prefix "x}";');
rejects('totp_redis_prefix, 65 bytes', 'totp_redis_prefix', qr/64/,
        http => 'totp_redis_prefix ' . ('p' x 65) . ';');

rejects('totp_redis_timeout 0', 'totp_redis_timeout', qr/more than 0/,
        http => 'totp_redis_timeout 0;');
rejects('totp_redis_timeout abc', 'totp_redis_timeout', qr/invalid/,
        http => 'totp_redis_timeout abc;');


# totp_zone: the revalidation cache's shared memory

accepts('totp_zone with a name and a size', http => 'totp_zone gate:10m;',
        location => "totp on; totp_password_file $password;");
rejects('totp_zone without a size', 'totp_zone', qr/"totp:1m", not "gate"/,
        http => 'totp_zone gate;');
rejects('totp_zone without a name', 'totp_zone', qr/needs a name/,
        http => 'totp_zone :1m;');
rejects('totp_zone too small', 'totp_zone', qr/too small, it needs at least 32k/,
        http => 'totp_zone gate:8k;');
rejects('totp_zone with a bad size', 'totp_zone', qr/invalid size in "gate:lots"/,
        http => 'totp_zone gate:lots;');
rejects('totp_zone in a server', 'totp_zone', qr/not allowed here/,
        server => 'totp_zone gate:1m;');
rejects('totp_zone twice', 'totp_zone', qr/duplicate/,
        http => "totp_zone a:1m;\ntotp_zone b:1m;");

# totp_thread_pool and totp_hash_concurrency: where passwords are hashed
accepts('totp_thread_pool off', http => 'totp_thread_pool off;');
accepts('totp_thread_pool default, nginx\'s own',
        http => 'totp_thread_pool default;');
accepts('a thread_pool of its own',
        main => 'thread_pool hashes threads=2;',
        http => "totp_thread_pool hashes;\ntotp_hash_concurrency 2;");

# nginx says it, at the line of totp_thread_pool
rejects('a pool that no thread_pool defines', 'thread pool',
        qr/unknown thread pool "nowhere" in \S+nginx\.conf:\d+/,
        http => 'totp_thread_pool nowhere;');
rejects('totp_thread_pool twice', 'totp_thread_pool', qr/duplicate/,
        http => "totp_thread_pool off;\ntotp_thread_pool default;");
rejects('totp_thread_pool in a server', 'totp_thread_pool',
        qr/not allowed here/, server => 'totp_thread_pool off;');
rejects('totp_hash_concurrency 0', 'totp_hash_concurrency',
        qr/between 1 and 64/, http => 'totp_hash_concurrency 0;');
rejects('totp_hash_concurrency 65', 'totp_hash_concurrency',
        qr/between 1 and 64/, http => 'totp_hash_concurrency 65;');
rejects('totp_hash_concurrency of words', 'totp_hash_concurrency',
        qr/invalid number/, http => 'totp_hash_concurrency many;');


# totp_health: a content handler of its own location

rejects('totp_health in server', 'totp_health', qr/not allowed here/,
        server => 'totp_health;');
rejects('totp_health in http', 'totp_health', qr/not allowed here/,
        http => 'totp_health;');
rejects('totp_health with an argument', 'totp_health',
        qr/invalid number of arguments/,
        location => 'location /health { totp_health on; }');
rejects('totp_health with another content handler', 'totp_health',
        qr/conflicts/,
        location => 'location /health { proxy_pass http://127.0.0.1:1; '
                    . 'totp_health; }');


# everything at once, as an admin would write it

accepts('a full configuration', http => <<"EOF", location => <<'EOF');
totp_key_file_previous $key_max;
totp_redis unix:/run/redis/redis.sock;
totp_redis_password $password;
totp_redis_db 3;
totp_redis_prefix gate:;
totp_redis_timeout 500ms;
totp_algorithm sha256;
totp_digits 8;
totp_period 60s;
totp_skew 2;
EOF
location = /_health { totp_health; }
EOF


# totp on and the gate's directives

my $htpasswd = $t->write_file('users', "alice:{PLAIN}x\n");
my $tpl_dir = $t->dir . '/templates';
mkdir $tpl_dir or die "$tpl_dir: $!";
$t->write_file('templates/login.html', "<p>{{#user}}unclosed</p>\n");
my $tpl_ok = $t->dir . '/templates-ok';
mkdir $tpl_ok or die "$tpl_ok: $!";
$t->write_file('templates-ok/message.html', "<h1>{{heading}}</h1>\n");

accepts('totp on with a password file',
        location => "totp on; totp_password_file $htpasswd;");
accepts('totp on with totp_user (server level)',
        server => 'totp_user $remote_user;', location => 'totp on;');
accepts('totp on at http level, password file at server level',
        http => 'totp on;', server => "totp_password_file $htpasswd;");
accepts('every gate directive, at its levels',
        http => "totp_path /auth/;\ntotp_session_ttl 8h;\n"
                . "totp_trust_ttl off;\ntotp_revalidate 500ms;\n"
                . "totp_cookie_secure on;\ntotp_issuer Example;\n"
                . "totp_language fr;",
        server => "totp_path /x/y/;\ntotp_templates $tpl_ok;\n"
                  . "totp_language auto;",
        pages => '/z/',
        location => "totp on; totp_password_file $htpasswd;\n"
                    . "totp_path /z/;\n"
                    . "totp_trust_ttl 7d; totp_cookie_secure auto;\n"
                    . 'totp_issuer "$host console";');

rejects('totp on without totp_key_file', 'totp_key_file', qr/needs/,
        no_key => 1, location => "totp on; totp_password_file $htpasswd;");
rejects('totp on without a first factor', 'totp_password_file',
        qr/"totp_user" or "totp_password_file"/, location => 'totp on;');
rejects('totp maybe', 'totp', qr/invalid value "maybe"/,
        location => 'totp maybe;');
rejects('totp_path without the final /', 'totp_path', qr/"\/auth"/,
        server => 'totp_path /auth;');
rejects('totp_path relative', 'totp_path', qr/absolute/,
        server => 'totp_path auth/;');
rejects('totp_path with //', 'totp_path', qr/absolute/,
        server => 'totp_path /a//b/;');
rejects('totp_trust_ttl never', 'totp_trust_ttl', qr/"never"/,
        location => 'totp_trust_ttl never;');
rejects('totp_session_ttl 0', 'totp_session_ttl', qr/at least 1s/,
        location => 'totp_session_ttl 0;');
rejects('totp_cookie_secure yes', 'totp_cookie_secure',
        qr/"yes"/, location => 'totp_cookie_secure yes;');
rejects('totp_language es', 'totp_language', qr/"es"/,
        location => 'totp_language es;');
rejects('totp_language twice', 'totp_language', qr/duplicate/,
        location => "totp_language de;\ntotp_language it;");
rejects('totp_language without a value', 'totp_language',
        qr/invalid number of arguments/, location => 'totp_language;');
rejects('totp_password_file twice', 'totp_password_file', qr/duplicate/,
        location => "totp_password_file $htpasswd;\n"
                    . "totp_password_file $htpasswd;");
my $htpasswd2 = $t->write_file('users2', "bob:{PLAIN}y\n");
rejects('one pages location, two password files', 'totp_password_file',
        qr{pages at "/_totp/" of server "_" would serve location "/" and location "/b/"},
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_password_file $htpasswd2; }");
rejects('one pages location, two cookie_secure', 'totp_cookie_secure',
        qr/would serve location "\/" and location "\/b\/"/,
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_cookie_secure on; }");
rejects('one pages location, totp_user and a password file', 'totp_user',
        qr/would serve location "\/[ab]\/" and location "\/[ab]\/"/,
        location => 'location /a/ { totp on; totp_user $remote_user; }'
            . "location /b/ { totp on; totp_password_file $htpasswd2; }");
rejects('totp_enroll invite and on in one user base', 'totp_enroll',
        qr{"totp_enroll on" at location "/" and "totp_enroll invite" at location "/b/" share the enrollments of Redis keys "totp:"},
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_enroll invite; }");
rejects('totp_enroll across servers of one user base', 'totp_enroll',
        qr/"totp_enroll off" at .* share the enrollments/,
        http => "server { listen 127.0.0.1:$port; server_name other;\n"
            . "location ^~ /_totp/ { totp_pages; }\n"
            . "location / { totp on; totp_enroll off;"
            . " totp_password_file $htpasswd; } }",
        location => "totp on; totp_password_file $htpasswd;");
for my $differ ('totp_fail_limit 10 5m;', 'totp_fail_limit_user 500 1h;',
                'totp_fail_limit_ip off;', 'totp_lockout 1m;',
                'totp_client_key $http_x_client;')
{
    rejects("$differ in one location of a user base", 'totp_fail_limit',
            qr{differ between location "/" and location "/b/", which count failures in the same Redis keys "totp:"},
            location => "totp on; totp_password_file $htpasswd;\n"
                . "location /b/ { $differ }");
}
accepts('the same limits written twice in one user base',
        location => "totp on; totp_password_file $htpasswd;"
            . " totp_fail_limit 3 1m;\n"
            . "location /b/ { totp_fail_limit 3 1m; }");
accepts('limits differing across realms',
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_fail_limit 10 5m; totp_lockout 1m;"
            . " totp_realm b; totp_path /_b/; }",
        server => 'location ^~ /_b/ { totp_pages; }');
accepts('totp_enroll differing across realms',
        location => "totp on; totp_password_file $htpasswd;"
            . " totp_enroll off;\n"
            . "location /b/ { totp_enroll invite; totp_realm b;"
            . " totp_path /_b/; }",
        server => 'location ^~ /_b/ { totp_pages; }');
rejects('totp_enroll maybe', 'totp_enroll',
        qr/must be "on", "invite" or "off", not "maybe"/,
        location => 'totp_enroll maybe;');
accepts('two pages locations, two password files',
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_password_file $htpasswd2; "
            . "totp_path /b-totp/; }",
        server => 'location ^~ /b-totp/ { totp_pages; }');
accepts('one pages location, settings that differ by location',
        location => "totp on; totp_password_file $htpasswd;\n"
            . "location /b/ { totp_session_ttl 1h; totp_trust_ttl off; "
            . "totp_digits 8; totp_issuer B; }");
accepts('two servers, two password files',
        location => "totp on; totp_password_file $htpasswd;",
        http => "server { listen 127.0.0.1:$port; server_name b;\n"
                . "location /_totp/ { totp_pages; }\n"
                . "location / { totp on; totp_password_file $htpasswd2; } }");


# totp_pages: the pages are a location of the admin's

rejects('a gated location without its pages', 'totp_pages',
        qr{"totp on" at location "/" of server "_" sends users to "/_totp/", but the server has no "location /_totp/ \{ totp_pages; \}"},
        pages => '', location => "totp on; totp_password_file $htpasswd;");
rejects('a gated location whose totp_path has no pages', 'totp_pages',
        qr{sends users to "/auth/"},
        location => "totp on; totp_password_file $htpasswd; "
                    . 'totp_path /auth/;');
rejects('pages in another server only', 'totp_pages',
        qr{of server "b" sends users to "/_totp/"},
        location => "totp on; totp_password_file $htpasswd;",
        http => "server { listen 127.0.0.1:$port; server_name b;\n"
                . "location / { totp on; totp_password_file $htpasswd2; } }");
rejects('a named location gated, no pages', 'totp_pages',
        qr{at location "\@named" of server "_"},
        pages => '', server => "location \@named { totp on; "
                               . "totp_password_file $htpasswd; }");
accepts('totp on at server level, pages and health under it',
        server => "totp on; totp_password_file $htpasswd;\n"
                  . 'location = /_totp/health { totp_health; }');
rejects('totp on written in the pages location', 'totp',
        qr/cannot gate the location of "totp_pages"/, pages => '',
        server => 'location /_totp/ { totp_pages; totp on; '
                  . "totp_password_file $htpasswd; }");
rejects('totp_pages after totp on', 'totp_pages',
        qr/cannot be in a location with "totp on"/, pages => '',
        server => 'location /_totp/ { totp on; totp_pages; '
                  . "totp_password_file $htpasswd; }");
rejects('totp on written in the health location', 'totp',
        qr/cannot gate the location of "totp_pages", "totp_health" or "totp_metrics"/,
        location => 'location = /h { totp_health; totp on; }');
rejects('totp on written in the metrics location', 'totp',
        qr/cannot gate the location of "totp_pages", "totp_health" or "totp_metrics"/,
        location => 'location = /m { totp_metrics; totp on; }');
rejects('totp_metrics after totp on', 'totp_metrics',
        qr/cannot be in a location with "totp on"/,
        location => 'location = /m { totp on; totp_metrics; }');
rejects('totp_metrics with an argument', 'totp_metrics',
        qr/invalid number of arguments/,
        location => 'location = /m { totp_metrics on; }');
rejects('totp_metrics in server', 'totp_metrics', qr/not allowed here/,
        server => 'totp_metrics;');
rejects('totp_metrics with another content handler', 'totp_metrics',
        qr/conflicts/, location => 'location = /m { totp_health; totp_metrics; }');
accepts('totp_audit_log to a file, to syslog, off, with if=',
        server => "totp_audit_log $a_dir/audit.log if=\$http_x;\n"
                  . 'location = /s { totp_audit_log syslog:server=127.0.0.1:9,tag=t; }'
                  . 'location = /o { totp_audit_log off; }');
rejects('totp_audit_log twice', 'totp_audit_log', qr/is duplicate/,
        server => "totp_audit_log $a_dir/a.log; totp_audit_log $a_dir/b.log;");
rejects('totp_audit_log off with if=', 'totp_audit_log', qr/takes no "if="/,
        server => 'totp_audit_log off if=$http_x;');
rejects('totp_audit_log with another parameter', 'totp_audit_log',
        qr/invalid parameter "buffer=4k"/,
        server => "totp_audit_log $a_dir/a.log buffer=4k;");
rejects('totp_audit_log with a variable in the path', 'totp_audit_log',
        qr/without variables/, server => 'totp_audit_log /tmp/$host.log;');
rejects('totp_audit_log to a bad syslog server', 'totp_audit_log',
        qr/no host in syslog server(?s:.*)"totp_audit_log" directive has an invalid syslog/,
        server => 'totp_audit_log syslog:server=;');
rejects('totp_pages in an exact location', 'totp_pages', qr/prefix location/,
        pages => '', server => 'location = /_totp/ { totp_pages; }');
rejects('totp_pages in a regex location', 'totp_pages', qr/prefix location/,
        pages => '', server => 'location ~ ^/_totp/ { totp_pages; }');
rejects('totp_pages in a named location', 'totp_pages', qr/prefix location/,
        pages => '', server => 'location @p { totp_pages; }');
rejects('totp_pages without the final /', 'totp_pages', qr/ends in "\/"/,
        pages => '', server => 'location /_totp { totp_pages; }');
rejects('totp_pages with an argument', 'totp_pages',
        qr/invalid number of arguments/, pages => '',
        server => 'location /_totp/ { totp_pages on; }');
rejects('totp_pages in server', 'totp_pages', qr/not allowed here/,
        pages => '', server => 'totp_pages;');
rejects('totp_pages with another content handler', 'totp_pages',
        qr/conflicts/, pages => '',
        server => 'location /_totp/ { proxy_pass http://127.0.0.1:1; '
                  . 'totp_pages; }');
rejects('totp_pages and totp_health in one location', 'totp_health',
        qr/conflicts/, pages => '',
        server => 'location /_totp/ { totp_pages; totp_health; }');

{
    $t->write_config(conf(location => '', server => ''));
    my ($ok, $out) = $t->nginx_test;
    ok $ok, 'accepted: pages that serve no gated location';
    like $out, qr{\[warn\].*"totp_pages" in location "/_totp/" of server "_" serves no gated location},
        '... with a warning';
}


# totp_realm: a user base of its own

accepts('totp_realm at every level',
        http => 'totp_realm main;', server => 'totp_realm srv;',
        location => "totp on; totp_password_file $htpasswd; "
                    . 'totp_realm Ops_2-b;');
rejects('totp_realm with ":"', 'totp_realm', qr/1 to 32 letters.*"a:b"/,
        location => 'totp_realm a:b;');
rejects('totp_realm of 33 bytes', 'totp_realm', qr/1 to 32/,
        location => 'totp_realm ' . ('r' x 33) . ';');
rejects('totp_realm empty', 'totp_realm', qr/""/,
        location => 'totp_realm "";');
rejects('totp_realm twice', 'totp_realm', qr/duplicate/,
        location => 'totp_realm a; totp_realm b;');
rejects('one pages location, two realms', 'totp_realm',
        qr/would serve location "\/[ab]\/" and location "\/[ab]\/"/,
        location => "location /a/ { totp on; totp_realm a; "
                    . "totp_password_file $htpasswd; }\n"
                    . "location /b/ { totp on; totp_realm b; "
                    . "totp_password_file $htpasswd; }");
accepts('two realms, two pages locations',
        server => 'location ^~ /_b/ { totp_pages; }',
        location => "location /a/ { totp on; totp_realm a; "
                    . "totp_password_file $htpasswd; }\n"
                    . "location /b/ { totp on; totp_realm b; "
                    . "totp_path /_b/; totp_password_file $htpasswd; }");


# totp_user

rejects('totp_user without a variable', 'totp_user', qr/needs a variable/,
        location => 'totp on; totp_user alice;');
accepts('totp_user with text around a variable',
        location => 'totp on; totp_user "sso:$remote_user";');

accepts('failure limits, lockout and recovery codes at every level',
        http => "totp_fail_limit 5 5m;\ntotp_fail_limit_ip 20 5m;\n"
                . "totp_fail_limit_user 50 1h;",
        server => "totp_lockout 15m;\ntotp_recovery_codes 0;\n"
                  . "totp_fail_limit_ip off;",
        location => "totp_fail_limit 3 1m; totp_recovery_codes 20;\n"
                    . "totp_fail_limit_user 100 2h; totp_fail_limit_ip 5 1m;");
accepts('totp_client_key with a variable, at every level',
        http => 'totp_client_key $http_x_client;',
        server => 'totp_client_key "office-$http_x_office";',
        location => 'totp_client_key $remote_addr;');
rejects('totp_client_key without a variable', 'totp_client_key',
        qr/needs a variable/, location => 'totp_client_key office;');
rejects('totp_client_key off', 'totp_client_key', qr/needs a variable/,
        location => 'totp_client_key off;');
rejects('totp_fail_limit off (only the client limit may be off)',
        'totp_fail_limit', qr/invalid number/,
        location => 'totp_fail_limit off;');
rejects('totp_fail_limit_user off', 'totp_fail_limit_user',
        qr/invalid number/, location => 'totp_fail_limit_user off;');
rejects('totp_fail_limit_ip on', 'totp_fail_limit_ip', qr/or "off"/,
        location => 'totp_fail_limit_ip on;');
rejects('totp_fail_limit_user 0 1h', 'totp_fail_limit_user', qr/"0"/,
        location => 'totp_fail_limit_user 0 1h;');
rejects('totp_fail_limit_user 5 forever', 'totp_fail_limit_user',
        qr/"forever"/, location => 'totp_fail_limit_user 5 forever;');
rejects('totp_fail_limit 0 5m', 'totp_fail_limit', qr/"0"/,
        location => 'totp_fail_limit 0 5m;');
rejects('totp_fail_limit 5 soon', 'totp_fail_limit', qr/"soon"/,
        location => 'totp_fail_limit 5 soon;');
rejects('totp_fail_limit 5', 'totp_fail_limit', qr/invalid number/,
        location => 'totp_fail_limit 5;');
rejects('totp_fail_limit_ip 5000 5m', 'totp_fail_limit_ip', qr/1000/,
        http => 'totp_fail_limit_ip 5000 5m;');
rejects('totp_lockout 0', 'totp_lockout', qr/1s and 30d/,
        location => 'totp_lockout 0;');
rejects('totp_lockout 1y', 'totp_lockout', qr/1s and 30d/,
        location => 'totp_lockout 1y;');
rejects('totp_fail_limit 5 60d', 'totp_fail_limit', qr/30d/,
        location => 'totp_fail_limit 5 60d;');
rejects('totp_recovery_codes 21', 'totp_recovery_codes', qr/0 and 20/,
        location => 'totp_recovery_codes 21;');

rejects('totp_templates, missing directory', 'totp_templates', undef,
        location => "totp_templates $missing;");
rejects('totp_templates, a broken template', 'totp_templates',
        qr/login\.html/, location => "totp_templates $tpl_dir;");

# message catalogs: messages.en beside the templates
for my $case (
    [ 'an unknown key', "title_login: Hi\nno_such_key: x\n",
      qr{messages\.en" line 2 has an unknown key "no_such_key"} ],
    [ 'a line without ":"', "# fine\n\nwrong_code is wrong\n",
      qr{messages\.en" line 3 is not "key: text"} ],
    [ 'a broken tag', "locked: {{#one}}unclosed\n",
      qr{messages\.en" line 1, "locked", is malformed at offset 0} ],
) {
    my ($name, $text, $why) = @$case;
    (my $sub = "cat-$name") =~ s/\W+/-/g;
    mkdir $t->dir . "/$sub" or die $!;
    $t->write_file("$sub/messages.en", $text);
    rejects("totp_templates, a catalog with $name", 'totp_templates', $why,
            location => 'totp_templates ' . $t->dir . "/$sub;");
}

# a value printed unescaped: only the module's own markup may be
for my $case (
    [ 'login.html', '<p>{{{user}}}</p>', qr{login\.html" prints a value unescaped at offset 3 \(line 1\): "\{\{\{user\}\}\}</p>"} ],
    [ 'layout.html', "<main>\n{{{body}}}{{{next}}}</main>", qr{layout\.html" prints a value unescaped at offset 17 \(line 2\): "\{\{\{next\}\}\}</main>"} ],
    [ 'enroll.html', '{{{qr}}}{{{secret}}}', qr{enroll\.html" prints a value unescaped at offset 8} ],
    [ 'verify.html', '{{{qr}}}', qr{verify\.html" prints a value unescaped} ],
) {
    my ($file, $text, $why) = @$case;
    (my $sub = "raw-$file-" . length $text) =~ s/\W+/-/g;
    mkdir $t->dir . "/$sub" or die $!;
    $t->write_file("$sub/$file", $text);
    rejects("totp_templates, $file with $text", 'totp_templates', $why,
            location => 'totp_templates ' . $t->dir . "/$sub;");
}

mkdir $t->dir . '/raw-ok' or die $!;
$t->write_file('raw-ok/layout.html', "<main>{{{body}}}</main>\n");
$t->write_file('raw-ok/enroll.html', "<div>{{{qr}}}</div>{{secret}}\n");
accepts('totp_templates, {{{body}}} in the layout and {{{qr}}} for enrollment',
        location => 'totp_templates ' . $t->dir . '/raw-ok;');

mkdir $t->dir . '/cat-ok' or die $!;
$t->write_file('cat-ok/messages.en', "wrong_code: Try again.\r\n");
accepts('totp_templates, a catalog of one message (CRLF)',
        location => 'totp_templates ' . $t->dir . '/cat-ok;');


done_testing();
