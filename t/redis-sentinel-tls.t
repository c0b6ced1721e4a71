#!/usr/bin/perl

# Sentinel over TLS: a master, a replica and three Sentinels that speak
# only TLS (TotpSentinel with tls), and the module asking the Sentinels
# and reaching the master with totp_redis_ssl.  Which name each
# certificate is checked against: without totp_redis_ssl_name, a
# Sentinel's against its host as written in totp_redis_sentinel, the
# master's against the address the Sentinels give; with it, that name
# for all of them.
#
# a. no totp_redis_ssl_name, the CA trusted: the sign-in flow, every
#    step on the master (each certificate names 127.0.0.1)
# b. totp_redis_ssl_name redis.test: the same
# c. totp_redis_ssl_name other.test: every Sentinel refused by name, the
#    master never reached, 503
# d. another CA: every Sentinel refused, 503
# e. a Sentinel written as localhost, which its certificate does not
#    name: that one refused, the next one asked
# f. the master's certificate without the address: the Sentinels pass,
#    the master is refused by the address they gave; with
#    totp_redis_ssl_name redis.test it is taken
# g. the master killed: sign-ins pass again on the promoted replica,
#    over TLS, soon after the Sentinels report it
#
# One set of servers and Sentinels for all of it; totp_redis_* are
# http-level, so each part is an nginx of its own.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpTLS;
use TotpSentinel;
use TotpGate qw(gate_setup login enroll verify sign_in_next);

# seconds from the Sentinels' report of a new master to a sign-in on it
# (as in redis-sentinel.t; under valgrind a sign-in alone takes seconds)
my $FOLLOW = TotpTest->valgrind ? 20 : 2;

my %USERS = map { ("user$_" => "password-$_") } 1 .. 30;

my $t = TotpTest->new;
my $dir = $t->dir;

my $pki = TotpTLS::make_pki(dir => $dir);

# Part f's master certificate: for redis.test alone, from a CA of its
# own.  The servers and Sentinels trust both CAs, so that they still
# reach the master when it shows that one; nginx trusts only the one
# it is given.
my $nameonly = TotpTLS::make_pki(dir => "$dir/nameonly",
                                 names => ['DNS:redis.test']);
my $both_cas = $t->write_file('both-cas.pem',
    TotpTest::_slurp($pki->{ca}) . TotpTest::_slurp($nameonly->{ca}));

my $s = TotpSentinel->new(t => $t, tls => { %$pki, ca => $both_cas });

my @sentinels = $s->sentinel_addrs;

# how the error log names the master: the Sentinels' name for it, and
# the address they gave
my $master = 'mymaster at ' . $s->master->addr;

# what OpenSSL says of a CA it does not trust (see redis-tls.t)
my $unknown_ca = qr/(self-signed certificate in certificate chain|unable to get local issuer certificate)/;

# --- TLS only: what follows cannot pass in plain text ---

