package TotpTest::Proc;

# Child processes of the test harness (nginx, redis-server, helper
# commands).  Every long-running child is put in a process group of its
# own, so that it can be stopped with everything it forked (nginx workers)
# and so that a Ctrl-C on the terminal reaches only the test, whose END
# block then stops the children in order.

use strict;
use warnings;

use IO::Handle ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

# pid => the signal that asks it to stop gracefully
my %LIVE;

# Starts @$argv in the background, stdout and stderr appended to $out.
sub spawn {
    my ($argv, $out, $stop_signal) = @_;

    # whatever perl still buffers would be written twice, once by the child
    STDOUT->flush;
    STDERR->flush;

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { exec { $argv->[0] } @$argv };
        print STDERR "exec $argv->[0]: $!\n";
        POSIX::_exit(127);
    }

    $LIVE{$pid} = $stop_signal // 'TERM';
    return $pid;
}

# Runs @argv to completion; returns (stdout and stderr together, $?).
sub capture {
    my (@argv) = @_;

    STDOUT->flush;
    STDERR->flush;

    my $pid = open(my $fh, '-|');
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { exec { $argv[0] } @argv };
        print "exec $argv[0]: $!\n";
        POSIX::_exit(127);
    }

    my $out = do { local $/; <$fh> } // '';
    close $fh;

    return ($out, $?);
}

# Runs $sub in a child of its own while the test goes on; collect()
# returns what it returned (a string; "died: ..." if it died).  The child
# leaves with _exit: the harness's END blocks are the parent's alone.
sub background {
    my ($sub) = @_;

    STDOUT->flush;
    STDERR->flush;

    pipe my $r, my $w or die "pipe: $!\n";

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        close $r;
        my $out = eval { $sub->() } // "died: $@";
        print {$w} $out;
        close $w;
        POSIX::_exit(0);
    }

    close $w;

    return { pid => $pid, fh => $r };
}

sub collect {
    my ($kid) = @_;

    my $out = do { local $/; readline $kid->{fh} } // '';
    close $kid->{fh};
    waitpid $kid->{pid}, 0;

    return $out;
}

# Runs each sub in a child of its own, all at once; what each returned,
# in the subs' order.
sub parallel {
    my (@subs) = @_;

    my @kids = map { background($_) } @subs;

    return map { collect($_) } @kids;
}

# Waits up to $timeout seconds for $pid to exit: its wait status, or
# undef while it still runs.  A pid that is not our child any more
# counts as gone (-1).
sub reap {
    my ($pid, $timeout) = @_;

    my $end = time + ($timeout // 0);

    for (;;) {
        my $r = waitpid($pid, WNOHANG);

        if ($r == $pid || $r == -1) {
            delete $LIVE{$pid};
            return $r == $pid ? $? : -1;
        }

        return undef if time >= $end;
        sleep 0.02;
    }
}

# Asks $pid to stop with $signal, waits $timeout seconds, then kills its
# whole group.  With $again, the signal is repeated every second: an
# nginx event loop that takes it just before it blocks in epoll_wait()
# sleeps until its next timer (valgrind widens that window a lot).
# Returns (wait status, whether SIGKILL was needed, whether members of
# its group outlived it).
sub terminate {
    my ($pid, $signal, $timeout, $again) = @_;

    my $end = time + $timeout;
    my $status;

    do {
        kill $signal, $pid;
        $status = reap($pid, $again ? 1 : $timeout);
    } while (!defined $status && $again && time < $end);

    my $killed = 0;

    unless (defined $status) {
        kill 'KILL', -$pid;
        $status = reap($pid, 10) // -1;
        $killed = 1;
    }

    # orphaned nginx workers would keep the ports and the test dir busy
    my $strays = kill 0, -$pid;
    kill 'KILL', -$pid if $strays;

    return ($status, $killed, $strays);
}

sub describe_status {
    my ($status) = @_;

    return 'vanished' if $status == -1;
    return 'exited with ' . ($status >> 8) unless $status & 127;
    return 'killed by signal ' . ($status & 127);
}

# A test that dies, or is interrupted, must not leave anything running.
END {
    local ($?, $!, $@);

    for my $pid (keys %LIVE) {
        terminate($pid, $LIVE{$pid}, 5, $LIVE{$pid} eq 'QUIT');
    }
}

# Ctrl-C and prove's own signals would otherwise skip END; the children
# live in their own process groups and would survive.
my %SIGNO = (HUP => 1, INT => 2, TERM => 15);

for my $sig (keys %SIGNO) {
    next if $SIG{$sig} && $SIG{$sig} ne 'DEFAULT';
    $SIG{$sig} = sub { exit 128 + $SIGNO{$sig} };
}

1;
