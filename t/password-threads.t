#!/usr/bin/perl

# Password hashes in nginx's thread pool (totp_thread_pool): while one
# runs, the worker answers other requests, and Redis commands sent
# meanwhile get their answers in time even with a totp_redis_timeout
# shorter than the hash; with "off" the hash holds the worker.  Beyond
# totp_hash_concurrency, a sign-in gets 503 with Retry-After and is not
# counted as a failure.  Sign-ins at once each get their own answer; a
# client that leaves while its password is hashed, and a reload while
# hashes run, leave nothing broken.  The password file is read through a
# bounded buffer: a 15 MB file costs a sign-in no memory; one over 16 MB,
# a FIFO and a directory are refused at once.
#
# The slow entries are SHA-512 crypt(3) hashes whose rounds take about
# $hash seconds here, in Perl (nginx's crypt_r() is the same library's):
# long next to a sign-in, short enough for the suite.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpGate qw(gate_setup login slow_hash);

# valgrind runs nginx's crypt some 20 to 50 times slower than Perl's
my $hash = TotpTest->valgrind ? 0.2 : 0.5;
my ($slow, $rounds) = slow_hash('slowpoke', $hash);

note "SHA-512 crypt with $rounds rounds, about $hash s in Perl";

# nginx with one worker, users slow1..slow4 (password "slowpoke") and
# fast ("quick"), and a metrics page; %o: http, main, and write (a sub
# that writes another password file at the path it is given)
sub setup {
    my (%o) = @_;

    my $t = TotpTest->new;
    my $file = "$t->{dir}/htpasswd";

    if ($o{write}) {
        $o{write}->($file);

    } else {
        $t->write_file('htpasswd', join '', map("slow$_:$slow\n", 1 .. 4),
                                            "fast:{PLAIN}quick\n");
    }

    my (undef, $redis, $port) = gate_setup(
        t => $t, password_file => $file, workers => 1,
        main => $o{main}, http => $o{http} // '',
        server => 'location = /metrics { totp_metrics; }');

    return ($t, $redis, $port);
}

# A sign-in's POST, by a browser of its own: "STATUS LOCATION SECONDS",
# and the body after a line break
sub sign_in {
    my ($t, $user, $password) = @_;

    my $ua = $t->ua;
    my $start = time;
    my $res = login($ua, $user, $password);

    return sprintf "%s %s %.3f\n%s", $res->{status},
        $res->{headers}{location} // '-', time - $start, $res->{body};
}

sub status_of { return (split ' ', $_[0])[0] }
sub took      { return (split ' ', $_[0])[2] }

sub enrolls { return $_[0] =~ m{^302 \S*/_totp/enroll} ? 1 : 0 }

sub attempts {
    my ($redis, $user) = @_;
    return $redis->cli('HGET', "totp:user:{$user}:failures", 'n') || 0;
}

# A sign-in in the background, returned once its password is being
# hashed: the attempt is counted in Redis just before the hash begins.
sub hashing {
    my ($t, $redis, $user, $password) = @_;

    my $before = attempts($redis, $user);
    my $kid = TotpTest::Proc::background(
        sub { sign_in($t, $user, $password) });

    $t->wait_for(sub { attempts($redis, $user) > $before }, undef,
                 "the attempt of $user to be counted")
        or die "the sign-in of $user did not begin\n";

    return $kid;
}

sub running { return waitpid($_[0]{pid}, WNOHANG) == 0 }

