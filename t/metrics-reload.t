#!/usr/bin/perl

# The counters across reloads, where workers of two configurations live
# at once:
#   - an old worker that leaves after the new one connected to Redis does
#     not turn the new one's nginx_totp_redis_up to 0 (they share a slot);
#   - with master_process off, a reload that makes a new totp_zone (its
#     size changed) unmaps the old one: nginx must not count into it, and
#     exits cleanly.

use strict;
use warnings;

use Test::More;

use IO::Select;
use IO::Socket::INET;

use TotpTest;
use TotpGate qw(gate_setup login);

sub up_of {
    my ($t) = @_;
    my $body = $t->ua->get('/metrics')->{body};
    my ($v) = $body =~ /^nginx_totp_redis_up\{worker="0"\} (\d+)$/m;
    return $v;
}

# --- one worker: the old one leaves last ---

{
    my $t = TotpTest->new;

    my (undef, undef, $port) = gate_setup(t => $t, workers => 1,
        users => { bob => 'builder' },
        server => "        location = /metrics { totp_metrics; }\n");

    login($t->ua, 'bob', 'x');
    is(up_of($t), 1, 'the worker that asked Redis is up');

    SKIP: {
        skip 'a reload is a restart under valgrind', 4 if $t->valgrind;

        # a request whose body never comes keeps the old worker alive
        # after the reload; its "100 Continue" says it has the request
        my $held = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $port)
            or die "connect: $!\n";
        print $held "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                    . "Expect: 100-continue\r\n\r\n";
        $held->flush;

        my $got = '';
        my $sel = IO::Select->new($held);
        while ($got !~ /100 Continue/ && $sel->can_read(10)) {
            sysread($held, $got, 4096, length $got) or last;
        }
        like($got, qr/100 Continue/, 'the old worker holds a request');

        my %old = map { $_ => 1 } $t->worker_pids;
        kill 'HUP', $t->master_pid;
        $t->wait_for(sub { grep({ !$old{$_} } $t->worker_pids) >= 1 },
                     undef, 'the new worker');

        # until the new worker served one: the old one may still accept
        # for a moment after the reload
        my ($new) = grep { !$old{$_} } $t->worker_pids;
        ok($t->wait_for(sub {
               login($t->ua, 'bob', 'x');
               grep { /\b$new#\d+: .*failed password/ } $t->error_log;
           }, undef, 'a sign-in at the new worker'),
           'the new worker asked Redis');

        close $held;
        $t->wait_for(sub { !grep { kill 0, $_ } keys %old }, undef,
                     'the old worker to leave');
        ok(!grep({ kill 0, $_ } keys %old), 'the old worker left');

        # no Redis command since: the gauge is what the old one left
        is(up_of($t), 1, 'the new worker is still up, whoever left after');
    }

    $t->done(nested => 1);
}

# --- master_process off: a reload with a new zone ---

SKIP: {
    my $t = TotpTest->new;

    skip 'valgrind runs nginx with master_process off already; its reload '
         . 'is a restart', 4 if $t->valgrind;

    my $dir = $t->dir;

    gate_setup(t => $t, no_run => 1, workers => 1,
        users => { bob => 'builder' },
        server => "        location = /metrics { totp_metrics; }\n",
        http => "    totp_zone totp:1m;\n");

    my $conf = TotpTest::_slurp("$dir/nginx.conf");
    $conf =~ s/^(daemon off;)$/$1\nmaster_process off;/m or die "no daemon\n";
    $t->write_file('nginx.conf', $conf);
    $t->run;

    is(login($t->ua, 'bob', 'x')->{status}, 401, 'a failure is counted');

    $conf =~ s/totp_zone totp:1m;/totp_zone totp:2m;/;
    $t->write_file('nginx.conf', $conf);

    my $from = length scalar $t->error_log;
    kill 'HUP', $t->master_pid;
    ok($t->wait_for(sub {
           substr(scalar $t->error_log, $from) =~ /reconfiguring/
       }, undef, 'the reload'), 'reloaded');

    # nginx then counts no more (nor does it take new connections well:
    # a reload in this debugging mode is not one in full); what counted
    # was its exit, which closes the Redis connection and used to clear
    # the connection gauge in the unmapped zone
    $t->done(nested => 1);
}

done_testing;
