# totp_health: the load balancers' view of the module's Redis layer.

use strict;
use warnings;

use Test::More;
use TotpTest;

my $t = TotpTest->new;
my $redis = $t->redis;
my $port = $t->port('http');

$t->write_config(<<"EOF", workers => 2);
    totp_redis @{[ $redis->addr ]};

    server {
        listen 127.0.0.1:$port;

        location = /health { totp_health; }
        location / { return 200 "console\\n"; }
    }
EOF
$t->run;

my $ua = $t->ua(port => $port);

my $res = $ua->get('/health');
is $res->{status}, 200, 'health answers 200 when redis answers';
like $res->{body}, qr/\A\{"redis":"ok","rtt_ms":\d+\.\d{3}\}\r?\n\z/,
    'body carries the round-trip time';
is $res->{headers}{'content-type'}, 'application/json', 'json';
is $res->{headers}{'cache-control'}, 'no-store',
    'never cached: a cached answer would hide an outage';

$res = $ua->request('HEAD', '/health');
is $res->{status}, 200, 'HEAD works';
is $res->{body}, '', 'HEAD has no body';

$res = $ua->post('/health', { a => 1 });
is $res->{status}, 405, 'POST is not allowed';

# The health check runs a script by SHA1 (EVALSHA) and falls back to EVAL
# when Redis does not know it; afterwards Redis does, and EVALSHA alone
# is enough.

sub calls {
    my ($cmd) = @_;
    my ($line) = grep { /^cmdstat_$cmd:/ } $redis->cli('INFO', 'commandstats');
    return $line && $line =~ /calls=(\d+)/ ? $1 : 0;
}

$redis->cli('SCRIPT', 'FLUSH');
$redis->cli('CONFIG', 'RESETSTAT');

is $ua->get('/health')->{status}, 200, 'health after SCRIPT FLUSH';
is calls('evalsha'), 1, 'EVALSHA tried first';
is calls('eval'), 1, 'NOSCRIPT answered by one EVAL with the body';

is $ua->get('/health')->{status}, 200, 'health again';
is calls('evalsha'), 2, 'second check uses EVALSHA';
is calls('eval'), 1, 'no second EVAL once Redis has the script';

$t->done;
