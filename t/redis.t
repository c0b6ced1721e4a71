# The Redis layer under failure: a dead Redis, a stalled one, a slow one,
# one that answers after the client left; AUTH and SELECT on every
# (re)connect; unix sockets.  Exercised through totp_health.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use IO::Socket::INET;
use IO::Select;

use TotpTest;
use FakeRedis;

# totp_redis_timeout, seconds; valgrind slows nginx down tenfold or more
my $TIMEOUT = $ENV{TOTP_TEST_VALGRIND} ? 2 : 0.5;

sub gate {
    my ($t, $redis_lines, %o) = @_;

    my $port = $t->port('http');
    my $timeout = int(($o{timeout} // $TIMEOUT) * 1000);

    $t->write_config(<<"EOF", workers => 2);
    $redis_lines
    totp_redis_timeout ${timeout}ms;

    server {
        listen 127.0.0.1:$port;

        location = /health { totp_health; }
        location / { return 200 "console\\n"; }
    }
EOF
    $t->run;

    return $t->ua(port => $port);
}

sub timed_get {
    my ($ua, $path) = @_;
    my $start = time;
    my $res = $ua->get($path);
    return ($res, time - $start);
}

subtest 'redis killed, then restarted' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis;
    my $ua = gate($t, "totp_redis ${\ $redis->addr };");

    is $ua->get('/health')->{status}, 200, 'round trip';

    $redis->stop;

    # Both workers may hold a connection; each notices on its own, so a
    # few requests make sure every worker has seen Redis go.

    for my $i (1 .. 4) {
        my ($res, $took) = timed_get($ua, '/health');
        is $res->{status}, 503, "503 while redis is down ($i)";
        cmp_ok $took, '<', $TIMEOUT + 0.25, 'within totp_redis_timeout';
    }

    is $ua->get('/')->{status}, 200, 'other locations keep serving';

    $redis->start;

    ok $t->wait_for(sub { $ua->get('/health')->{status} == 200 }, 10,
        'health back'), '200 again after restart, without reload';

    my $ok = grep { $ua->get('/health')->{status} == 200 } 1 .. 6;
    is $ok, 6, 'every worker reconnected';

    like $t->error_log, qr/totp: (lost|connect to) redis/,
        'the outage is logged';

    $t->done;
};

subtest 'a server that accepts and never answers' => sub {
    my $t = TotpTest->new;
    my $fake = FakeRedis->new(mode => 'silent');
    my $ua = gate($t, "totp_redis ${\ $fake->addr };");
    my $port = $t->port('http');

    # The health request waits on Redis; meanwhile the worker must go on
    # serving, so a plain request on another connection answers at once.

    my $start = time;
    my $pending = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $pending "GET /health HTTP/1.0\r\nHost: x\r\n\r\n";

    my ($res, $took) = timed_get($ua, '/');
    is $res->{status}, 200, 'other requests are served meanwhile';
    cmp_ok $took, '<', $TIMEOUT / 2, '... without waiting for redis';

    # read to EOF (HTTP/1.0), giving up after a few seconds of silence
    my $answer = '';
    my $select = IO::Select->new($pending);
    while ($select->can_read(5)) {
        last unless sysread $pending, $answer, 4096, length $answer;
    }
    my $waited = time - $start;

    like $answer, qr{\AHTTP/1\.[01] 503 }, '503 after the timeout';
    cmp_ok $waited, '>=', $TIMEOUT * 0.9, 'not before the timeout';
    cmp_ok $waited, '<', $TIMEOUT + 1, 'not long after it';

    like $t->error_log, qr/did not answer within/, 'the timeout is logged';

    $t->done;
    $fake->stop;
};

subtest 'a server that answers one byte at a time' => sub {
    my $t = TotpTest->new;
    my $fake = FakeRedis->new(mode => 'trickle', gap => 0.002);

    # NOSCRIPT (about 50 bytes) then PONG, 2 ms a byte: well in time.
    my $ua = gate($t, "totp_redis ${\ $fake->addr };");

    for my $i (1 .. 3) {
        my $res = $ua->get('/health');
        is $res->{status}, 200, "whole reply assembled from single bytes ($i)";
    }

    $t->done;
    $fake->stop;
};

subtest 'a reply larger than one read' => sub {
    my $t = TotpTest->new;

    # hiredis reads 16K at a time; with edge-triggered events the rest of
    # a 64K reply must still be read without waiting for another edge
    my $fake = FakeRedis->new(mode => 'bulky', size => 65536);
    my $ua = gate($t, "totp_redis ${\ $fake->addr };");

    for my $i (1 .. 3) {
        my ($res, $took) = timed_get($ua, '/health');
        is $res->{status}, 200, "64K reply read whole ($i)";
        cmp_ok $took, '<', $TIMEOUT, '... at once, not at the timeout';
    }

    $t->done;
    $fake->stop;
};

subtest 'a close that comes with the last reply' => sub {
    my $t = TotpTest->new;

    # Redis's idle timeout, a proxy in between: the end of file arrives in
    # the same segment as a reply, and must not go unnoticed until the
    # next command is written into a dead socket.
    my $fake = FakeRedis->new(mode => 'instant', scripts => 1, close => 1);
    my $ua = gate($t, "totp_redis ${\ $fake->addr };");

    for my $i (1 .. 4) {
        is $ua->get('/health')->{status}, 200,
            "health on a fresh connection each time ($i)";
    }

    $t->done;
    $fake->stop;
};

subtest 'more replies than commands' => sub {
    my $t = TotpTest->new;

    # hiredis abort()s on a reply that has no callback; the module must
    # close the connection first, and the worker live on.
    my $fake = FakeRedis->new(mode => 'instant', scripts => 1,
                              extra => "+OK\r\n");
    my $ua = gate($t, "totp_redis ${\ $fake->addr };");

    for my $i (1 .. 4) {
        my $res = $ua->get('/health');
        like $res->{status}, qr/^(200|503)$/, "answered ($i)";
    }

    like $t->error_log, qr/more replies than it was asked for|sent data nobody asked for/,
        'the broken server is logged';

    $t->done;
    $fake->stop;
};

subtest 'the reply arrives after the client went away' => sub {
    my $t = TotpTest->new;
    my $fake = FakeRedis->new(mode => 'late', delay => 0.4,
                              log => $t->dir . '/fake.log');

    # replies queue up behind each other: a timeout that outlasts them all
    my $ua = gate($t, "totp_redis ${\ $fake->addr };", timeout => 5);
    my $port = $t->port('http');

    # Each client leaves once its command is with Redis: nginx sees the
    # close and frees the request (499) before the reply comes back to a
    # command whose requester is gone.

    for my $n (1 .. 3) {
        my $gone = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
        print $gone "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

        $t->wait_for(sub {
            (grep { $_ eq 'EVALSHA' } $fake->received) == $n
        }, 5, 'command sent');

        close $gone;
    }

    ok $t->wait_for(sub {
        my @gone = grep { m{"GET /health[^"]*" 499 } } $t->access_log;
        @gone == 3;
    }, 5, 'requests finalized as 499'), 'the requests were freed first';

    my $res = $ua->get('/health');
    is $res->{status}, 200, 'the worker is fine and answers the next one';

    $t->done;
    $fake->stop;
};

subtest 'AUTH with totp_redis_password, after every reconnect' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis(password => 's3cret-pass');
    my $pw = $t->write_file('redis.pass', "s3cret-pass\n");
    my $ua = gate($t, "totp_redis ${\ $redis->addr };\n"
                      . "    totp_redis_password $pw;");

    is $ua->get('/health')->{status}, 200, 'authenticated';

    $redis->stop;
    $redis->start;

    ok $t->wait_for(sub { $ua->get('/health')->{status} == 200 }, 10,
        'health back'), 'AUTH sent again after a reconnect';

    unlike $t->error_log, qr/s3cret-pass/, 'the password is never logged';

    $t->done;
};

subtest 'a wrong password fails closed' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis(password => 'right');
    my $pw = $t->write_file('redis.pass', "wrong\n");
    my $ua = gate($t, "totp_redis ${\ $redis->addr };\n"
                      . "    totp_redis_password $pw;");

    is $ua->get('/health')->{status}, 503, 'wrong password: 503';
    like $t->error_log, qr/refused AUTH/, 'logged';
    unlike $t->error_log, qr/\bwrong\b/, 'the password is never logged';

    $t->done;
};

