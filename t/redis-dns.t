#!/usr/bin/perl

# totp_redis by name: nginx's resolver (resolver, resolver_timeout)
# resolves it at each connect, asynchronously, and again after -READONLY,
# -LOADING, -MASTERDOWN or a closed connection.  Two Redis listen on the
# same port at 127.0.0.2 and 127.0.0.3, the second a replica of the first,
# and a DNS server this test controls says which one redis.test is.
#
# A failover by hand (promote the replica, demote the master, repoint
# the name) is followed without a reload: sign-ins work again within
# seconds and write to the new master, and meanwhile nothing passes the
# gate without a session.  With the DNS server silent, a new connection
# fails within resolver_timeout + totp_redis_timeout, and the worker
# keeps answering other requests while it waits.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpTest::Redis;
use TotpDNS;
use TotpGate qw(gate_setup login enroll verify sign_in_next);

my $NAME = 'redis.test';
my ($A, $B) = ('127.0.0.2', '127.0.0.3');

# seconds; the bound on a new connection's failure is their sum
my $RESOLVER_TIMEOUT = 1;
my $REDIS_TIMEOUT = 1;

# how long a name stays cached: valid=1s, counted by nginx in whole
# seconds of its clock, so up to 2 s after the query
my $CACHED = 2;

# margins on what nginx itself takes: valgrind slows it down tenfold
my $SLOW = TotpTest->valgrind ? 10 : 1;

my $t = TotpTest->new;
my $dir = $t->dir;

my %USERS = map { ("user$_" => "password-$_") } 1 .. 16;
my %SECRET;
my @fresh = map { "user$_" } 1 .. 16;

# --- two Redis on one port, at two addresses ---

# TotpTest->redis names each server's port after the server: two names,
# two ports.  One port, free on both addresses, and the servers made here.
my $port;

for my $n (0 .. 20) {
    my $p = $t->port($n ? "redis-$n" : 'redis');
    next if grep {
        !IO::Socket::INET->new(LocalAddr => $_, LocalPort => $p,
                               Proto => 'tcp', Listen => 1)
    } $A, $B;
    $port = $p;
    last;
}

BAIL_OUT("no port free on both $A and $B") unless $port;

# each can become the other's replica: a full sync starts at once
my %redis = (dir => $dir, port => $port, timeout => 10);
my $ra = TotpTest::Redis->new(%redis, name => 'redis-a', host => $A,
                              conf => 'repl-diskless-sync-delay 0');
my $rb = TotpTest::Redis->new(%redis, name => 'redis-b', host => $B,
                              conf => "repl-diskless-sync-delay 0\n"
                                      . "replicaof $A $port");

ok($t->wait_for(sub { $rb->cli('INFO', 'replication')
                      =~ /master_link_status:up/ }),
   "$B replicates $A, on the same port $port");

my $dns = TotpDNS->new(t => $t, records => { $NAME => $A });
is($dns->lookup($NAME), $A, "the DNS server: $NAME is $A");

# --- nginx: totp_redis by name ---

# gate_setup writes totp_redis with what addr() gives
{
    package ByName;
    sub addr { $_[0][0] }
}

# one worker: that it answers other requests while its Redis connection
# waits on the resolver is seen only if they all reach the same worker
gate_setup(t => $t, users => \%USERS, workers => 1,
    redis => bless([ "$NAME:$port" ], 'ByName'),
    http => "    resolver ${\ $dns->addr } valid=1s;\n"
            . "    resolver_timeout ${RESOLVER_TIMEOUT}s;\n"
            . "    totp_redis_timeout ${REDIS_TIMEOUT}s;\n",
    server => "        location = /health { totp_health; }\n"
              . "        location = /plain { return 200 \"plain\\n\"; }\n");

my $ua = $t->ua;

is($ua->get('/health')->{status}, 200, "health: Redis answers at $NAME");
ok(scalar $dns->queries($NAME), "nginx asked the DNS server for $NAME");

# enrollments are writes: on A
for my $user (splice @fresh, 0, 12) {
    my $e = $t->ua;
    my $res = login($e, $user, $USERS{$user});
    ($res, $SECRET{$user}) = enroll($e, $res->{headers}{location});
    is($res->{status}, 302, "$user enrolled") or BAIL_OUT("no enrollment");
}


