#!/usr/bin/perl

# The gate's security promises, attacked from outside: methods that must
# not be redirected, open redirects through "next", cross-site form posts,
# hostile user names, altered and forged cookies, a dead Redis, and key
# rotation.  A real nginx in front of a real upstream, a real Redis, codes
# from oathtool only.
#
# Most attacks are made from a browser that alice trusts: there a login
# with the right password alone ends in a 302 to "next" with a new
# session, so an attack that wrongly got through would show as a session
# cookie and a Location, not merely as a different status.

use strict;
use warnings;

use Test::More;

use TotpTest;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);

use TotpGate qw(field gate_setup login enroll cookie_key token_parse
                token_payload token_sign register_session);

# Names the login must refuse with 400 are in the password file too, with
# the right password: if the name check went missing, these logins would
# go on to Redis and to enrollment, and the tests below would see it.
my %BAD_NAMES = (
    '257 bytes'  => 'a' x 257,
    '4 KB'       => 'b' x 4096,
    'NUL'        => "al\0ice",
    'CR'         => "al\rice",
    'TAB'        => "al\tice",
    'DEL (0x7f)' => "al\x7fice",
);

my %USERS = (
    alice => 'wonderland',
    bob   => 'builder',
    map { $_ => 'wonderland' } values %BAD_NAMES,
);

my $KEY = join '', map { chr(($_ * 37 + 11) % 256) } 1 .. 32;
my $NEW_KEY = join '', map { chr(($_ * 53 + 7) % 256) } 1 .. 32;
my $FOREIGN_KEY = join '', map { chr(($_ * 91 + 3) % 256) } 1 .. 32;

# revalidate 1s: the Redis-down test needs the cached check to age fast;
# 16k header buffers: an 8 KB cookie must reach the module, not be
# refused by nginx's request parser first
my %SETUP = (
    users    => \%USERS,
    location => '            totp_revalidate 1s;',
    server   => '        large_client_header_buffers 4 16k;',
);

my ($t, $redis, $port) = gate_setup(%SETUP, key => $KEY);

# the realm the gated location's cookie keys are bound to: its first
# factor as configured (gate_setup's password file)
my $REALM = 'totp_password_file ' . $t->dir . '/htpasswd';

my $BASE = "http://127.0.0.1:$port";


# --- helpers -----------------------------------------------------------