subtest 'no password where Redis wants one fails closed' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis(password => 'right');
    my $ua = gate($t, "totp_redis ${\ $redis->addr };");

    is $ua->get('/health')->{status}, 503, 'NOAUTH: 503';

    $t->done;
};

subtest 'SELECT with totp_redis_db, after every reconnect' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis;
    my $ua = gate($t, "totp_redis ${\ $redis->addr };\n"
                      . "    totp_redis_db 3;");

    my $selected = sub {
        my @ours = grep { /cmd=(evalsha|eval)\b/ } $redis->cli('CLIENT', 'LIST');
        return @ours && !grep { !/ db=3 / } @ours;
    };

    is $ua->get('/health')->{status}, 200, 'health with db 3';
    ok $selected->(), 'the module\'s connection uses db 3';

    $redis->stop;
    $redis->start;

    ok $t->wait_for(sub { $ua->get('/health')->{status} == 200 }, 10,
        'health back'), 'back after restart';
    ok $selected->(), 'db 3 selected again after the reconnect';

    $t->done;
};

subtest 'unix socket' => sub {
    my $t = TotpTest->new;
    my $redis = $t->redis(unix => 1);
    my $ua = gate($t, "totp_redis ${\ $redis->addr };");

    like $redis->addr, qr{\Aunix:/}, 'redis listens on a unix socket';
    is $ua->get('/health')->{status}, 200, 'health over the unix socket';

    $redis->stop;
    is $ua->get('/health')->{status}, 503, '503 when the socket is gone';

    # nginx's own connect code says so at crit, as for proxy_pass
    $t->allow_log(qr/\[crit\].*connect\(\) to unix:\S+ failed \(2: /);

    $redis->start;
    ok $t->wait_for(sub { $ua->get('/health')->{status} == 200 }, 10,
        'health back'), 'reconnects over the socket';

    $t->done;
};

done_testing;
