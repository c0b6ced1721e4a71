#!/usr/bin/perl

# Recovery codes: made when an enrollment is confirmed and shown once,
# stored only as keyed hashes, each good for one sign-in instead of a
# code, counted down on the page after its use; a signed-in user (with a
# current code) replaces the set; a session made with one changes the
# device without a code from the lost one; an ops reset ends them.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field secret_of gate_setup login);

my ($t, $redis, $port) = gate_setup(
    users => { alice => 'wonderland', bob => 'builder' },
    recovery => 4);

my $base = "http://127.0.0.1:$port";

my $ua = $t->ua(port => $port);
my (@codes, @new, $secret, $enrolled_at, $recovered);

subtest 'enrollment ends on the recovery codes, shown once' => sub {
    login($ua, 'alice', 'wonderland', next => '/console');
    my $page = $ua->get('/_totp/enroll?next=/console');
    $secret = secret_of($page->{body});
    $enrolled_at = time;

    my $res = $ua->post('/_totp/enroll', {
        code => TotpTest::totp_code($secret, $enrolled_at),
        csrf => field($page->{body}, 'csrf'), next => '/console' });

    is $res->{status}, 302, 'confirmed: not yet the console';
    like $res->{headers}{location} // '', qr{/_totp/codes\?next=\S*console$},
        '... but the codes page (a reload of it shows them again)';
    unlike $res->{body}, qr/totp-recovery-codes/, '... no codes in the POST';
    ok grep({ /^totp_session=/ } @{ $res->{headers}{'set-cookie'} }),
        'signed in already';
    $res = $ua->get('/_totp/codes?next=%2Fconsole');
    is $res->{status}, 200, 'the codes page';
    unlike $res->{body}, qr/older recovery codes/,
        '... a first set: no older ones to speak of';
    my ($block) = $res->{body} =~ m{id="totp-recovery-codes"[^>]*>([^<]*)<};
    @codes = split /\s+/, $block // '';
    is scalar @codes, 4, 'totp_recovery_codes 4: four codes';
    like $_, qr/^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/, "code $_" for @codes;
    like $res->{body}, qr/safe/i, 'with advice to keep them safe';
    like $res->{body}, qr{name="saved" value="1"}, 'and "I saved them"';
    like $res->{body}, qr{name="next" value="/console"},
        '... which leads on to the console';
    is $res->{headers}{'cache-control'}, 'no-store', 'never cached';

    my @stored = $redis->cli('SMEMBERS', 'totp:user:{alice}:recovery');
    is scalar @stored, 4, 'four hashes in totp:user:{alice}:recovery';
    like $_, qr/^[0-9a-f]{64}$/, 'a keyed hash' for @stored;
    my $plain = join '|', map { my $c = $_; $c =~ s/-//; $c } @codes;
    ok !grep({ /$plain/ } @stored), 'no code stored as it is';

    ok scalar(grep { /totp: user "alice" was shown new recovery codes/ }
              $t->error_log), 'audited';
};

sub recovery_login {
    my ($code, %o) = @_;
    my $b = $t->ua(port => $port);
    my $res = login($b, $o{user} // 'alice',
                    $o{password} // 'wonderland', next => '/console');
    my $verify = $b->get('/_totp/verify?next=/console');
    my $page = $b->get('/_totp/recovery?next=/console');
    my $post = $b->post('/_totp/recovery', {
        code => $code, csrf => field($page->{body}, 'csrf'),
        next => '/console' });
    return ($post, $b, $verify, $page);
}

subtest 'a recovery code signs in once' => sub {
    my $typed = uc $codes[0];
    $typed =~ s/-/ /;

    my ($res, $b, $verify, $page) = recovery_login($typed);
    like $verify->{body}, qr{href="/_totp/recovery\?next=/console"},
        'the code page offers the way';
    is $page->{status}, 200, 'recovery page';
    like $page->{body}, qr/name="code"/, 'asks for one code';

    is $res->{status}, 200, 'a code, typed in capitals with a space: accepted';
    like $res->{body}, qr/You have 3 recovery codes left/, 'says how many are left';
    like $res->{body}, qr{href="/console"}, 'and leads on';
    like $b->get('/console')->{body}, qr/upstream user=alice /, 'signed in';
    is $redis->cli('SCARD', 'totp:user:{alice}:recovery'), 3, 'one hash fewer';
    ok scalar(grep { /totp: user "alice" used a recovery code, 3 left/ }
              $t->error_log), 'audited';

    ($res) = recovery_login($codes[0]);
    is $res->{status}, 401, 'the same code again: refused';
    like $res->{body}, qr/used before/, '... saying so';

    ($res) = recovery_login('22222-22222');
    is $res->{status}, 401, 'a code never made: refused';
    is $redis->cli('HGET', 'totp:user:{alice}:failures', 'n'), 2,
        'each failure counted against alice';
    ($res) = recovery_login('not a code at all');
    is $res->{status}, 400, 'something else: refused as no recovery code';
    like $res->{body}, qr/not a recovery code/, '... with a hint';
    ok $t->wait_for(sub {
        $redis->cli('HGET', 'totp:user:{alice}:failures', 'n') == 2 }, 3),
        '... and not counted';

    ($res) = recovery_login($codes[1], user => 'alice', password => 'nope');
    isnt $res->{status}, 200, 'no recovery without the password';
    is $redis->cli('SCARD', 'totp:user:{alice}:recovery'), 3, 'nothing used';

    ($res) = recovery_login($codes[1], user => 'bob', password => 'builder');
    isnt $res->{status}, 200, "alice's code is not bob's";
};

subtest 'a signed-in user makes a new set' => sub {
    my $page = $ua->get('/_totp/codes');
    like $page->{body}, qr/totp-recovery-codes/,
        'the set made at enrollment, until saved';
    my $saved = $ua->post('/_totp/codes', { saved => 1, next => '/console',
                                            csrf => field($page->{body},
                                                          'csrf') });
    is $saved->{status}, 302, 'saved';

    $page = $ua->get('/_totp/codes');
    is $page->{status}, 200, 'the page for a signed-in user';
    unlike $page->{body}, qr/totp-recovery-codes/, 'no codes before the code';
    like $page->{body}, qr/You have 3 recovery codes left\./,
        '... but how many are left';

    my $res = $ua->post('/_totp/codes', { code => '000000',
                                          csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 401, 'a wrong code makes nothing'
        unless TotpTest::totp_code($secret) eq '000000';

    $res = $ua->post('/_totp/codes', {
        code => TotpTest::totp_code($secret, $enrolled_at + 30),
        csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 302, 'a current code: on to the new set';
    $res = $ua->get($res->{headers}{location} =~ s{^https?://[^/]+}{}r);
    my ($block) = $res->{body} =~ m{id="totp-recovery-codes"[^>]*>([^<]*)<};
    @new = split /\s+/, $block // '';
    is scalar @new, 4, 'four new codes';
    is $redis->cli('SCARD', 'totp:user:{alice}:recovery'), 4, 'stored';
    my $again = $ua->get('/_totp/codes')->{body};
    like $again, qr/\Q$new[0]\E/, 'a reload shows the new set';
    like $again, qr/older recovery codes no longer work/,
        '... and says the older ones ended';

    ($res) = recovery_login($codes[2]);
    is $res->{status}, 401, 'an old code no longer works';
    ($res) = recovery_login($new[0]);
    is $res->{status}, 200, 'a new one does';

    is $t->ua(port => $port)->get('/_totp/codes')->{status}, 302,
        'not signed in: sent to sign in';
};

subtest 'a lost phone: a recovery code, then the new phone' => sub {
    # a session from a code must still give a code to reset
    like $ua->get('/_totp/reset')->{body}, qr/name="code"/,
        'signed in with a code: the reset asks for a code';

    my ($rec, $b) = recovery_login($new[1]);
    is $rec->{status}, 200, 'signed in with a recovery code';
    $recovered = $b->cookies->{totp_session};
    like $rec->{body}, qr{href="/_totp/reset[?"][^>]*>Set up a new device},
        'offered to set up a new device';

    my $reset = $b->get('/_totp/reset');
    is $reset->{status}, 200, 'the reset page';
    unlike $reset->{body}, qr/name="code"/,
        'asks no code from the lost phone';

    my $epoch = $redis->cli('HGET', 'totp:user:{alice}', 'epoch');
    my $left = $redis->cli('SCARD', 'totp:user:{alice}:recovery');
    my $fails = $redis->cli('GET', 'totp:user:{alice}:fail') // 0;
    my $res = $b->post('/_totp/reset', { csrf => field($reset->{body}, 'csrf') });
    is $redis->cli('GET', 'totp:user:{alice}:fail') // 0, $fails,
        'beginning the change is no failure';
    is $res->{status}, 200, 'the new phone\'s secret, at once';
    my $new_secret = secret_of($res->{body});
    isnt $new_secret, $secret, '... a new one';
    is $redis->cli('HGET', 'totp:user:{alice}', 'epoch'), $epoch,
        'the old enrollment stays until the new phone confirms';

    $res = $b->post('/_totp/enroll', {
        code => TotpTest::totp_code($new_secret),
        csrf => field($res->{body}, 'csrf') });
    is $res->{status}, 200, 'the new phone confirmed';
    like $res->{body}, qr/old device no longer works/, '... the old one done';
    isnt $redis->cli('HGET', 'totp:user:{alice}', 'epoch'), $epoch,
        'a new enrollment';
    is $redis->cli('SCARD', 'totp:user:{alice}:recovery'), $left,
        "the $left recovery codes left stay";
    $secret = $new_secret;
};

# The session the recovery code made above ended with the enrollment it
# reset: against the new one it may neither reset without a code (what a
# recovered session may do) nor show the pages of a signed-in user.
subtest 'a recovered session ends with the enrollment it replaced' => sub {
    my $epoch = $redis->cli('HGET', 'totp:user:{alice}', 'epoch');
    ok $recovered && $epoch, 'the old session; the new enrollment';

    my $c = $t->ua(port => $port);
    $c->set_cookie('totp_session', $recovered);

    for my $page (qw(reset codes)) {
        my $res = $c->get("/_totp/$page");
        is $res->{status}, 302, "$page page: not shown";
        like $res->{headers}{location} // '', qr{/_totp/login},
            '... but the login';
    }

    my $login = $c->get('/_totp/login');
    my $res = $c->post('/_totp/reset',
                       { csrf => field($login->{body}, 'csrf') });
    like $res->{headers}{location} // '', qr{/_totp/login},
        'a reset without a code: sent to the login';
    is $redis->cli('HGET', 'totp:user:{alice}', 'epoch'), $epoch,
        'the new enrollment stands';
};

subtest 'an ops reset ends the codes with the enrollment' => sub {
    $redis->cli('DEL', 'totp:user:{alice}');
    my ($res) = recovery_login($codes[3]);
    isnt $res->{status}, 200, 'no sign-in with a recovery code';
    like $res->{headers}{location} // '', qr{/_totp/(enroll|login)},
        'the next step is a new enrollment';
};

$t->done;