# the value a response sets for cookie $name, undef when it sets none
sub set_cookie {
    my ($res, $name) = @_;

    for (@{ $res->{headers}{'set-cookie'} // [] }) {
        return $1 if /^\Q$name\E=([^;]*)/;
    }

    return undef;
}

sub new_session {
    my ($res) = @_;
    my $v = set_cookie($res, 'totp_session');
    return defined $v && length $v;
}

sub from_upstream {
    my ($res) = @_;
    return ($res->{body} // '') =~ /^upstream /;
}

sub location { $_[0]{headers}{location} // '' }

# every byte but the unreserved ones percent-encoded
sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# printable, for test names
sub show {
    my ($s) = @_;
    $s =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return "\"$s\"";
}

# The answer to a gated request without a valid session: the gate's 302
# to its login page, carrying the path asked for, and nothing of the
# upstream.
sub refused_to_login {
    my ($res, $path, $name) = @_;

    subtest $name => sub {
        is $res->{status}, 302, 'status 302';
        is location($res), "$BASE/_totp/login?next=" . esc_path($path),
            'to the login page, with next';
        ok !from_upstream($res), 'upstream not reached';
        ok !new_session($res), 'no session issued';
    };
}

# as the gate escapes the URI it sends to the login page
sub esc_path {
    my ($s) = @_;
    $s =~ s{([^A-Za-z0-9_.~/-])}{sprintf '%%%02X', ord $1}ge;
    return $s;
}

sub epoch_of {
    my ($user) = @_;
    return pack 'H*', scalar $redis->cli('HGET', "totp:user:{$user}", 'epoch');
}

# calls per command since the last CONFIG RESETSTAT, leaving out what
# the test itself sends through redis-cli
sub redis_calls {
    my %calls;

    for ($redis->cli('INFO', 'commandstats')) {
        next unless /^cmdstat_([^:]+):calls=(\d+)/;
        next if $1 =~ /^(config|info)\b/;     # "config|resetstat" in 7.x
        $calls{$1} = $2;
    }

    return \%calls;
}


# --- the users ---------------------------------------------------------

# alice enrolls trusting this browser; her trust cookie then makes
# "trusted browsers" for the tests below.  bob enrolls too: his epoch
# serves to forge a cookie that names him.

my $ua = $t->ua;
my $res = login($ua, 'alice', $USERS{alice}, next => esc('/welcome'));
like location($res), qr{^\Q$BASE\E/_totp/enroll\?}, 'alice: to enrollment';

($res) = enroll($ua, location($res), trust => 1);
is $res->{status}, 302, 'alice enrolled';
is location($res), "$BASE/welcome", 'alice lands on next';

my $TRUST = $ua->cookie('totp_trust');
my $SESSION = $ua->cookie('totp_session');
ok $TRUST && $SESSION, 'alice has a session and a trust cookie'
    or BAIL_OUT('no cookies from the enrollment, nothing below can work');

my $bob = $t->ua;
$res = login($bob, 'bob', $USERS{bob});
($res) = enroll($bob, location($res));
is $res->{status}, 302, 'bob enrolled';
ok $bob->cookie('totp_session'), 'bob has a session';

sub trusted_browser {
    my $b = $t->ua;
    $b->set_cookie(totp_trust => $TRUST);
    return $b;
}

# The login page (with ?next=$o{query} as given, raw) then its form
# posted back with alice's password; $o{next}, when it exists, replaces
# the page's hidden "next"; $o{form} adds or replaces fields; $o{headers}
# go with the POST.  Returns (POST's answer, page).
sub password_login {
    my ($b, %o) = @_;

    my $page = $b->get('/_totp/login'
                       . (defined $o{query} ? "?next=$o{query}" : ''));
    die "login page: $page->{status}\n" unless $page->{status} == 200;

    my %form = (
        user     => 'alice',
        password => $USERS{alice},
        csrf     => field($page->{body}, 'csrf'),
        next     => exists $o{next} ? $o{next} : field($page->{body}, 'next'),
        %{ $o{form} // {} },
    );

    delete @form{ grep { !defined $form{$_} } keys %form };

    return ($b->post('/_totp/login', \%form, $o{headers}), $page);
}


# --- 1. methods ----------------------------------------------------------

# Only GET and HEAD may be sent to the login page: a redirected POST or
# PUT would lose its body, or be replayed as a GET by the browser.  The
# same methods with a session reach the upstream, so that the 401s are
# the gate's doing.

subtest 'gated requests without a session: 401 for writes, 302 for reads'
=> sub {
    my $b = $t->ua;

    for my $m (qw(POST PUT DELETE PATCH)) {
        my $r = $b->request($m, '/console/item?id=1', {},
                            $m eq 'DELETE' ? undef : 'a=1');
        is $r->{status}, 401, "$m without a session: 401";
        ok !from_upstream($r), "$m: upstream not reached";
        is location($r), '', "$m: no redirect";
    }

    my $r = $b->head('/console/item?id=1');
    is $r->{status}, 302, 'HEAD without a session: 302';
    is location($r), "$BASE/_totp/login?next=/console/item%3Fid%3D1",
        'HEAD: to the login page with the URI as next';

    refused_to_login($b->get('/console/item?id=1'), '/console/item?id=1',
                     'GET without a session: 302 to login');

    my $s = $t->ua;
    $s->set_cookie(totp_session => $SESSION);

    for my $m (qw(POST PUT DELETE)) {
        my $r = $s->request($m, '/console/item', {},
                            $m eq 'DELETE' ? undef : 'a=1');
        is $r->{status}, 200, "$m with a session: 200";
        like $r->{body}, qr{^upstream user=alice\b.* uri=/console/item$}m,
            "$m with a session reaches the upstream as alice";
    }
};


# --- 2. open redirects -------------------------------------------------

# "next" ends up in the Location of the answer that signs the user in:
# anything but a same-site absolute path must land on "/".  Each value is
# tried as the login page's query parameter (percent-encoded, as the gate
# itself would send it) and as the posted form field; a few more come as
# raw query strings an attacker would type, and two through the gate's
# own redirect.  Every answer must be the sign-in itself (a new session),
# so the Location checked is the one that counts.

subtest 'next: only same-site absolute paths are followed' => sub {
    my @refused = (
        '//x', '//evil.test/', '/\\x', '/\\/evil.test', '/x\\y',
        'https://x', 'http:/x', 'http://evil.test/', 'HTTPS://evil.test',
        '/%2F%2Fx', '/%2f%2fx', '/%2Fx', '/%5Cx', '/%5cevil.test',
        '//x%09', "/\tx", "/\nx", "/\rx", "/\0x", "/x\x7f",
        "/x\r\nSet-Cookie: a=b", 'javascript:alert(1)', ' /x', '/a b',
        "/caf\xc3\xa9", 'x', '.', 'evil.test/x',
        # browsers drop tabs and line breaks: one more decoding of these
        # is "//evil.test" (found by t/fuzz, fuzz_next)
        '/%09/evil.test', '/%0a%2fevil.test', '/%0D/evil.test', '/a%7f',
    );

    my $good = '/ok/path?a=1&b=2';

    # $expect: the Location's path; the hidden field shows the same
    my $check = sub {
        my ($how, $next, $res, $page, $expect) = @_;

        my $name = "$how " . show($next);

        subtest $name => sub {
            is $res->{status}, 302, 'signed in with a 302';
            ok new_session($res), 'a session was issued';
            is location($res), "$BASE$expect", "lands on $expect";
            like location($res), qr{^\Q$BASE\E/(?!/)}, 'never off-site';
            ok !defined set_cookie($res, 'a'), 'no injected cookie';
            is field($page->{body}, 'next'), $expect,
                'the form carries the validated next' if $page;
        };
    };

    for my $next (@refused, $good) {
        my $expect = $next eq $good ? $good : '/';

        my ($r, $page) = password_login(trusted_browser(),
                                        query => esc($next));
        $check->('query', $next, $r, $page, $expect);

        ($r) = password_login(trusted_browser(), next => $next);
        $check->('form', $next, $r, undef, $expect);
    }

    # raw query strings: decoded once by the login page, then validated
    my %raw = (
        '//evil.test'              => '/',
        '%2F%2Fevil.test'          => '/',
        '/%2F%2Fevil.test'         => '/',
        '/%5Cevil.test'            => '/',
        '%5C%5Cevil.test'          => '/',
        '/%252F%252Fevil.test'     => '/',
        '%252F%252Fevil.test'      => '/',
        'https:%2F%2Fevil.test'    => '/',
        '/x%0D%0ASet-Cookie:+a=b'  => '/',
        '/+x'                      => '/',
        '%20/x'                    => '/',
        '/ok/path%3Fa%3D1%26b%3D2' => $good,
    );

    for my $q (sort keys %raw) {
        my ($r, $page) = password_login(trusted_browser(), query => $q);
        $check->('raw query', $q, $r, $page, $raw{$q});
    }

    # a second "next" in the form must not smuggle one past the check:
    # refused, or "/"
    my $b = trusted_browser();
    my $page = $b->get('/_totp/login');
    my $r = $b->post('/_totp/login', {
        user => 'alice', password => $USERS{alice},
        csrf => field($page->{body}, 'csrf'),
        next => [ '/ok', '//evil.test/' ],
    });
    ok $r->{status} != 302 || location($r) eq "$BASE/",
        "two next fields: no redirect but to / ($r->{status})";

    # through the gate: the URI asked for becomes next, then the login
    for my $uri ('/ok/path?a=1&b=2', '//evil.test/x', '/%2F%2Fevil.test') {
        my $b = trusted_browser();

        my $r = $b->get($uri);
        is $r->{status}, 302, "gate: $uri redirected";
        like location($r), qr{^\Q$BASE\E/_totp/login\?next=},
            "gate: $uri to the login page of this site";

        (my $q = location($r)) =~ s/^.*?\?next=//;

        my $page;
        ($r, $page) = password_login($b, query => $q);
        $check->('gate', $uri, $r, $page, $uri eq $good ? $good : '/');
    }
};


# --- 3. cross-site posts -----------------------------------------------

# A form post needs the CSRF token bound to this browser's pre-session
# cookie, and an Origin, when one is sent, of this very host.  Each
# refused post carries alice's right password from a trusted browser:
# were the check missing, the answer would be a sign-in.  Without a
# pre-session (it expired while the form stood open), the form comes
# again with a fresh token: nothing done, nothing refused.

subtest 'CSRF token and Origin' => sub {
    my $refused = sub {
        my ($res, $name) = @_;

        subtest $name => sub {
            is $res->{status}, 403, 'status 403';
            ok !defined set_cookie($res, 'totp_session'),
                'no Set-Cookie totp_session';
            is location($res), '', 'no redirect';
        };
    };

    my $again = sub {
        my ($res, $name) = @_;

        subtest $name => sub {
            is $res->{status}, 200, 'status 200: the form again';
            ok !defined set_cookie($res, 'totp_session'),
                'no Set-Cookie totp_session';
            is location($res), '', 'no redirect';
            like $res->{body}, qr/open for a long time, so nothing was sent/,
                'the page says why';
            like $res->{body}, qr/name="password"/, 'the login form';
            like set_cookie($res, 'totp_pre') // '', qr/\S/,
                'a fresh pre-session';
            my $csrf = field($res->{body}, 'csrf') // '';
            like $csrf, qr/^[A-Za-z0-9_-]{22}$/, 'with a fresh token';
        };
    };

    my ($r, $page);

    ($r) = password_login(trusted_browser(), form => { csrf => undef });
    $refused->($r, 'no csrf field');

    ($r) = password_login(trusted_browser(), form => { csrf => '' });
    $refused->($r, 'empty csrf field');

    ($r) = password_login(trusted_browser(),
                          form => { csrf => 'A' x 22 });
    $refused->($r, 'wrong csrf of the right length');

    # another browser's token, its cookie staying there
    my $other = $t->ua;
    my $their = field($other->get('/_totp/login')->{body}, 'csrf');

    ($r) = password_login(trusted_browser(), form => { csrf => $their });
    $refused->($r, "another browser's csrf token");

    # this browser's token, without the cookie it is bound to
    my $b = trusted_browser();
    $page = $b->get('/_totp/login');
    $b->set_cookie(totp_pre => undef);

    $r = $b->post('/_totp/login', {
        user => 'alice', password => $USERS{alice},
        csrf => field($page->{body}, 'csrf'), next => '/',
    });
    $again->($r, 'no totp_pre cookie');
    like $r->{body}, qr/value="alice"/, '... the name typed kept';
    unlike $r->{body}, qr/\Q$USERS{alice}\E/, '... the password not';

    # the token with another browser's pre cookie
    $b = trusted_browser();
    $page = $b->get('/_totp/login');
    $b->set_cookie(totp_pre => $other->cookie('totp_pre'));

    $r = $b->post('/_totp/login', {
        user => 'alice', password => $USERS{alice},
        csrf => field($page->{body}, 'csrf'), next => '/',
    });
    $refused->($r, "another browser's totp_pre cookie");

    # a pre-session forged under another key file, with the token that
    # key gives, is no pre-session; the same forged under this key file
    # is one (the control: the forgery itself is right)
    my $forge_pre = sub {
        my ($master) = @_;

        my $nonce = join '', map { chr int rand 256 } 1 .. 16;
        my $pre = token_sign(token_payload(
            purpose => 'p', expires => time + 600, epoch => "\0" x 16,
            nonce => $nonce, user => '',
        ), cookie_key($master, 'pre', $REALM));
        my $csrf = encode_base64url(
            substr hmac_sha256($nonce, cookie_key($master, 'csrf')), 0, 16);

        my $b = trusted_browser();
        $b->set_cookie(totp_pre => $pre);

        return $b->post('/_totp/login', {
            user => 'alice', password => $USERS{alice}, csrf => $csrf,
            next => '/',
        });
    };

    $again->($forge_pre->($FOREIGN_KEY),
             'a pre-session and token forged under a foreign key');

    $r = $forge_pre->($KEY);
    is $r->{status}, 302, 'control: forged under the right key, accepted';
    ok new_session($r), 'control: and signed in';

    for my $origin ('http://evil.test', 'null', 'http://127.0.0.1',
                    "http://127.0.0.1:$port.evil.test",
                    "http://evil.test/127.0.0.1:$port",
                    "http://127.0.0.1:${port}0", "127.0.0.1:$port",
                    "ftp://127.0.0.1:$port", '')
    {
        ($r) = password_login(trusted_browser(),
                              headers => { Origin => $origin });
        $refused->($r, 'Origin ' . show($origin));
    }

    ($r) = password_login(trusted_browser(), headers => {
        Origin => [ "http://127.0.0.1:$port", 'http://evil.test' ] });
    $refused->($r, 'two Origin headers, one foreign');

    # "Origin: null" is what Chromium sends for the pages' own forms under
    # their Referrer-Policy: no-referrer; only Sec-Fetch-Site tells them
    # from a sandboxed or cross-site form
    for my $site ('cross-site', 'same-site', 'none', '') {
        ($r) = password_login(trusted_browser(), headers => {
            Origin => 'null', 'Sec-Fetch-Site' => $site });
        $refused->($r, 'Origin null, Sec-Fetch-Site ' . show($site));
    }

    ($r) = password_login(trusted_browser(), headers => {
        Origin => 'null', 'Sec-Fetch-Site' => [ 'same-origin', 'cross-site' ] });
    $refused->($r, 'Origin null, two Sec-Fetch-Site headers');

    ($r) = password_login(trusted_browser(), headers => {
        Origin => 'null', 'Sec-Fetch-Site' => 'same-origin' });
    is $r->{status}, 302, 'Origin null, Sec-Fetch-Site same-origin: accepted';
    ok new_session($r), '... and signed in';

    # the host alone counts: TLS may end in front of nginx
    for my $origin ("http://127.0.0.1:$port", "https://127.0.0.1:$port")
    {
        ($r) = password_login(trusted_browser(),
                              headers => { Origin => $origin });
        is $r->{status}, 302, 'Origin ' . show($origin) . ': accepted';
        ok new_session($r), 'Origin ' . show($origin) . ': signed in';
    }

    ($r) = password_login(trusted_browser());
    is $r->{status}, 302, 'no Origin: accepted';
    ok new_session($r), 'no Origin: signed in';

    # the other forms are guarded alike: a forged logout does not end
    # the session (the control, with the page's own token, does: so it
    # is a session of its own, not $SESSION, which later tests use)
    my $s = trusted_browser();
    ($r) = password_login($s);
    ok new_session($r), 'a session of its own for the logout';
    $page = $s->get('/_totp/logout');
    is $page->{status}, 200, 'the logout page';

    $r = $s->post('/_totp/logout', { csrf => 'A' x 22 });
    is $r->{status}, 403, 'logout with a wrong csrf: 403';
    ok !defined set_cookie($r, 'totp_session'), 'the session stays';

    $r = $s->post('/_totp/logout', { csrf => field($page->{body}, 'csrf') },
                  { Origin => 'http://evil.test' });
    is $r->{status}, 403, 'logout from a foreign origin: 403';
    ok !defined set_cookie($r, 'totp_session'), 'the session stays';

    $r = $s->post('/_totp/logout', { csrf => field($page->{body}, 'csrf') });
    is $r->{status}, 200, 'control: logout with its token';
    is set_cookie($r, 'totp_session'), '', 'control: the session cleared';

    $r = $t->ua->post('/_totp/verify', { code => '123456', csrf => 'x' });
    $again->($r, 'verify without a pre-session: the login form again');
};


# --- 4. user names -----------------------------------------------------

# Names that cannot be user names are refused before anything else, and
# never reach Redis, where they would make keys.  The bad names are in
# the password file with the right password (see %BAD_NAMES), so only
# the name check stands between them and Redis.  A good name with the
# right password is the control: it does reach Redis, so the count works.

subtest 'user names: refused with 400, nothing reaches Redis' => sub {
    my $post = sub {
        my ($user, %o) = @_;

        my $b = $t->ua;
        my $page = $b->get('/_totp/login');

        my %form = (password => $o{password} // 'wonderland',
                    csrf => field($page->{body}, 'csrf'), next => '/');
        $form{user} = $user if defined $user;

        return $b->post('/_totp/login', \%form);
    };

    my %names = (%BAD_NAMES, 'LF' => "al\nice", 'empty' => '');

    $redis->cli('CONFIG', 'RESETSTAT');

    for my $what (sort keys %names) {
        my $r = $post->($names{$what});
        is $r->{status}, 400, "user name $what: 400";
        ok !defined set_cookie($r, 'totp_session'), "$what: no session";
        unlike location($r), qr/enroll|verify/, "$what: no next step";
    }

    my $r = $post->(undef);
    is $r->{status}, 400, 'no user field: 400';

    # 10 KB: more than a form may hold; refused before any field is
    # looked at, with the 400 of docs/pages.md
    $r = $post->('c' x 10240);
    is $r->{status}, 400, 'user name of 10 KB: 400';
    ok !defined set_cookie($r, 'totp_session'), '10 KB: no session';

    is_deeply redis_calls(), {}, 'Redis saw no command'
        or diag explain redis_calls();

    # the longest name allowed is a name: a wrong password, not a 400,
    # and a failure counted against that name in Redis
    $r = $post->('d' x 256);
    is $r->{status}, 401, 'user name of 256 bytes: a name (401)';
    ok redis_calls()->{evalsha}, '... counted as a failure in Redis';

    $r = $post->('alice');
    is $r->{status}, 302, 'control: alice signs in';
    ok scalar(keys %{ redis_calls() }), 'control: that reached Redis';
};


# --- 5. altered and forged cookies ---------------------------------------

# A session cookie is only as good as its MAC.  Each altered cookie is
# sent alone to its own path; the gate must redirect to the login page,
# and the upstream's log must show none of these paths.  The control, a
# session built and signed here with the right derived key, is let
# through: so the refusals come from the MAC and the fields, not from
# some difference in how these cookies were made.

subtest 'altered and forged session cookies are refused' => sub {
    my $s = token_parse($SESSION);
    ok $s, 'the session cookie parses' or return;

    is $s->{version}, 2, 'version 2';
    is $s->{purpose}, 's', 'purpose s';
    is $s->{user}, 'alice', 'user alice';
    is $s->{epoch}, epoch_of('alice'), "alice's epoch from Redis";
    ok $s->{expires} > time && $s->{expires} <= time + 12 * 3600 + 60,
        'expires within the session ttl';

    my $session_key = cookie_key($KEY, 'session', $REALM);
    my $trust_key = cookie_key($KEY, 'trust', $REALM);

    is token_sign($s->{payload}, $session_key), $SESSION,
        'the Perl MAC matches the module\'s';

    my $flip = sub {
        my ($bytes, $i) = @_;
        substr($bytes, $i, 1) = chr(ord(substr $bytes, $i, 1) ^ 0x01);
        return $bytes;
    };

    my %f = map { $_ => $s->{$_} }
            qw(version purpose flags expires issued epoch nonce profile user);

    my $signed = sub { token_sign(token_payload(%f, @_), $session_key) };

    my %cases = (
        'payload: a nonce byte flipped' =>
            token_sign($flip->($s->{payload}, 40), undef, mac => $s->{mac}),
        'payload: the purpose byte flipped' =>
            token_sign($flip->($s->{payload}, 1), undef, mac => $s->{mac}),
        'mac: first byte flipped' =>
            token_sign($s->{payload}, undef, mac => $flip->($s->{mac}, 0)),
        'mac: last byte flipped' =>
            token_sign($s->{payload}, undef, mac => $flip->($s->{mac}, 31)),
        'user changed to bob, with his epoch, mac kept' =>
            token_sign(token_payload(%f, user => 'bob',
                                     epoch => epoch_of('bob')),
                       undef, mac => $s->{mac}),
        'expiry a year later, mac kept' =>
            token_sign(token_payload(%f, expires => $f{expires} + 365 * 86400),
                       undef, mac => $s->{mac}),
        'signed with a foreign key file' =>
            token_sign($s->{payload}, cookie_key($FOREIGN_KEY, 'session', $REALM)),
        'signed with the trust key' =>
            token_sign($s->{payload}, $trust_key),
        'signed with the pre-session key' =>
            token_sign($s->{payload}, cookie_key($KEY, 'pre', $REALM)),
        'signed with the key file itself' =>
            token_sign($s->{payload}, $KEY),
        'a trust cookie as totp_session' => $TRUST,
        'purpose t, signed with the session key' =>
            $signed->(purpose => 't'),
        'version 1, right key' => $signed->(version => 1),
        'version 3, right key' => $signed->(version => 3),
        'expired, right key' => $signed->(expires => time - 1),
        'issued longer ago than the session ttl, right key' =>
            $signed->(issued => time - 12 * 3600 - 1),
        'a random epoch, right key' =>
            $signed->(epoch => pack('H*', 'f00d' x 8)),
        'user_len one too long, right key' =>
            $signed->(user_len => length($f{user}) + 1),
        'user_len one too short, right key' =>
            $signed->(user_len => length($f{user}) - 1),
        'empty user, right key' => $signed->(user => ''),
        'truncated by one character' => substr($SESSION, 0, -1),
        'truncated to the payload' => (split /\./, $SESSION)[0],
        'truncated to half' => substr($SESSION, 0, length($SESSION) / 2),
        'padded base64' => "$SESSION=",
        'empty' => '',
        '8 KB of garbage' =>
            join('', map { ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_', '.')
                           [($_ * 7919) % 65] } 1 .. 8192),
    );

    my $n = 0;
    my %path;

    for my $case (sort keys %cases) {
        my $path = '/tamper/' . ++$n;
        $path{$path} = $case;

        my $b = $t->ua;
        $b->set_cookie(totp_session => $cases{$case});

        refused_to_login($b->get($path), $path, $case);
    }

    # the control, and the proof that this way of sending cookies works
    my $forged = token_sign(token_payload(
        purpose => 's', expires => time + 600, epoch => epoch_of('alice'),
        nonce => join('', map { chr int rand 256 } 1 .. 16), user => 'alice',
    ), $session_key);

    # registered in Redis as the module registers the sessions it makes
    register_session($redis, $forged, key => $KEY,
                     file => $t->dir . '/htpasswd');

    my $b = $t->ua;
    $b->set_cookie(totp_session => $forged);
    my $r = $b->get('/tamper/control');
    is $r->{status}, 200, 'control: a session signed here with the '
        . 'right derived key is accepted';
    like $r->{body}, qr{^upstream user=alice\b.* uri=/tamper/control$}m,
        'control: the upstream sees alice';

    # a session cookie where the trust cookie goes does not skip the code
    $b = $t->ua;
    $b->set_cookie(totp_trust => $SESSION);
    ($r) = password_login($b);
    is $r->{status}, 302, 'session as totp_trust: a 302';
    like location($r), qr{^\Q$BASE\E/_totp/verify(?:\?|$)},
        'session as totp_trust: the code is still asked';
    ok !new_session($r), 'session as totp_trust: no session';

    ($r) = password_login(trusted_browser());
    ok new_session($r), 'control: the real trust cookie skips the code';

    # alice's trust cookie does not skip bob's code
    ($r) = password_login(trusted_browser(),
                          form => { user => 'bob', password => $USERS{bob} });
    like location($r), qr{^\Q$BASE\E/_totp/verify(?:\?|$)},
        "alice's trust cookie, bob's password: bob's code is asked";
    ok !new_session($r), "alice's trust cookie, bob's password: no session";

    # the upstream logs what reached it (proxied as HTTP/1.0); the
    # control's line comes, none of the altered ones' ever does
    my $reached = sub {
        map { m{"GET (/tamper/\S+) HTTP/1\.0"} ? $1 : () } $t->access_log;
    };

    ok $t->wait_for(sub { grep { $_ eq '/tamper/control' } $reached->() },
                    undef, 'the control in the access log'),
        'control: the upstream logged it';

    is_deeply [ grep { $path{$_} } $reached->() ], [],
        'no altered cookie reached the upstream';
};


# --- 6. Redis down -------------------------------------------------------

# Fail closed: when Redis does not answer, a login is a 503, and a
# session whose cached check has aged out is a 503 too, never a pass.
# Redis back (with the users' state restored, as a restart of a real,
# persisting Redis would), everything works again.

subtest 'Redis down: 503, never the upstream; back: works again' => sub {
    my %saved = map {
        my $key = $_;
        ($key => [ $redis->cli('HGETALL', $key) ]);
    } map { ("totp:user:{$_}", "totp:user:{$_}:sessions") } qw(alice bob);

    my $s = $t->ua;
    $s->set_cookie(totp_session => $SESSION);

    my $r = $s->get('/console');
    is $r->{status}, 200, 'a session passes while Redis is up';

    $redis->stop;

    my ($login) = password_login(trusted_browser());
    is $login->{status}, 503, 'login with the right password: 503';
    ok !new_session($login), 'login: no session';
    is location($login), '', 'login: no redirect';

    # until its cached check (1s) ages out the session may still pass;
    # after that, only 503s
    my $seen;
    ok $t->wait_for(sub {
        $seen = $s->get('/console');
        $seen->{status} == 503;
    }, undef, 'a 503 for the session'), 'a session once its check aged: 503'
        or diag "last answer: $seen->{status}";

    for my $i (1 .. 3) {
        $r = $s->get("/console/$i");
        is $r->{status}, 503, "and again ($i): 503";
        ok !from_upstream($r), "($i): upstream not reached";
    }

    $r = $s->request('POST', '/console', {}, 'a=1');
    is $r->{status}, 503, 'a POST with the session: 503';
    ok !from_upstream($r), 'POST: upstream not reached';

    $redis->start;

    for my $key (sort keys %saved) {
        $redis->cli('HSET', $key, @{ $saved{$key} }) if @{ $saved{$key} };
    }

    ok $t->wait_for(sub { $s->get('/console')->{status} == 200 }, undef,
                    'the session to pass again'),
        'Redis back: the session passes again';

    $r = $s->get('/console/back');
    like $r->{body}, qr{^upstream user=alice\b.* uri=/console/back$}m,
        'Redis back: the upstream sees alice';

    ($login) = password_login(trusted_browser());
    is $login->{status}, 302, 'Redis back: login works';
    ok new_session($login), 'Redis back: login signs in';
};


# --- 7. key rotation -----------------------------------------------------

# A new key file with the old one as totp_key_file_previous: cookies
# signed with the old key keep working, every new cookie is signed with
# the new one.  Without the previous key, the old cookies stop working.
# Runs last: it retires the key alice's trust cookie was signed with.

subtest 'key rotation' => sub {
    my $old = $t->write_file('old.key', $KEY);

    # a login form shown before the rotation, posted after it
    my $before = trusted_browser();
    my $before_page = $before->get('/_totp/login');

    # the same password file: written anew, with new salts, it would end
    # every session, as a changed password does
    my $pw = $t->dir . '/htpasswd';

    gate_setup(%SETUP, t => $t, redis => $redis, key => $NEW_KEY,
               password_file => $pw,
               http => "    totp_key_file_previous $old;", no_run => 1);
    $t->reload;

    my $s = $t->ua;
    $s->set_cookie(totp_session => $SESSION);

    my $r = $s->get('/rotation/old');
    is $r->{status}, 200, 'with the previous key: an old session passes';
    like $r->{body}, qr/^upstream user=alice /m, 'as alice';

    my ($login, $page) = password_login(trusted_browser());
    is $login->{status}, 302, 'with the previous key: an old trust cookie '
        . 'still skips the code';

    my $new = set_cookie($login, 'totp_session');
    ok $new, 'a new session';

    my $p = token_parse($new);
    is token_sign($p->{payload}, cookie_key($NEW_KEY, 'session', $REALM)), $new,
        'the new session is signed with the new key';
    isnt token_sign($p->{payload}, cookie_key($KEY, 'session', $REALM)), $new,
        'not with the old one';

    my $pre = set_cookie($page, 'totp_pre');
    $p = token_parse($pre);
    is token_sign($p->{payload}, cookie_key($NEW_KEY, 'pre', $REALM)), $pre,
        'a new pre-session is signed with the new key';

    {
        $r = $before->post('/_totp/login', {
            user => 'alice', password => $USERS{alice},
            csrf => field($before_page->{body}, 'csrf'), next => '/',
        });
        is $r->{status}, 302,
            'a login form shown before the rotation still works after it';
    }

    gate_setup(%SETUP, t => $t, redis => $redis, key => $NEW_KEY,
               password_file => $pw, no_run => 1);
    $t->reload;

    refused_to_login($s->get('/rotation/gone'), '/rotation/gone',
                     'without the previous key: the old session is refused');

    my $n = $t->ua;
    $n->set_cookie(totp_session => $new);
    $r = $n->get('/rotation/new');
    is $r->{status}, 200, 'the session signed with the new key passes';
    like $r->{body}, qr/^upstream user=alice /m, 'as alice';

    ($login) = password_login(trusted_browser());
    is $login->{status}, 302, 'old trust cookie: a 302';
    like location($login), qr{^\Q$BASE\E/_totp/verify(?:\?|$)},
        'without the previous key: the old trust cookie no longer skips '
        . 'the code';
    ok !new_session($login), 'and gives no session';
};

$t->done;
