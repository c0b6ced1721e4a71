#!/usr/bin/perl

# The gate in a real browser: Debian's chromium, driven by playwright-core
# (t/browser/flow.js), through the first login as a person does it (a deep
# link, the password, the QR code read by zbarimg, a code from oathtool,
# the recovery codes, back to the page), trust this browser, logout, a
# second browser asked for a code, five wrong codes and the lockout page;
# the same pages at 375 and 1280 px in light and dark (screenshots in
# build/screenshots/), the first login with the keyboard alone, and
# axe-core in every page.  Product defaults: 10 recovery codes, 5 failures
# per user.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use TotpTest;
use TotpGate qw(gate_setup);

my $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/..');
my $CHROMIUM = $ENV{TOTP_TEST_CHROMIUM} // '/usr/bin/chromium';
my $SHOTS = "$ROOT/build/screenshots";

# what this test needs is installed by `make deps`: a missing piece fails
# the test, it never skips it
my @missing;
push @missing, $CHROMIUM unless -x $CHROMIUM;
push @missing, 'node_modules (npm ci)'
    unless -f "$ROOT/node_modules/playwright-core/package.json"
           && -f "$ROOT/node_modules/axe-core/axe.min.js";
for my $tool (qw(node zbarimg oathtool)) {
    push @missing, $tool
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH} // '';
}

if (@missing) {
    fail('what the browser test needs is installed');
    diag("missing: @missing; run `make deps`");
    done_testing();
    exit;
}

my %users = (alice => 'wonderland', bob => 'builder', carol => 'singer',
             dan => 'danish', eve => 'evening', fay => 'fairy',
             gus => 'gusty');

my ($t, $redis, $port) = gate_setup(
    users => \%users,
    recovery => 10,
    limits => 'totp_fail_limit 5 5m; totp_fail_limit_ip 100 5m;');

my $profile = $t->dir . '/chromium-profile';
mkdir $profile or die "$profile: $!\n";

my $started = time;
my ($ended, $exit, @axe) = (0);

{
    local $ENV{TOTP_BASE} = "http://127.0.0.1:$port";
    local $ENV{TOTP_USERS} = JSON::PP->new->canonical->encode(\%users);
    local $ENV{TOTP_SHOTS} = $SHOTS;
    local $ENV{TOTP_PROFILE} = $profile;
    local $ENV{TOTP_CHROMIUM} = $CHROMIUM;
    local $ENV{TOTP_ISSUER} = 'console.test';
    local $ENV{PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD} = 1;

    my $stderr = $t->dir . '/node.err';
    my $pid = open my $fh, '-|';
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>', $stderr or die "$stderr: $!\n";
        chdir $ROOT or die "$ROOT: $!\n";
        exec 'node', "$ROOT/t/browser/flow.js" or die "node: $!\n";
    }

    # the browser's own timeouts end a stuck step in 10 s; this ends a
    # stuck run (node passes SIGTERM on to chromium)
    local $SIG{ALRM} = sub { kill 'TERM', $pid; };
    alarm($t->valgrind ? 1200 : 240);

    while (my $line = <$fh>) {
        chomp $line;
        my $o = eval { JSON::PP::decode_json($line) };

        if (!$o) {
            note "node: $line";
        } elsif ($o->{t} eq 'ok') {
            ok($o->{ok}, $o->{name}) or diag($o->{diag} // '');
        } elsif ($o->{t} eq 'note') {
            note $o->{msg};
        } elsif ($o->{t} eq 'axe') {
            push @axe, $o;
        } elsif ($o->{t} eq 'end') {
            $ended = 1;
        }
    }

    close $fh;
    $exit = $?;
    alarm 0;

    ok($ended && $exit == 0, 'the browser run ended cleanly')
        or diag("node exit status $exit\n" . _slurp($stderr));
}

note sprintf 'browser run: %.1f s', time - $started;

# every axe finding is reported here too, grouped (each failed above)
my %seen;
for my $v (@axe) {
    my $k = "$v->{page} $v->{id}";
    push @{ $seen{$k} }, $v;
}
for my $k (sort keys %seen) {
    my $v = $seen{$k}[0];
    diag sprintf "axe: %s: %s (%s): %s [%s] at %s", $v->{page}, $v->{id},
        $v->{impact} // '-', $v->{help},
        join(', ', map { $_->{view} } @{ $seen{$k} }),
        join(', ', @{ $v->{nodes} });
}

# what the browser did, as Redis saw it
ok($redis->cli('HGET', 'totp:user:{alice}:pair:127.0.0.1', 'locked'),
   'alice is locked out in Redis');
is($redis->cli('SCARD', 'totp:user:{carol}:recovery'), 9,
   "carol's recovery codes: one used");
ok(scalar(grep { /totp: user "alice" let in by a trusted browser/ }
          $t->error_log), 'audited: alice let in by a trusted browser');

my @pages = (qw(login login-error enroll codes verify verify-error recovery
                reset logout lockout message message-recovered),
             map { my $l = $_; map { "$l-$_" }
                   qw(login login-error enroll codes account reset forget
                      logout message verify verify-error recovery lockout) }
             qw(en fr de it));
my @stale = grep { !(-s $_ && (stat _)[9] >= int $started) }
            map { my $p = $_; map { "$SHOTS/$p-$_.png" }
                  qw(375-light 375-dark 1280-light 1280-dark) } @pages;
ok(!@stale, 'screenshots: ' . @pages . ' pages, 2 widths, 2 schemes, in '
            . 'build/screenshots/') or diag("not made: @stale");

# chromium is gone: no process runs with this test's profile
my @left;
for my $p (glob '/proc/[0-9]*') {
    open my $c, '<', "$p/cmdline" or next;
    my $cmd = do { local $/; <$c> } // '';
    push @left, $p =~ s{/proc/}{}r if index($cmd, $profile) >= 0;
}
ok(!@left, 'no chromium process left') or do {
    diag("left: @left");
    kill 'KILL', @left;
};

$t->done;

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh> // '';
}
