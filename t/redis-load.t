# Thousands of concurrent requests through the Redis layer: every one
# answered, nothing logged above error, no descriptor left behind.

use strict;
use warnings;

use Test::More;
use TotpTest;

my $valgrind = $ENV{TOTP_TEST_VALGRIND};
my ($connections, $seconds) = $valgrind ? (50, 3) : (1000, 3);

my $t = TotpTest->new;
my $redis = $t->redis;
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 2);
    totp_redis @{[ $redis->addr ]};
    totp_redis_timeout 5s;

    server {
        listen 127.0.0.1:$port backlog=4096;
        keepalive_requests 1000000;

        location = /health { totp_health; }
    }
EOF
$t->run;

my $ua = $t->ua(port => $port);
my $url = "http://127.0.0.1:$port/health";

sub wrk {
    my ($c, $d) = @_;
    my $out = `wrk -t2 -c$c -d${d}s --timeout 10s $url 2>&1`;
    note $out;
    return $out;
}

# Short runs first, until every worker has opened its Redis connection,
# which stays: the count taken after that is the baseline.
sub module_clients {
    scalar grep { /cmd=eval/ } $redis->cli('CLIENT', 'LIST');
}

# under valgrind nginx runs as a single process
my $workers = $valgrind ? 1 : 2;

ok $t->wait_for(sub { wrk(20, 1); module_clients() == $workers }, 20,
    'every worker connected'), 'warm-up: every worker holds a connection';

sub open_fds {
    my $n = 0;
    for my $pid ($t->worker_pids) {
        opendir my $d, "/proc/$pid/fd" or next;
        $n += grep { /^\d+$/ } readdir $d;
    }
    return $n;
}

my $fds = open_fds();

my $out = wrk($connections, $seconds);

my ($requests) = $out =~ /(\d+) requests in/;
ok $requests && $requests >= ($valgrind ? 100 : 2000),
    "wrk completed many requests (" . ($requests // 0) . ")";
unlike $out, qr/Non-2xx or 3xx responses/, 'every answer was 200';
unlike $out, qr/Socket errors/, 'no socket errors or timeouts';

# The clients are gone; their connections close as nginx reads the EOFs.
ok $t->wait_for(sub { open_fds() <= $fds }, 10, 'descriptors settle'),
    "no growth in the workers' open descriptors ($fds before, "
    . open_fds() . ' after)';

is $ua->get('/health')->{status}, 200, 'still healthy afterwards';

$t->done;
