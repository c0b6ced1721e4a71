#!/usr/bin/perl

# The clock hint: a wrong code that a phone whose clock is late would
# show (a past step up to 240 steps and 2 hours before the window) is
# refused and counted like any wrong code, and the page says by about how
# many minutes the clock seems behind.  A code of a future step is never
# told apart: its page is any wrong code's, and every wrong code's page
# reminds the user to let the phone set its clock.  The codes come from
# oathtool, at times of the test's choosing.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(gate_setup login enroll verify secret_of);

my ($t, $redis) = gate_setup();

my $ua = $t->ua;
my $res = login($ua, 'alice', 'wonderland');
my $enroll_page = $ua->get($res->{headers}{location} =~ s{^https?://[^/]+}{}r);
my $secret = secret_of($enroll_page->{body});

# the first code, from a phone 15 minutes late: the enrollment page says so
$res = $ua->post('/_totp/enroll', {
    code => TotpTest::totp_code($secret, time - 900),
    csrf => TotpGate::field($enroll_page->{body}, 'csrf'),
    next => '/',
});
is($res->{status}, 401, 'enrollment: a code 15 minutes late is refused');
like($res->{body}, qr/about 1[56] minutes ago: your phone(&#39;|')s clock seems to be behind/,
     '... and the page says the clock seems about 15 minutes behind');

($res) = enroll($ua, $res->{headers}{location} // '/_totp/enroll');
is($res->{status}, 302, 'enrolled with the code of now');

sub failures {
    return $redis->cli('HGET', 'totp:user:{alice}:failures', 'n') || 0;
}

# a code at $offset seconds from now, through the verify page: the page
sub code_at {
    my ($offset) = @_;

    my $ua = $t->ua;
    my $login = login($ua, 'alice', 'wonderland');
    die "login: $login->{status}\n" unless $login->{status} == 302;

    return verify($ua, $login->{headers}{location},
                  TotpTest::totp_code($secret, time + $offset));
}

my $before = failures();

$res = code_at(-600);
is($res->{status}, 401, '10 minutes late: refused');
like($res->{body}, qr/about 1[01] minutes ago: your phone(&#39;|')s clock seems to be behind/,
     '... the clock seems about 10 minutes behind');
like($res->{body}, qr/set the date and time to automatic/,
     '... and what to do');
is(failures(), $before + 1, '... and counted as a wrong code');

$res = code_at(-119 * 60);
like($res->{body}, qr/about 1(19|20) minutes ago/, '119 minutes late: said');

for my $case ([ -125 * 60, '125 minutes late: past the two hours' ],
              [ -3 * 3600, 'three hours late' ],
              [ 600, '10 minutes ahead: a future code is never told' ],
              [ 90, '90 seconds ahead, just past the window' ])
{
    my ($offset, $what) = @$case;

    $res = code_at($offset);
    is($res->{status}, 401, "$what: refused");
    unlike($res->{body}, qr/seems to be behind/, "$what: no hint");
    like($res->{body}, qr/sets its date and time automatically/,
         "$what: the reminder every wrong code gets");
}

is(failures(), $before + 6, 'every one of them counted');

# the enrollment used the code of now: a code is used once, so the next
$res = code_at(30);
is($res->{status}, 302, 'the code of the next step signs in');

$t->done;
