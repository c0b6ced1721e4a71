#!/usr/bin/perl

# totp_zone: the revalidation cache's shared memory, named and sized by
# the admin.  A zone too small for its users evicts those least recently
# checked, which costs Redis round trips, never a wrong answer, and says
# so in the error log, once a minute at most.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpGate qw(gate_setup cookie_key token_payload token_sign user_key
                session_command);

my $KEY = 'z' x 32;
my $t = TotpTest->new;

my $USERS = 400;

# the users' lines (passwords play no part: every session is made here)
my %line = map { my $n = sprintf 'user%04d', $_; ($n => "$n:{PLAIN}pw$_") }
           1 .. $USERS;
my $pw = $t->write_file('htpasswd', join '', map { "$_\n" } values %line);

my ($t2, $redis, $port) = gate_setup(t => $t, key => $KEY, workers => 1,
                                     password_file => $pw,
                                     http => '    totp_zone sessions:32k;');

my $binding = 'totp_password_file ' . $t->dir . '/htpasswd';
my $session_key = cookie_key($KEY, 'session', $binding);

# many users, enrolled as the module would have stored them, each with a
# session signed here with the key the module derives, and registered
my (%cookie, @commands);

for my $i (1 .. $USERS) {
    my $name = sprintf 'user%04d', $i;
    my $epoch = pack 'N4', $i, 2, 3, 4;

    push @commands, [ 'HSET', user_key($name), secret => 'x',
                      algorithm => 'sha1', digits => 6, period => 30,
                      epoch => unpack('H*', $epoch), last => 0 ];

    $cookie{$name} = token_sign(token_payload(
        purpose => 's', expires => time + 3600, epoch => $epoch,
        nonce => "n" x 16, user => $name), $session_key);

    push @commands, session_command($cookie{$name}, key => $KEY,
                                    line => $line{$name});
}

$redis->batch(@commands);

my $ua = $t->ua;
my @bad;

for my $name (sort keys %cookie) {
    my $res = $ua->get('/console/', { Cookie => "totp_session=$cookie{$name}" });
    push @bad, "$name: $res->{status}"
        unless $res->{status} == 200 && $res->{body} =~ /user=\Q$name\E /;
}

is_deeply \@bad, [], "$USERS users' sessions pass, the zone full or not";

my @warn = grep { /\[warn\].*totp: zone "sessions" is full/ } $t->error_log;
is scalar @warn, 1, 'the zone is said to be full, once';
like $warn[0] // '', qr/the 16 sessions least recently checked were evicted: they ask Redis again; a larger "totp_zone" avoids it/,
    '... with what it costs and what to do';

# the users evicted first are asked again, and still pass
my $res = $ua->get('/console/', { Cookie => "totp_session=$cookie{user0001}" });
is $res->{status}, 200, 'an evicted session passes after a round trip';

$t->done;
