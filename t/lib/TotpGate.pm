package TotpGate;

# What the gate's tests share: a gated console behind a real proxy_pass,
# and the steps a person takes through the pages (read the form, post it
# back with its CSRF token, scan the secret, type the code).

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use Exporter qw(import);
use MIME::Base64 qw(encode_base64url decode_base64url);
use Time::HiRes ();
use Test::More;

use TotpTest;

our @EXPORT_OK = qw(field secret_of gate_setup login enroll verify
                    sign_in_next code_after slow_hash hkdf_sha256 cookie_key token_parse
                    token_payload token_sign user_key TOKEN_VERSION
                    register_session session_command session_field);

# A TotpTest with Redis, a key file, a password file and nginx running a
# gated console that proxies to an upstream echoing what reached it.
# %o: users ({ name => password }), http (extra http lines), location
# (extra lines in the gated location), server (extra server lines),
# workers, redis (an existing TotpTest::Redis), key (key bytes),
# password_file and key_file (files already written, used as they are:
# several instances configured alike, as cookies are bound to the
# password file's path as written), pages (the totp_pages location's
# prefix, /_totp/ unless set), pages_location (extra lines in it),
# events (extra lines in the events block) and main (extra lines at the
# top, such as thread_pool).
sub gate_setup {
    my (%o) = @_;

    my $t = $o{t} // TotpTest->new;
    my $redis = $o{redis} // $t->redis;
    my $port = $t->port('http');
    my $up = $t->port('http_upstream');

    my $users = $o{users} // { alice => 'wonderland' };

    my $htpasswd = join '', map {
        my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1',
                                             $users->{$_});
        chomp $hash;
        "$_:$hash\n";
    } sort keys %$users;

    my $pw = $o{password_file} // $t->write_file('htpasswd', $htpasswd);
    my $key = $o{key_file}
              // $t->write_file('totp.key', $o{key} // ('k' x 16 . 'K' x 16));

    # Tests about other things would trip over the defaults: every request
    # comes from 127.0.0.1, and an enrollment would end on the recovery
    # codes page.  limits and recovery give them back.
    my $limits = $o{limits} // "totp_fail_limit 1000 1m;\n"
                               . "    totp_fail_limit_user 1000 1m;\n"
                               . "    totp_fail_limit_ip 1000 1m;";
    my $recovery = $o{recovery} // 0;

    my $http = "    $limits\n    totp_recovery_codes $recovery;\n"
               . ($o{http} // '');
    my $location = $o{location} // '';
    my $server = $o{server} // '';
    my $pages = $o{pages} // '/_totp/';
    my $pages_location = $o{pages_location} // '';

    my %write = (workers => $o{workers} // 2, events => $o{events},
                 main => $o{main});

    $t->write_config(<<"EOF", %write);
    totp_key_file $key;
    totp_redis @{[ $redis->addr ]};
$http

    server {
        listen 127.0.0.1:$up;

        location / {
            return 200 "upstream user=\$http_remote_user status=\$http_x_totp_status uri=\$request_uri\\n";
        }
    }

    server {
        listen 127.0.0.1:$port;
        server_name console.test;
$server

        location ^~ $pages {
            totp_pages;
$pages_location
        }

        location / {
            totp on;
            totp_password_file $pw;
$location
            proxy_set_header Remote-User \$totp_user;
            proxy_set_header X-Totp-Status \$totp_status;
            proxy_pass http://127.0.0.1:$up;
        }
    }
EOF

    $t->run unless $o{no_run};

    return ($t, $redis, $port);
}

# A SHA-512 crypt(3) hash of $password whose rounds take about $seconds
# in this process, on this machine (nginx's crypt_r() is the same C
# library's); returns (hash, rounds).
sub slow_hash {
    my ($password, $seconds) = @_;

    my $crypt = sub { return crypt($_[0], $_[1]) };   # not folded by Perl

    my $probe = 100000;
    my $start = Time::HiRes::time();
    $crypt->('probe', '$6$rounds=' . $probe . '$probesalt$');
    my $took = (Time::HiRes::time() - $start) || 0.001;

    my $rounds = int($probe * $seconds / $took);
    $rounds = $rounds < 1000 ? 1000 : $rounds > 999_999_999 ? 999_999_999
                                                             : $rounds;

    return ($crypt->($password, '$6$rounds=' . $rounds . '$slowsalt$'),
            $rounds);
}

# The value of the input named $name in a page, HTML entities decoded.
sub field {
    my ($html, $name) = @_;

    for my $input ($html =~ /(<input\b[^>]*>)/gis) {
        next unless $input =~ /\bname="\Q$name\E"/;
        my ($v) = $input =~ /\bvalue="([^"]*)"/;
        return _unescape($v // '');
    }

    return undef;
}

