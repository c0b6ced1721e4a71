#!/usr/bin/perl

# Recovery codes just made stay with the session that saw them: a reload
# of the codes page shows them again, codes.txt downloads them (whose,
# where, when), until the user posts saved=1 or ten minutes pass.  Redis
# holds them sealed, bound to the user and to the session: another
# session of the same user, or the set moved to another user's key,
# shows nothing.  "I saved them" needs no code and counts no failure.

use strict;
use warnings;

use Test::More;
use POSIX qw(strftime);

use TotpTest;
use TotpGate qw(gate_setup login enroll verify field);

my ($t, $redis) = gate_setup(
    recovery => 3,
    users => { alice => 'wonderland', bob => 'builder' });

sub codes_of {
    my ($body) = @_;
    my ($block) = ($body // '') =~ m{id="totp-recovery-codes"[^>]*>([^<]*)<};
    return split /\s+/, $block // '';
}

my $ua = $t->ua;
my $res = login($ua, 'alice', 'wonderland', next => '/console');
my ($done, $secret) = enroll($ua, $res->{headers}{location});
is $done->{status}, 302, 'enrolled: a redirect';
unlike $done->{body}, qr/totp-recovery-codes/, '... the POST shows no code';
$done = $ua->get($done->{headers}{location} =~ s{^https?://[^/]+}{}r);
my @codes = codes_of($done->{body});
is scalar @codes, 3, 'enrolled: three codes shown';
like $done->{body}, qr{href="/_totp/codes\.txt[?"]}, "... a download";
like $done->{body}, qr{until \d\d:\d\d UTC at the latest}, '... until when';

my $kept = $redis->cli('GET', 'totp:user:{alice}:shown');
ok $kept, 'Redis keeps them';
my $plain = join '|', map { (my $c = $_) =~ s/-//; ($c, $_) } @codes;
unlike $kept, qr/$plain/, '... sealed: no code in it';
my $ttl = $redis->cli('TTL', 'totp:user:{alice}:shown');
ok $ttl > 590 && $ttl <= 600, "... for ten minutes ($ttl s)";

# a reload: the same codes
my $page = $ua->get('/_totp/codes');
is $page->{status}, 200, 'the codes page again';
is_deeply [ codes_of($page->{body}) ], \@codes, '... shows the same codes';
is $page->{headers}{'cache-control'}, 'no-store', '... never cached';

# the download
my $file = $ua->get('/_totp/codes.txt');
is $file->{status}, 200, 'codes.txt';
like $file->{headers}{'content-type'}, qr{^text/plain; charset=utf-8},
    '... plain text';
is $file->{headers}{'content-disposition'},
    'attachment; filename="codes.txt"', '... to be saved as codes.txt';
is $file->{headers}{'cache-control'}, 'no-store', '... never cached';
my $today = strftime('%Y-%m-%d', gmtime);
like $file->{body}, qr{^Recovery codes of alice for console\.test, made on \Q$today\E\.},
    '... whose, where and when';
like $file->{body}, qr{^\Q$_\E$}m, "... code $_" for @codes;

# a script of the same site fetching them: the page, not the codes
$page = $ua->get('/_totp/codes', { 'Sec-Fetch-Mode' => 'cors',
                                   'Sec-Fetch-Dest' => 'empty' });
is scalar(codes_of($page->{body})), 0, "a fetch() from a page: no codes";
like $page->{body}, qr/You have 3 recovery codes left\./, '... the count';
is $ua->get('/_totp/codes.txt', { 'Sec-Fetch-Mode' => 'cors' })->{status},
    302, '... and no download';
is_deeply [ codes_of($ua->get('/_totp/codes',
                              { 'Sec-Fetch-Mode' => 'navigate' })->{body}) ],
    \@codes, 'a navigation: the codes';
$t->allow_log(qr/shown to a page only/);

# another session of alice's: not its codes to see
my $other = $t->ua;
$res = login($other, 'alice', 'wonderland');
$res = verify($other, $res->{headers}{location},
              TotpTest::totp_code($secret, time + 30));
is $res->{status}, 302, 'alice signs in in another browser';
$page = $other->get('/_totp/codes');
is $page->{status}, 200, '... its codes page';
is scalar(codes_of($page->{body})), 0, '... shows no codes';
like $page->{body}, qr/You have 3 recovery codes left\./, '... but the count';
$res = $other->get('/_totp/codes.txt');
is $res->{status}, 302, '... and no download';
like $res->{headers}{location} // '', qr{/_totp/codes$}, '... but the page';
my $form = $other->get('/_totp/codes')->{body};
$res = $other->post('/_totp/codes', { saved => 1, next => '/console',
                                      csrf => field($form, 'csrf') });
is $res->{status}, 302, '... "saved" there goes on';
is $redis->cli('EXISTS', 'totp:user:{alice}:shown'), 1,
    '... but forgets no set it cannot see';

# the set moved to bob's key does not open for bob
my $bob = $t->ua;
$res = login($bob, 'bob', 'builder');
enroll($bob, $res->{headers}{location});
$redis->cli('SET', 'totp:user:{bob}:shown', $kept);
is scalar(codes_of($bob->get('/_totp/codes')->{body})), 0,
    "alice's set under bob's key: nothing shown";
$t->allow_log(qr/malformed recovery codes kept/);

# a value that is no sealed set: an error, logged, never a page of it
$redis->cli('SET', 'totp:user:{bob}:shown', 'not-base64!');
is $bob->get('/_totp/codes')->{status}, 503, 'a garbled set: 503';
ok scalar(grep { /malformed recovery codes kept for "bob"/ } $t->error_log),
    '... logged';

# saved: no code needed, nothing counted, on to next
my $before = $redis->cli('HGET', 'totp:user:{alice}:failures', 'n') // 0;
$page = $ua->get('/_totp/codes');
$res = $ua->post('/_totp/codes', { saved => 1, next => '/console',
                                   csrf => field($page->{body}, 'csrf') });
is $res->{status}, 302, 'saved=1';
like $res->{headers}{location} // '', qr{/console$}, '... on to next';
is $redis->cli('EXISTS', 'totp:user:{alice}:shown'), 0, '... the set gone';
is $redis->cli('HGET', 'totp:user:{alice}:failures', 'n') // 0, $before,
    '... no failure counted';
$page = $ua->get('/_totp/codes');
is scalar(codes_of($page->{body})), 0, 'the page shows them no more';
like $page->{body}, qr/You have 3 recovery codes left\./, '... but the count';
is $ua->get('/_totp/codes.txt')->{status}, 302, '... nor the download';

# saved=1 without a session, or saved=2
$res = $t->ua->post('/_totp/codes', { saved => 1,
                                      csrf => field($page->{body}, 'csrf') });
isnt $res->{status}, 200, 'saved=1 without a session: not done';
$res = $ua->post('/_totp/codes', { saved => 2,
                                   csrf => field($page->{body}, 'csrf') });
is $res->{status}, 400, 'saved=2: 400';

# past the ten minutes (the key gone): the count, no codes
$res = login($other, 'alice', 'wonderland');
$redis->cli('DEL', 'totp:user:{alice}:shown');
is scalar(codes_of($ua->get('/_totp/codes')->{body})), 0,
    'expired: no codes';

$t->done;
