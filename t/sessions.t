#!/usr/bin/perl

# Sessions live on the server: a copied cookie stops working when its
# session ends, on every nginx machine, within totp_revalidate +
# totp_redis_timeout, and the enrollment stays:
#   - logout ends that session (a thief's copy of it too), not the
#     browser's trust;
#   - logout with everywhere=1 ends every session and trusted browser of
#     the user;
#   - forget ends this browser's trust, not its session;
#   - tools/totp-admin revoke ends every session and trusted browser;
#   - a changed line in the password file (a new password), or a user
#     removed from it, ends the sessions made before.
# Two nginx instances share Redis: the thief uses B, which had the
# session in its cache when it ended on A.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpGate qw(field gate_setup login enroll);

my @USERS = qw(alice bob carol dave erin frank gina);
my %USERS = map { $_ => "pw-$_" } @USERS;

my $REVALIDATE = 1;
my $TIMEOUT = 1;

# the bound the promise names, and room for a loaded machine
my $BOUND = $REVALIDATE + $TIMEOUT;
my $SLACK = TotpTest->valgrind ? 20 : 1;

my $TOOL = abs_path(dirname(abs_path(__FILE__)) . '/../tools/totp-admin');

my $t_a = TotpTest->new;
my $redis = $t_a->redis;
my $t_b = TotpTest->new;

my %common = (
    redis   => $redis,
    users   => \%USERS,
    workers => 2,
    http    => "    totp_revalidate ${REVALIDATE}s;\n"
               . "    totp_redis_timeout ${TIMEOUT}s;\n"
               . "    totp_trust_ttl 30d;\n",
);

gate_setup(%common, t => $t_a, key => 'S' x 32);

my $pw_file = $t_a->dir . '/htpasswd';

gate_setup(%common, t => $t_b, password_file => $pw_file,
           key_file => $t_a->dir . '/totp.key');

# A browser of $name enrolled on A, trusted: (ua, session, trust).
sub enrolled {
    my ($name) = @_;

    my $ua = $t_a->ua;
    $ua->get('/console/');

    my $res = login($ua, $name, $USERS{$name}, next => '/console/');
    ($res) = enroll($ua, $res->{headers}{location}, trust => 1);
    die "$name: enrollment answered $res->{status}\n"
        unless $res->{status} == 302;

    return ($ua, $ua->cookie('totp_session'), $ua->cookie('totp_trust'));
}

# A browser that holds only $cookies (name => value), on $t.
sub holder {
    my ($t, %cookies) = @_;

    my $ua = $t->ua;
    $ua->set_cookie($_ => $cookies{$_}) for keys %cookies;
    return $ua;
}

sub passes {
    my ($ua, $name) = @_;
    my $res = $ua->get('/console/x');
    return $res->{status} == 200 && $res->{body} =~ /user=\Q$name\E /;
}

# the seconds until $ua is sent to the login, or undef past the bound
sub ends_within {
    my ($ua, $from) = @_;

    my $end;
    $t_a->wait_for(sub {
        my $res = $ua->get('/console/y');
        return 0 unless $res->{status} == 302
                        && $res->{headers}{location} =~ m{/_totp/login};
        $end = time;
    }, $BOUND + $SLACK);

    return defined $end ? $end - $from : undef;
}

# A password sign-in of a trusted browser: a new session, no code.
sub trusted_login {
    my ($name, $trust) = @_;

    my $ua = holder($t_a, totp_trust => $trust);
    my $res = login($ua, $name, $USERS{$name}, next => '/console/');
    return ($res, $ua->cookie('totp_session'));
}

sub admin {
    my (@args) = @_;
    my ($out, $status) = TotpTest::Proc::capture($TOOL, '--redis',
                                                 $redis->addr, @args);
    return wantarray ? ($out, $status) : $out;
}