# The enrollment page's secret, as a person would type it (no spaces).
sub secret_of {
    my ($html) = @_;

    my ($text) = $html =~ /id="totp-secret"[^>]*>([^<]*)</s;
    return undef unless defined $text;

    $text =~ s/\s+//g;
    return $text;
}

sub _unescape {
    my ($s) = @_;
    $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;
    $s =~ s/&quot;/"/g;
    $s =~ s/&#39;/'/g;
    $s =~ s/&amp;/&/g;
    return $s;
}

# GET the login page, post user and password; returns the POST's answer.
sub login {
    my ($ua, $user, $password, %o) = @_;

    my $page = $ua->get('/_totp/login' . ($o{next} ? "?next=$o{next}" : ''));
    die "login page: $page->{status}\n" unless $page->{status} == 200;

    return $ua->post('/_totp/login', {
        user => $user,
        password => $password,
        csrf => field($page->{body}, 'csrf'),
        next => field($page->{body}, 'next'),
    });
}

# From a redirect to the enrollment page: GET it, read the secret, post a
# code from oathtool.  Returns (answer to the POST, secret).
sub enroll {
    my ($ua, $location, %o) = @_;

    my $page = $ua->get(_path($location));
    die "enroll page: $page->{status} ($location -> $page->{headers}{location})\n"
        unless $page->{status} == 200;

    my $secret = secret_of($page->{body});
    my $code = $o{code} // TotpTest::totp_code($secret, undef, %{ $o{otp} // {} });

    # the form posts to the page itself, whatever the pages' prefix
    (my $action = _path($location)) =~ s/\?.*//s;

    my $res = $ua->post($action, {
        code => $code,
        csrf => field($page->{body}, 'csrf'),
        next => field($page->{body}, 'next'),
        ($o{trust} ? (trust => 1) : ()),
    });

    return ($res, $secret, $page);
}

# From a redirect to the verify page: GET it, post $code.
sub verify {
    my ($ua, $location, $code, %o) = @_;

    my $page = $ua->get(_path($location));
    die "verify page: $page->{status}\n" unless $page->{status} == 200;

    return $ua->post('/_totp/verify', {
        code => $code,
        csrf => field($page->{body}, 'csrf'),
        next => field($page->{body}, 'next'),
        ($o{trust} ? (trust => 1) : ()),
    });
}

