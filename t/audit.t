#!/usr/bin/perl

# totp_audit_log: one JSON object per line for each security event, every
# line parsed by a strict JSON parser.  User names with quotes,
# backslashes and invalid UTF-8, and a User-Agent with control
# characters, must come out as JSON strings that say exactly what the
# client sent (invalid bytes as U+FFFD) and never break a line.  Also:
# the error log keeps its short escaped line; if= skips events; a syslog
# audit log sends the same objects; USR1 reopens the file.

use strict;
use warnings;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use JSON::PP;

use TotpTest;
use TotpGate qw(field gate_setup login enroll verify);

my $t = TotpTest->new;
my $dir = $t->dir;
my $port_b = $t->port('http_b');

# a syslog server: a UDP socket the test reads
my $syslog = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'udp')
    or die "udp socket: $!\n";
my $syslog_port = $syslog->sockport;

my %users = (alice => 'wonderland', bob => 'builder', carol => 'singer');

my ($tt, $redis, $port) = gate_setup(t => $t, users => \%users,
    no_run => 1,
    limits => "totp_fail_limit 3 1m;\n"
              . "    totp_fail_limit_user 1000 1m;\n"
              . "    totp_fail_limit_ip 1000 1m;",
    http => <<"EOF",
    map \$http_x_quiet \$totp_audited {
        default  1;
        yes      0;
    }

    totp_audit_log $dir/audit.log if=\$totp_audited;

    server {
        listen 127.0.0.1:$port_b;
        server_name syslog.test;

        totp_realm b;
        totp_audit_log syslog:server=127.0.0.1:$syslog_port,tag=totp_audit;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file $dir/htpasswd;
            return 200 "b: \$totp_user\\n";
        }
    }
EOF
);

$t->run;

my $json = JSON::PP->new->utf8->canonical;

# the audit file's objects, each line checked to be exactly one object
sub audit_lines {
    my $text = TotpTest::_slurp("$dir/audit.log");
    my @objects;

    for my $line (split /^/m, $text) {
        ok($line =~ /\n\z/ && $line !~ /\n./s, 'one line, one object')
            or diag $line;
        my $o = eval { $json->decode($line) };
        ok($o, 'the line parses as strict JSON') or diag "$@: $line";
        push @objects, $o if $o;
    }

    return @objects;
}

sub wait_lines {
    my ($n) = @_;
    my $count = 0;
    $t->wait_for(sub {
        $count = () = TotpTest::_slurp("$dir/audit.log") =~ /\n/g;
        $count >= $n;
    }, undef, "$n audit lines") or diag "only $count lines";
}

my @keys = qw(time event user client client_key realm server location
              request_id user_agent outcome reason);

# --- a wrong password for a hostile name, with a hostile User-Agent ---

my $name = "q\"u\\o\xff\xc3(\xe2\x82\xac";
my $agent = "curl\x01\x1b[31m\x7f \"x\\y\"\t\xfe";

my $ua = $t->ua(headers => { 'User-Agent' => $agent });
my $res = login($ua, $name, 'nope');
is($res->{status}, 401, 'a wrong password for an unknown name: 401');

wait_lines(1);
my @a = audit_lines();
is(scalar @a, 1, 'one event');

my $e = $a[0];
is_deeply([sort keys %$e], [sort @keys],
          'every key the audit log names, no "truncated" when nothing was cut')
    or diag explain $e;
is($e->{event}, 'failed', 'event: failed');
is($e->{reason}, 'password', 'reason: password');
is($e->{outcome}, 'failure', 'outcome: failure');
is($e->{user}, "q\"u\\o\x{fffd}\x{fffd}(\x{20ac}",
   'the name as sent: quote and backslash kept, invalid bytes as U+FFFD');
is($e->{user_agent}, "curl\x01\x1b[31m\x7f \"x\\y\"\t\x{fffd}",
   'the User-Agent with its control characters, as JSON escapes');
is($e->{client}, '127.0.0.1', 'client: the address');
is($e->{client_key}, '127.0.0.1', 'client_key: the counted key');
is($e->{server}, 'console.test', 'server: the server name');
is($e->{location}, '/', 'location: the gated location');
is($e->{realm}, undef, 'realm: null without one');
like($e->{request_id}, qr/^[0-9a-f]{32}\z/, 'request_id: $request_id');
like($e->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/,
     'time: ISO 8601 UTC with milliseconds');

my ($y, $h, $mi, $s) = $e->{time} =~ /^(\d+)-\d+-\d+T(\d+):(\d+):(\d+)/;
my @now = gmtime;
ok(abs(($h * 3600 + $mi * 60 + $s)
       - ($now[2] * 3600 + $now[1] * 60 + $now[0])) < 30
   && $y == $now[5] + 1900, 'time: now, in UTC');

my $raw = TotpTest::_slurp("$dir/audit.log");
ok($raw !~ /[\x00-\x09\x0b-\x1f\x7f]/, 'no raw control character in the file');

# the error log keeps its one short line, escaped as before
my @err = grep { /failed password/ } $t->error_log;
is(scalar @err, 1, 'the error log: one line for the failure');
like($err[0], qr/user "q\\x22u\\x5Co\\xFF\\xC3\(\\xE2\\x82\\xAC" failed password/,
     'the error log: the name escaped');

