#!/usr/bin/perl

# debug_connection tells the story of one sign-in, across the gate, the
# pages, the failure count, the Redis schema, the Redis client and the
# revalidation cache, in the order it happened; a client it does not name
# leaves no such line.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpGate qw(gate_setup login enroll);

my ($t, $redis, $port) = gate_setup(
    workers => 1,
    events  => 'debug_connection 127.0.0.1;',
);

plan skip_all => 'nginx is not built --with-debug'
    unless `nginx -V 2>&1` =~ /--with-debug/;

sub story {
    return map { /\[debug\] \d+#\d+: \*\d+ (totp .*?)(?:, client: .*)?$/ ? $1 : () }
           $t->error_log;
}

my $ua = $t->ua;

my $res = $ua->get('/console/');
$res = login($ua, 'alice', 'wonderland', next => '/console/');
($res) = enroll($ua, $res->{headers}{location});
is $res->{status}, 302, 'alice signed in from 127.0.0.1';
is $ua->get('/console/page')->{status}, 200, '... and passes the gate';

my @story = story();

# each step, in this order, with others between them
my @steps = (
    qr{^totp gate: "/console/" at location "/"$},
    qr{^totp gate: no valid session cookie$},
    qr{^totp gate: to the login page "/_totp/login\?next=/console/"$},
    qr{^totp page: GET "login", settings of location "/"$},
    qr{^totp page: POST "login", settings of location "/"$},
    qr{^totp page: form accepted$},
    qr{^totp store: attempt of "alice"$},
    qr{^totp redis: sent EVALSHA, 19 arguments, \d+ pending$},
    qr{^totp redis: reply to EVAL(?:SHA)?, type 3$},
    qr{^totp store: attempt done, rc:0 result:0$},
    qr{^totp lockout: attempt of "alice" from "127\.0\.0\.1" counted, locked for 0 s$},
    qr{^totp page: password of "alice": right$},
    qr{^totp store: fetch of "alice"$},
    qr{^totp redis: sent EVALSHA, 6 arguments},
    qr{^totp redis: reply to EVAL(?:SHA)?, type 2$},
    qr{^totp store: fetch done, rc:0},
    qr{^totp page: the attempt of "alice" given back \(first\)$},
    qr{^totp page: on to "/_totp/enroll\?next=/console/"$},
    qr{^totp page: GET "enroll"},
    qr{^totp store: enroll begin of "alice"$},
    qr{^totp page: showing the pending enrollment of "alice"$},
    qr{^totp page: POST "enroll"},
    qr{^totp page: enrollment code of "alice": right$},
    qr{^totp store: enroll confirm of "alice"$},
    qr{^totp store: enroll confirm done, rc:0 result:1$},
    qr{^totp store: sessions add of "alice"$},
    qr{^totp store: sessions add done, rc:0 result:1$},
    qr{^totp cache: stored, live:1$},
    qr{^totp page: "alice" signed in \(verified\)$},
    qr{^totp page: back to "/console/"$},
    qr{^totp gate: "/console/page" at location "/"$},
    qr{^totp gate: a valid session cookie$},
    qr{^totp cache: found in zone "totp"$},
    qr{^totp session: live, says the cache$},
    qr{^totp gate: pass "alice" \(session\)$},
);

my $i = 0;

for my $step (@steps) {
    $i++ while $i < @story && $story[$i] !~ $step;
    ok $i < @story, "the story tells: $step" or last;
    $i++;
}

diag join "\n", @story if grep { !$_ } Test::More->builder->summary;

SKIP: {
skip 'TOTP_TEST_DEBUG logs every connection at debug', 1
    if $ENV{TOTP_TEST_DEBUG};

my $before = () = story();

my $other = $t->ua(local => '127.0.0.2');
$other->get('/console/');
login($other, 'alice', 'wonderland', next => '/console/');

is scalar(() = story()), $before,
    'a client debug_connection does not name adds no debug line';
}

$t->done;
