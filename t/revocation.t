#!/usr/bin/perl

# A revoked session stops passing within totp_revalidate +
# totp_redis_timeout of the revocation, whatever clients and Redis do:
#   - clients that send the session and drop the connection before
#     Redis answers, over and over, while Redis is stalled (CLIENT PAUSE):
#     each dropped request leaves its question unanswered, and must not
#     open a new grace for the stale answer;
#   - a "Redis" that accepts connections and never answers.
# A probe, a client that waits for its answers, sends the same session
# throughout; no 200 may come later than the bound.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

use TotpTest;
use TotpGate qw(gate_setup login enroll user_key);

my $REVALIDATE = 1;
my $TIMEOUT = 1;
my $BOUND = $REVALIDATE + $TIMEOUT;

# scheduling on a loaded machine; the answers that count come after
my $SLACK = TotpTest->valgrind ? 5 : 0.5;

my ($t, $redis, $port) = gate_setup(
    users   => { alice => 'wonderland', bob => 'builder' },
    workers => 1,
    http    => "    totp_revalidate ${REVALIDATE}s;\n"
               . "    totp_redis_timeout ${TIMEOUT}s;\n",
);

sub session_of {
    my ($name, $password) = @_;

    my $ua = $t->ua;
    $ua->get('/');
    my ($res) = enroll($ua, login($ua, $name, $password)->{headers}{location});
    die "$name: enrollment answered $res->{status}\n"
        unless $res->{status} == 302;

    return $ua->cookie('totp_session');
}

# A request with the session whose connection closes before any answer.
sub drop {
    my ($session) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'tcp') or return;
    print $s "GET /drop HTTP/1.1\r\nHost: x\r\n"
             . "Cookie: totp_session=$session\r\n\r\n";

    # long enough for the gate to ask Redis, not for an answer
    sleep 0.03;
    close $s;
}

# Dropped requests and a probe, in turn, until $until; the probe's
# answers with the time each came.
sub siege {
    my ($session, $until) = @_;

    my $probe = $t->ua(timeout => 5);
    $probe->set_cookie(totp_session => $session);

    my @answers;

    while (time < $until) {
        drop($session) for 1 .. 3;

        my $res = $probe->get('/probe');
        push @answers, [ time, $res->{status} ];
    }

    return @answers;
}

sub late_passes {
    my ($answers, $deadline) = @_;
    return grep { $_->[1] == 200 && $_->[0] > $deadline } @$answers;
}

subtest 'dropped requests against a stalled Redis' => sub {
    my $session = session_of('alice', 'wonderland');

    is $t->ua->get('/x', { Cookie => "totp_session=$session" })->{status},
        200, 'the session passes';

    # revoked, then Redis stalls: every question the gate asks from now
    # on goes unanswered until the pause ends
    $redis->cli('DEL', user_key('alice', suffix => ':sessions'));
    my $revoked = time;
    $redis->cli('CLIENT', 'PAUSE', int(1000 * ($BOUND + $SLACK + 3)), 'ALL');

    my @answers = siege($session, $revoked + $BOUND + $SLACK + 2);

    my @late = late_passes(\@answers, $revoked + $BOUND + $SLACK);
    is scalar @late, 0, "no 200 later than ${BOUND}s after the revocation"
        or diag explain \@answers;

    ok scalar(grep { $_->[0] > $revoked + $BOUND + $SLACK } @answers),
        'the probe was answered after the bound';
    ok !grep({ $_->[1] == 200 } grep { $_->[0] > $revoked + $BOUND + $SLACK }
             @answers), '... only with refusals (503)';

    $redis->cli('CLIENT', 'UNPAUSE');

    my $res;
    ok $t->wait_for(sub {
        ($res = $t->ua->get('/y', { Cookie => "totp_session=$session" }))
            ->{status} == 302;
    }, 10, 'the refusal'), 'Redis back: the revoked session goes to login';
};

subtest 'a Redis that accepts and never answers' => sub {
    my $session = session_of('bob', 'builder');

    is $t->ua->get('/x', { Cookie => "totp_session=$session" })->{status},
        200, 'the session passes';

    $redis->cli('DEL', user_key('bob', suffix => ':sessions'));
    my $revoked = time;

    # the same address, now a server that reads and never writes
    my $addr = $redis->addr;
    $redis->stop;

    my $mute = TotpTest::Proc::spawn(['perl', '-MIO::Socket::INET',
        '-MIO::Select', '-e', <<'EOF', $redis->port], $t->dir . '/mute.out', 'TERM');
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$ARGV[0]",
                              Listen => 64, ReuseAddr => 1) or die "$!";
my $sel = IO::Select->new($l);
for (;;) {
    for my $s ($sel->can_read) {
        if ($s == $l) { $sel->add($l->accept) }
        elsif (!sysread $s, my $buf, 65536) { $sel->remove($s); close $s }
    }
}
EOF

    ok $t->wait_for(sub {
        IO::Socket::INET->new(PeerAddr => $addr, Proto => 'tcp');
    }, 10, 'the mute server'), 'a mute server where Redis was';

    my @answers = siege($session, $revoked + $BOUND + $SLACK + 2);

    my @late = late_passes(\@answers, $revoked + $BOUND + $SLACK);
    is scalar @late, 0, "no 200 later than ${BOUND}s after the revocation"
        or diag explain \@answers;
    ok scalar(grep { $_->[0] > $revoked + $BOUND + $SLACK } @answers),
        'the probe was answered after the bound';

    TotpTest::Proc::terminate($mute, 'TERM', 5);
    $redis->start;
};

# the timeouts and lost connections this test causes are its point
$t->allow_log(qr/did not answer within/, qr/lost redis/,
              qr/connect to redis .* failed/);

$t->done;