# --- enrollment, a wrong code, a replayed code, sign-in, logout ---

my $alice = $t->ua;
$res = login($alice, 'alice', 'wonderland');
my ($enrolled, $secret) = enroll($alice, $res->{headers}{location});
is($enrolled->{status}, 302, 'alice enrolled');

my $bob = $t->ua;
$res = login($bob, 'alice', 'wonderland');
is($res->{status}, 302, 'alice again in another browser: to verify');
my $to_verify = $res->{headers}{location};
my $wrong = TotpTest::totp_code($secret) eq '000000' ? '111111' : '000000';
$res = verify($bob, $to_verify, $wrong);
is($res->{status}, 401, 'a wrong code: 401');
$res = verify($bob, $to_verify, '12 34');
is($res->{status}, 400, 'a code that cannot be one: 400');
$res = verify($bob, $to_verify, TotpTest::totp_code($secret));
is($res->{status}, 401, 'the code enrollment used: refused as a replay');

# a logout needs the form's csrf from the logout page
my $page = $alice->get('/_totp/logout');
$res = $alice->post('/_totp/logout', { csrf => field($page->{body}, 'csrf') });
ok($res->{status} == 200 || $res->{status} == 302, 'alice signs out');

wait_lines(6);
my @events = map { [$_->{event}, $_->{reason}, $_->{user}] } audit_lines();
is_deeply([@events[1 .. 5]], [
    ['enrolled', undef, 'alice'],
    ['failed', 'code', 'alice'],
    ['failed', 'malformed', 'alice'],
    ['failed', 'replay', 'alice'],
    ['logout', undef, 'alice'],
], 'enrolled, wrong code, malformed code, replay, logout: in order')
    or diag explain \@events;

# --- a lockout: three failures for carol lock the pair, the fourth is refused ---

my $carol = $t->ua;
login($carol, 'carol', 'x') for 1 .. 3;
$res = login($carol, 'carol', 'x');
is($res->{status}, 429, 'the pair is locked');

wait_lines(11);
my @all = audit_lines();
my @carol = map { $_->{event} . '/' . ($_->{reason} // '') }
            grep { ($_->{user} // '') eq 'carol' } @all;
is_deeply(\@carol, [qw(failed/password failed/password failed/password
                       locked/pair failed/locked)],
          'three failures, the pair locked, the next attempt refused')
    or diag explain \@carol;

# --- if=: an event the condition turns off is not written ---

my $before = () = TotpTest::_slurp("$dir/audit.log") =~ /\n/g;
my $quiet = $t->ua(headers => { 'X-Quiet' => 'yes' });
$res = login($quiet, 'bob', 'nope');
is($res->{status}, 401, 'a failure the condition keeps out of the log');
my $loud = $t->ua;
$res = login($loud, 'bob', 'nope2');
wait_lines($before + 1);
my @last = audit_lines();
is(scalar @last, $before + 1, 'if=: only the other failure was written');
is($last[-1]{user}, 'bob', 'the written one is the second');

# --- syslog: the same objects, to the server's own audit log ---

my $b = $t->ua(port => $port_b);
$res = login($b, "b\"ob", 'nope');
is($res->{status}, 401, 'a failure at the syslog server');

my $sel = IO::Select->new($syslog);
my $msg = '';
ok($sel->can_read(10), 'a syslog message came') and $syslog->recv($msg, 65536);
like($msg, qr/^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ totp_audit: \{/,
     'a syslog header with the tag, then the object');
(my $body = $msg) =~ s/^[^{]*//;
my $o = eval { $json->decode($body) };
ok($o, 'the syslog message parses as JSON') or diag "$@: $msg";
is($o->{user}, "b\"ob", 'syslog: the user');
is($o->{realm}, 'b', 'syslog: the realm');
is($o->{server}, 'syslog.test', 'syslog: its server');
ok(!grep({ ($_->{realm} // '') eq 'b' } audit_lines()),
   'the file log has none of the other server\'s events');

# --- a huge User-Agent is cut, not left out, and the line stays small ---

my $n_before = () = TotpTest::_slurp("$dir/audit.log") =~ /\n/g;
my $big = $t->ua(headers => { 'User-Agent' => "\x01" x 6000 });
$res = login($big, 'erin', 'nope');
is($res->{status}, 401, 'a failure with a 6000-byte User-Agent');
wait_lines($n_before + 1);
my ($last_line) = (split /^/m, TotpTest::_slurp("$dir/audit.log"))[-1];
my $cut = $json->decode($last_line);
is($cut->{user_agent}, "\x01" x 256, 'the User-Agent cut at 256 bytes');
is($cut->{truncated}, JSON::PP::true, 'and the line says it was cut');
ok(length $last_line < 4096, 'the line stays under 4 KB: '
   . length($last_line) . ' bytes');

# --- USR1 reopens the audit log ---

rename "$dir/audit.log", "$dir/audit.log.1" or die "rename: $!\n";
kill 'USR1', $t->master_pid;
ok($t->wait_for(sub { -e "$dir/audit.log" }, undef, 'a new audit.log'),
   'USR1: the audit log is made again');
$res = login($loud, 'dave', 'nope');
wait_lines(1);
my @new = audit_lines();
is(scalar @new, 1, 'the next event goes to the new file');
is($new[0]{user}, 'dave', 'the new file: that event');

$t->done;
