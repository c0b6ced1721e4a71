#!/usr/bin/perl

# Redis Sentinel (totp_redis_sentinel, totp_redis_sentinel_master): the
# module asks the Sentinels for the master, checks ROLE after connecting,
# and follows a failover (an error, -READONLY, a role change,
# +switch-master) without a reload.  A real master, a replica and three
# Sentinels (TotpSentinel), failing over in about 2 s.
#
# 1. The master killed: from the moment the Sentinels report the new
#    master, a sign-in with a fresh code passes within 2 s; meanwhile
#    nothing passes the gate without a session and no wrong code is
#    taken.
# 2. Passwords: Sentinels with requirepass (totp_redis_sentinel_password,
#    and totp_redis_sentinel_user for an ACL user of theirs), a master
#    with one (totp_redis_password, masterauth); a wrong one fails closed.
# 3. SENTINEL FAILOVER with the old master up: it stays a master, taking
#    writes, for some 10 s before Sentinel turns it into a replica, so
#    only following the Sentinels (+switch-master) keeps the sign-ins on
#    the new master; within 2 s of the switch they land there.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpSentinel;
use TotpGate qw(gate_setup login enroll verify sign_in_next);

# seconds from the Sentinels' report of a new master to a sign-in on it
# (a sign-in is five requests: under valgrind, seconds by themselves)
my $FOLLOW = TotpTest->valgrind ? 20 : 2;

# totp_redis_timeout: a request to a master that stopped answering ends
# within it
my $REDIS_TIMEOUT = '1s';

my %USERS = map { ("user$_" => "password-$_") } 1 .. 40;

