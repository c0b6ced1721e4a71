#!/usr/bin/perl

# totp_redis_replicas n: once a code is accepted, the module sends WAIT n
# (timeout totp_redis_timeout / 4) and lets the sign-in through only when
# n replicas hold it; fewer, and that sign-in gets 503.  So a code the
# gate took is on a replica before the browser hears of it, and a
# failover cannot bring it back to life: posted again to the promoted
# replica, it is refused.
#
# 1. totp_redis to the master, n = 1: a sign-in passes while the replica
#    is well, its step already on the replica; with the replica stopped
#    (SIGSTOP), the code's check answers 503 and gives no session.
# 2. Sentinel, n = 1: a code accepted just before the master is killed is
#    refused when posted again after the failover.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpSentinel;
use TotpGate qw(gate_setup login enroll verify sign_in_next);

# WAIT's timeout is a quarter of it: 250 ms
my $REDIS_TIMEOUT = 1;

my %USERS = map { ("user$_" => "password-$_") } 1 .. 10;
my %SECRET;

# A replica stopped here is let go again however the test ends: a
# stopped process ignores the SIGTERM that would end it, and the
# harness's cleanup would wait for it.  Two ways out need two guards: a
# die at the top level frees the file's lexicals (the TotpTest, which
# stops the servers) before END blocks run, latest declared first, so a
# guard object declared after them goes first; exit (a signal's handler)
# runs END blocks first.  The guard must not be captured by a closure,
# or the die would not free it.
our %STOPPED;

END {
    kill 'CONT', $_ for keys %STOPPED;
}

{
    package Stopped;

    sub new {
        my ($class, $pid) = @_;
        $main::STOPPED{$pid} = 1;
        kill 'STOP', $pid;
        return bless { pid => $pid }, $class;
    }

    sub release {
        my ($self) = @_;
        my $pid = delete $self->{pid} or return;
        delete $main::STOPPED{$pid};
        kill 'CONT', $pid;
    }

    sub DESTROY {
        local ($?, $!, $@);
        $_[0]->release;
    }
}

my $t = TotpTest->new;
my $s = TotpSentinel->new(t => $t);

# --- 1. totp_redis to the master ---

gate_setup(t => $t, redis => $s->master, users => \%USERS,
    http => "    totp_redis_timeout ${REDIS_TIMEOUT}s;\n"
            . "    totp_redis_replicas 1;\n",
    server => "        location = /health { totp_health; }\n");

for my $user (sort keys %USERS) {
    my $ua = $t->ua;
    my $res = login($ua, $user, $USERS{$user});
    ($res, $SECRET{$user}) = enroll($ua, $res->{headers}{location});
    $res->{status} == 302 or BAIL_OUT("$user: enrollment $res->{status}");
}

pass(scalar(keys %USERS) . ' users enrolled');

# Signs $user in (TotpGate::sign_in_next): (status, the step that ended
# it, the UA, the code, its TOTP step).
sub sign_in {
    my ($user, %o) = @_;

    my ($status, $where, $ua, $step, $code) =
        sign_in_next($t->ua, $user, $USERS{$user}, $SECRET{$user}, %o);

    return ($status, $where, $ua, $code, $step);
}

sub passes {
    my ($ua) = @_;
    my $res = $ua->get('/console');
    return $res->{status} == 200 && $res->{body} =~ /^upstream user=/;
}

sub last_step {
    my ($r, $user) = @_;
    return $r->cli('HGET', "totp:user:{$user}", 'last');
}

my ($status, $where, $ua, $code, $step) = sign_in('user1');
is("$status $where", '302 verify', 'user1 signs in, the replica well');
ok(passes($ua), 'the session passes');

# read from the replica as soon as the browser has its answer: the
# module waited for it
is(last_step($s->replica, 'user1'), $step,
   'the step was on the replica by the time the browser was told');

my $stopped = Stopped->new($s->replica->pid);

my $from = time;
($status, $where, $ua, undef, $step) = sign_in('user2');
my $took = time - $from;
is("$status $where", '503 verify',
   'the replica stopped: the code\'s check answers 503');
ok(!passes($ua), 'and gives no session');
ok($took < $REDIS_TIMEOUT + (TotpTest->valgrind ? 10 : 1),
   sprintf 'in %.2fs (WAIT gives up after %dms)', $took,
           $REDIS_TIMEOUT * 250);
is(last_step($s->master, 'user2'), $step,
   'the master took the code: it is spent, only not confirmed');

$stopped->release;

ok($s->sync, 'the replica caught up');

($status, $where, $ua, undef, $step) = sign_in('user3');
is("$status $where", '302 verify', 'the replica back: user3 signs in');
is(last_step($s->replica, 'user3'), $step, 'its step on the replica');

# --- 2. Sentinel: a failover does not bring a code back ---

# the Sentinels saw the replica stopped: it must be theirs to promote
ok($s->wait_ready, 'the Sentinels see the replica well again');

my $conf = TotpTest::_slurp($t->dir . '/nginx.conf');
my $lines = $s->directives;
$conf =~ s/^\s*totp_redis \S+;\n/$lines/m or die "no totp_redis line\n";
$t->write_file('nginx.conf', $conf);
$t->reload;

is($t->ua->get('/health')->{status}, 200, 'through the Sentinels now');

# No sync here: that the replica holds the step before the master dies
# is what totp_redis_replicas promises with the 302.
($status, $where, $ua, $code, $step) = sign_in('user4');
is("$status $where", '302 verify', "user4 signs in with $code");
my $killed = $s->kill_master;

my ($port, $seen) = $s->wait_failover(30);
note sprintf 'the Sentinels report %d %.2fs after the kill', $port,
             $seen - $killed;

# the new master must have a replica of its own for WAIT 1 again
$s->add_replica;

# the same code again, by another browser: 503 until the module has
# found the new master, then refused for good
my %seen;
ok($t->wait_for(sub {
       ($status, $where) = sign_in('user4', code => $code);
       $seen{"$where $status"}++;
       $status != 503;
   }, 15), 'the module answers again after the failover');
note 'the replay: ', join ', ', map { "$_ x$seen{$_}" } sort keys %seen;

is("$status $where", '401 verify',
   'the code taken before the failover is refused after it');
is(last_step($s->master, 'user4'), $step,
   'the new master holds its step');

($status, $where, $ua, undef, $step) = sign_in('user5');
is("$status $where", '302 verify', 'a fresh code passes on the new master');
ok(passes($ua), 'its session passes');
is(last_step($s->replica, 'user5'), $step, 'on the new replica too');

$s->stop;
$t->done;
