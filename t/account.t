#!/usr/bin/perl

# The account page at the pages' prefix: only a signed-in user with a
# current session sees it; it says who, since when, whether this browser
# is trusted, how many recovery codes are left (from Redis), and leads to
# every action: change device, new codes, forget this browser, sign out
# and sign out everywhere, whose forms post with the page's CSRF token.

use strict;
use warnings;

use Test::More;
use POSIX qw(strftime);

use TotpTest;
use TotpGate qw(gate_setup login enroll verify field);

my ($t, $redis) = gate_setup(
    recovery => 3,
    http => "    totp_trust_ttl 30d;\n");

# not signed in: to the login page, never the page itself
my $anon = $t->ua;
my $res = $anon->get('/_totp/');
is $res->{status}, 302, 'not signed in: a redirect';
like $res->{headers}{location} // '', qr{/_totp/login}, '... to the login page';

# alice enrolls, trusting this browser, and saves her three codes
my $ua = $t->ua;
$res = login($ua, 'alice', 'wonderland');
my ($done, $secret) = enroll($ua, $res->{headers}{location}, trust => 1);
$done = $ua->get($done->{headers}{location} =~ s{^https?://[^/]+}{}r);
my ($block) = $done->{body} =~ m{id="totp-recovery-codes"[^>]*>([^<]*)<};
my @codes = split /\s+/, $block // '';
is scalar @codes, 3, 'enrolled, with three recovery codes';

my $today = strftime('%Y-%m-%d', gmtime);

$res = $ua->get('/_totp/');
is $res->{status}, 200, 'signed in: the account page';
my $page = $res->{body};
like $page, qr{<h1>Your account</h1>}, '... its heading';
like $page, qr{<title>Your account}, '... and the same title';
like $page, qr{<strong>alice</strong>}, '... who is signed in';
like $page, qr{since</dt><dd>\Q$today\E</dd>}, '... enrolled today';
like $page, qr{3 codes left}, '... three recovery codes left';
like $page, qr{Trusted until \d{4}-\d\d-\d\d}, '... this browser is trusted';
like $page, qr{href="/_totp/reset"}, '... a way to change device';
like $page, qr{href="/_totp/codes"}, '... a way to new codes';
like $page, qr{wait for the next}, '... and why a fresh code is needed';
like $page, qr{<form method="post" action="/_totp/forget">},
    '... forget this browser';
like $page, qr{name="everywhere" value="1"}, '... sign out everywhere';
is $res->{headers}{'cache-control'}, 'no-store', '... not stored';

# the count comes from Redis: ops removing a code shows at once
$redis->cli('SPOP', 'totp:user:{alice}:recovery');
like $ua->get('/_totp/')->{body}, qr{2 codes left}, 'a code gone: 2 left';
$redis->cli('SPOP', 'totp:user:{alice}:recovery');
like $ua->get('/_totp/')->{body}, qr{1 code left}, 'one: singular';

# forget this browser, with the page's own token
$res = $ua->post('/_totp/forget', { csrf => field($page, 'csrf') });
is $res->{status}, 200, 'forgotten from the account page';
$page = $ua->get('/_totp/')->{body};
like $page, qr{Not trusted}, '... the page says so';
unlike $page, qr{action="/_totp/forget"}, '... and offers no forget';

# another browser signs in with a code; both see the page
my $other = $t->ua;
$res = login($other, 'alice', 'wonderland');
$res = verify($other, $res->{headers}{location},
              TotpTest::totp_code($secret, time + 30));
is $res->{status}, 302, 'a second browser signs in';
is $other->get('/_totp/')->{status}, 200, '... and sees the page';

# sign out everywhere from the first: the second's page is gone too
$res = $ua->post('/_totp/logout', { csrf => field($page, 'csrf'),
                                    everywhere => 1 });
is $res->{status}, 200, 'signed out everywhere';
$res = $other->get('/_totp/');
is $res->{status}, 302, "the other browser's session ended";
like $res->{headers}{location} // '', qr{/_totp/login}, '... to sign in again';

# a session made with the one recovery code ops left: the page says so
my $third = $t->ua;
$res = login($third, 'alice', 'wonderland');
my $form = $third->get('/_totp/recovery')->{body};
for my $code (@codes) {
    last if $third->cookie('totp_session');
    $res = $third->post('/_totp/recovery', {
        code => $code, csrf => field($form, 'csrf'), next => '/' });
    $form = $res->{body};
}
ok $third->cookie('totp_session'), 'a third session, with a recovery code';
$page = $third->get('/_totp/')->{body};
like $page, qr{0 codes left}, '... no codes left now';
like $page, qr{signed in with a recovery code}, '... and what to do';

# a session whose enrollment ops reset: the page is not shown
$redis->cli('DEL', 'totp:user:{alice}');
is $third->get('/_totp/')->{status}, 302, 'after an ops reset: no page';

# Redis gone: no page, no pass
my $fourth = $t->ua;
$res = login($fourth, 'alice', 'wonderland');
($res) = enroll($fourth, $res->{headers}{location});
is $fourth->get('/_totp/')->{status}, 200, 'enrolled again';
$redis->stop;
$t->allow_log(qr/redis|Redis|connect\(\) to unix/);
is $fourth->get('/_totp/')->{status}, 503, 'Redis down: 503';
$redis->start;

# only GET and HEAD
$res = $fourth->post('/_totp/', { csrf => 'x' });
is $res->{status}, 405, 'a POST to the account page: 405';
is $res->{headers}{allow}, 'GET, HEAD', '... saying what is allowed';

$t->done;