subtest 'logout ends the session, a thief\'s copy too' => sub {
    my ($ua, $session, $trust) = enrolled('alice');

    my $thief = holder($t_b, totp_session => $session);
    ok passes($thief, 'alice'), 'the copy passes on B before the logout';

    my $page = $ua->get('/_totp/logout');
    my $res = $ua->post('/_totp/logout', { csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 200, 'alice signs out on A';
    my $at = time;

    my $copy_a = holder($t_a, totp_session => $session);
    ok !passes($copy_a, 'alice'), 'on A the copy is refused at once';

    my $took = ends_within($thief, $at);
    ok defined $took, "on B the copy is refused within ${BOUND}s"
        . " (totp_revalidate + totp_redis_timeout)";
    note sprintf 'B refused it after %.2f s', $took // -1;

    ok grep({ /totp: user "alice" signed out,/ } $t_a->error_log),
        'audited';

    ($res, my $again) = trusted_login('alice', $trust);
    like $res->{headers}{location}, qr{/console/$},
        'the trust cookie stays: password only';
    ok $again && passes(holder($t_b, totp_session => $again), 'alice'),
        '... and its new session passes';
};

subtest 'everywhere=1: every session and trusted browser ends' => sub {
    my ($ua, $session, $trust) = enrolled('bob');
    my (undef, $second) = trusted_login('bob', $trust);

    my $elsewhere = holder($t_b, totp_session => $second);
    ok passes($elsewhere, 'bob'), 'a second session passes on B';

    my $page = $ua->get('/_totp/logout');
    my $res = $ua->post('/_totp/logout', {
        csrf => field($page->{body}, 'csrf'), everywhere => 1 });
    is $res->{status}, 200, 'bob signs out everywhere';
    like $res->{body}, qr/All your sessions have ended/, '... and is told so';
    my $at = time;

    my %set = map { /^([^=]+)=([^;]*)/ ? ($1 => $2) : () }
              @{ $res->{headers}{'set-cookie'} // [] };
    is $set{totp_trust}, '', 'this browser\'s trust cookie cleared';

    ok defined ends_within($elsewhere, $at),
        "the other session ends within ${BOUND}s";
    ok !passes(holder($t_a, totp_session => $session), 'bob'),
        'the one signed out too';

    ($res) = trusted_login('bob', $trust);
    like $res->{headers}{location}, qr{/_totp/verify},
        'the trusted browser is asked for a code again';
    is $redis->cli('EXISTS', 'totp:user:{bob}'), 1, 'the enrollment stays';
    ok grep({ /totp: user "bob" signed out everywhere/ } $t_a->error_log),
        'audited';
};

# carol's session outlives the tests after hers
my $CAROL;

subtest 'forget: the trust ends, the session stays' => sub {
    my ($ua, $session, $trust) = enrolled('carol');
    $CAROL = $session;

    my $copy = holder($t_a, totp_trust => $trust);

    my $page = $ua->get('/_totp/forget');
    is $page->{status}, 200, 'the forget page';
    my $res = $ua->post('/_totp/forget', { csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 200, 'carol forgets this browser';
    like $res->{body}, qr/This browser is forgotten/, '... and is told so';

    ok passes($ua, 'carol'), 'her session stays';

    ($res) = login($copy, 'carol', $USERS{carol}, next => '/console/');
    like $res->{headers}{location}, qr{/_totp/verify},
        'a copy of the trust cookie no longer skips the code';
};

subtest 'totp-admin revoke' => sub {
    my ($ua, $session, $trust) = enrolled('dave');

    my $thief = holder($t_b, totp_session => $session);
    ok passes($thief, 'dave'), 'the session passes on B';

    my ($out, $status) = admin('revoke', 'dave');
    is $status, 0, 'revoke: exit 0';
    like $out, qr/^revoke dave: 1 session and 1 trusted browser ended; the enrollment stays$/m,
        'revoke says what ended';
    my $at = time;

    ok defined ends_within($thief, $at), "the session ends within ${BOUND}s";

    my ($res) = trusted_login('dave', $trust);
    like $res->{headers}{location}, qr{/_totp/verify},
        'the trusted browser is asked for a code, not to enroll';
};

subtest 'a changed password line ends the sessions made before' => sub {
    my ($ua_e, $erin) = enrolled('erin');
    my ($ua_f, $frank) = enrolled('frank');

    my $e = holder($t_b, totp_session => $erin);
    my $f = holder($t_b, totp_session => $frank);
    ok passes($e, 'erin') && passes($f, 'frank'), 'both pass on B';

    # erin's password changes, frank leaves: the file rewritten in place
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', 'new');
    chomp $hash;

    open my $fh, '<', $pw_file or die "$pw_file: $!\n";
    my @lines = <$fh>;
    close $fh;

    @lines = map { /^erin:/ ? "erin:$hash\n" : $_ } grep { !/^frank:/ } @lines;

    open $fh, '>', $pw_file or die "$pw_file: $!\n";
    print $fh @lines;
    close $fh;
    my $at = time;

    ok defined ends_within($e, $at),
        "erin's session ends within ${BOUND}s of her new password";
    ok defined ends_within($f, $at),
        "frank's within ${BOUND}s of leaving the file";

    ok passes(holder($t_b, totp_session => $CAROL), 'carol'),
        'carol\'s session, whose line did not change, still passes';
};

# A worker keeps the lines it read while the file's size, time and inode
# stay, but not a line read in the second the file was last written: a
# change in that second would not show.  With the file's time in the
# future, every read is in "its second", and a line changed in place,
# size, inode and time kept, must still be seen.
subtest 'a line changed in the second it was read: still seen' => sub {
    my (undef, $gina) = enrolled('gina');
    my $g = holder($t_b, totp_session => $gina);

    my $future = time + 3600;
    utime $future, $future, $pw_file or die "utime: $!\n";

    # B reads the line again at its next check, the file's time now new
    my $from = time;
    ok $t_a->wait_for(sub {
           passes($g, 'gina') && time > $from + $REVALIDATE + 0.5
       }, undef, 'a check after the new time'),
       'gina passes on B past a revalidation';

    open my $fh, '+<', $pw_file or die "$pw_file: $!\n";
    my $text = do { local $/; <$fh> };
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', 'new');
    chomp $hash;
    $text =~ s/^gina:\S+$/gina:$hash/m or die "no gina in $pw_file\n";
    seek $fh, 0, 0;
    print $fh $text;
    close $fh;
    utime $future, $future, $pw_file or die "utime: $!\n";
    my $at = time;

    is -s $pw_file, length $text, 'the file\'s size is the same';
    ok defined ends_within($g, $at),
        "gina's session ends within ${BOUND}s all the same";
};

{
    # one plan for both instances' checks
    no warnings 'redefine';
    local *Test::More::done_testing = sub {};
    $t_b->done;
}

$t_a->done;
