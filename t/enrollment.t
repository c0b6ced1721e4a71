#!/usr/bin/perl

# Who may enroll an authenticator, and who may replace one:
#   - a pending secret belongs to the browser that began it: another
#     browser that passes the same password gets a secret of its own,
#     which ends the first, whose confirmation is then refused with a
#     page that says so;
#   - a change of device keeps the old secret working until the new one
#     is confirmed; a newer change, or a revoke, voids it; abandoned, it
#     leaves the user as before;
#   - totp_enroll invite: only through a one-time link from
#     tools/totp-admin invite, used once, with the password too;
#   - totp_enroll off: only users enrolled already.
# Three nginx instances share Redis and the key, one for each totp_enroll.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use MIME::Base64 ();
use Test::More;

use TotpTest;
use TotpGate qw(field secret_of gate_setup login enroll verify code_after
                cookie_key token_parse token_payload token_sign);

my %USERS = map { $_ => "pw-$_" }
            qw(alice bob carol dave erin frank gina hank ivy);

my $TOOL = abs_path(dirname(abs_path(__FILE__)) . '/../tools/totp-admin');

my $t_on = TotpTest->new;
my $redis = $t_on->redis;
my $t_inv = TotpTest->new;
my $t_off = TotpTest->new;

# a short period: the replay rule makes each sign-in wait for a new step
my $PERIOD = 5;

my %common = (redis => $redis, users => \%USERS, key => 'E' x 32,
              http => "    totp_revalidate 1s;\n"
                      . "    totp_period ${PERIOD}s;\n");

gate_setup(%common, t => $t_on);
gate_setup(%common, t => $t_inv,
           http => $common{http} . "    totp_enroll invite;\n");
gate_setup(%common, t => $t_off,
           http => $common{http} . "    totp_enroll off;\n");

# Cookies made up below as made long ago must be younger than the
# password file, which a password typed before it changed does not pass
my $HTPASSWD = $t_on->dir . '/htpasswd';
utime time, time - 7200, $HTPASSWD or die "utime $HTPASSWD: $!";

sub admin {
    my (@args) = @_;
    my ($out) = TotpTest::Proc::capture($TOOL, '--redis', $redis->addr,
                                        @args);
    return $out;
}

