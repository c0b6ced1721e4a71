#!/usr/bin/perl

# One connection, many requests: a worker that verified a session cookie
# on a connection does not verify the same bytes again there, and takes
# nothing else from the earlier request.  On one kept-alive connection
# (HTTP/1.1, and HTTP/2, whose streams share it): two users' cookies in
# turn each pass as their own user; a cookie altered by one byte, or
# none, is sent to sign in between two that pass; a session revoked in
# Redis ends mid-connection within totp_revalidate; a session that a
# location allows only two seconds ends there mid-connection, on time.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpGate qw(gate_setup login enroll verify user_key);

my $t = TotpTest->new;
my $h2 = $t->port('http2');

my (undef, $redis, $port) = gate_setup(
    t => $t,
    users => { alice => 'wonderland', bob => 'builder' },
    http => "    totp_revalidate 200ms;\n",
    server => "        listen 127.0.0.1:$h2 http2;\n"
              . "        location /short/ {\n"
              . "            totp on;\n"
              . "            totp_password_file @{[ $t->dir ]}/htpasswd;\n"
              . "            totp_session_ttl 2s;\n"
              . "            proxy_set_header Remote-User \$totp_user;\n"
              . "            proxy_pass http://127.0.0.1:"
              . $t->port('http_upstream') . ";\n"
              . "        }\n");

my %secrets;

sub session_of {
    my ($user, $password) = @_;
    my $ua = $t->ua;

    # two gated locations: the pre-session says which one sent the user
    $ua->get('/start');
    my $res = login($ua, $user, $password);
    my $secret;

    if ($res->{headers}{location} =~ /enroll/) {
        ($res, $secret) = enroll($ua, $res->{headers}{location});
    } else {
        $res = verify($ua, $res->{headers}{location},
                      TotpTest::totp_code($secrets{$user}, time + 30));
    }

    die "$user: answered $res->{status}\n" unless $res->{status} == 302;
    $secrets{$user} //= $secret;

    return ($ua->cookie('totp_session'), time);
}

my ($alice, $alice_at) = session_of('alice', 'wonderland');
my ($bob) = session_of('bob', 'builder');

# a kept-alive connection of our own: one request, one answer at a time
sub connection {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "connect: $@\n";
    return $s;
}

sub ask {
    my ($s, $path, $cookie) = @_;

    syswrite $s, "GET $path HTTP/1.1\r\nHost: console.test\r\n"
                 . (defined $cookie ? "Cookie: totp_session=$cookie\r\n" : '')
                 . "\r\n";

    my ($buf, $sel, $end) = ('', IO::Select->new($s), time + 10);

    while ($buf !~ /\r\n\r\n/ && $sel->can_read($end - time)) {
        sysread $s, $buf, 65536, length $buf or last;
    }

    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = ($head // '') =~ /^Content-Length: (\d+)/mi;

    while (length($body // '') < ($len // 0) && $sel->can_read($end - time)) {
        sysread $s, $body, 65536, length $body or last;
    }

    return ($status // 0, $body // '');
}

(my $altered = $alice) =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;

my $s = connection();
my @seen;

for my $case ([ $alice, 'alice' ], [ $bob, 'bob' ], [ $alice, 'alice' ],
              [ $altered, undef ], [ $alice, 'alice' ], [ undef, undef ],
              [ $bob, 'bob' ], [ $bob, 'bob' ])
{
    my ($cookie, $user) = @$case;
    my ($status, $body) = ask($s, '/one/conn', $cookie);
    my $what = $user // (defined $cookie ? 'an altered cookie' : 'no cookie');

    if ($user) {
        like $body, qr/^upstream user=\Q$user\E /m,
            "one connection: $what passes as $what";
    } else {
        is $status, 302, "one connection: $what is sent to sign in";
    }
}

ok scalar(grep { /client sent invalid cookie "totp_session"/ }
          $t->error_log),
    'the altered cookie was verified, not taken from the one before';
$t->allow_log(qr/client sent invalid cookie/);

# a revoke mid-connection: within totp_revalidate, the session is gone
my ($status, $body) = ask($s, '/one/conn', $alice);
like $body, qr/^upstream user=alice /m, 'alice still passes';
$redis->cli('DEL', user_key('alice', suffix => ':sessions'));
my $ended = $t->wait_for(sub { (ask($s, '/one/conn', $alice))[0] == 302 },
                         5);
ok $ended, 'revoked in Redis: the same connection is sent to sign in';
like +(ask($s, '/one/conn', $bob))[1], qr/^upstream user=bob /m,
    '... while bob on it still passes';
close $s;

# a location that allows sessions two seconds: on the connection that
# verified the cookie, it ends on time
my ($fresh, $fresh_at) = session_of('alice', 'wonderland');
$s = connection();
($status, $body) = ask($s, '/short/x', $fresh);
like $body, qr/^upstream user=alice /m, 'a young session passes /short/';
my $until;
$t->wait_for(sub {
    return 0 unless (ask($s, '/short/x', $fresh))[0] == 302;
    $until = time;
}, 6);
ok $until, 'it is sent to sign in on the same connection';
cmp_ok $until // 0, '>=', $fresh_at + 2 - 1.5,
    '... not before the two seconds are over';
close $s;

# HTTP/2: the streams of one connection, two users in turn, sent by
# node's own HTTP/2 client (curl's --next does not reuse the connection
# for a second stream)
my $client = <<'JS';
const http2 = require('http2');
const [url, ...cookies] = process.argv.slice(1);
const session = http2.connect(url);
const out = [];
let sockets = new Set();
session.on('connect', (s, socket) => sockets.add(socket));
(async () => {
    for (const c of cookies) {
        out.push(await new Promise((done, fail) => {
            const req = session.request({ ':path': '/h2/x',
                                          host: 'console.test',
                                          cookie: 'totp_session=' + c });
            let status, body = '';
            req.on('response', (h) => { status = h[':status']; });
            req.on('data', (d) => { body += d; });
            req.on('end', () => done(status + ' ' + body.split('\n')[0]));
            req.on('error', fail);
            req.end();
        }));
    }
    session.close();
    console.log(JSON.stringify({ sockets: sockets.size, out }));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); });
JS

my ($json) = TotpTest::Proc::capture('node', '-e', $client,
                                     "http://127.0.0.1:$h2",
                                     $fresh, $bob, $altered, $fresh);
my $r = eval { JSON::PP::decode_json($json) } // { error => $json };

is $r->{sockets}, 1, 'HTTP/2: one connection' or diag $json;
my @users = map { /upstream user=(\w+) / ? $1 : "status " . (split / /)[0] }
            @{ $r->{out} // [] };
is_deeply \@users, [ 'alice', 'bob', 'status 302', 'alice' ],
    'HTTP/2: each stream as its own cookie says, the altered one sent to '
    . 'sign in';

$t->done;
