#!/usr/bin/perl

# "A code that was accepted once is never accepted again", under a race:
# N browsers submit one valid code at the same moment, spread over both
# workers of two nginx instances that share one Redis, and exactly one of
# them signs in.  The replay rule is one Lua script in Redis (check that
# the step is later than the last accepted one, and store it); anything
# weaker, a check in a worker between the record's read and its write,
# lets several of them win.
#
# What catches a double success: "exactly one browser signed in" (the
# 302s with a session cookie), "all the others: 401, the code was already
# used", "one 302 at all" and the audit lines of the two instances
# together (one "verified", N-1 "already used"); each of them sees a
# second winner.  Redis's "last" field then shows that the one win
# stored the code's step.
#
# Controls that the race is real, so that a pass is not luck of timing:
# the N requests reached nginx within a fraction of a millisecond, on
# connections held by both workers of each instance (the access logs log
# the worker's pid), and Redis (MONITOR) saw several requests read the
# user's record before the first accept script ran: the window that a
# non-atomic check would lose.  Requests go through Redis in stages (the
# attempt counter, the read, the accept), and now and then the first one
# is a whole stage ahead of all the others: such a round checks the rule
# too but races nothing, so rounds go on, with a fresh user each (a
# user's next step can be taken only once), until three have raced.

use strict;
use warnings;

use Test::More;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

use TotpTest;
use TotpGate qw(field gate_setup login enroll);

my $N = 24;
my $RACES = 3;          # rounds where Redis saw the requests overlap
my $ROUNDS = 8;         # at most
my $PERIOD = 30;

my %USERS = map { ("user$_" => "secret-$_") } 1 .. $ROUNDS;
my $KEY = join '', map { chr(($_ * 29 + 5) % 256) } 1 .. 32;

my $valgrind = TotpTest->valgrind;
my $io_timeout = $valgrind ? 60 : 10;

# workers that must have served the race's requests, on each instance
# (under valgrind nginx runs as one process)
my $min_workers = $valgrind ? 1 : 2;

my $t_a = TotpTest->new;
my $redis = $t_a->redis;
my $t_b = TotpTest->new;

# Two instances, each with two workers, one Redis, the same key.  The
# race log names the worker ($pid) and the client's port, so that the
# test knows which worker holds each browser's connection.  It is a
# second access_log next to write_config's own (both at the http level,
# so both are written).
#
# Every attempt is counted against the user and 127.0.0.1, and the N-1
# losers stay counted as failures: the limits are far above the 3 x N
# attempts of the test, so that none of them turns into a 429.
sub start_instance {
    my ($t) = @_;

    my $dir = $t->dir;

    gate_setup(t => $t, redis => $redis, users => \%USERS, key => $KEY,
               workers => 2,
               limits => "totp_fail_limit 1000 5m;\n"
                         . "    totp_fail_limit_ip 1000 5m;",
               http => <<"EOF");
    log_format race '\$pid \$remote_port \$status '
                    '\$request_method \$request_uri';
    access_log $dir/race.log race;
EOF

    return $t->port('http');
}

my $port_a = start_instance($t_a);
my $port_b = start_instance($t_b);

my %inst = (
    A => { t => $t_a, port => $port_a },
    B => { t => $t_b, port => $port_b },
);

# The UA keeps its connection alive but does not say on which local port;
# the race log's $remote_port tells which worker holds it.
sub local_port {
    my ($ua) = @_;
    return $ua->{sock} ? $ua->{sock}->sockport : undef;
}

sub race_log {
    my ($t) = @_;

    open my $fh, '<', $t->dir . '/race.log' or return ();
    return map { chomp; $_ } <$fh>;
}

# remote port => pid of the worker that served the last GET on it
sub workers_by_port {
    my ($t) = @_;

    my %pid;

    for (race_log($t)) {
        my ($pid, $port, $status, $method) = split / /;
        $pid{$port} = $pid if $method eq 'GET';
    }

    return \%pid;
}

# A browser that has passed the password step and shows the verify page:
# its form (csrf, next), ready to be posted with a code.
sub prepare {
    my ($ua, $user) = @_;

    my $res = login($ua, $user, $USERS{$user}, next => '/race');
    die "login $user: $res->{status}\n" unless $res->{status} == 302
        && $res->{headers}{location} =~ m{/_totp/verify\?next=/race$};

    return refresh($ua);
}

