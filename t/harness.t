#!/usr/bin/perl

# Self-test of t/lib/TotpTest.pm against the real nginx, the built module
# and a real redis-server: every other test trusts what is checked here.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;

use TotpTest qw(totp_code);

my $t = TotpTest->new;

ok(-d $t->dir, 'test dir exists');


# ports

my $port = $t->port('http');
my $port2 = $t->port('http2');

is($t->port('http'), $port, 'port: same name, same port');
isnt($port2, $port, 'port: another name, another port');
ok(IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                         Proto => 'tcp', Listen => 1, ReuseAddr => 1),
   'port: free');
is_deeply([ $t->listen_ports ], [ sort { $a <=> $b } $port, $port2 ],
          'listen_ports: the http* ones');


# totp_code against RFC 6238's vectors (appendix B)

my $seed = '12345678901234567890';
my %secret = (
    sha1   => 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
    sha256 => base32($seed x 1 . substr($seed, 0, 12)),
    sha512 => base32($seed x 3 . substr($seed, 0, 4)),
);

is(totp_code($secret{sha1}, 59, digits => 8), '94287082', 'totp_code: sha1');
is(totp_code($secret{sha256}, 59, digits => 8, algorithm => 'sha256'),
   '46119246', 'totp_code: sha256');
is(totp_code($secret{sha512}, 59, digits => 8, algorithm => 'sha512'),
   '90693936', 'totp_code: sha512');
is(totp_code($secret{sha1}, 1111111109, digits => 8), '07081804',
   'totp_code: leading zero kept');
is(totp_code($secret{sha1}, 59), '287082', 'totp_code: 6 digits default');
is(totp_code($secret{sha1}, 59, period => 60),
   totp_code($secret{sha1}, 30, period => 60), 'totp_code: period');
isnt(totp_code($secret{sha1}, 59, period => 60),
     totp_code($secret{sha1}, 60, period => 60), 'totp_code: next step');
like(totp_code($secret{sha1}), qr/^\d{6}$/, 'totp_code: now by default');
ok(!eval { totp_code('not base32!', 59); 1 }, 'totp_code: dies on bad input');


# redis over TCP, and over a unix socket with a password

my $r = $t->redis;

is($r->addr, '127.0.0.1:' . $r->port, 'redis: addr');
is($r->port, $t->port('redis'), 'redis: port named "redis"');
is($r->cli('PING'), 'PONG', 'redis: PING');
is($r->cli('SET', 'k', 'v'), 'OK', 'redis: SET');
is_deeply([ $r->cli('MGET', 'k', 'nothing') ], [ 'v', '' ],
          'redis: cli in list context');

my $ru = $t->redis(name => 'redis-unix', unix => 1, password => 'p "w" d');

like($ru->addr, qr{^unix:/.+\.sock$}, 'redis: unix addr');
is($ru->port, 0, 'redis: unix, no port');
is($ru->cli('PING'), 'PONG', 'redis: PING with password');
like((TotpTest::Proc::capture('redis-cli', '-s', $ru->socket, 'PING'))[0],
     qr/NOAUTH/, 'redis: password required');


# nginx

my $key = $t->write_file('key', 'k' x 32);

sub config {
    my ($body) = @_;

    $t->write_config(<<"EOF");
    totp_key_file $key;
    totp_redis ${\ $r->addr};

    server {
        listen 127.0.0.1:$port;

        location / {
            add_header Set-Cookie "a=1; Path=/";
            return 200 "$body\\n";
        }

        location /cookie {
            return 200 "a=\$cookie_a b=\$cookie_b\\n";
        }

        location /delete {
            add_header Set-Cookie "a=; Max-Age=0; Path=/";
            add_header Set-Cookie "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
            return 204;
        }

        location /later {
            add_header Set-Cookie "b=2; Expires=Fri, 01 Jan 2100 00:00:00 GMT";
            add_header Set-Cookie "c=3; Max-Age=1; Secure; Path=/other";
            return 204;
        }

        location /redirect {
            return 302 /x;
        }

        location /conn {
            return 200 "\$connection \$connection_requests\\n";
        }

        location /headers {
            return 200 "\$http_host|\$http_cookie\\n";
        }

        location /post {
            proxy_pass http://127.0.0.1:$port/echo;
            proxy_set_header X-Body \$request_body;
        }

        location /echo {
            return 200 "\$http_content_type|\$http_x_body\\n";
        }

        location /chunked {
            sub_filter_types *;
            sub_filter ok OK;
            sub_filter_once off;
            return 200 "ok ok\\n";
        }

        location /health {
            totp_health;
        }
    }

    server {
        listen 127.0.0.1:$port2;
        return 200 "second\\n";
    }
EOF
}

config('ok');

my ($ok, $out) = $t->nginx_test;
ok($ok, 'nginx -t') or diag $out;

$t->run;