sub metric {
    my ($t, $name) = @_;

    my $body = $t->ua->get('/metrics')->{body};
    return $body =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

sub no_timeouts {
    my ($t, $what) = @_;

    unlike($t->error_log, qr/timed out|did not answer/,
           "$what: no Redis command timed out");
}

subtest 'the default pool: the worker goes on while a hash runs' => sub {

    # under valgrind a Redis round trip alone can take 100 ms
    my $timeout = TotpTest->valgrind ? 500 : 100;

    my ($t, $redis) = setup(http => "totp_redis_timeout ${timeout}ms;\n"
                                    . "    totp_hash_concurrency 2;");

    my $kid = hashing($t, $redis, 'slow1', 'slowpoke');
    my $fast = sign_in($t, 'fast', 'quick');

    ok(enrolls($fast), 'a sign-in with Redis commands passes meanwhile');
    ok(running($kid), '... while the slow password is still being hashed');

    my $slow1 = TotpTest::Proc::collect($kid);

    ok(enrolls($slow1), 'the slow password is right');
    note sprintf 'slow sign-in %.3f s, fast one %.3f s meanwhile',
        took($slow1), took($fast);

    cmp_ok(took($slow1) * 1000, '>', $timeout,
           'the hash took longer than totp_redis_timeout');
    no_timeouts($t, 'the pool');

    $t->done(nested => 1);
};

subtest 'totp_thread_pool off: the hash holds the worker' => sub {
    my ($t, $redis) = setup(http => 'totp_thread_pool off;');

    my $kid = hashing($t, $redis, 'slow1', 'slowpoke');
    my $fast = sign_in($t, 'fast', 'quick');
    my $slow1 = TotpTest::Proc::collect($kid);

    ok(enrolls($fast) && enrolls($slow1), 'both sign in');
    note sprintf 'slow sign-in %.3f s, fast one %.3f s meanwhile',
        took($slow1), took($fast);

    cmp_ok(took($fast), '>', took($slow1) / 3,
           'the other sign-in waited for the hash');

    is(status_of(sign_in($t, 'slow2', 'wrong')), 401, 'a wrong password');

    my $known = took(sign_in($t, 'slow3', 'wrong'));
    my $unknown = sign_in($t, 'nobody', 'slowpoke');

    is(status_of($unknown), 401, 'a name not in the file');
    cmp_ok(took($unknown), '>', $known / 3,
           '... is hashed too: no faster refusal');

    no_timeouts($t, 'off');

    $t->done(nested => 1);
};

subtest 'totp_hash_concurrency: 503 with Retry-After, not counted' => sub {
    my ($t, $redis, $port) = setup();

    my $kid = hashing($t, $redis, 'slow1', 'slowpoke');

    my $ua = $t->ua;
    my $res = login($ua, 'fast', 'quick');

    is($res->{status}, 503, 'a second hash at once in the worker: 503');
    is($res->{headers}{'retry-after'}, '1', '... with Retry-After: 1');
    like($res->{body}, qr/Too many people are signing in/,
         '... saying why');
    like($res->{body}, qr/name="password"/, '... on the form to send again');

    ok($t->wait_for(sub { attempts($redis, 'fast') == 0 }),
       'the attempt was given back: no failure counted');
    like($t->error_log, qr/\[warn\].*1 password hashes run in this worker already/,
         'the error log says the limit was reached');

    ok(running($kid), 'the first hash was still running');
    ok(enrolls(TotpTest::Proc::collect($kid)), 'and signs in');

    is(metric($t, 'nginx_totp_signins_total{result="busy"}'), 1,
       'counted as busy in the metrics');
    is(metric($t, 'nginx_totp_signins_total{result="failed"}'), 0,
       'not as failed');

    ok(enrolls(sign_in($t, 'fast', 'quick')), 'once it is done, it passes');

    $t->done(nested => 1);
};

subtest 'a pool of its own: sign-ins at once, each its own answer' => sub {
    my ($t) = setup(main => 'thread_pool totp threads=4;',
                    http => "totp_thread_pool totp;\n"
                            . "    totp_hash_concurrency 4;");

    my @got = TotpTest::Proc::parallel(
        sub { sign_in($t, 'slow1', 'slowpoke') },
        sub { sign_in($t, 'slow2', 'wrong') },
        sub { sign_in($t, 'nobody', 'slowpoke') },
        sub { sign_in($t, 'slow3', 'slowpoke') },
    );

    note map { (split /\n/)[0] . "\n" } @got;

    ok(enrolls($got[0]), 'slow1: the right password');
    is(status_of($got[1]), 401, 'slow2: a wrong one');
    is(status_of($got[2]), 401, 'a name not in the file');
    ok(enrolls($got[3]), 'slow3: the right password');

    $t->done(nested => 1);
};

subtest 'a client that leaves while its password is hashed' => sub {
    my ($t, $redis, $port) = setup();

    my $ua = $t->ua;
    my $page = $ua->get('/_totp/login');
    my $request = $ua->_build('POST', '/_totp/login',
        { 'Content-Type' => 'application/x-www-form-urlencoded' },
        TotpTest::UA::form_encode({
            user => 'slow1', password => 'slowpoke', next => '/',
            csrf => TotpGate::field($page->{body}, 'csrf'),
        }));

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp')
        or die "connect: $!\n";
    syswrite $s, $request;

    ok($t->wait_for(sub { attempts($redis, 'slow1') == 1 }),
       'the hash began');
    my @workers = $t->worker_pids;
    close $s;

    ok($t->wait_for(sub { $t->access_log =~ m{"POST /_totp/login[^"]*" 499 } },
                    undef, 'the 499'),
       'the request ended once the hash was done (499)');

    is(attempts($redis, 'slow1'), 1,
       'the attempt stays counted, as when the client leaves while Redis '
       . 'is asked');
    ok(enrolls(sign_in($t, 'slow1', 'slowpoke')),
       'the worker goes on: the user signs in');
    is_deeply([ $t->worker_pids ], \@workers, 'the same worker');

    $t->done(nested => 1);
};

SKIP: {
    skip 'a reload is a restart under valgrind', 1 if TotpTest->valgrind;

    subtest 'a reload while hashes run' => sub {
        my ($t, $redis) = setup(http => 'totp_hash_concurrency 4;');

        my @kids = map { hashing($t, $redis, "slow$_", 'slowpoke') } 1 .. 3;

        $t->reload;

        my @got = map { TotpTest::Proc::collect($_) } @kids;

        is(scalar(grep { enrolls($_) } @got), 3,
           'the old worker finished the three sign-ins before it left')
            or diag explain \@got;
        ok(enrolls(sign_in($t, 'slow4', 'slowpoke')),
           'the new worker hashes too');

        $t->done(nested => 1);
    };
}

subtest 'the password file is streamed: its size costs no memory' => sub {

    # under valgrind the scan is slow: a smaller file, and no memory check
    my $mb = TotpTest->valgrind ? 2 : 15;
    my $line = 'user' . ('x' x 50) . ":{PLAIN}pw\n";
    my $lines = int($mb * 1024 * 1024 / length $line);

    my ($t) = setup(write => sub {
        my ($file) = @_;
        open my $fh, '>', $file or die "$file: $!\n";
        print {$fh} $line x $lines;
        print {$fh} "last:{PLAIN}at the end\n";
        close $fh or die "$file: $!\n";
    });

    my ($worker) = $t->worker_pids;

    my $before = peak_kb($worker);
    my $res = sign_in($t, 'last', 'at the end');
    my $after = peak_kb($worker);

    ok(enrolls($res), "a user at the end of a $mb MB file signs in");
    note sprintf 'peak memory of the worker: %d kB before, %d kB after, '
        . 'the sign-in %.3f s', $before, $after, took($res);

    # a first sign-in's own start-up takes some 2 MB; read whole, the
    # file would have taken 15 MB more
    SKIP: {
        skip 'valgrind keeps the memory figures', 1 if TotpTest->valgrind;

        # ASan holds freed memory in quarantine rather than reuse it:
        # its peak grows with every allocation, streamed or not
        skip 'ASan quarantines freed memory', 1 if TotpTest->asan;
        cmp_ok($after - $before, '<', $mb * 1024 / 4,
               'the worker\'s peak memory grew by less than a quarter of '
               . 'the file');
    }

    # what the file may not be: each refused at once, by a crit line
    my $file = "$t->{dir}/htpasswd";
    my $old = "$file.old";
    rename $file, $old or die "rename: $!\n";

    my %refused = (
        'a file over 16 MB' => [
            sub {
                open my $fh, '>', $file or die "$file: $!\n";
                print {$fh} $line x int(17 * 1024 * 1024 / length $line);
                close $fh or die "$file: $!\n";
            },
            qr/password file "\Q$file\E" is larger than 16777216 bytes/ ],
        'a FIFO with no writer' => [
            sub { system('mkfifo', $file) == 0 or die "mkfifo\n" },
            qr/password file "\Q$file\E" is not a regular file/ ],
        'a directory' => [
            sub { mkdir $file or die "mkdir: $!\n" },
            qr/password file "\Q$file\E" is not a regular file/ ],
    );

    $t->allow_log(qr/\[crit\].*password file/);

    for my $what (sort keys %refused) {
        my ($make, $logged) = @{ $refused{$what} };

        $make->();
        my $got = sign_in($t, 'last', 'at the end');
        is(status_of($got), 500, "$what: 500");
        like($t->error_log, $logged, "$what: the error log says why");

        -d $file ? rmdir $file : unlink $file;
    }

    rename $old, $file or die "rename: $!\n";
    ok(enrolls(sign_in($t, 'last', 'at the end')),
       'the file back: the user signs in again');

    $t->done(nested => 1);
};

# VmHWM: the peak resident memory of a process, in kB
sub peak_kb {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!\n";
    while (<$fh>) {
        return $1 if /^VmHWM:\s+(\d+)/;
    }

    return 0;
}

done_testing;