sub refresh {
    my ($ua, %h) = @_;

    my $page = $ua->get('/_totp/verify?next=/race', \%h);
    die "verify page: $page->{status}\n" unless $page->{status} == 200;

    return { csrf => field($page->{body}, 'csrf'),
             next => field($page->{body}, 'next') };
}

# Connections are handed to workers as the kernel wakes them; when one
# worker happened to take them all, half the browsers reconnect until
# the other has some too.  Returns how many workers hold them.
sub spread {
    my ($name, $t, $browsers) = @_;

    for my $try (1 .. 50) {
        my $pid = workers_by_port($t);
        my %by;
        push @{ $by{ $pid->{ local_port($_->{ua}) // '' } // '?' } }, $_
            for @$browsers;

        my $unknown = delete $by{'?'};
        return scalar keys %by if keys %by >= $min_workers && !$unknown;

        note "$name: the browsers sit on " . keys(%by) . ' workers, '
             . 'some reconnect';

        # "Connection: close" ends this one; the next GET opens another
        my ($first) = values %by;
        my @again = @{ $unknown // [] };
        push @again, @$first[0 .. $#$first / 2] if keys %by < $min_workers;

        for my $b (@again) {
            refresh($b->{ua}, Connection => 'close');
            $b->{form} = refresh($b->{ua});
        }
    }

    return 0;
}

sub raw_post {
    my ($ua, $port, $form) = @_;

    my $body = TotpTest::UA::form_encode($form);

    return "POST /_totp/verify HTTP/1.1\r\n"
        . "Host: 127.0.0.1:$port\r\n"
        . "Cookie: " . $ua->cookie_header . "\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($body) . "\r\n"
        . "\r\n$body";
}

# A whole response at the start of $buf: (status, header block, body),
# or nothing yet.
sub parse_response {
    my ($buf) = @_;

    my $end = index $buf, "\r\n\r\n";
    return if $end < 0;

    my $head = substr $buf, 0, $end + 4;
    my $body = substr $buf, $end + 4;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3}) } or die "bad response\n";

    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        return if length $body < $1;
    } elsif ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        return unless $body =~ /(?:^|\r\n)0\r\n\r\n/;
    }

    return ($status, $head, $body);
}