ok($t->master_pid, 'master_pid');
my @workers = $t->worker_pids;
is(scalar @workers, 1, 'one worker');

my $ua = $t->ua(port => $port);

my $res = $ua->get('/');
is($res->{status}, 200, 'get: status');
is($res->{body}, "ok\n", 'get: body');
is($res->{headers}{'content-type'}, 'text/plain', 'get: header');
is_deeply($res->{headers}{'set-cookie'}, [ 'a=1; Path=/' ],
          'get: set-cookie kept as a list');
is($ua->cookie('a'), '1', 'jar: stores a cookie');

is($ua->get('/cookie')->{body}, "a=1 b=\n", 'jar: sends it');

$ua->set_cookie(a => 'two');
is($ua->get('/cookie')->{body}, "a=two b=\n", 'jar: set_cookie');

is($ua->get('/cookie', { Cookie => 'a=mine' })->{body}, "a=mine b=\n",
   'jar: a Cookie header of the request wins');

$ua->get('/later');
is($ua->cookie('b'), '2', 'jar: future Expires kept');
is($ua->cookie('c'), '3', 'jar: Secure, other Path, short Max-Age kept');
is($ua->get('/cookie')->{body}, "a=two b=2\n", 'jar: sends both');

$ua->get('/delete');
is($ua->cookie('a'), undef, 'jar: Max-Age=0 deletes');
is($ua->cookie('b'), undef, 'jar: past Expires deletes');
is_deeply($ua->cookies, { c => 3 }, 'jar: cookies');

$ua->clear_cookies;
is($ua->get('/cookie')->{body}, "a= b=\n", 'jar: clear_cookies');

