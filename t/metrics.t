#!/usr/bin/perl

# totp_metrics, checked by Prometheus's own tools: promtool accepts the
# page; the counters say what happened (sign-ins, code checks, a lockout,
# passes, refusals, Redis commands, the cache), summed over two workers
# and kept across a reload; a real Prometheus scraping the test nginx
# reads the same numbers back through its query API.

use strict;
use warnings;

use Test::More;

use FindBin;
use JSON::PP;

use TotpTest;
use TotpGate qw(field gate_setup login enroll verify);

for my $tool (qw(promtool prometheus)) {
    next if grep { -x "$_/$tool" } split /:/, $ENV{PATH};
    BAIL_OUT("$tool missing: make deps installs Debian's prometheus");
}

my $t = TotpTest->new;
my $dir = $t->dir;

my ($tt, $redis, $port) = gate_setup(t => $t, no_run => 1,
    users => { alice => 'wonderland', bob => 'builder' },
    limits => "totp_fail_limit 3 1m;\n"
              . "    totp_fail_limit_user 1000 1m;\n"
              . "    totp_fail_limit_ip 1000 1m;",
    server => <<'EOF');
        location = /metrics {
            totp_metrics;
        }
EOF

$t->run;

# the page, as a scraper gets it: { "name{labels}" => value }
sub scrape {
    my $res = $t->ua->get('/metrics');
    die "metrics: $res->{status}\n" unless $res->{status} == 200;

    my %m;
    for (split /\n/, $res->{body}) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or die "a line that is no sample: $_\n";
        $m{$k} = $v;
    }

    return (\%m, $res);
}

my ($m, $res) = scrape();

is($res->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
   'the content type of the text format, version 0.0.4');
is($res->{headers}{'cache-control'}, 'no-store', 'never cached');

$t->write_file('metrics.txt', $res->{body});
my ($ok, $out) = promtool('check', 'metrics');
ok($ok, 'promtool check metrics: no problem') or diag $out;

