#!/usr/bin/perl

# The README's "complete nginx.conf" works as printed: copied out of
# README.md, its paths and ports filled in (and nothing else changed), it
# loads, a user signs in through it over https, and its health check
# answers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;
use TotpGate qw(login enroll);
use TotpDocs qw(readme_complete_conf);

my $t = TotpTest->new;
my $redis = $t->redis;
my $dir = $t->dir;

my $conf = readme_complete_conf();
ok $conf =~ /^http \{$/m, 'the README has its complete nginx.conf';

# what the README names on a real server, and what the test gives it
my $key = $t->write_file('totp.key', join '', map { chr(($_ * 7) % 256) } 0 .. 31);

my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                     'wonderland');
chomp $hash;
my $htpasswd = $t->write_file('console.htpasswd', "alice:$hash\n");

my ($out, $status) = TotpTest::Proc::capture(
    'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$dir/console.key", '-out', "$dir/console.crt",
    '-days', '1', '-subj', '/CN=console.example.com');
die "openssl req: $out\n" if $status;

my $port = $t->port('https');
my $up = $t->port('http_upstream');

my %fill = (
    qr{load_module \S+;}                      => "load_module $t->{module};",
    qr{/etc/nginx/totp\.key}                  => $key,
    qr{/etc/nginx/console\.htpasswd}          => $htpasswd,
    qr{/etc/nginx/console\.crt}               => "$dir/console.crt",
    qr{/etc/nginx/console\.key}               => "$dir/console.key",
    qr{/var/log/nginx/console\.log}           => "$dir/console.log",
    qr{listen 443 ssl;}                       => "listen 127.0.0.1:$port ssl;",
    qr{totp_redis\s+127\.0\.0\.1:6379;}       => 'totp_redis ' . $redis->addr . ';',
    qr{proxy_pass http://127\.0\.0\.1:8080;}  => "proxy_pass http://127.0.0.1:$up;",
);

for my $re (sort keys %fill) {
    ok $conf =~ s/$re/$fill{$re}/g, "filled in: $re";
}

unlike $conf, qr{/etc/nginx|/var/log}, 'no path of a real server left';

# the test's own: its pid and logs, and the console behind the gate
my $main = $t->main_lines(workers => 2);
$main =~ s/^load_module .*\n//m;
$conf =~ s/^(load_module .*\n)/$1$main/m or die "no load_module line\n";
$conf =~ s/^events \{\}$/"events {\n" . $t->events_lines . "}"/me
    or die "no events block\n";

my $harness = $t->http_lines;
$conf =~ s/^http \{\n/http {\n$harness
    server {
        listen 127.0.0.1:$up;
        location \/ { return 200 "console user=\$http_remote_user\\n"; }
    }
/m or die "no http block\n";

$t->write_file('nginx.conf', $conf);
$t->run;

my $ua = $t->ua(port => $port, ssl => 'console.example.com');

subtest 'a user signs in through the README\'s configuration' => sub {
    my $res = $ua->get('/reports?month=11');
    is $res->{status}, 302, 'the console sends to sign in';
    like $res->{headers}{location}, qr{/_totp/login\?next=/reports%3Fmonth%3D11$},
        '... at the pages\' location';

    $res = login($ua, 'alice', 'wonderland', next => '/reports%3Fmonth%3D11');
    ($res) = enroll($ua, $res->{headers}{location});
    is $res->{status}, 302, 'enrolled with a code from oathtool';
    $res = $ua->get($res->{headers}{location} =~ s{^https?://[^/]+}{}r);
    like $res->{body}, qr{id="totp-recovery-codes"},
        '... shown the recovery codes, as by default';
    like $res->{body}, qr{name="next" value="/reports\?month=11"},
        '... with the way on to the page asked for';

    ok $ua->cookie('__Host-totp_session'),
        'over https the session is a __Host- cookie';

    $res = $ua->get('/reports?month=11');
    is $res->{body}, "console user=alice\n", 'the console sees alice';
};

subtest 'its health check' => sub {
    my $res = $t->ua(port => $port, ssl => 'console.example.com')
                ->get('/_totp/health');
    is $res->{status}, 200, '/_totp/health: 200, under the pages\' prefix';
    like $res->{body}, qr/^\{"redis":"ok","rtt_ms":[\d.]+\}/, '... Redis ok';
};

subtest 'its access log' => sub {
    ok $t->wait_for(sub {
        grep { /^127\.0\.0\.1 alice session "GET \/reports\?month=11 HTTP\/1\.1" 200$/ }
             TotpTest::_read_log("$dir/console.log")
    }, 5, 'the log line'), 'the log_format names the user and how they passed';
};

$t->done;