is($ra->cli('EXISTS', 'totp:user:{user1}'), 1, "the enrollments are on $A");

# The replica must hold them before it becomes the master.  Not WAIT:
# from redis-cli's connection, which wrote nothing, it says yes at once.
my ($offset) = $ra->cli('INFO', 'replication') =~ /master_repl_offset:(\d+)/;
ok($t->wait_for(sub {
       ($rb->cli('INFO', 'replication') =~ /slave_repl_offset:(\d+)/)[0]
           >= $offset }),
   "and on $B, its replica");

# enrolled, no code used yet
my @ready = map { "user$_" } 1 .. 12;

# Signs $user in (TotpGate::sign_in_next): (status, the step that ended
# it, the UA, the TOTP step of the code).
sub sign_in {
    my ($user) = @_;

    return sign_in_next($t->ua, $user, $USERS{$user}, $SECRET{$user});
}

# what passes the gate: the upstream's answer names the user
sub passes {
    my ($ua) = @_;
    my $res = $ua->get('/console');
    return $res->{status} == 200 && $res->{body} =~ /^upstream user=/;
}

my $user = shift @ready;
my ($status, $where, $in, $step) = sign_in($user);
is("$status $where", '302 verify', "$user signs in with a code");
ok(passes($in), 'and the session passes the gate');
is($ra->cli('HGET', "totp:user:{$user}", 'last'), $step,
   "the code's step is stored on $A");

# --- a failover by hand ---

# The replica first (it has every write: its offset said so), then the old
# master follows it (from now on it answers writes with -READONLY), and
# only then the name: a write never lands on a server about to be
# overwritten by a full sync.
is($rb->cli('REPLICAOF', 'NO', 'ONE'), 'OK', "$B promoted");
is($ra->cli('REPLICAOF', $B, $port), 'OK', "$A demoted, a replica of $B");
$dns->set($NAME => $B);
my $moved = time;

my (@leaks, $signed, %seen);

# Polls sign-ins until one passes; in between, a browser without a
# session must never reach the console.  A code the gate may have taken
# before failing (an error at the verify step) is not posted again:
# the next user's is.
$user = shift @ready;

$t->wait_for(sub {
    my $res = $t->ua->get('/console');
    push @leaks, $res->{status} if $res->{status} == 200;

    ($status, $where, $in, $step) = sign_in($user);
    $seen{"$where $status"}++;

    return $signed = time if $status == 302 && $where eq 'verify';

    $user = shift @ready if $where =~ /^verify/;
    return !defined $user;
}, 10 * $SLOW);

note 'after the move: ', join ', ', map { "$_ x$seen{$_}" } sort keys %seen;