# A gated console whose Redis the Sentinels name, running, with users
# enrolled.  %o: sentinel (the TotpSentinel), users (how many of %USERS,
# from user1 on), files (password_file, sentinel_password_file: as
# TotpSentinel::directives takes them).  Returns the users' secrets.
sub console {
    my ($t, %o) = @_;

    my $s = $o{sentinel};

    # gate_setup writes totp_redis; the Sentinels' lines replace it
    my %users = map { ($_ => $USERS{$_}) } users(1 .. $o{users});

    gate_setup(t => $t, redis => $s->master, users => \%users, no_run => 1,
        http => "    totp_redis_timeout $REDIS_TIMEOUT;\n",
        server => "        location = /health { totp_health; }\n");

    my $lines = $s->directives(%{ $o{files} // {} });
    my $conf = TotpTest::_slurp($t->dir . '/nginx.conf');
    $conf =~ s/^\s*totp_redis \S+;\n/$lines/m
        or die "no totp_redis line in nginx.conf\n";
    $t->write_file('nginx.conf', $conf);
    $t->run;

    is($t->ua->get('/health')->{status}, 200,
       'health: the master found through the Sentinels');

    my %secret;

    for my $user (users(1 .. $o{users})) {
        my $ua = $t->ua;
        my $res = login($ua, $user, $USERS{$user});
        ($res, $secret{$user}) = enroll($ua, $res->{headers}{location});
        $res->{status} == 302 or BAIL_OUT("$user: enrollment $res->{status}");
    }

    pass("$o{users} users enrolled");

    # what a failover must keep
    ok($s->sync, 'the replica holds the enrollments');

    return \%secret;
}

sub users { map { "user$_" } @_ }

# Signs $user in (TotpGate::sign_in_next): (status, the step that ended
# it, the UA, the TOTP step of the code).
sub sign_in {
    my ($t, $secret, $user, %o) = @_;

    return sign_in_next($t->ua, $user, $USERS{$user}, $secret->{$user}, %o);
}

# a code no step within totp_skew 1 of now gives
sub wrong_code {
    my ($secret) = @_;

    my %near = map { (TotpTest::totp_code($secret, time + $_) => 1) }
               -30, 0, 30, 60;
    my ($code) = grep { !$near{$_} } qw(000000 111111 222222 333333);
    return $code;
}

sub passes {
    my ($ua) = @_;
    my $res = $ua->get('/console');
    return $res->{status} == 200 && $res->{body} =~ /^upstream user=/;
}

# What must hold while a failover runs: a browser without a session is
# never let through, a wrong code never taken.  Called between polls;
# runs at most every 100 ms.  Counts what went wrong in %$bad, and how
# the probes ended in %$seen.
sub probe {
    my ($t, $secret, $victim, $bad, $seen) = @_;

    my $last = 0;

    # $now: probe even if the last one was less than 100 ms ago
    return sub {
        my ($now) = @_;

        return if !$now && time - $last < 0.1;
        $last = time;

        my $res = $t->ua->get('/console');
        $seen->{"no session: $res->{status}"}++;
        $bad->{'a pass without a session'}++ if $res->{status} == 200;

        my ($status, $where, $ua) =
            sign_in($t, $secret, $victim,
                    code => wrong_code($secret->{$victim}));
        $seen->{"wrong code: $where $status"}++;
        $bad->{'a wrong code taken'}++
            if $status == 302 && $where eq 'verify' || $ua && passes($ua);
    };
}

# Polls sign-ins of fresh users (taken from @$users) until one passes
# and, with %o: on (a TotpTest::Redis), its step is stored there.
# Returns (the time it passed, its user, its UA, how the tries ended).
# A user whose code may have been taken (the verify step failed, or
# passed on another server) is not tried again.
sub sign_in_until {
    my ($t, $secret, $users, $timeout, %o) = @_;

    my ($passed, $user, $ua, %seen);
    my $try = shift @$users;
    my $last = 0;
    my $checks = $o{during};

    $t->wait_for(sub {
        $checks->() if $checks;

        # a sign-in at most every 100 ms: each one that reaches the old
        # master spends a user
        return 0 if time - $last < 0.1;
        $last = time;

        my ($status, $where, $in, $step) = sign_in($t, $secret, $try);

        if ($status == 302 && $where eq 'verify') {
            my $on = !$o{on}
                || $o{on}->cli('HGET', "totp:user:{$try}", 'last') eq $step;

            if ($on) {
                ($passed, $user, $ua) = (time, $try, $in);
                $seen{'passed'}++;
                return 1;
            }

            $seen{'passed, elsewhere'}++;
        } else {
            $seen{"$where $status"}++;
        }

        $try = shift @$users if $where =~ /^verify/;
        return !defined $try;
    }, $timeout);

    return ($passed, $user, $ua, join ', ', map { "$_ x$seen{$_}" }
                                            sort keys %seen);
}

# Every worker follows on its own (two here): one may still be on its
# way when another has passed a sign-in.  From $deadline on, every
# check must hold: polls $check (every $every seconds) until $n checks
# started at or after $deadline.  Returns (how those ended, how the
# ones before it ended), each "answer xN, ...".
sub from_deadline {
    my ($t, $deadline, $n, $every, $check) = @_;

    my (%after, %before);
    my ($count, $last) = (0, 0);

    $t->wait_for(sub {
        return 0 if time - $last < $every;
        $last = time;

        my $started = time;
        my $answer = $check->();

        if ($started >= $deadline) {
            $after{$answer}++;
            $count++;
        } else {
            $before{$answer}++;
        }

        return $count >= $n;
    }, $deadline - time + 30);

    my $say = sub {
        my ($h) = @_;
        return join ', ', map { "$_ x$h->{$_}" } sort keys %$h;
    };

    return ($say->(\%after), $say->(\%before));
}

# --- 1. the master killed ---

subtest 'the master killed' => sub {
    my $t = TotpTest->new;
    my $s = TotpSentinel->new(t => $t);
    my $secret = console($t, sentinel => $s, users => 12);
    my @fresh = users(2 .. 11);
    my $victim = 'user12';

    my ($status, $where, $before, $step) = sign_in($t, $secret, 'user1');
    is("$status $where", '302 verify', 'user1 signs in');
    is($s->master->cli('HGET', 'totp:user:{user1}', 'last'), $step,
       'its step is on the master');
    ok($s->sync, 'and on the replica');

    my (%bad, %probes);
    my $probe = probe($t, $secret, $victim, \%bad, \%probes);

    my $killed = $s->kill_master;
    my ($port, $seen, $first) = $s->wait_failover(30, during => $probe);

    note sprintf 'the Sentinels report %d: the first %.2fs, all %.2fs after '
                 . 'the kill', $port, $first - $killed, $seen - $killed;

    my ($passed, $user, $ua, $how) =
        sign_in_until($t, $secret, \@fresh, $FOLLOW + 5,
                      on => $s->master, during => $probe);
    note "after the switch: $how";

    ok($passed, "a fresh sign-in passes on the new master ($port)");
    ok($passed && $passed - $seen <= $FOLLOW,
       sprintf 'within %ds of the Sentinels\' report (%.2fs)', $FOLLOW,
               ($passed // time) - $seen);
    ok($ua && passes($ua), 'its session passes');
    ok(passes($before), 'a session from before the failover still passes');

    $probe->(1);
    note 'the probes: ',
         join ', ', map { "$_ x$probes{$_}" } sort keys %probes;
    is_deeply([ sort keys %bad ], [],
              'meanwhile: no pass without a session, no wrong code taken');

    # the old master is dead: a worker that answers has followed
    my ($after, $early) = from_deadline($t, $seen + $FOLLOW, 20, 0.02,
        sub { $t->ua->get('/health')->{status} });
    note "health before the deadline: $early" if $early;
    is($after, '200 x20',
       "health: 200 from every worker ${FOLLOW}s after the report on");

    $s->stop;
    $t->done(nested => 1);
};

# --- 2. passwords ---

subtest 'passwords: the Sentinels\' and the master\'s' => sub {
    my $t = TotpTest->new;
    my $s = TotpSentinel->new(t => $t, password => 'master "secret"',
                              sentinel_password => 'sentinel-secret');

    my $pw = $t->write_file('master.pw', "master \"secret\"\n");
    my $spw = $t->write_file('sentinel.pw', "sentinel-secret\n");

    like((eval { $s->sentinel(0, 'PING') } // '') . (eval {
             TotpSentinel::command(($s->sentinel_ports)[0], undef, undef,
                                   'PING') } // $@),
         qr/^PONG.*NOAUTH/s, 'the Sentinels take only their password');

    my $secret = console($t, sentinel => $s, users => 4,
                         files => { password_file => $pw,
                                    sentinel_password_file => $spw });
    my @fresh = users(2 .. 4);

    my ($status, $where) = sign_in($t, $secret, 'user1');
    is("$status $where", '302 verify', 'user1 signs in');

    $s->kill_master;
    my ($port, $seen) = $s->wait_failover(30);

    my ($passed, $user, undef, $how) =
        sign_in_until($t, $secret, \@fresh, $FOLLOW + 5, on => $s->master);
    note "after the switch: $how";
    ok($passed, "after a failover, a sign-in passes on $port, "
                . 'with both passwords');

    # the wrong password for the Sentinels: new workers cannot find
    # the master, and fail closed
    $t->write_file('sentinel.pw', "not-the-password\n");
    $t->reload;

    is($t->ua->get('/health')->{status}, 503,
       'a wrong Sentinel password: health 503');
    ($status, $where) = sign_in($t, $secret, $fresh[0] // 'user4');
    isnt("$status $where", '302 verify', "and no sign-in ($where $status)");
    like(scalar $t->error_log, qr/WRONGPASS|invalid username-password/,
         'the error log says why');

    $s->stop;
    $t->done(nested => 1);
};

subtest 'an ACL user on the Sentinels (totp_redis_sentinel_user)' => sub {
    my $t = TotpTest->new;
    my $s = TotpSentinel->new(t => $t, sentinel_user => 'totp-watch',
                              sentinel_password => 'watch-secret');

    my $spw = $t->write_file('sentinel.pw', "watch-secret\n");

    like((eval { TotpSentinel::command(($s->sentinel_ports)[0], undef,
                                       'watch-secret', 'PING') } // $@),
         qr/WRONGPASS/,
         'the password alone does not get in: the user is needed');

    my $secret = console($t, sentinel => $s, users => 1,
                         files => { sentinel_password_file => $spw });

    my ($status, $where) = sign_in($t, $secret, 'user1');
    is("$status $where", '302 verify', 'user1 signs in');

    $s->stop;
    $t->done(nested => 1);
};

# --- 3. SENTINEL FAILOVER, the old master up ---

subtest 'SENTINEL FAILOVER: the old master stays up' => sub {
    my $t = TotpTest->new;
    my $s = TotpSentinel->new(t => $t);
    my $secret = console($t, sentinel => $s, users => 40);
    my @fresh = users(2 .. 39);
    my $victim = 'user40';

    my ($status, $where, $before) = sign_in($t, $secret, 'user1');
    is("$status $where", '302 verify', 'user1 signs in');
    ok($s->sync, 'the replica holds it');

    my $old = $s->master;
    my (%bad, %probes);
    my $probe = probe($t, $secret, $victim, \%bad, \%probes);

    my $asked = $s->failover;
    my ($port, $seen, $first) = $s->wait_failover(30, during => $probe);

    note sprintf 'the Sentinels report %d: the first %.2fs, all %.2fs after '
                 . 'SENTINEL FAILOVER', $port, $first - $asked, $seen - $asked;

    like(scalar $old->cli('ROLE'), qr/^master/,
         'the old master is still a master (Sentinel demotes it later)');

    my ($passed, $user, $ua, $how) =
        sign_in_until($t, $secret, \@fresh, $FOLLOW + 5,
                      on => $s->master, during => $probe);
    note "after the switch: $how";

    ok($passed, "a sign-in passes and is stored on the new master ($port)");
    ok($passed && $passed - $seen <= $FOLLOW,
       sprintf 'within %ds of the Sentinels\' report (%.2fs)', $FOLLOW,
               ($passed // time) - $seen);

    # From the deadline on, every worker has followed: every sign-in is
    # on the new master, while the old one would still take it.  (Before
    # it, one may still land on the old master: noted, not failed.)
    my ($after, $early) = from_deadline($t, $seen + $FOLLOW, 3, 0.1, sub {
        # three users kept for the checks that count (valgrind's deadline
        # is far: the early checks would spend them all)
        return 'a user kept for after the deadline'
            if time < $seen + $FOLLOW && @fresh <= 3;

        my $u = shift @fresh // return 'no user left';
        my ($st, $wh, undef, $step) = sign_in($t, $secret, $u);
        return "$wh $st " . ($st == 302 && $s->master->cli(
                   'HGET', "totp:user:{$u}", 'last') eq ($step // '')
                   ? 'on the new master' : 'elsewhere');
    });
    note "sign-ins before the deadline: $early" if $early;
    is($after, 'verify 302 on the new master x3',
       "sign-ins ${FOLLOW}s after the report on: all on the new master");

    ok(passes($before), 'a session from before the failover still passes');

    $probe->(1);
    note 'the probes: ',
         join ', ', map { "$_ x$probes{$_}" } sort keys %probes;
    is_deeply([ sort keys %bad ], [],
              'meanwhile: no pass without a session, no wrong code taken');

    $s->stop;
    $t->done(nested => 1);
};

done_testing;