# Sends every request at once on its browser's open connection and
# collects the answers.  All but the last byte of each request goes
# first: nginx then holds the headers and most of the body, and each
# request starts with its last byte, the N of them written back to back
# (the "last-byte sync" of race testing: tighter than N processes woken
# together, which two CPUs run a few at a time).  Returns one report per
# browser: status (0 and an error when there was no answer), session
# cookie, "already used", and when its last byte went.
sub race {
    my (@racers) = @_;

    local $SIG{PIPE} = 'IGNORE';

    my %by_fd;

    for my $i (0 .. $#racers) {
        my $sock = $racers[$i]{ua}{sock} or die "browser $i: no connection\n";
        my $head = substr $racers[$i]{request}, 0, -1;
        my $n = syswrite $sock, $head;
        die "send: $!\n" unless ($n // 0) == length $head;

        $by_fd{ fileno $sock } = { i => $i, sock => $sock, buf => '' };
    }

    my @r = sort { $a->{i} <=> $b->{i} } values %by_fd;

    for my $r (@r) {
        my $n = syswrite $r->{sock}, substr($racers[ $r->{i} ]{request}, -1);
        $r->{sent} = time;
        die "send: $!\n" unless ($n // 0) == 1;
    }

    my $sel = IO::Select->new(map { $_->{sock} } @r);
    my $end = time + $io_timeout;

    while ($sel->count) {
        my $left = $end - time;
        my @ready = $left > 0 ? $sel->can_read($left) : ();

        unless (@ready) {
            $by_fd{ fileno $_ }{error} = 'timeout' for $sel->handles;
            last;
        }

        for my $sock (@ready) {
            my $r = $by_fd{ fileno $sock };
            my $n = sysread $sock, $r->{buf}, 65536, length $r->{buf};

            unless ($n) {
                $r->{error} = 'read: ' . ($n // $!);
                $sel->remove($sock);
                next;
            }

            my ($status, $head, $body) = parse_response($r->{buf}) or next;

            $r->{status} = $status;
            ($r->{session}) =
                $head =~ /^Set-Cookie: totp_session=([^;\r]*)/mi;
            $r->{used} = $body =~ /already used/ ? 1 : 0;
            $sel->remove($sock);
        }
    }

    for my $r (@r) {
        $r->{status} //= 0;
        delete @$r{qw(sock buf)};
    }

    return @r;
}

# Redis's own view of the race: every command, in the order Redis ran
# them, from a MONITOR connection opened before it.
sub monitor {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $redis->port, Proto => 'tcp',
                                  Timeout => $io_timeout)
        or die "monitor: $@\n";

    syswrite $s, "MONITOR\r\n";

    my $buf = '';
    my $sel = IO::Select->new($s);

    while ($buf !~ /\n/) {
        $sel->can_read($io_timeout) or die "MONITOR: no answer\n";
        sysread $s, $buf, 512, length $buf or die "MONITOR: closed\n";
    }

    $buf =~ /^\+OK/ or die "MONITOR: $buf\n";

    return $s;
}

# Reads MONITOR lines until $n accept scripts for $user have run.
# Returns what happened to the user's record, in Redis's order: "read"
# (a worker's HMGET) and "script" (an accept script's own HMGET: the
# script ran; an EVALSHA refused with NOSCRIPT, and sent again as EVAL,
# does not count twice).
sub monitor_commands {
    my ($s, $user, $n) = @_;

    my ($buf, $scripts, @events) = ('', 0);
    my $sel = IO::Select->new($s);
    my $end = time + $io_timeout;

    while ($scripts < $n) {
        my $left = $end - time;
        last unless $left > 0 && $sel->can_read($left);
        last unless sysread $s, $buf, 65536, length $buf;

        while ($buf =~ s/^([^\n]*)\n//) {
            my $line = $1;

            # +TIME [DB CLIENT] "CMD" "ARG"...: both the read of the
            # record and the accept script run in Lua; the read asks for
            # the secret first, the accept script for the epoch
            my ($cmd, $key, $field) =
                $line =~ /^\+[\d.]+ \[\d+ [^\]]+\] "(\w+)" "([^"]*)" "([^"]*)"/
                or next;
            next unless uc $cmd eq 'HMGET' && $key eq "totp:user:{$user}";

            if ($field eq 'epoch') {
                push @events, 'script';
                $scripts++;
            } elsif ($field eq 'secret') {
                push @events, 'read';
            }
        }
    }

    close $s;
    return @events;
}

sub count_log {
    my ($re) = @_;
    return scalar grep { /$re/ } map { $_->error_log } $t_a, $t_b;
}

my $raced = 0;

for my $round (1 .. $ROUNDS) {
    last if $raced >= $RACES;

    my $user = "user$round";

    subtest "round $round: $N browsers, one code, $user" => sub {

        # enrollment, on A, consumes the current step

        my $e = $t_a->ua(port => $port_a);
        my ($res, $secret) = enroll($e,
            login($e, $user, $USERS{$user})->{headers}{location});
        is $res->{status}, 302, "$user enrolled on A";

        my $last = $redis->cli('HGET', "totp:user:{$user}", 'last');
        like $last, qr/^\d+$/, "the enrollment's step is stored ($last)";

        # half the browsers on A, half on B, each at the verify page

        my @racers;

        for my $name (qw(A B)) {
            my $in = $inst{$name};
            my @b = map {
                my $ua = $in->{t}->ua(port => $in->{port});
                { name => $name, ua => $ua, port => $in->{port},
                  form => prepare($ua, $user) }
            } 1 .. $N / 2;

            my $workers = spread($name, $in->{t}, \@b);
            ok $workers >= $min_workers,
                "$name: the browsers' connections sit on $workers workers";

            push @racers, @b;
        }

        # one code, from oathtool, for the step after the enrollment's:
        # with totp_skew 1 it is valid from that step to the next

        my $step = $last + 1;
        my $code = TotpTest::totp_code($secret, $step * $PERIOD);

        my $now_step = int(time / $PERIOD);
        die "too slow: step $now_step, the code's step $step\n"
            if $now_step > $step + 1;

        for my $b (@racers) {
            $b->{request} = raw_post($b->{ua}, $b->{port},
                                     { %{ $b->{form} }, code => $code });
        }

        # the race's requests are logged after these lines
        my $lines = { map { $_ => scalar race_log($inst{$_}{t}) } qw(A B) };

        my $mon = monitor();

        my @r = race(@racers);

        is scalar @r, $N, "all $N browsers reported"
            or diag explain \@r;

        my @errors = grep { !$_->{status} } @r;
        ok !@errors, 'every browser had an answer' or diag explain \@errors;

        # the race was real

        my @sent = sort { $a <=> $b } map { $_->{sent} } @r;
        my $spread = $sent[-1] - $sent[0];
        cmp_ok $spread, '<', 0.05,
            sprintf 'the last bytes of all %d requests went within %.2f ms',
                    scalar @r, $spread * 1000;

        my @events = monitor_commands($mon, $user, $N);
        my $reads = 0;
        for (@events) {
            last if $_ eq 'script';
            $reads++;
        }

        is scalar(grep { $_ eq 'read' } @events), $N,
            "Redis: $N reads of the user's record";
        is scalar(grep { $_ eq 'script' } @events), $N,
            "Redis: $N accept scripts ran (every request had a valid code)";
        note "Redis: $reads requests had read the record before the "
             . "first accept script ran";
        $raced++ if $reads >= 2;

        # nginx logs a request after its answer has gone: wait for them

        for my $name (qw(A B)) {
            my $t = $inst{$name}{t};
            my %pids;

            $t->wait_for(sub {
                my @log = race_log($t);
                %pids = ();
                for (@log[ $lines->{$name} .. $#log ]) {
                    my ($pid, undef, undef, $method, $uri) = split / /;
                    $pids{$pid}++
                        if $method eq 'POST' && $uri eq '/_totp/verify';
                }
                my $posts = 0;
                $posts += $_ for values %pids;
                return $posts >= $N / 2;
            }, $io_timeout, "$name: the posts in the race log");

            my $posts = 0;
            $posts += $_ for values %pids;
            is $posts, $N / 2, "$name: served its " . $N / 2 . ' posts';
            cmp_ok scalar(keys %pids), '>=', $min_workers,
                "$name: by " . keys(%pids) . ' workers ('
                . join(', ', map { "$_: $pids{$_}" } sort keys %pids) . ')';
        }

        # exactly one winner: the replay rule held

        my @won = grep { $_->{status} == 302 && defined $_->{session} } @r;
        my @used = grep { $_->{status} == 401 && $_->{used} } @r;

        is scalar @won, 1, 'exactly one browser signed in'
            or diag explain [ map { "$_->{i}: $_->{status}" } @r ];
        is scalar @used, $N - 1,
            'all the others: 401, the code was already used';
        is scalar(grep { $_->{status} == 302 } @r), 1, 'one 302 at all';

        is $redis->cli('HGET', "totp:user:{$user}", 'last'), $step,
            "Redis's last accepted step is the code's";

        my $audit = qr/totp: user "\Q$user\E"/;

        is count_log(qr/$audit verified, client: 127\.0\.0\.1,/), 1,
            'one "verified" audit line, over both instances';
        is count_log(qr/$audit failed code \(already used\), client: /),
            $N - 1, ($N - 1) . ' "already used" audit lines';
        is count_log(qr/$audit failed code, client: /), 0,
            'no code was refused as wrong';

        # the winner's session works; a loser has none

        SKIP: {
            skip 'no single winner', 2 unless @won == 1;

            my $w = $racers[ $won[0]{i} ];
            $w->{ua}->set_cookie('totp_session', $won[0]{session});
            like $w->{ua}->get('/race')->{body},
                qr/^upstream user=\Q$user\E /,
                "the winner is signed in as $user";

            my $l = $racers[ ($won[0]{i} + 1) % $N ];
            is $l->{ua}->get('/race')->{status}, 302,
                'a loser is not signed in';
        }
    };
}

cmp_ok $raced, '>=', $RACES,
    "in $raced rounds several requests read the record before the first "
    . 'accept script ran: they raced';

# done() stops nginx (and the Redis its TotpTest started) and checks the
# error log, then ends the plan: B's checks first, without the plan's end
{
    no warnings 'redefine';
    local *Test::More::done_testing = sub {};
    $t_b->done;
}

$t_a->done;