for my $port (($s->sentinel_ports)[0], $s->master->port) {
    my $plain = eval { TotpSentinel::command($port, undef, undef, 'PING') };
    my $tls = eval {
        TotpSentinel::command($s->endpoint($port), undef, undef, 'PING')
    };
    ok(!defined $plain && ($tls // '') eq 'PONG',
       "$port: PONG over TLS only") or diag $@;
}

# An nginx gating a console, its Redis found through the Sentinels, one
# worker (so the error log tells one story); %o as TotpSentinel's
# directives takes it (ca: this PKI's unless given), and sentinels
# (totp_redis_sentinel's addresses, instead of the set's own).  Returns
# the error log's length before it started.
my $htpasswd;

sub start {
    my (%o) = @_;

    my $from = length scalar $t->error_log;

    gate_setup(t => $t, redis => $s->master, users => \%USERS,
        no_run => 1, workers => 1,
        # hashed once: openssl passwd for 30 users at every start is slow
        $htpasswd ? (password_file => $htpasswd) : (),
        # each Sentinel's share of it must hold a TLS handshake, which
        # takes a good part of a second under valgrind
        http => '    totp_redis_timeout ' . (TotpTest->valgrind ? '8s' : '1s')
                . ";\n",
        server => "        location = /health { totp_health; }\n");
    $htpasswd //= "$dir/htpasswd";

    my $sentinels = delete $o{sentinels};
    my $lines = $s->directives(ca => $pki->{ca}, %o);
    $lines =~ s/^(\s*totp_redis_sentinel) .*;$/$1 @$sentinels;/m
        if $sentinels;

    # gate_setup writes totp_redis; the Sentinels' lines replace it
    my $conf = TotpTest::_slurp("$dir/nginx.conf");
    $conf =~ s/^\s*totp_redis \S+;\n/$lines/m
        or die "no totp_redis line in nginx.conf\n";
    $t->write_file('nginx.conf', $conf);
    $t->run;

    return $from;
}

# the error log since $from
sub since {
    my ($from) = @_;
    return substr scalar $t->error_log, $from;
}

my %secret;

# Enrolls $user: the password, then the secret stored.
sub enrolls {
    my ($user) = @_;

    my $ua = $t->ua;
    my $res = login($ua, $user, $USERS{$user});
    return "login $res->{status}" unless $res->{status} == 302;

    ($res, $secret{$user}) = enroll($ua, $res->{headers}{location});
    return $res->{status} == 302 ? 'enrolled' : "enroll $res->{status}";
}

# Signs $user in (TotpGate::sign_in_next): (status, the step that ended
# it, the UA, the TOTP step of the code).
sub sign_in {
    my ($user) = @_;

    return sign_in_next($t->ua, $user, $USERS{$user}, $secret{$user});
}

sub passes {
    my ($ua) = @_;
    my $res = $ua->get('/console');
    return $res->{status} == 200 && $res->{body} =~ /^upstream user=/;
}

sub last_step {
    my ($user) = @_;
    return scalar $s->master->cli('HGET', "totp:user:{$user}", 'last');
}

# An nginx that must work: /health 200, $user signed in with the step
# stored on the master, nothing logged as an error but what %o: expect
# (a pattern) matches.  Returns the error log's lines meanwhile.
sub works {
    my ($what, $user, %o) = @_;

    my $expect = delete $o{expect};

    my $from = start(%o);

    is($t->ua->get('/health')->{status}, 200, "$what: /health 200");

    my ($status, $where, $ua, $step) = sign_in($user);
    is("$status $where", '302 verify', "$what: $user signs in");
    is(last_step($user), $step, "$what: its step is on the master");
    ok($ua && passes($ua), "$what: its session passes");

    $t->stop;

    my $log = since($from);
    my @errors = grep { /\[(error|crit|alert)\]/
                        && !($expect && /$expect/) } split /^/m, $log;
    ok(!@errors, "$what: no error logged") or diag $log;

    return $log;
}

# An nginx that must refuse: /health and a sign-in 503.  Returns the
# error log's lines meanwhile.
sub refuses {
    my ($what, %o) = @_;

    my $from = start(%o);

    is($t->ua->get('/health')->{status}, 503, "$what: /health 503");

    # the login page itself needs no Redis; the password's check does
    my $res = login($t->ua, 'user1', $USERS{user1});
    is($res->{status}, 503, "$what: a sign-in 503, never a pass");

    $t->stop;

    return since($from);
}

# Every Sentinel named in a line matching $why (a function of the
# address), then the line that gives up; the master never reached.
sub every_sentinel_refused {
    my ($what, $log, $why) = @_;

    my @missing = grep { $log !~ $why->($_) } @sentinels;
    ok(!@missing, "$what: every Sentinel refused, by its address")
        or diag "not for @missing:\n$log";
    like($log, qr/totp: no Sentinel could say where "mymaster" is/,
         "$what: and none could say where the master is");
    unlike($log, qr/redis "mymaster at /, "$what: the master never reached");
}


# --- a. the default names: each one's address ---

# every user enrolled here, for the later parts' sign-ins; the master
# reached over TLS for each
{
    my $from = start();

    is($t->ua->get('/health')->{status}, 200,
       'a. default names: /health 200');

    my %how;
    $how{ enrolls($_) }++ for sort keys %USERS;
    is(join(', ', map { "$_ x$how{$_}" } sort keys %how),
       'enrolled x' . keys %USERS, 'a. default names: every user enrolled');

    my ($status, $where, $ua, $step) = sign_in('user1');
    is("$status $where", '302 verify', 'a. default names: user1 signs in');
    is(last_step('user1'), $step, 'a. default names: its step on the master');
    ok($ua && passes($ua), 'a. default names: its session passes');

    $t->stop;

    my $log = since($from);
    unlike($log, qr/\[(error|crit|alert)\]/, 'a. default names: no error')
        or diag $log;
}

# --- b. totp_redis_ssl_name redis.test, for all of them ---

works('b. redis.test', 'user2', ssl_name => 'redis.test');

# --- c. a name none of the certificates is for ---

{
    my $log = refuses('c. other.test', ssl_name => 'other.test');
    every_sentinel_refused('c. other.test', $log, sub {
        qr/totp: redis "\Q$_[0]\E" sent a certificate that is not for "other\.test"/
    });
}

# --- d. a CA that signed none of them ---

{
    my $log = refuses('d. another CA', ca => $pki->{wrong_ca});
    every_sentinel_refused('d. another CA', $log, sub {
        qr/totp: redis "\Q$_[0]\E" sent a certificate that does not verify: \(\d+: $unknown_ca\)/
    });
}

# --- e. each Sentinel checked against its own host ---

# The first one written as localhost (127.0.0.1 too, resolved once by
# nginx -t's parse): its certificate names 127.0.0.1, not localhost.
# The other two, as addresses, are fine: the module moves on.
{
    my ($first, @rest) = @sentinels;
    (my $named = $first) =~ s/^127\.0\.0\.1:/localhost:/;

    my $refused = qr/totp: redis "\Q$named\E" sent a certificate that is not for "localhost"/;

    my $log = works('e. one Sentinel as localhost', 'user3',
                    sentinels => [ $named, @rest ], expect => $refused);

    like($log, $refused, 'e. the one written as localhost refused by that name')
        or diag $log;
    is(scalar(() = $log =~ /sent a certificate/g), 1,
       'e. no other Sentinel refused, nor the master');
}

# --- f. the master checked against the address the Sentinels give ---

# Its certificate now for redis.test alone (Redis takes a new one for
# the connections that come next); nginx trusts both CAs, so that only
# the name can fail.
is(scalar $s->master->cli('CONFIG', 'SET',
                          'tls-cert-file', $nameonly->{server_cert},
                          'tls-key-file', $nameonly->{server_key}),
   'OK', 'f. the master shows a certificate without its address');

{
    my $log = refuses('f. the master without its address', ca => $both_cas);

    like($log, qr/totp: redis "\Q$master\E" sent a certificate that is not for "127\.0\.0\.1"/,
         'f. the master refused by the address the Sentinels gave')
        or diag $log;
    unlike($log, qr/totp: redis "\Q$_\E" sent a certificate/,
           "f. not the Sentinel $_") for @sentinels;
}

works('f. the master without its address, redis.test', 'user4',
      ca => $both_cas, ssl_name => 'redis.test');

is(scalar $s->master->cli('CONFIG', 'SET',
                          'tls-cert-file', $pki->{server_cert},
                          'tls-key-file', $pki->{server_key}),
   'OK', 'f. the master\'s own certificate back');

# --- g. the master killed: the sign-ins follow, over TLS ---

# Polls sign-ins of fresh users (from @$users) until one passes with its
# step stored on the current master.  Returns (the time it passed, how
# the tries ended).  A user whose code may have been taken (the verify
# step failed) is not tried again.
sub sign_in_until {
    my ($users, $timeout) = @_;

    my ($passed, %seen);
    my $try = shift @$users;
    my $last = 0;

    $t->wait_for(sub {
        # a sign-in at most every 100 ms: each one that gets as far as
        # the code spends a user
        return 0 if time - $last < 0.1;
        $last = time;

        my ($status, $where, undef, $step) = sign_in($try);

        if ($status == 302 && $where eq 'verify') {
            if (last_step($try) eq $step) {
                $passed = time;
                $seen{passed}++;
                return 1;
            }
            $seen{'passed, elsewhere'}++;
        } else {
            $seen{"$where $status"}++;
        }

        $try = shift @$users if $where =~ /^verify/;
        return !defined $try;
    }, $timeout);

    return ($passed, join ', ', map { "$_ x$seen{$_}" } sort keys %seen);
}

{
    my $from = start();

    my ($status, $where, $before) = sign_in('user5');
    is("$status $where", '302 verify', 'g. user5 signs in before');
    ok($s->sync, 'g. the replica holds every enrollment and that sign-in');

    my $killed = $s->kill_master;
    my ($port, $seen) = $s->wait_failover(30);
    note sprintf 'g. the Sentinels report %d %.2fs after the kill',
                 $port, $seen - $killed;

    my @fresh = map { "user$_" } 6 .. 30;
    my ($passed, $how) = sign_in_until(\@fresh, $FOLLOW + 5);
    note "g. after the report: $how";

    ok($passed, "g. a fresh sign-in passes on the new master ($port)");
    ok($passed && $passed - $seen <= $FOLLOW,
       sprintf 'g. within %ds of the report (%.2fs)', $FOLLOW,
               ($passed // time) - $seen);
    ok(passes($before), 'g. a session from before the failover passes');
    is($t->ua->get('/health')->{status}, 200, 'g. /health 200');

    $t->stop;

    # what the module said of Redis meanwhile (a request that reaches
    # the dead master before the switch may log an error: no failure)
    note 'g. ', $_ for grep { /totp: (redis|no Sentinel)/ }
                       split /^/m, since($from);
}

$s->stop;
$t->done;