is($m->{'nginx_totp_signins_total{result="failed"}'}, 0, 'nothing counted yet');
like($m->{'nginx_totp_build_info{version="' . version() . '",nginx="1.22.1"}'}
     // '', qr/^1$/, 'build info: the module\'s and nginx\'s versions')
    or diag explain [grep /build_info/, keys %$m];
ok(exists $m->{'nginx_totp_redis_up{worker="0"}'}
   && exists $m->{'nginx_totp_redis_up{worker="1"}'}
   && !exists $m->{'nginx_totp_redis_up{worker="2"}'},
   'a Redis gauge per worker slot, for the two workers');

# --- what happens: counted by the workers that served it ---

my $alice = $t->ua;
my $r = login($alice, 'alice', 'wonderland');
my ($enrolled, $secret) = enroll($alice, $r->{headers}{location});
is($enrolled->{status}, 302, 'alice enrolls');
is($alice->get('/x')->{status}, 200, 'alice passes with her session');
is($alice->get('/y')->{status}, 200, 'and again');

my $bob = $t->ua;
login($bob, 'bob', 'wrong') for 1 .. 3;
is(login($bob, 'bob', 'wrong')->{status}, 429,
   'bob is locked after three: that third and the next get 429');
is($t->ua->get('/z')->{status}, 302, 'no session: sent to sign in');
is($t->ua->post('/z', {})->{status}, 401, 'a POST without session: 401');

my $out_page = $alice->get('/_totp/logout');
my $out_res = $alice->post('/_totp/logout',
    { csrf => field($out_page->{body}, 'csrf'), everywhere => 1 });
ok($out_res->{status} == 200 || $out_res->{status} == 302,
   'alice signs out everywhere');

($m) = scrape();

my %want = (
    'nginx_totp_signins_total{result="ok"}' => 1,
    'nginx_totp_signins_total{result="failed"}' => 3,
    'nginx_totp_signins_total{result="locked"}' => 1,
    'nginx_totp_enrollments_total' => 1,
    'nginx_totp_code_checks_total{result="ok"}' => 1,
    'nginx_totp_lockouts_total{kind="pair"}' => 1,
    'nginx_totp_lockouts_total{kind="user"}' => 0,
    'nginx_totp_passes_total{kind="session"}' => 2,
    'nginx_totp_passes_total{kind="verified"}' => 1,
    'nginx_totp_refusals_total{reason="locked"}' => 2,
    'nginx_totp_refusals_total{reason="login"}' => 2,
    'nginx_totp_redis_commands_total{result="timeout"}' => 0,
    'nginx_totp_revocations_total{scope="everywhere"}' => 1,
    'nginx_totp_revocations_total{scope="browser"}' => 0,
    'nginx_totp_logouts_total' => 0,
);

for my $k (sort keys %want) {
    is($m->{$k}, $want{$k}, "$k is $want{$k}");
}

my $commands = $m->{'nginx_totp_redis_commands_total{result="ok"}'};
ok($commands >= 10, "Redis commands answered: $commands");
is($m->{'nginx_totp_redis_command_duration_seconds_count'},
   $commands + $m->{'nginx_totp_redis_commands_total{result="error"}'},
   'the latency histogram counts every answered command');
is($m->{'nginx_totp_redis_command_duration_seconds_bucket{le="+Inf"}'},
   $m->{'nginx_totp_redis_command_duration_seconds_count'},
   'its +Inf bucket is its count');
ok($m->{'nginx_totp_redis_command_duration_seconds_sum'} > 0,
   'and its sum is above zero');
is($m->{'nginx_totp_cache_lookups_total{result="hit"}'}, 2,
   'both session checks found the session in the cache');
is($m->{'nginx_totp_redis_up{worker="0"}'}
   + $m->{'nginx_totp_redis_up{worker="1"}'} >= 1, 1,
   'a worker that asked Redis says it is connected');

$t->write_file('metrics.txt', scrape_body());
($ok, $out) = promtool('check', 'metrics');
ok($ok, 'promtool check metrics: no problem with counts in') or diag $out;

# --- a reload keeps the counters: the zone is the same ---

$t->reload;
my ($after) = scrape();

SKIP: {
    # there a reload is a restart: the shared memory goes with it
    skip 'a reload is a restart under valgrind', 2 if $t->valgrind;

    is($after->{'nginx_totp_signins_total{result="failed"}'}, 3,
       'after a reload: the same count');
    is($after->{'nginx_totp_lockouts_total{kind="pair"}'}, 1,
       'after a reload: the lockout still counted');
}

my $locks = $after->{'nginx_totp_lockouts_total{kind="pair"}'};
my $failed = $after->{'nginx_totp_signins_total{result="failed"}'};

# --- a real Prometheus scrapes it and answers queries ---

my $prom_port = $t->port('prometheus');
my $prom_dir = "$dir/prometheus";
mkdir $prom_dir or die "$prom_dir: $!\n";

$t->write_file('prometheus.yml', <<"EOF");
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: totp
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF

my $prom = TotpTest::Proc::spawn(
    ['prometheus', "--config.file=$dir/prometheus.yml",
     "--storage.tsdb.path=$prom_dir",
     "--web.listen-address=127.0.0.1:$prom_port"],
    "$dir/prometheus.log");

my $api = TotpTest::UA->new(port => $prom_port, timeout => 10);

sub query {
    my ($q) = @_;
    my $res = eval {
        $api->get('/api/v1/query?query=' . TotpTest::UA::_encode($q));
    };
    return undef unless $res && $res->{status} == 200;
    my $o = eval { decode_json($res->{body}) } or return undef;
    my $v = $o->{data}{result}[0]{value}[1];
    return $v;
}

my $got;
ok($t->wait_for(sub {
       $got = query('nginx_totp_lockouts_total{kind="pair"}');
       defined $got && $got == $locks;
   }, 60, 'Prometheus to scrape the lockout'),
   "Prometheus read the pair lockouts: $locks")
    or diag "got " . ($got // 'nothing') . "\n"
            . TotpTest::_slurp("$dir/prometheus.log");

is(query('nginx_totp_signins_total{result="failed"}'), $failed,
   "Prometheus: $failed failed sign-ins");
is(query('up{job="totp"}'), 1, 'Prometheus: the target is up');

# one more failure: Prometheus sees it at its next scrape
login($t->ua, 'alice', 'nope');
ok($t->wait_for(sub {
       ($got = query('nginx_totp_signins_total{result="failed"}') // -1)
       == $failed + 1;
   }, 30, 'the next scrape'), 'Prometheus: the next failure counted');

my (undef, $killed) = TotpTest::Proc::terminate($prom, 'TERM', 30);
ok(!$killed, 'Prometheus stopped when asked');

# --- the alert rules the docs give: promtool accepts each set ---

my @rules = rule_files();
ok(@rules >= 1, scalar(@rules) . ' rule files in the docs');

for my $r (@rules) {
    $t->write_file('rules.yml', $r->{text});
    my ($o, $st) = TotpTest::Proc::capture('promtool', 'check', 'rules',
                                           "$dir/rules.yml");
    ok($st == 0 && $o =~ /SUCCESS: (\d+) rules found/ && $1 >= 3,
       "$r->{file} line $r->{line}: promtool check rules") or diag $o;

    # the rules name only metrics the page has
    my %names = map { /^(\w+?)(?:_bucket)?\{/ || /^(\w+) / ? ($1 => 1) : () }
                split /\n/, scrape_body();
    my @unknown = grep { !$names{$_} && !$names{"${_}"} }
                  $r->{text} =~ /\b(nginx_totp_\w+?)(?:_bucket)?\b/g;
    is_deeply(\@unknown, [], "$r->{file}: every metric it names exists");
}

$t->done;


# ```yaml blocks of README.md and docs/*.md that hold rule groups
sub rule_files {
    my @out;
    for my $file ('README.md', map { s{^.*/(docs/)}{$1}r }
                               sort glob "$FindBin::Bin/../docs/*.md") {
        my $text = TotpTest::_slurp("$FindBin::Bin/../$file");
        my $line = 1;
        while ($text =~ /\G(.*?)^```yaml\n(.*?)^```$/gms) {
            $line += ($1 =~ tr/\n//) + 1;
            my $block = $2;
            push @out, { file => $file, line => $line, text => $block }
                if $block =~ /^groups:/m;
            $line += ($block =~ tr/\n//) + 1;
        }
    }
    return @out;
}


sub promtool {
    my @args = @_;
    my $out = `promtool @args < $dir/metrics.txt 2>&1`;
    return ($? == 0, $out);
}

sub scrape_body {
    return $t->ua->get('/metrics')->{body};
}

sub version {
    my $h = TotpTest::_slurp("$FindBin::Bin/../src/ngx_http_totp_version.h");
    my ($v) = $h =~ /NGX_HTTP_TOTP_VERSION\s+"([^"]+)"/;
    return $v;
}
