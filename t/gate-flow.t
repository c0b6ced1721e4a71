#!/usr/bin/perl

# The gate as users meet it: the first login with enrollment, later logins
# with a code, wrong, old and reused codes, "trust this browser", logout,
# the change of device, and ops resetting a user with one DEL.  Codes come
# from oathtool.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field secret_of gate_setup login enroll verify);

my ($t, $redis, $port) = gate_setup(
    users => { alice => 'wonderland', bob => 'builder', carol => 'singer',
               dave => 'diver', erin => 'engineer' },
    location => 'totp_revalidate 1s;',
);

my $base = "http://127.0.0.1:$port";

sub upstream_user {
    my ($res) = @_;
    return $res->{status} == 200 && $res->{body} =~ /^upstream user=(\S*)/
        ? $1 : undef;
}

sub set_cookie {
    my ($res, $name) = @_;
    my @c = grep { /^\Q$name\E=/ } @{ $res->{headers}{'set-cookie'} // [] };
    return $c[-1];
}

# alice's first day: she opens a deep link, signs in, enrolls, and lands
# where she wanted to go; the console learns who she is.

my $alice = $t->ua(port => $port);
my ($secret, $enrolled_at);

subtest 'first login: password, enrollment, back to the page asked for' => sub {
    my $res = $alice->get('/console/page?a=1&b=%2F');
    is $res->{status}, 302, 'a gated page without a session redirects';
    is $res->{headers}{location},
        "$base/_totp/login?next=/console/page%3Fa%3D1%26b%3D%252F",
        '... to the login page, with the page asked for in next';
    like set_cookie($res, 'totp_pre'), qr/HttpOnly; SameSite=Lax/,
        '... with a pre-session naming the location\'s settings';

    $res = $alice->get('/_totp/login?next=/console/page%3Fa%3D1%26b%3D%252F');
    is $res->{status}, 200, 'login page';
    like $res->{body}, qr/<label[^>]*for="user"/, 'user field has a label';
    like $res->{body}, qr/<input[^>]*name="password"[^>]*type="password"|<input[^>]*type="password"[^>]*name="password"/,
        'password field';
    is field($res->{body}, 'next'), '/console/page?a=1&b=%2F',
        'next carried in the form';
    is set_cookie($res, 'totp_pre'), undef,
        'the login page keeps the pre-session the gate made';
    is $res->{headers}{'cache-control'}, 'no-store', 'pages are not cached';
    like $res->{headers}{'content-security-policy'},
        qr/default-src 'none'.*frame-ancestors 'none'/, 'strict CSP';
    is $res->{headers}{'x-frame-options'}, 'DENY', 'no framing';
    is $res->{headers}{'referrer-policy'}, 'no-referrer', 'no referrer';

    $res = login($alice, 'alice', 'wonderland',
                 next => '/console/page%3Fa%3D1%26b%3D%252F');
    is $res->{status}, 302, 'right password';
    is $res->{headers}{location},
        "$base/_totp/enroll?next=/console/page%3Fa%3D1%26b%3D%252F",
        'not enrolled yet: on to enrollment';

    my $page = $alice->get('/_totp/enroll?next=/console/page%3Fa%3D1%26b%3D%252F');
    is $page->{status}, 200, 'enrollment page';
    like $page->{body}, qr/<svg[^>]*role="img"/, 'QR code as inline SVG';
    $secret = secret_of($page->{body});
    like $secret, qr/^[A-Z2-7]{32}$/, 'a 20-byte secret, as base32 text';
    like $page->{body},
        qr/href="otpauth:\/\/totp\/console\.test:alice\?secret=$secret&amp;issuer=console\.test"/,
        'otpauth URI: issuer prefix, account, same secret, issuer';
    like $page->{body},
        qr/<input[^>]*autocomplete="one-time-code"[^>]*inputmode="numeric"/s,
        'code field for phones and password managers';

    my $again = $alice->get('/_totp/enroll?next=/');
    is secret_of($again->{body}), $secret,
        'a reload shows the same pending secret';
    my $ttl = $redis->cli('TTL', 'totp:user:{alice}:enroll');
    ok $ttl > 0 && $ttl <= 3600, "pending secret expires ($ttl s)";
    is $redis->cli('EXISTS', 'totp:user:{alice}'), 0,
        'nothing is stored before a code confirms it';

    $enrolled_at = time;
    $res = $alice->post('/_totp/enroll', {
        code => TotpTest::totp_code($secret, $enrolled_at),
        csrf => field($page->{body}, 'csrf'),
        next => field($page->{body}, 'next'),
    });
    is $res->{status}, 302, 'confirmed with one code';
    is $res->{headers}{location}, "$base/console/page?a=1&b=%2F",
        'back to the page first asked for';
    like set_cookie($res, 'totp_session'),
        qr/^totp_session=[\w-]+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/,
        'session cookie: signed, HttpOnly, Lax, 12h';

    $res = $alice->get('/console/page?a=1&b=%2F');
    is upstream_user($res), 'alice', 'upstream sees Remote-User alice';
    like $res->{body}, qr/status=session /, '$totp_status is "session"';

    my %h = $redis->cli('HGETALL', 'totp:user:{alice}');
    is_deeply [ sort keys %h ],
        [ qw(algorithm created digits epoch last period secret) ],
        'enrollment hash fields';
    is "$h{algorithm} $h{digits} $h{period}", 'sha1 6 30', 'parameters';
    like $h{epoch}, qr/^[0-9a-f]{32}$/, 'a random epoch';
    unlike $h{secret}, qr/\Q$secret\E/i, 'the secret is sealed, not stored';
    is $redis->cli('EXISTS', 'totp:user:{alice}:enroll'), 0,
        'pending entry gone';

    ok scalar(grep { /\[notice\].*totp: user "alice" enrolled, client: 127\.0\.0\.1/ }
              $t->error_log), 'audit line for the enrollment';
};

subtest 'second login asks for a code; wrong, old and reused codes fail' => sub {
    my $ua = $t->ua(port => $port);

    my $res = login($ua, 'alice', 'wonderland', next => '/console');
    is $res->{headers}{location}, "$base/_totp/verify?next=/console",
        'enrolled: the password leads to the code';

    my $page = $ua->get('/_totp/verify?next=/console');
    like $page->{body}, qr/name="trust"/, 'trust checkbox offered';
    like $page->{body}, qr/30 days/, '... for totp_trust_ttl';

    my $post = sub {
        my ($code) = @_;
        return $ua->post('/_totp/verify', {
            code => $code, csrf => field($page->{body}, 'csrf'),
            next => '/console' });
    };

    my $good = TotpTest::totp_code($secret, $enrolled_at + 30);
    my $wrong = sprintf '%06d', ($good + 1) % 1_000_000;

    for my $bad ([ $wrong, 'a wrong code' ],
                 [ TotpTest::totp_code($secret, time - 150), 'a code from 5 steps ago' ],
                 [ TotpTest::totp_code($secret, time + 150), 'a code 5 steps ahead' ],
                 [ TotpTest::totp_code($secret, $enrolled_at), 'the code used at enrollment' ])
    {
        next if $bad->[0] eq $good && $bad->[1] ne 'the code used at enrollment';
        $res = $post->($bad->[0]);
        is $res->{status}, 401, "$bad->[1] is refused";
        ok !set_cookie($res, 'totp_session'), '... without a session';
    }

    # what cannot be a code is answered with a hint (t/lockout-input.t
    # shows it is not counted)
    for my $bad ([ '12345', 'five digits' ], [ "${good}0", 'seven digits' ],
                 [ '12a456', 'a letter' ], [ '', 'nothing' ])
    {
        $res = $post->($bad->[0]);
        is $res->{status}, 400, "$bad->[1] is refused as no code";
        like $res->{body}, qr/not a code: enter only the digits/,
            '... with a hint';
        ok !set_cookie($res, 'totp_session'), '... without a session';
    }

    # as people read it out, or paste it from a password manager
    $res = $post->(substr($good, 0, 3) . ' ' . substr($good, 3) . ' ');
    is $res->{status}, 302, 'the current code is accepted, spaces and all';
    is $res->{headers}{location}, "$base/console", '... back to next';
    is upstream_user($ua->get('/console')), 'alice', 'signed in';

    my $other = $t->ua(port => $port);
    $res = login($other, 'alice', 'wonderland');
    $res = verify($other, $res->{headers}{location}, $good);
    is $res->{status}, 401, 'the same code again, from another browser: refused';
    like $res->{body}, qr/already used/, '... saying why';

    ok scalar(grep { /totp: user "alice" failed code/ } $t->error_log),
        'failures are audited';
    ok !grep({ /\Q$good\E/ } $t->error_log), 'no code in the log';
};

subtest 'wrong password' => sub {
    my $ua = $t->ua(port => $port);
    my $res = login($ua, 'alice', 'not-her-password');
    is $res->{status}, 401, 'refused';
    like $res->{body}, qr/name="password"/, 'the login form again';
    ok !set_cookie($res, 'totp_session'), 'no session';

    $res = login($ua, 'mallory', 'anything');
    is $res->{status}, 401, 'unknown user: the same answer';
    ok scalar(grep { /totp: user "mallory" failed password/ } $t->error_log),
        'audited';
};

# bob trusts his browser: later he gives his password only.

subtest 'trust this browser' => sub {
    my $ua = $t->ua(port => $port);
    my ($res, $bob_secret) = enroll($ua,
        login($ua, 'bob', 'builder')->{headers}{location}, trust => 1);
    is $res->{status}, 302, 'bob enrolled';
    like set_cookie($res, 'totp_trust'),
        qr/^totp_trust=[\w-]+\.[\w-]+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Strict$/,
        'trust cookie: 30 days, SameSite=Strict';

    my $page = $ua->get('/_totp/logout');
    $res = $ua->post('/_totp/logout', { csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 200, 'signed out';
    like set_cookie($res, 'totp_session'), qr/Max-Age=0/, 'session cleared';
    ok !set_cookie($res, 'totp_trust'), 'the trust cookie stays';
    is $ua->get('/console')->{status}, 302, 'the console asks again';

    $res = login($ua, 'bob', 'builder', next => '/console');
    is $res->{status}, 302, 'password only';
    is $res->{headers}{location}, "$base/console", '... straight to next';
    $res = $ua->get('/console');
    is upstream_user($res), 'bob', 'signed in without a code';
    like $res->{body}, qr/status=session/, 'a session from then on';

    my $fresh = $t->ua(port => $port);
    $res = login($fresh, 'bob', 'builder', next => '/console');
    is $res->{headers}{location}, "$base/_totp/verify?next=/console",
        'another browser is asked for a code';

    # trust is per user: bob's browser does not spare carol her code

    enroll($ua, login($ua, 'carol', 'singer')->{headers}{location});
    my $c = $t->ua(port => $port);
    $c->set_cookie('totp_trust', $ua->cookies->{totp_trust});
    $res = login($c, 'carol', 'singer', next => '/console');
    is $res->{headers}{location}, "$base/_totp/verify?next=/console",
        "bob's trust cookie does not let carol skip her code";
};

# dave changes phones: he proves the old one, then confirms the new one;
# the old one works until then, and not after.

subtest 'change of device' => sub {
    my $ua = $t->ua(port => $port);
    my ($res, $old) = enroll($ua,
        login($ua, 'dave', 'diver')->{headers}{location});
    my $at = time;
    is upstream_user($ua->get('/console')), 'dave', 'dave signed in';
    my %session = %{ $ua->cookies };
    my $epoch = $redis->cli('HGET', 'totp:user:{dave}', 'epoch');

    my $page = $ua->get('/_totp/reset');
    is $page->{status}, 200, 'reset page for a signed-in user';
    $res = $ua->post('/_totp/reset', { code => '000000',
                                       csrf => field($page->{body}, 'csrf') });
    if (TotpTest::totp_code($old, $at) eq '000000') {
        pass 'skipped: 000000 happens to be valid';
    } else {
        is $res->{status}, 401, 'a wrong code begins nothing';
    }
    is $redis->cli('EXISTS', 'totp:user:{dave}:enroll'), 0,
        '... no pending change';

    $res = $ua->post('/_totp/reset', {
        code => TotpTest::totp_code($old, $at + 30),
        csrf => field($page->{body}, 'csrf') });
    is $res->{status}, 200, 'a current code shows the new device\'s secret';
    my $new = secret_of($res->{body});
    like $new, qr/^[A-Z2-7]{32}$/, '... as text to type';
    isnt $new, $old, '... a new one';
    like $res->{body}, qr/action="[^"]*\/_totp\/enroll"/,
        '... confirmed on the enroll page';
    is $redis->cli('HGET', 'totp:user:{dave}', 'epoch'), $epoch,
        'the old enrollment stays meanwhile';
    ok scalar(grep { /totp: user "dave" began a change of device/ }
              $t->error_log), 'audited';

    my $stale = $t->ua(port => $port);
    $stale->set_cookie('totp_session', $session{totp_session});
    is upstream_user($stale->get('/console')), 'dave',
        'a session of the old device still passes before the confirmation';

    my $wrong = TotpTest::totp_code($old, time);
    $wrong = TotpTest::totp_code($old, time + 60)
        if $wrong eq TotpTest::totp_code($new, time);
    $res = $ua->post('/_totp/enroll', { code => $wrong,
                                        csrf => field($res->{body}, 'csrf') });
    is $res->{status}, 401, 'the old device\'s code does not confirm the new';

    $res = $ua->post('/_totp/enroll', {
        code => TotpTest::totp_code($new, time),
        csrf => field($res->{body}, 'csrf') });
    is $res->{status}, 200, 'the new device\'s code confirms it' or diag $res->{headers}{location};
    like $res->{body}, qr/old device no longer works.*delete its entry/s,
        '... and the page says the old device is done';
    isnt $redis->cli('HGET', 'totp:user:{dave}', 'epoch'), $epoch,
        'a new enrollment epoch';
    is $redis->cli('EXISTS', 'totp:user:{dave}:enroll'), 0,
        'nothing pending any more';
    ok scalar(grep { /totp: user "dave" changed device/ } $t->error_log),
        'audited';
    is upstream_user($ua->get('/console')), 'dave',
        'this browser is signed in again';

    ok $t->wait_for(sub { $stale->get('/console')->{status} == 302 }, 5,
                    'old session refused'),
        'the old device\'s session is over';
};

# Ops: one DEL resets a user; sessions stop within totp_revalidate (1s).

subtest 'DEL totp:user:{NAME} ends the session and re-enrolls' => sub {
    my $ua = $t->ua(port => $port);
    enroll($ua, login($ua, 'erin', 'engineer')->{headers}{location});
    is upstream_user($ua->get('/console')), 'erin', 'erin signed in';

    is $redis->cli('DEL', 'totp:user:{erin}'), 1, 'ops: DEL totp:user:{erin}';

    my $start = time;
    ok $t->wait_for(sub { $ua->get('/console')->{status} == 302 }, 5,
                    'session refused'),
        'the session ends';
    cmp_ok time - $start, '<=', 2.5, '... within totp_revalidate';

    my $res = login($ua, 'erin', 'engineer');
    is $res->{headers}{location}, "$base/_totp/enroll", 'next login enrolls';
};

subtest 'gated methods and subrequests' => sub {
    my $ua = $t->ua(port => $port);
    my $res = $ua->request('POST', '/console', {}, 'x');
    is $res->{status}, 401, 'POST without a session: 401';
    is $res->{headers}{'www-authenticate'},
        'TOTP realm="console.test", login="/_totp/login"',
        '... with a TOTP challenge naming the server and the login page';
    is $ua->request('DELETE', '/console')->{status}, 401, 'DELETE: 401';

    $res = $ua->head('/console');
    is $res->{status}, 302, 'HEAD: 302';
    is $res->{headers}{'cache-control'}, 'no-store',
        '... a redirect no cache keeps';
    $res = $ua->get('/console');
    is $res->{headers}{'cache-control'}, 'no-store', 'GET: the same';
    ok !defined $res->{headers}{'www-authenticate'}, '... no challenge';
    is $alice->request('POST', '/console', {}, 'x')->{status}, 200,
        'POST with a session passes';
};

$t->done;
