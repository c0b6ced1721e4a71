#!/usr/bin/perl

# What `make demo` runs (tools/demo), as a newcomer uses it: on the
# address LISTEN names, with the login it prints, through the first
# enrollment; its redirects carry no host or port (absolute_redirect
# off), so they survive an SSH tunnel; Ctrl-C stops all it started.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use IO::Select;
use POSIX ();
use Time::HiRes ();

use TotpTest;
use TotpTest::UA;
use TotpGate qw(login enroll);

my $t = TotpTest->new;
my $dir = $t->dir;
my $port = $t->port('http');

# the demo's workers run as nginx's default user when started as root,
# and read the htpasswd file at sign-in: they must reach its directory,
# as they reach build/demo in a checkout
chmod 0711, $dir or die "chmod: $!\n";

pipe(my $from_demo, my $to_test) or die "pipe: $!\n";

my $pid = fork // die "fork: $!\n";

if ($pid == 0) {
    close $from_demo;

    # a signal ignored when a shell starts cannot be trapped there: the
    # demo's Ctrl-C handling must get INT as a terminal would give it
    $SIG{$_} = 'DEFAULT' for qw(INT TERM);

    POSIX::setpgid(0, 0);
    open STDOUT, '>&', $to_test or POSIX::_exit(127);
    open STDERR, '>&', $to_test or POSIX::_exit(127);
    $ENV{LISTEN} = "127.0.0.1:$port";
    $ENV{DEMO_DIR} = "$dir/demo";
    exec "$FindBin::Bin/../tools/demo" or POSIX::_exit(127);
}

close $to_test;

# whatever happens to the test, nothing the demo started outlives it
END { kill 'KILL', -$pid if $pid && kill 0, $pid }

# what it prints, until the login is said
my $said = '';
my $sel = IO::Select->new($from_demo);
my $end = Time::HiRes::time() + 30;

while ($said !~ /Ctrl-C stops the demo/
       && (my $left = $end - Time::HiRes::time()) > 0)
{
    last unless $sel->can_read($left);
    sysread($from_demo, $said, 4096, length $said) or last;
}

like($said, qr{Demo console:\s+http://127\.0\.0\.1:$port/},
     'it says where the console is: the LISTEN address');
like($said, qr{ssh -L 8080:127\.0\.0\.1:$port }, 'and how to tunnel to it');

my ($user, $password) = $said =~ m{Sign in as:\s+(\S+) / (\S+)};
ok($user && $password, 'and the login to use') or diag $said;

my $ua = TotpTest::UA->new(port => $port, timeout => 10);

my $res = $ua->get('/some/page');
is($res->{status}, 302, 'the console asks to sign in');
like($res->{headers}{location}, qr{\A/_totp/login\?next=},
     'with a redirect that names no host or port');

$res = login($ua, $user, $password);
is($res->{status}, 302, 'the printed password is right')
    or diag "$res->{status}: $res->{body}";
unlike($res->{headers}{location}, qr{^https?:}, 'again without host');

($res) = enroll($ua, $res->{headers}{location});
is($res->{status}, 302, 'enrolled with a code from oathtool');
$res = $ua->get($res->{headers}{location} =~ s{^https?://[^/]+}{}r);
like($res->{body}, qr/id="totp-recovery-codes"/,
     'and shown the recovery codes, as a newcomer is');

$res = $ua->get('/some/page');
is($res->{status}, 200, 'the demo console answers');
like($res->{body}, qr{Signed in as <strong>\Q$user\E</strong>},
     'and knows who signed in');

# Ctrl-C: the demo stops nginx and Redis
kill 'INT', $pid;
my $gone = $t->wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid },
                        20, 'the demo to stop');
ok($gone, 'Ctrl-C stops the demo');

ok($t->wait_for(sub {
       !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
   }, 10, 'its port to close'), 'nothing listens on its port any more');

kill 'KILL', -$pid unless $gone;

done_testing;