$res = $ua->get('/redirect');
is($res->{status}, 302, 'redirect: not followed');
like($res->{headers}{location}, qr{^http://[^/]+/x$}, 'redirect: Location');

my ($c1, $n1) = split ' ', $ua->get('/conn')->{body};
my ($c2, $n2) = split ' ', $ua->get('/conn')->{body};
is($c2, $c1, 'keep-alive: same connection');
is($n2, $n1 + 1, 'keep-alive: next request on it');

is($ua->get('/headers', { Host => 'example.org', Cookie => [ 'a=1', 'b=2' ] })
      ->{body}, "example.org|a=1; b=2\n", 'get: own Host, repeated header');

$res = $ua->head('/');
is($res->{status}, 200, 'head: status');
is($res->{body}, '', 'head: no body');
is($ua->get('/conn')->{body}, "$c1 " . ($n1 + 4) . "\n",
   'head: connection still in step');

$res = $ua->post('/post', { user => 'a b', code => '1&2=3', x => [ 1, 2 ] });
is($res->{body},
   "application/x-www-form-urlencoded|code=1%262%3D3&user=a+b&x=1&x=2\n",
   'post: form encoded as a browser does');

$res = $ua->post('/post', 'raw=1', { 'Content-Type' => 'text/plain' });
is($res->{body}, "text/plain|raw=1\n", 'post: string body, own type');

$res = $ua->get('/chunked');
is($res->{headers}{'transfer-encoding'}, 'chunked', 'chunked: sent so');
is($res->{body}, "OK OK\n", 'chunked: decoded');

is($t->ua(port => $port2)->get('/')->{body}, "second\n", 'ua: other port');

like(TotpTest::http_raw($port, "GARBAGE\r\n\r\n"), qr{^HTTP/1\.1 400 },
     'http_raw: malformed request');
like(TotpTest::http_raw($port, "GET / HTTP/1.0\r\n\r\n"),
     qr{^HTTP/1\.1 200 .*\r\n\r\nok\n\z}s, 'http_raw: whole response');

my $dead = $t->ua(port => $t->port('nothing'));
is($dead->get('/')->{status}, 599, 'ua: 599 when it cannot connect');


# the module talks to redis: $r->addr is what totp_redis takes

like($ua->get('/health')->{body}, qr/"redis":"ok"/, 'health: redis ok');

$r->cli('SET', 'k', 'v');
$r->stop;
$r->stop;
ok(!$r->pid, 'redis: stopped');
isnt($r->cli('PING'), 'PONG', 'redis: stopped, no PONG');

ok($t->wait_for(sub { $ua->get('/health')->{status} == 503 }, 10),
   'health: 503 with redis stopped');

$r->start;
is($r->cli('PING'), 'PONG', 'redis: started again');
is($r->cli('GET', 'k'), '', 'redis: nothing persisted');

ok($t->wait_for(sub { $ua->get('/health')->{status} == 200 }, 10),
   'health: 200 with redis back');


# reload (under valgrind a restart: master_process off cannot reload)

config('reloaded');
$t->reload;

is($ua->get('/')->{body}, "reloaded\n", 'reload: new config answers');

my @now = $t->worker_pids;
ok(@now == 1 && $now[0] != $workers[0], 'reload: new worker');

SKIP: {
    skip 'a restart keeps no old nginx to answer after a refused config', 4
        if $t->valgrind;

    $t->write_file('nginx.conf', "this is not a config;\n");
    $t->allow_log(qr/unknown directive "this"/);

    my $t0 = time;
    ok(!eval { $t->reload; 1 }, 'reload: dies when the config is refused');
    like($@, qr/\[emerg\].*unknown directive/, 'reload: with the reason');
    ok(time - $t0 < 5, 'reload: without waiting for its timeout');
    is($ua->get('/')->{body}, "reloaded\n", 'reload: old config kept');
}


# helpers

my $t0 = time;
ok(!$t->wait_for(sub { 0 }, 0.2), 'wait_for: false on timeout');
ok(time - $t0 < 5, 'wait_for: bounded');
ok($t->wait_for(sub { 1 }, 0), 'wait_for: true at once');

like($t->error_log, qr/\[notice\]/, 'error_log: read');
is(join('', $t->error_log), scalar $t->error_log, 'error_log: lines');

my @access = $t->access_log;
is(scalar(grep { m{"GET /redirect HTTP/1\.1" 302 } } @access), 1,
   'access_log: lines');


# log checks, on a copy of what done() does

my $alert = "2000/01/01 00:00:00 [alert] 1#1: harness self-test alert";
my $crash = "2000/01/01 00:00:00 [notice] 1#1: worker process 9 exited "
            . "on signal 11 (harness self-test)";

append($t->dir . '/error.log', "$alert\n$crash\n");
is_deeply([ $t->log_problems ], [ $alert, $crash ],
          'log_problems: alerts and crashes');
$t->allow_log(qr/harness self-test/);
is_deeply([ $t->log_problems ], [], 'allow_log: exempts');


# a test that dies, or is killed, leaves nothing running

for my $how (qw(die TERM)) {
    my $report = $t->dir . "/child-$how";
    my $code = <<'EOF';
        use TotpTest;
        my $t = TotpTest->new;
        my $r = $t->redis;
        my $port = $t->port('http');
        $t->write_config("server { listen 127.0.0.1:$port; }");
        $t->run;
        open my $fh, '>', "$ARGV[0].tmp" or die;
        print $fh join ' ', $t->dir, $t->master_pid, $t->worker_pids,
                            $r->pid;
        close $fh;
        rename "$ARGV[0].tmp", $ARGV[0];
        die "deliberately\n" if $ARGV[1] eq 'die';
        sleep 600;
EOF

    local $ENV{TOTP_TEST_KEEP};
    my $pid = TotpTest::Proc::spawn(
        [ $^X, "-I$FindBin::Bin/lib", '-e', $code, $report, $how ],
        $t->dir . "/child-$how.out", 'TERM');

    ok($t->wait_for(sub { -s $report }), "$how: child started everything");
    kill 'TERM', $pid if $how eq 'TERM';

    my $status = TotpTest::Proc::reap($pid, 120);
    ok(defined $status && $status != 0, "$how: child failed as it should");

    my ($dir, @pids) = split ' ', slurp($report);
    is(scalar(grep { kill 0, $_ } @pids), 0, "$how: nothing left running")
        or diag "left: @pids";
    ok(!-e $dir, "$how: its test dir removed");
}


# stop, start again; a start that fails

$t->stop;
$t->stop;
ok(!$t->master_pid, 'stop: stopped');
ok(!eval { $ua->get('/')->{status} == 200 }, 'stop: nothing answers');

config('again');
$t->run;
is($ua->get('/')->{body}, "again\n", 'run: again after stop');
is($ua->get('/cookie', { Cookie => 'a=3' })->{body}, "a=3 b=\n",
   'run: a fresh connection');
$t->stop;

my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', Listen => 1,
                                 LocalPort => $t->port('http-busy'))
    or die "busy port: $!";
$t->write_config('server { listen 127.0.0.1:' . $t->port('http-busy') . '; }');
$t->allow_log(qr/bind\(\) to 127\.0\.0\.1:\d+ failed|still could not bind/);

ok(!eval { $t->run; 1 }, 'run: dies when nginx cannot start');
like($@, qr/bind\(\) to 127\.0\.0\.1:\d+ failed/, 'run: with error.log');
ok(!$t->master_pid, 'run: nothing left after a failed start');

$t->done;


sub base32 {
    my ($bytes) = @_;

    my $bits = unpack 'B*', $bytes;
    $bits .= '0' x (-length($bits) % 5);

    return join '', map { ('A' .. 'Z', '2' .. '7')[ oct "0b$_" ] }
                    $bits =~ /(.{5})/g;
}

sub append {
    my ($path, $s) = @_;

    open my $fh, '>>', $path or die "$path: $!";
    print $fh $s;
    close $fh;
}

sub slurp {
    my ($path) = @_;

    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}