# A whole sign-in of an enrolled user with $ua: the password, then the
# code of the step after now's (totp_skew 1 takes it, and no earlier
# sign-in can have used it), or $o{code}.  For the failover tests, where
# any step may fail: returns (status, the step that ended it: "login
# page", "login", "verify page" or "verify", $ua, the code's TOTP step,
# the code).  A page that does not load is an answer too.
sub sign_in_next {
    my ($ua, $user, $password, $secret, %o) = @_;

    my $res = eval { login($ua, $user, $password) };
    return (($@ =~ /: (\d+)/)[0] // 0, 'login page') unless $res;
    return ($res->{status}, 'login')
        unless $res->{status} == 302
               && ($res->{headers}{location} // '') =~ m{/_totp/verify};

    my $when = time + 30;
    my $code = $o{code} // TotpTest::totp_code($secret, $when);

    $res = eval { verify($ua, $res->{headers}{location}, $code) };
    return (($@ =~ /: (\d+)/)[0] // 0, 'verify page') unless $res;

    return ($res->{status}, 'verify', $ua, int($when / 30), $code);
}

# A code for a step after the one $last used: the replay rule accepts
# only later steps, so a test that signs in twice waits for the next
# period instead of reusing a code.
sub code_after {
    my ($secret, $last_time, %o) = @_;

    my $period = $o{period} // 30;
    my $now = time;

    if (defined $last_time && int($now / $period) <= int($last_time / $period)) {
        my $wait = $period - $now % $period;
        note "waiting ${wait}s for the next TOTP step";
        select undef, undef, undef, $wait + 0.05;
        $now = time;
    }

    return (TotpTest::totp_code($secret, $now, %o), $now);
}

sub _path {
    my ($location) = @_;
    $location =~ s{^https?://[^/]+}{};
    return $location;
}

# A session's or trusted browser's field in its user's ":sessions" hash:
# the token's purpose, ":" and its nonce in hex.
sub session_field {
    my ($cookie) = @_;

    my $p = token_parse($cookie) or die "session_field: not a token\n";

    return $p->{purpose} . ':' . unpack('H*', $p->{nonce});
}

# Registers a token made here in Redis as the module registers the ones
# it makes, so that the gate takes it for live: "EXPIRES LINE", LINE the
# first 16 bytes of HMAC-SHA256 under the key derived for "line" of the
# user's line in the password file, in hex, or "-" with totp_user.
# %o: key (the key file's bytes), line (omit with totp_user) or file
# (the password file to read the token user's line from), prefix, realm.
sub register_session {
    my ($redis, $cookie, %o) = @_;

    return $redis->cli(@{ session_command($cookie, %o) });
}

# The same as a command, for TotpTest::Redis::batch().
sub session_command {
    my ($cookie, %o) = @_;

    my $p = token_parse($cookie) or die "register_session: not a token\n";

    my $line = '-';

    if (defined $o{file}) {
        open my $fh, '<', $o{file} or die "$o{file}: $!\n";
        ($o{line}) = grep { /^\Q$p->{user}\E:/ } map { s/\r?\n\z//r } <$fh>;
        die "register_session: $p->{user} is not in $o{file}\n"
            unless defined $o{line};
    }

    if (defined $o{line}) {
        my $k = hkdf_sha256('ngx_http_totp_module', $o{key},
                            'ngx_http_totp line v1', 32);
        $line = unpack 'H*', substr(hmac_sha256($o{line}, $k), 0, 16);
    }

    return [ 'HSET', user_key($p->{user}, %o, suffix => ':sessions'),
             session_field($cookie), "$p->{expires} $line" ];
}

# A user's key in Redis, written here as ops would: %o: prefix ("totp:"),
# realm, suffix (":fail", ...).  Every byte of the name but
# [A-Za-z0-9._@+-] is percent-encoded, upper case.
sub user_key {
    my ($name, %o) = @_;

    my $encoded = $name =~ s/([^A-Za-z0-9._\@+-])/sprintf '%%%02X', ord $1/ger;

    return ($o{prefix} // 'totp:') . (defined $o{realm} ? "$o{realm}:" : '')
           . "user:{$encoded}" . ($o{suffix} // '');
}

# Cookie tokens, written here independently of src/ngx_http_totp_crypto.c
# so that tests can read, alter and forge the module's cookies.

# RFC 5869 over Digest::SHA's HMAC (t/crypto-derive.t checks the same
# construction against the RFC's vectors).
sub hkdf_sha256 {
    my ($salt, $ikm, $info, $len) = @_;

    $salt = "\0" x 32 unless length $salt;

    my $prk = hmac_sha256($ikm, $salt);
    my ($t, $okm) = ('', '');

    for (my $i = 1; length $okm < $len; $i++) {
        $t = hmac_sha256($t . $info . chr($i), $prk);
        $okm .= $t;
    }

    return substr($okm, 0, $len);
}

# The key the module derives from the key file's bytes for $purpose:
# "session", "trust", "pre" or "csrf".
sub cookie_key {
    my ($master, $purpose, $realm) = @_;

    my $key = hkdf_sha256('ngx_http_totp_module', $master,
                          "ngx_http_totp $purpose v1", 32);

    # session, trust and pre-session keys are bound to the location's
    # first factor as configured: "totp_password_file PATH" or
    # "totp_user VALUE"
    return $key if $purpose eq 'csrf';

    die "cookie_key: a realm is needed for $purpose\n" unless defined $realm;
    return hmac_sha256($realm, $key);
}

# A cookie value split into its fields, or undef when it is not
# base64url(payload) "." base64url(32-byte MAC) with a full header.
sub token_parse {
    my ($value) = @_;

    my ($p64, $m64) =
        ($value // '') =~ /\A([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\z/
        or return undef;

    my $payload = decode_base64url($p64);
    my $mac = decode_base64url($m64);

    return undef unless length $payload >= 61 && length $mac == 32;

    my ($version, $purpose, $flags, $expires, $issued, $epoch, $nonce,
        $profile, $user_len) = unpack 'C a C q> q> a16 a16 a8 n', $payload;

    return {
        version  => $version,
        purpose  => $purpose,
        flags    => $flags,
        expires  => $expires,
        issued   => $issued,
        epoch    => $epoch,
        nonce    => $nonce,
        profile  => $profile,
        user_len => $user_len,
        user     => substr($payload, 61),
        payload  => $payload,
        mac      => $mac,
    };
}

# A payload from fields (those of token_parse; user_len defaults to the
# user's length, version to 2, flags to 0, issued to now, profile to
# zeros).
# the token format the module writes: token_payload's default, and what
# a reader of cookies that passed the gate expects
use constant TOKEN_VERSION => 2;

sub token_payload {
    my (%f) = @_;

    return pack('C a C q> q> a16 a16 a8 n',
                $f{version} // TOKEN_VERSION, $f{purpose},
                $f{flags} // 0, $f{expires}, $f{issued} // time,
                $f{epoch}, $f{nonce}, $f{profile} // "\0" x 8,
                $f{user_len} // length $f{user})
           . $f{user};
}

# A cookie value: the payload and its MAC under $key (a MAC given as
# bytes instead of a key is used as it is).
sub token_sign {
    my ($payload, $key, %o) = @_;

    my $mac = $o{mac} // hmac_sha256($payload, $key);

    return encode_base64url($payload) . '.' . encode_base64url($mac);
}

1;