sub path_of {
    my ($url) = @_;
    return $url =~ s{^https?://[^/]+}{}r;
}

# A browser of $t past the password of $name, on the enrollment page.
sub at_enrollment {
    my ($t, $name) = @_;

    my $ua = $t->ua;
    my $res = login($ua, $name, $USERS{$name});
    die "$name: login answered $res->{status}\n" unless $res->{status} == 302;

    return ($ua, $ua->get(path_of($res->{headers}{location})));
}

sub confirm {
    my ($ua, $page, $secret) = @_;

    return $ua->post('/_totp/enroll', {
        code => TotpTest::totp_code($secret, undef, period => $PERIOD),
        csrf => field($page->{body}, 'csrf'),
        next => field($page->{body}, 'next'),
    });
}

subtest 'a pending secret belongs to one browser' => sub {
    my ($first, $page1) = at_enrollment($t_on, 'alice');
    is $page1->{status}, 200, 'the first browser sees a secret';
    my $s1 = secret_of($page1->{body});

    my ($pre) = grep { /^totp_pre=/ } @{ $page1->{headers}{'set-cookie'} };
    like $pre // '', qr/Max-Age=3600/,
        'its pre-session lasts as long as the secret: an hour';
    my $ttl = $redis->cli('TTL', 'totp:user:{alice}:enroll');
    ok $ttl > 3500 && $ttl <= 3600, "the secret lasts an hour ($ttl s)";

    my ($second, $page2) = at_enrollment($t_on, 'alice');
    my $s2 = secret_of($page2->{body});
    ok defined $s2 && $s2 ne $s1,
        'another browser with the password does not see it: its own secret';

    is secret_of($second->get('/_totp/enroll')->{body}), $s2,
        'a reload shows each browser its own';

    # the first browser comes back 20 minutes later: its id still holds
    my $p = token_parse($first->cookie('totp_pre'));
    ok $p && $p->{expires} - $p->{issued} == 3600, 'the pre-session\'s own'
        . ' expiry: an hour';
    $first->set_cookie(totp_pre => token_sign(token_payload(
        %$p, issued => time - 1200, expires => time + 2400),
        cookie_key('E' x 32, 'pre',
                   'totp_password_file ' . $t_on->dir . '/htpasswd')));

    my $res = confirm($first, $page1, $s1);
    is $res->{status}, 409, 'the first secret, ended, confirms nothing'
        . ' (20 minutes on, its browser still known)';
    like $res->{body}, qr/started in another browser.*change it and tell your administrator/s,
        '... with a page that says so and what to do';
    is $redis->cli('EXISTS', 'totp:user:{alice}'), 0, 'nothing stored';
    ok scalar(grep { /\[warn\].*user "alice" confirmed an enrollment that another browser had replaced/ }
              $t_on->error_log), 'logged as a warning';

    $res = confirm($second, $page2, $s2);
    is $res->{status}, 302, 'the newer one is confirmed';
    is $redis->cli('EXISTS', 'totp:user:{alice}'), 1, 'alice is enrolled';
};

# The pre-session says the password was typed: written again by the gate
# or by the enroll page, it keeps the time the password was typed, and
# an hour after it, it is over.
subtest 'the password step lasts an hour from the password, at most' => sub {
    my $pre_key = cookie_key('E' x 32, 'pre',
                             'totp_password_file ' . $t_on->dir . '/htpasswd');
    my $aged = sub {
        my ($ua, %f) = @_;
        my $p = token_parse($ua->cookie('totp_pre'));
        $ua->set_cookie(totp_pre => token_sign(token_payload(%$p, %f),
                                               $pre_key));
    };
    my $written = sub {
        my ($res) = @_;
        my ($c) = grep { /^totp_pre=/ } @{ $res->{headers}{'set-cookie'} };
        my ($v) = ($c // '') =~ /^totp_pre=([^;]+)/;
        return token_parse($v);
    };

    my ($ua) = at_enrollment($t_on, 'hank');
    my $issued = time - 870;
    $aged->($ua, issued => $issued, expires => $issued + 900);
    my $res = $ua->get('/console/');
    is $res->{status}, 302, 'back at the console, 14.5 minutes on';
    my $p = $written->($res);
    ok $p && $p->{issued} == $issued && $p->{expires} == $issued + 900,
        '... the gate writes the pre-session again with its own times';

    $issued = time - 3000;
    $aged->($ua, issued => $issued, expires => $issued + 3600);
    $res = $ua->get('/_totp/enroll');
    is $res->{status}, 200, 'the secret, 50 minutes after the password';
    $p = $written->($res);
    ok $p && $p->{expires} == $issued + 3600,
        '... until an hour after the password, not after this visit';

    my $before = time;
    $res = login($ua, 'hank', $USERS{hank});
    $p = $written->($res);
    ok $p && $p->{issued} >= $before,
        'the password typed again: the hour starts again';

    $issued = time - 3660;
    $aged->($ua, issued => $issued, expires => time + 600);
    $res = $ua->get('/_totp/enroll');
    is $res->{status}, 302, 'an hour and a minute after the password';
    like $res->{headers}{location}, qr{/_totp/login}, '... sign in again';

    # typed again, the password starts a new hour, in the same browser
    $res = login($ua, 'hank', $USERS{hank});
    my $shown = $ua->get(path_of($res->{headers}{location}));
    is $shown->{status}, 200, 'the password typed again: the secret again';
    my $secret = secret_of($shown->{body});

    # the password file changes (a new password for hank, say): a
    # password typed before is not enough to enroll
    utime time, time + 2, $HTPASSWD or die "utime $HTPASSWD: $!";
    $res = $ua->get('/_totp/enroll');
    is $res->{status}, 302, 'the password file changed: no secret';
    like $res->{headers}{location}, qr{/_totp/login}, '... type it again';
    ok scalar(grep { /user "hank" must type the password again/ }
              $t_on->error_log), 'logged';
    utime time, time - 7200, $HTPASSWD or die "utime $HTPASSWD: $!";
    $res = login($ua, 'hank', $USERS{hank});
    $shown = $ua->get(path_of($res->{headers}{location}));
    is $shown->{status}, 200, '... and, typed again, the secret';
    is secret_of($shown->{body}), $secret,
        '... the same one: the browser kept its id';

    # a HEAD shows nothing: it ends no other browser's secret
    my ($first, $page) = at_enrollment($t_on, 'ivy');
    my $other = $t_on->ua;
    login($other, 'ivy', $USERS{ivy});
    is $other->head('/_totp/enroll')->{status}, 200, 'HEAD of the page';
    is confirm($first, $page, secret_of($page->{body}))->{status}, 302,
        '... the first browser\'s secret still confirms';
};

# bob's two browsers, both signed in, each try to change his device
subtest 'a change of device: the old one works until the new one is confirmed' => sub {
    my ($a, $page) = at_enrollment($t_on, 'bob');
    my $old = secret_of($page->{body});
    my $res = confirm($a, $page, $old);
    is $res->{status}, 302, 'bob enrolled';
    my $at = time;

    my $b = $t_on->ua;
    $res = login($b, 'bob', $USERS{bob});
    my ($code, $t1) = code_after($old, $at, period => $PERIOD);
    $res = verify($b, $res->{headers}{location}, $code);
    is $res->{status}, 302, 'bob signed in on a second browser';

    my $epoch = $redis->cli('HGET', 'totp:user:{bob}', 'epoch');

    my $begin = sub {
        my ($ua, $last) = @_;
        my $form = $ua->get('/_totp/reset');
        my ($c, $when) = code_after($old, $last, period => $PERIOD);
        my $r = $ua->post('/_totp/reset', { code => $c,
                                            csrf => field($form->{body}, 'csrf') });
        return ($r, $when);
    };

    my ($ra, $t2) = $begin->($a, $t1);
    is $ra->{status}, 200, 'the first browser begins a change';
    my $new_a = secret_of($ra->{body});

    # abandoned for now: bob is as before, on any browser
    my $c = $t_on->ua;
    $res = login($c, 'bob', $USERS{bob});
    like $res->{headers}{location}, qr{/_totp/verify}, 'a login still asks'
        . ' for the old device\'s code';
    my ($code3, $t3) = code_after($old, $t2, period => $PERIOD);
    is verify($c, $res->{headers}{location}, $code3)->{status}, 302,
        '... and the old device\'s code signs in';
    is $redis->cli('HGET', 'totp:user:{bob}', 'epoch'), $epoch,
        'the enrollment is unchanged';

    my ($rb) = $begin->($b, $t3);
    is $rb->{status}, 200, 'the second browser begins a newer change';
    my $new_b = secret_of($rb->{body});
    isnt $new_b, $new_a, '... with a secret of its own';

    $res = $a->post('/_totp/enroll', {
        code => TotpTest::totp_code($new_a, undef, period => $PERIOD),
        csrf => field($ra->{body}, 'csrf') });
    is $res->{status}, 409, 'the older change is void';
    like $res->{body}, qr/started in another browser/, '... and says why';
    is $redis->cli('HGET', 'totp:user:{bob}', 'epoch'), $epoch,
        '... nothing replaced';

    like admin('revoke', 'bob'), qr/pending device change voided/,
        'ops revoke bob';
    $res = $b->post('/_totp/enroll', {
        code => TotpTest::totp_code($new_b, undef, period => $PERIOD),
        csrf => field($rb->{body}, 'csrf') });
    is $res->{status}, 302, 'a change begun before a revoke';
    like $res->{headers}{location}, qr{/_totp/login}, '... sends to sign in';
    is $redis->cli('HGET', 'totp:user:{bob}', 'epoch'), $epoch,
        '... and replaces nothing';
};

subtest 'totp_enroll invite: one link, once, with the password' => sub {
    my ($ua, $page) = at_enrollment($t_inv, 'carol');
    is $page->{status}, 403, 'without an invitation: no enrollment';
    like $page->{body}, qr/You need an invitation/, '... and the page says so';
    is $redis->cli('EXISTS', 'totp:user:{carol}:enroll'), 0,
        '... and no secret made';

    my $port = $t_inv->port('http');
    my $out = admin('--url', "http://127.0.0.1:$port/_totp/", 'invite',
                    'carol');
    my ($link) = $out =~ m{^(http://\S+/_totp/invite\?t=\S+)$}m;
    ok $link, 'totp-admin invite prints a link' or diag $out;
    $link = path_of($link // '');

    # the secret's last character holds 2 bits: "B" is never well formed
    my %bad = (
        'a changed secret' => $link =~ s/(\.....)(.)/$1 . ($2 eq 'x' ? 'y' : 'x')/er,
        'a malformed secret' => $link =~ s/.$/B/r,
        'a short secret' => $link =~ s/.$//r,
        'no secret' => $link =~ s/\..*//r,
        'no token' => '/_totp/invite',
        'a name with a newline' => '/_totp/invite?t='
            . MIME::Base64::encode_base64url("carol\nx") . '.' . ('A' x 43),
    );
    for my $what (sort keys %bad) {
        is $t_inv->ua->get($bad{$what})->{status}, 404, "$what: 404";
    }

    # dave holds carol's link, but only his own password
    my $dave = $t_inv->ua;
    $dave->get($link);
    my $res = login($dave, 'dave', $USERS{dave});
    is $dave->get(path_of($res->{headers}{location}))->{status}, 403,
        'the link with another user\'s password enrolls nobody';

    $ua = $t_inv->ua;
    $res = $ua->get($link);
    is $res->{status}, 302, 'carol opens the link';
    like $res->{headers}{location}, qr{/_totp/login$}, '... on to sign in';
    ok scalar(grep { /user "carol" opened an invitation/ } $t_inv->error_log),
        'audited';

    $res = login($ua, 'carol', $USERS{carol});
    $page = $ua->get(path_of($res->{headers}{location}));
    is $page->{status}, 200, 'with the link and her password: the QR code';
    $res = confirm($ua, $page, secret_of($page->{body}));
    is $res->{status}, 302, 'carol enrolled';
    is $redis->cli('EXISTS', 'totp:user:{carol}'), 1, '... stored';
    is $redis->cli('EXISTS', 'totp:user:{carol}:invite'), 0,
        'the invitation is used up';
    ok scalar(grep { /user "carol" enrolled by invitation/ } $t_inv->error_log),
        'audited';
    is $t_inv->ua->get($link)->{status}, 404, 'the link works once';

    # gina's link is replaced while her QR code is open
    ($link) = admin('invite', 'gina') =~ /^(invite\?t=\S+)$/m;
    $ua = $t_inv->ua;
    $ua->get("/_totp/$link");
    $res = login($ua, 'gina', $USERS{gina});
    $page = $ua->get(path_of($res->{headers}{location}));
    is $page->{status}, 200, 'gina\'s QR code';
    admin('invite', 'gina');
    $res = confirm($ua, $page, secret_of($page->{body}));
    is $res->{status}, 403, 'a link replaced meanwhile confirms nothing';
    like $res->{body}, qr/This invitation does not work/, '... and says so';
    is $redis->cli('EXISTS', 'totp:user:{gina}'), 0, '... nothing stored';
};

subtest 'totp_enroll off: enrolled users only' => sub {
    my ($ua, $page) = at_enrollment($t_off, 'erin');
    is $page->{status}, 403, 'a user without an authenticator: refused';
    like $page->{body}, qr/Setup is closed/, '... and the page says so';
    is $redis->cli('EXISTS', 'totp:user:{erin}:enroll'), 0, 'no secret made';
    ok scalar(grep { /user "erin" may not enroll: totp_enroll is off/ }
              $t_off->error_log), 'logged';

    my ($on, $p) = at_enrollment($t_on, 'frank');
    my $secret = secret_of($p->{body});
    is confirm($on, $p, $secret)->{status}, 302, 'frank enrolled elsewhere';
    my $at = time;

    $ua = $t_off->ua;
    my $res = login($ua, 'frank', $USERS{frank});
    my ($code) = code_after($secret, $at, period => $PERIOD);
    is verify($ua, $res->{headers}{location}, $code)->{status}, 302,
        '... signs in where enrollment is off';
};

{
    local *Test::More::done_testing = sub {};
    $_->done for $t_inv, $t_off;
}

$t_on->done;