ok($signed, "a sign-in passes again after the move, with no reload");
my $took = ($signed // time) - $moved;
ok($took < $CACHED + 3 * $SLOW,
   sprintf('within %.2fs of the DNS change (the name cached up to %ds)',
           $took, $CACHED));
ok(!@leaks, 'meanwhile no request without a session reached the console')
    or diag "statuses: @leaks";
ok(grep({ $_->[0] > $moved && $_->[2] eq 'A' && $_->[3] eq 'answered' }
        $dns->queries($NAME)),
   "nginx asked for $NAME again after the move");

SKIP: {
    skip 'no sign-in after the move', 4 unless $signed;

    ok(passes($in), 'the new session passes');
    is($rb->cli('HGET', "totp:user:{$user}", 'last'), $step,
       "the code's step is stored on $B, the new master");
    like(scalar $rb->cli('ROLE'), qr/^master/, "$B is the master");

    # a new enrollment: a write of its own, also on B
    my $new = shift @fresh;
    my $e = $t->ua;
    my $res = login($e, $new, $USERS{$new});
    ($res) = enroll($e, $res->{headers}{location});
    is($res->{status} . ' ' . $rb->cli('EXISTS', "totp:user:{$new}"), '302 1',
       "$new enrolls, on $B");
}

# --- the name does not resolve ---

# Every new connection now needs an answer the DNS server will not
# give.  A name nginx still holds would be used without asking: wait
# until the last answer it got has expired.
sub forget {
    $t->wait_for(sub { time >= int($dns->last_query($NAME)) + $CACHED + 0.1 },
                 $CACHED + 2, "nginx's cached answer for $NAME to expire");
}

# drops the module's connection on Redis's side (not the replica's:
# that is TYPE replica)
sub kill_connection {
    like(scalar $rb->cli('CLIENT', 'KILL', 'TYPE', 'normal'), qr/^[1-9]/,
         "the module's connection to $B killed");
}

# GET $path without waiting for the answer: (socket, time sent)
sub send_get {
    my ($path) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port('http'),
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!\n";
    syswrite $s, "GET $path HTTP/1.1\r\nHost: console.test\r\n"
                 . "Connection: close\r\n\r\n";

    return ($s, time);
}

# its status and when it came (undef: nothing within $timeout)
sub read_status {
    my ($s, $timeout) = @_;

    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time + $timeout;

    while ($buf !~ /\r\n/ && (my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        last unless sysread $s, $buf, 4096, length $buf;
    }

    my ($status) = $buf =~ m{^HTTP/1\.\d (\d{3})};
    return ($status, time);
}

# NXDOMAIN: an answer, at once
$dns->set($NAME => undef);
forget();
kill_connection();

my $from = time;
is($t->ua->get('/health')->{status}, 503, "health: $NAME does not exist, 503");
ok(time - $from < $REDIS_TIMEOUT + 0.5 * $SLOW,
   sprintf('in %.2fs', time - $from));
is((sign_in($ready[0]))[0], 503, 'a sign-in: 503, never a pass');
ok(!passes($t->ua), 'the console: not without a session');

# the name back, and a connection to kill again
$dns->set($NAME => $B);
ok($t->wait_for(sub { $t->ua->get('/health')->{status} == 200 },
                $CACHED + 5 * $SLOW),
   "health: 200 once $NAME exists again");

# No answer at all: the resolver's timeout.  The request that needs
# Redis waits for it; the worker goes on answering the others.
$dns->pause;
forget();
kill_connection();

my $asked = grep { $_->[3] eq 'ignored' } $dns->queries($NAME);

my ($pending, $sent) = send_get('/health');

my $plain = $t->ua->get('/plain');
my $plain_at = time;
is($plain->{status} . ' ' . $plain->{body}, "200 plain\n",
   'an ungated location of the same worker answers meanwhile');
ok($plain_at - $sent < 0.3 * $SLOW,
   sprintf('at once (%.3fs after the health check was sent)',
           $plain_at - $sent));

my $bound = $RESOLVER_TIMEOUT + $REDIS_TIMEOUT + 0.5 * $SLOW;
my ($hs, $done) = read_status($pending, $bound + 5);
is($hs, 503, 'health: no address for Redis, 503');
ok(defined $hs && $done - $sent < $bound,
   sprintf('within resolver_timeout + totp_redis_timeout (%.2fs)',
           $done - $sent));
note $done > $plain_at ? 'the health check was still waiting when /plain came'
                       : 'the health check came back before /plain';
ok(grep({ $_->[3] eq 'ignored' } $dns->queries($NAME)) > $asked,
   'nginx asked the silent DNS server');

($status, $where) = sign_in($ready[0]);
is($status, 503, "a sign-in while $NAME cannot be resolved: 503 ($where)");
ok(!passes($t->ua), 'the console: not without a session');

# the DNS server back: the module connects again, unprompted by a reload
$dns->resume;
ok($t->wait_for(sub { $t->ua->get('/health')->{status} == 200 },
                $CACHED + $RESOLVER_TIMEOUT + 5 * $SLOW),
   'health: 200 once the name resolves again');

$user = shift @ready;
($status, $where, $in, $step) = sign_in($user);
is("$status $where", '302 verify', "$user signs in");
is($rb->cli('HGET', "totp:user:{$user}", 'last'), $step, "on $B");

$t->done;
$dns->stop;
$_->stop for $ra, $rb;
