#!/usr/bin/perl

# A table of hostile inputs: over-long and malformed cookies, forms,
# headers, methods, paths, percent-encodings, user names and codes.
#
# Every row is one request (or a few, or raw bytes for what a well-made
# client cannot send), and every row is held to the same checks:
#
#   - the status the row names (where nginx itself refuses the request
#     before the module sees it, the row says so);
#   - no session issued: no Set-Cookie totp_session (nor totp_trust) with
#     a value, and nothing from the upstream unless the row carries a
#     valid session on purpose (the few "pass" rows: controls);
#   - nothing changed in Redis: every key with its value and whether it
#     has a TTL, before and after.  Rows that are counted attempts name
#     the failure counters they change and to what; nothing else may
#     change.  Rows marked "quiet" must not have sent Redis a single
#     command (nothing reaches Redis, as docs/pages.md says for invalid
#     user names);
#   - the worker stays up: the same worker processes afterwards, a
#     request with a valid session still reaches the upstream, and
#     $t->done finds no alert, crit or crash in the error log.
#
# The failure counters are deleted before each row, so a counted row's
# counters read exactly its own attempts.  gate_setup's generous limits
# are kept: every request comes from 127.0.0.1.
#
# t/gate-security.t covers the open redirects through "next", CSRF and
# most Origin values, and altered or forged cookies with the right
# structure; this table is about malformed input, and adds only what is
# new there.

use strict;
use warnings;

use Test::More;

use MIME::Base64 qw(encode_base64url);

use TotpTest qw(totp_code);
use TotpGate qw(field gate_setup login enroll code_after user_key);
use TotpHostile qw(raw_exchange parse_raw);

my %USERS = (alice => 'wonderland', bob => 'builder');

# 16k header buffers: an 8 KB cookie or Host reaches the module instead
# of being refused by nginx's request parser (64 KB still is); a short
# client_body_timeout: a body that never comes ends within a row.
#
# A second server gates with totp_cookie_secure on (cookies named
# __Host-...), the same password file as written: alice's session is
# one there too.
my $t = TotpTest->new;
my $SECURE = $t->port('http_secure');

my ($redis, $port);
($t, $redis, $port) = gate_setup(
    t      => $t,
    users  => \%USERS,
    server => "        large_client_header_buffers 4 16k;\n"
              . "        client_body_timeout 2s;",
    http   => <<"EOF");
    server {
        listen 127.0.0.1:$SECURE;
        server_name secure.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file @{[ $t->dir ]}/htpasswd;
            totp_cookie_secure on;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:@{[ $t->port('http_upstream') ]};
        }
    }
EOF

my $HOST = "127.0.0.1:$port";
my $BASE = "http://$HOST";

my $rc = TotpHostile->new(port => $redis->port);


# --- the users ----------------------------------------------------------

my $ua = $t->ua;
my ($res, $SECRET) = enroll($ua, login($ua, 'alice', 'wonderland')
                                     ->{headers}{location});
my $ENROLLED_AT = time;
my $SESSION = $ua->cookie('totp_session');

is $res->{status}, 302, 'alice enrolled';
ok $SESSION, 'alice has a session'
    or BAIL_OUT('no session: no row below could be checked');

my $bob = $t->ua;
($res) = enroll($bob, login($bob, 'bob', 'builder')->{headers}{location});
is $res->{status}, 302, 'bob enrolled';

is $t->ua->get('/console', { Cookie => "totp_session=$SESSION" })->{status},
    200, 'control: the session passes';


# --- building rows ------------------------------------------------------

# What a row starts from:
#   login:  a fresh browser that has the login page (a pre-session
#           cookie and its CSRF token);
#   verify: a browser past alice's password (a pre-session naming her)
#           that has the verify page and its token.
sub prep {
    my ($what) = @_;

    my $b = $t->ua;
    my $c = { ua => $b };

    if (($what // '') eq 'login') {
        my $page = $b->get('/_totp/login');
        die "login page: $page->{status}\n" unless $page->{status} == 200;
        $c->{csrf} = field($page->{body}, 'csrf');

    } elsif (($what // '') eq 'verify') {
        my $r = login($b, 'alice', 'wonderland');
        die "login: $r->{status}\n" unless $r->{status} == 302
            && $r->{headers}{location} =~ m{/_totp/verify};

        my $page = $b->get('/_totp/verify');
        die "verify page: $page->{status}\n" unless $page->{status} == 200;
        $c->{csrf} = field($page->{body}, 'csrf');
    }

    $c->{pre} = $b->cookie('totp_pre');

    return $c;
}

sub enc { TotpTest::UA::form_encode({ @_ }) }

# alice's login form, with fields replaced (undef: left out)
sub login_form {
    my ($c, %o) = @_;

    my %f = (user => 'alice', password => 'wonderland', csrf => $c->{csrf},
             next => '/', %o);
    delete @f{ grep { !defined $f{$_} } keys %f };

    return enc(%f);
}

sub verify_form {
    my ($c, %o) = @_;

    my %f = (csrf => $c->{csrf}, next => '/', %o);
    delete @f{ grep { !defined $f{$_} } keys %f };

    return enc(%f);
}

# the keys a counted attempt of $user (from 127.0.0.1) changes, $n times,
# and what they then hold: the user's, the pair's and the client's
# counters
sub counted {
    my ($user, $n) = @_;
    $n //= 1;
    return { map { $_ => "hash ttl n=$n" }
                 user_key($user, suffix => ':failures'),
                 user_key($user, suffix => ':pair:127.0.0.1'),
                 'totp:ip:{127.0.0.1}' };
}

sub form_post {
    my ($path, $body, %h) = @_;
    return [ 'POST', $path, { 'Content-Type' =>
                              'application/x-www-form-urlencoded', %h },
             $body ];
}

# a gated GET with this Cookie header
sub gated {
    my ($cookie) = @_;
    return [ 'GET', '/console/c', { Cookie => $cookie } ];
}

# alice's login form with one field left out, and $raw (bytes as they
# are sent) added
sub login_raw {
    my ($c, $field, $raw) = @_;
    return form_post('/_totp/login',
                     login_form($c, $field => undef) . "&$raw");
}

sub chunked {
    my (@parts) = @_;
    return join('', map { sprintf("%x\r\n%s\r\n", length, $_) } @parts)
           . "0\r\n\r\n";
}

sub fullwidth {
    my ($s) = @_;
    my $u = join '', map { chr(0xff10 + $_) } split //, $s;
    utf8::encode($u);
    return $u;
}

my $LOGIN_PAGE = qr{^\Q$BASE\E/_totp/login\?next=};

# a form posted without a valid pre-session: shown again, nothing done
my $FORM_AGAIN = qr{open for a long time, so nothing was sent.*name="password"}s;
my $TO_VERIFY = qr{^\Q$BASE\E/_totp/verify(?:\?|$)};
my $TO_LOGIN = qr{^\Q$BASE\E/_totp/login(?:\?|$)};

my @ROWS;

sub row { push @ROWS, { @_ } }


# --- cookies ------------------------------------------------------------

# Each malformed value as the session (a gated GET: 302 to the login
# page), as the pre-session (a login form with alice's right password
# and a real token: 403), and as the trust cookie (the same form with a
# real pre-session: on to the code, as for any browser without trust;
# the attempt is counted and given back, so nothing changes).  nginx
# itself refuses NUL bytes in a header and a 64 KB line: 400 before the
# module.

my @VALUES = (
    [ '0 bytes'             => '' ],
    [ '1 byte'              => 'A' ],
    [ '8 KB'                => 'A' x 8192 ],
    [ '64 KB'               => 'A' x 65536, 400 ],
    [ 'bad base64'          => '!!!!$$$$.****' ],
    [ "only '.'"            => '.' ],
    [ 'two dots'            => '..' ],
    [ 'three parts'         => 'AAAA.AAAA.AAAA' ],
    [ 'valid base64, short payload' =>
      encode_base64url("\x01s\0") . '.' . encode_base64url("\0" x 32) ],
    [ 'NUL bytes'           => "AAAA\0AAAA", 400 ],
    [ 'non-ASCII'           => "\xc3\xa9t\xc3\xa9.\xff\xfe\x80" ],
);

for my $v (@VALUES) {
    my ($what, $value, $nginx) = @$v;

    row(name => "cookie totp_session: $what",
        req => sub { gated("totp_session=$value") },
        status => $nginx // 302, location => $nginx ? undef : $LOGIN_PAGE,
        quiet => 1);

    row(name => "cookie totp_pre: $what",
        prep => 'login',
        req => sub { form_post('/_totp/login', login_form($_[0]),
                               Cookie => "totp_pre=$value") },
        status => $nginx // 200, body => $nginx ? undef : $FORM_AGAIN,
        quiet => 1);

    row(name => "cookie totp_trust: $what",
        prep => 'login',
        req => sub { form_post('/_totp/login', login_form($_[0]),
                       Cookie => "totp_pre=$_[0]{pre}; totp_trust=$value") },
        status => $nginx // 302, location => $nginx ? undef : $TO_VERIFY,
        quiet => $nginx);
}

my $junk = join '; ', map { "totp_session=junk$_" } 1 .. 50;
my $hundred = join '; ', map { "c$_=v$_" } 1 .. 100;

row(name => 'cookie: 50 cookies named totp_session, all junk',
    req => sub { gated($junk) },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

# nginx hands over the first cookie of a name: a valid one after a
# planted one is not seen (fail closed; the planted one costs a login)
row(name => 'cookie: a junk totp_session, then a valid one',
    req => sub { gated("totp_session=junk; totp_session=$SESSION") },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => 'cookie: a valid totp_session, then a junk one (pass)',
    req => sub { gated("totp_session=$SESSION; totp_session=junk") },
    status => 200, pass => 1);

row(name => 'cookie: a header of 100 cookies, none of the gate\'s',
    req => sub { gated($hundred) },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => 'cookie: 100 cookies, then a valid session (pass)',
    req => sub { gated("$hundred; totp_session=$SESSION") },
    status => 200, pass => 1);

row(name => 'cookie: 100 Cookie header lines, a valid session in the last '
            . '(pass)',
    req => sub { gated([ (map { "c$_=v$_" } 1 .. 99),
                         "totp_session=$SESSION" ]) },
    status => 200, pass => 1);

# nginx's cookie lookup (ngx_http_parse_multi_header_lines) compares
# names without regard to case, and the module takes what it finds.  On
# the secure server that voids the __Host- prefix: browsers that match
# the prefix case-sensitively (RFC 6265 ones; RFC 6265bis made it
# case-insensitive only lately) take "__HOST-totp_session" from a
# sibling subdomain, with Domain= and any Path, and a longer Path sends
# it first: a planted session (the attacker's own: login CSRF) or
# pre-session, which the prefix is there to prevent.  The gate matches
# cookie names exactly.

row(name => 'cookie: __Host-totp_session on the secure server (pass)',
    port => $SECURE,
    req => sub { gated("__Host-totp_session=$SESSION") },
    status => 200, pass => 1);

row(name => 'cookie: totp_session, unprefixed, on the secure server',
    port => $SECURE,
    req => sub { gated("totp_session=$SESSION") },
    status => 302, quiet => 1);

row(name => 'cookie: __HOST-totp_session (the prefix in upper case) '
            . 'on the secure server',
    port => $SECURE,
    req => sub { gated("__HOST-totp_session=$SESSION") },
    status => 302, quiet => 1);

row(name => 'cookie: TOTP_SESSION in upper case',
    req => sub { gated("TOTP_SESSION=$SESSION") },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => 'cookie: only separators and empty names',
    req => sub { gated(';;; ; =; = x;;=') },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => "cookie: totp_session without '=', then with ' = '",
    req => sub { gated('totp_session; totp_session = x') },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => "cookie: alice's session as totp_pre, with a real token",
    prep => 'login',
    req => sub { form_post('/_totp/login', login_form($_[0]),
                           Cookie => "totp_pre=$SESSION") },
    status => 200, body => $FORM_AGAIN, quiet => 1);


# --- forms --------------------------------------------------------------

# POST /_totp/login from a browser with a real pre-session and token,
# alice's right password unless the row says otherwise: a malformed form
# is 400, a form without a valid token 403, both before Redis; a form
# that parses goes on as a login (302 to the code; counted and given
# back, so nothing changes).

row(name => 'form: empty body',
    prep => 'login',
    req => sub { form_post('/_totp/login', '') },
    status => 403, quiet => 1);

row(name => "form: only '&&&&'",
    prep => 'login',
    req => sub { form_post('/_totp/login', '&&&&') },
    status => 403, quiet => 1);

row(name => "form: the fields among '&&&&'",
    prep => 'login',
    req => sub { form_post('/_totp/login',
                           '&&&&' . join('&&&', split /&/, login_form($_[0]))
                           . '&&&&') },
    status => 302, location => $TO_VERIFY);

row(name => "form: 'user' given twice",
    prep => 'login',
    req => sub { form_post('/_totp/login',
                           login_form($_[0]) . '&user=bob') },
    status => 400, quiet => 1);

row(name => "form: 'csrf' given twice, the same token",
    prep => 'login',
    req => sub { form_post('/_totp/login',
                           login_form($_[0]) . "&csrf=$_[0]{csrf}") },
    status => 400, quiet => 1);

for my $broken ('%', '%4', '%zz', '%%41', 'al%g1ce') {
    row(name => "form: a broken escape in the user name: '$broken'",
        prep => 'login',
        req => sub { login_raw($_[0], user => "user=$broken") },
        status => 400, quiet => 1);
}

row(name => "form: a broken escape '%zz' in a field's name",
    prep => 'login',
    req => sub { form_post('/_totp/login', login_form($_[0]) . '&x%zz=1') },
    status => 400, quiet => 1);

# values of fields the gate does not know are never decoded
row(name => "form: a broken escape '%zz' in an unknown field's value",
    prep => 'login',
    req => sub { form_post('/_totp/login', login_form($_[0]) . '&x=%zz') },
    status => 302, location => $TO_VERIFY);

row(name => "form: user 'al+ice' ('+' is a space: user \"al ice\")",
    prep => 'login',
    req => sub { login_raw($_[0], user => 'user=al+ice') },
    status => 401, counted => counted('al ice'));

row(name => "form: user 'al%20ice' (the same user \"al ice\")",
    prep => 'login',
    req => sub { login_raw($_[0], user => 'user=al%20ice') },
    status => 401, counted => counted('al ice'));

row(name => "form: user 'us%65r' as the field's name (decoded: 'user')",
    prep => 'login',
    req => sub { login_raw($_[0], user => 'us%65r=alice') },
    status => 302, location => $TO_VERIFY);

row(name => "form: a field 'user%00' (not 'user': no user name)",
    prep => 'login',
    req => sub { login_raw($_[0], user => 'user%00=alice') },
    status => 400, quiet => 1);

row(name => "form: 'user' without '=' (an empty user name)",
    prep => 'login',
    req => sub { login_raw($_[0], user => 'user') },
    status => 400, quiet => 1);

row(name => "form: the right password with a '+' in it ('wonder+land')",
    prep => 'login',
    req => sub { login_raw($_[0], password => 'password=wonder+land') },
    status => 401, counted => counted('alice'));

# ngx_crypt() takes C strings: a NUL would cut the password short
row(name => 'form: the right password, then %00 and more',
    prep => 'login',
    req => sub { form_post('/_totp/login',
                   login_form($_[0], password => "wonderland\0xyz")) },
    status => 401, counted => counted('alice'));

row(name => 'form: the right password, then %00',
    prep => 'login',
    req => sub { form_post('/_totp/login',
                   login_form($_[0], password => "wonderland\0")) },
    status => 401, counted => counted('alice'));

row(name => 'form: 9 KB (over the 8 KB a form may have)',
    prep => 'login',
    req => sub { form_post('/_totp/login',
                   login_form($_[0]) . '&pad=' . ('x' x 9216)) },
    status => 400, quiet => 1);

# the limit's edge: 8192 bytes are a form, 8193 are not
row(name => 'form: exactly 8192 bytes',
    prep => 'login',
    req => sub { my $f = login_form($_[0]) . '&pad=';
                 form_post('/_totp/login', $f . 'x' x (8192 - length $f)) },
    status => 302, location => $TO_VERIFY);

row(name => 'form: 8193 bytes',
    prep => 'login',
    req => sub { my $f = login_form($_[0]) . '&pad=';
                 form_post('/_totp/login', $f . 'x' x (8193 - length $f)) },
    status => 400, quiet => 1);

row(name => 'form: 7.5 KB of unknown fields, then the real ones',
    prep => 'login',
    req => sub { form_post('/_totp/login',
                   ('x=1&' x 1900) . login_form($_[0])) },
    status => 302, location => $TO_VERIFY);

# The module parses the body whatever its Content-Type says; the CSRF
# token is what guards the form.
row(name => 'form: no Content-Type (parsed all the same)',
    prep => 'login',
    req => sub { [ 'POST', '/_totp/login', {}, login_form($_[0]) ] },
    status => 302, location => $TO_VERIFY);

row(name => 'form: Content-Type text/plain (parsed all the same)',
    prep => 'login',
    req => sub { [ 'POST', '/_totp/login', { 'Content-Type' => 'text/plain' },
                   login_form($_[0]) ] },
    status => 302, location => $TO_VERIFY);

row(name => 'form: a JSON body',
    prep => 'login',
    req => sub { [ 'POST', '/_totp/login',
                   { 'Content-Type' => 'application/json' },
                   qq({"user":"alice","password":"wonderland",)
                   . qq("csrf":"$_[0]{csrf}","next":"/"}) ] },
    status => 403, quiet => 1);

row(name => 'form: a multipart/form-data body',
    prep => 'login',
    req => sub {
        my $b = join '', map { "--XyZ\r\nContent-Disposition: form-data; "
                               . "name=\"$_->[0]\"\r\n\r\n$_->[1]\r\n" }
                ([ user => 'alice' ], [ password => 'wonderland' ],
                 [ csrf => $_[0]{csrf} ]);
        [ 'POST', '/_totp/login',
          { 'Content-Type' => 'multipart/form-data; boundary=XyZ' },
          "$b--XyZ--\r\n" ] },
    status => 403, quiet => 1);

row(name => 'form: a chunked body (the form in three chunks)',
    prep => 'login',
    req => sub {
        my $f = login_form($_[0]);
        my $n = int(length($f) / 3);
        [ 'POST', '/_totp/login',
          { 'Content-Type' => 'application/x-www-form-urlencoded',
            'Transfer-Encoding' => 'chunked', 'Content-Length' => undef },
          chunked(substr($f, 0, $n), substr($f, $n, $n),
                  substr($f, 2 * $n)) ] },
    status => 302, location => $TO_VERIFY);

row(name => 'form: a chunked body of 9 KB',
    prep => 'login',
    req => sub {
        my $f = login_form($_[0]) . '&pad=' . ('x' x 9216);
        [ 'POST', '/_totp/login',
          { 'Content-Type' => 'application/x-www-form-urlencoded',
            'Transfer-Encoding' => 'chunked', 'Content-Length' => undef },
          chunked(unpack '(a4000)*', $f) ] },
    status => 400, quiet => 1);

# larger than client_body_buffer_size: nginx writes it to a file
row(name => 'form: a chunked body of 64 KB',
    prep => 'login',
    req => sub {
        my $f = login_form($_[0]) . '&pad=' . ('x' x 65536);
        [ 'POST', '/_totp/login',
          { 'Content-Type' => 'application/x-www-form-urlencoded',
            'Transfer-Encoding' => 'chunked', 'Content-Length' => undef },
          chunked(unpack '(a8000)*', $f) ] },
    status => 400, quiet => 1);

row(name => 'form: a chunked body with a bad chunk size (nginx: 400)',
    prep => 'login',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Cookie: totp_pre=$_[0]{pre}\r\n"
                 . "Transfer-Encoding: chunked\r\n\r\nzz\r\nuser=alice\r\n"
                 . "0\r\n\r\n" },
    status => 400, quiet => 1);

# The bytes after Content-Length are the next request on the connection,
# as HTTP has it: here garbage, 400 from nginx.  The form itself is cut
# before its token: 403.
row(name => 'form: a body longer than Content-Length says',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0], csrf => undef);
        "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
        . "Cookie: totp_pre=$_[0]{pre}\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($f) . "\r\n\r\n$f&csrf=$_[0]{csrf}" },
    status => 403, also => [ 400 ], quiet => 1);

# nginx waits for the rest, then closes without an answer when
# client_body_timeout (2s here) has passed
row(name => 'form: a body shorter than Content-Length says',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0]);
        "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
        . "Cookie: totp_pre=$_[0]{pre}\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . (length($f) + 100) . "\r\n\r\n$f" },
    status => undef, quiet => 1);

row(name => 'form: Content-Length and Transfer-Encoding together',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0]);
        "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
        . "Cookie: totp_pre=$_[0]{pre}\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
        . "Connection: close\r\n\r\n" . chunked($f) },
    status => 400, quiet => 1);

row(name => 'form: two Content-Length headers (nginx: 400)',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0]);
        "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
        . "Cookie: totp_pre=$_[0]{pre}\r\n"
        . "Content-Length: " . length($f) . "\r\n"
        . "Content-Length: " . length($f) . "\r\n\r\n$f" },
    status => 400, quiet => 1);

row(name => 'form: Content-Length -1 (nginx: 400)',
    prep => 'login',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Content-Length: -1\r\n\r\nuser=alice" },
    status => 400, quiet => 1);

row(name => 'form: Content-Length of 30 digits (nginx: 400)',
    prep => 'login',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Content-Length: " . ('9' x 30) . "\r\n\r\nuser=alice" },
    status => 400, quiet => 1);

row(name => 'form: Transfer-Encoding gzip (nginx: 501)',
    prep => 'login',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Transfer-Encoding: gzip\r\n\r\nuser=alice" },
    status => 501, quiet => 1);

# the size is refused from the header: no "100 Continue", no body read
row(name => 'form: Expect 100-continue with Content-Length 9000',
    prep => 'login',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Cookie: totp_pre=$_[0]{pre}\r\n"
                 . "Expect: 100-continue\r\nContent-Length: 9000\r\n\r\n" },
    raw_until => qr{\r\n\r\n.*</html>}s,
    status => 400, quiet => 1);

# pages that wait for Redis, pipelined: each answered in turn
row(name => 'form: two logins and a GET pipelined on one connection',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0], user => 'mallory');
        my $post = "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                   . "Cookie: totp_pre=$_[0]{pre}\r\n"
                   . "Content-Type: application/x-www-form-urlencoded\r\n"
                   . "Content-Length: " . length($f) . "\r\n\r\n$f";
        "$post$post" . "GET /_totp/style.css HTTP/1.1\r\nHost: $HOST\r\n"
        . "Connection: close\r\n\r\n" },
    status => 401, also => [ 401, 200 ], counted => counted('mallory', 2));

# A request refused before its body was read: the body is read and
# thrown away, never taken for the next request on the connection.  Each
# body here is a request of its own ("GET /smuggled"), followed by a
# real one: the answers must be two, not three.
my $SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: $HOST\r\n\r\n";
my $THEN = "GET /_totp/style.css HTTP/1.1\r\nHost: $HOST\r\n"
           . "Connection: close\r\n\r\n";

for my $s ([ 'POST to the gated location without a session',
             'POST /console/s', 401, [ 200 ] ],
           [ 'GET of the gated location with a body', 'GET /console/s',
             302, [ 200 ] ],
           [ 'GET of the login page with a body', 'GET /_totp/login', 200,
             [ 200 ] ],
           [ 'PUT to the login page', 'PUT /_totp/login', 405, [ 200 ] ],
           [ 'POST to a page that does not exist', 'POST /_totp/nosuch', 404,
             [ 200 ] ])
{
    my ($what, $line, $status, $also) = @$s;

    row(name => "a body left unread: $what",
        raw => sub { "$line HTTP/1.1\r\nHost: $HOST\r\n"
                     . "Content-Length: " . length($SMUGGLED) . "\r\n\r\n"
                     . $SMUGGLED . $THEN },
        status => $status, also => $also, quiet => 1);
}

# over the form limit: 400 from the header, and the connection closed
row(name => 'a body left unread: a login form over 8 KB',
    raw => sub { "POST /_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Content-Length: 9000\r\n\r\n"
                 . $SMUGGLED . ('x' x (9000 - length $SMUGGLED)) . $THEN },
    status => 400, also => [], quiet => 1);

row(name => 'form: an unescaped NUL byte in the user name',
    prep => 'login',
    req => sub { login_raw($_[0], user => "user=al\0ice") },
    status => 400, quiet => 1);


# --- user names ---------------------------------------------------------

# The invalid names of docs/pages.md (empty, over 256 bytes, a control
# character) are refused with 400 before anything reaches Redis.  Any
# other string is a name: not in the password file, so a wrong password
# (401), counted against that name, whatever it holds: the braces and
# colons of the key layout, glob characters, bytes that are not UTF-8.

my %BAD = (
    '257 bytes' => 'a' x 257,
    '10 KB'     => 'b' x 10240,
    'NUL'       => "al\0ice",
    'CR'        => "al\rice",
    'LF'        => "al\nice",
    'TAB'       => "al\tice",
    'DEL'       => "al\x7fice",
    'ESC'       => "al\x1bice",
    'CRLF and a fake log line' => "alice\r\n2026/01/01 [notice] forged",
);

for my $what (sort keys %BAD) {
    row(name => "user name: $what",
        prep => 'login',
        req => sub { form_post('/_totp/login',
                               login_form($_[0], user => $BAD{$what})) },
        status => 400, quiet => 1);
}

my $unicode = "\x{e5}lice-\x{30e6}\x{30fc}\x{30b6}";
utf8::encode($unicode);

my %NAMES = (
    'only spaces'                 => '   ',
    'unicode'                     => $unicode,
    "'{' inside"                  => 'al{ice',
    "'}' inside"                  => 'al}ice',
    "':' inside"                  => 'alice:x',
    "'}:fail' inside (key layout)" => 'alice}:fail',
    "'{alice}' inside"            => '{alice}',
    "'*' (a glob)"                => '*',
    "'?' and '[a-z]' (globs)"     => 'al?ce[a-z]',
    'a trailing space'            => 'alice ',
    'ALICE in upper case'         => 'ALICE',
    'bytes that are not UTF-8'    => "al\xff\xfeice",
    'U+0085 (a C1 control, in UTF-8)' => "al\xc2\x85ice",
);

# a name is shown again in the form after a wrong password: escaped
row(name => 'user name: HTML (shown again, escaped)',
    prep => 'login',
    req => sub { form_post('/_totp/login',
                   login_form($_[0], user => '"><script>alert(1)</script>')) },
    status => 401, counted => counted('"><script>alert(1)</script>'),
    check => sub {
        unlike $_[0]{body}, qr/<script>/, 'no markup from the name';
        is field($_[0]{body}, 'user'), '"><script>alert(1)</script>',
            'the name in the form, escaped';
    });

for my $what (sort keys %NAMES) {
    row(name => "user name: $what",
        prep => 'login',
        req => sub { form_post('/_totp/login',
                               login_form($_[0], user => $NAMES{$what})) },
        status => 401, counted => counted($NAMES{$what}));
}


# --- codes --------------------------------------------------------------

# POST /_totp/verify past alice's password, with her token.  A code is
# 6 ASCII digits, with any spaces and dashes people type (t/gate-flow.t
# signs in with them); anything else cannot be a code: 400 with a hint,
# and not counted against her.  Most rows wrap the code her app shows
# now, so that a check that let the wrapping through would sign her in
# and be seen.  Rows run after the step of her enrollment has passed
# (the replay rule would refuse its code whatever its wrapping).

my %CODES = (
    '5 digits'                   => sub { substr $_[0], 0, 5 },
    '7 digits'                   => sub { "$_[0]0" },
    'fullwidth digits'           => sub { fullwidth($_[0]) },
    "'+123456'"                  => sub { "+$_[0]" },
    "'-12345'"                   => sub { '-' . substr $_[0], 0, 5 },
    "'１２３ ４５６' (fullwidth, a space)" =>
                                    sub { fullwidth(substr $_[0], 0, 3) . ' '
                                          . fullwidth(substr $_[0], 3) },
    "'００００００'"             => sub { fullwidth('000000') },
    "'1e5'"                      => sub { '1e5' },
    "'abcdef'"                   => sub { 'abcdef' },
    'empty'                      => sub { '' },
    '6 digits then NUL'          => sub { "$_[0]\0" },
    '6 digits then LF'           => sub { "$_[0]\n" },
    '6 digits, a dot, 6 more'    => sub { "$_[0].$_[0]" },
    'about 8 KB of digits (the form fits)' => sub { $_[0] x 1300 },
);

for my $what (sort keys %CODES) {
    row(name => "code: $what",
        prep => 'verify',
        req => sub { form_post('/_totp/verify', verify_form($_[0],
                         code => $CODES{$what}->(totp_code($SECRET)))) },
        status => 400, body => qr/not a code/);
}

row(name => 'code: no code field',
    prep => 'verify',
    req => sub { form_post('/_totp/verify', verify_form($_[0])) },
    status => 400, body => qr/not a code/);

row(name => "code: the code under the field name 'CODE'",
    prep => 'verify',
    req => sub { form_post('/_totp/verify',
                           verify_form($_[0])
                           . '&CODE=' . totp_code($SECRET)) },
    status => 400);

row(name => 'code: a wrong code, spaced as people type it',
    prep => 'verify',
    req => sub { my $c = sprintf '%06d', (totp_code($SECRET) + 500_000)
                                         % 1_000_000;
                 form_post('/_totp/verify', verify_form($_[0],
                     code => substr($c, 0, 3) . ' ' . substr($c, 3))) },
    status => 401, counted => counted('alice'), body => qr/not right/);

row(name => 'code: 8 KB of digits (the form is too large)',
    prep => 'verify',
    req => sub { form_post('/_totp/verify',
                           verify_form($_[0], code => '1' x 8192)) },
    status => 400, quiet => 1);

row(name => 'code: given twice, the right one both times',
    prep => 'verify',
    req => sub { my $code = totp_code($SECRET);
                 form_post('/_totp/verify',
                           verify_form($_[0], code => $code)
                           . "&code=$code") },
    status => 400, quiet => 1);

row(name => 'code: a recovery code of 100 bytes',
    prep => 'verify',
    req => sub { form_post('/_totp/recovery',
                           verify_form($_[0], code => 'x' x 100)) },
    status => 400, body => qr/not a recovery code/);

row(name => 'code: a recovery code with a NUL',
    prep => 'verify',
    req => sub { form_post('/_totp/recovery',
                           verify_form($_[0], code => "abcde-fghj\0k")) },
    status => 400, body => qr/not a recovery code/);

row(name => 'code: a wrong recovery code of the right shape',
    prep => 'verify',
    req => sub { form_post('/_totp/recovery',
                           verify_form($_[0], code => 'abcde-fghjk')) },
    status => 401, counted => counted('alice'));

# enroll is for users without an enrollment: alice is sent on to her
# code; nothing was checked, so the attempt counted before that was known
# is given back
row(name => 'code: enrolled alice posting a code to the enroll page',
    prep => 'verify',
    req => sub { form_post('/_totp/enroll',
                           verify_form($_[0], code => 'abcdef')) },
    status => 302, location => $TO_VERIFY);

row(name => 'code: verify with a pre-session that passed no password',
    prep => 'login',
    req => sub { form_post('/_totp/verify',
                           verify_form($_[0], code => totp_code($SECRET))) },
    status => 302, location => $TO_LOGIN, quiet => 1);

row(name => 'code: reset without a session',
    prep => 'verify',
    req => sub { form_post('/_totp/reset',
                           verify_form($_[0], code => totp_code($SECRET))) },
    status => 302, location => $TO_LOGIN, quiet => 1);

row(name => 'code: new recovery codes without a session',
    prep => 'verify',
    req => sub { form_post('/_totp/codes',
                           verify_form($_[0], code => totp_code($SECRET))) },
    status => 302, location => $TO_LOGIN, quiet => 1);

row(name => 'logout with a junk session and a real token',
    prep => 'login',
    req => sub { form_post('/_totp/logout', verify_form($_[0]),
                   Cookie => "totp_pre=$_[0]{pre}; totp_session=junk") },
    status => 200, quiet => 1);


# --- headers ------------------------------------------------------------

row(name => 'Host missing (HTTP/1.1; nginx: 400)',
    req => sub { [ 'GET', '/console/h', { Host => undef } ] },
    status => 400, quiet => 1);

row(name => 'Host empty (nginx: 400)',
    req => sub { [ 'GET', '/console/h', { Host => '' } ] },
    status => 400, quiet => 1);

row(name => 'Host of 20 KB (nginx: 400)',
    req => sub { [ 'GET', '/console/h', { Host => 'h' x 20480 } ] },
    status => 400, quiet => 1);

row(name => 'Host of 8 KB (fits the buffers): the gate answers',
    req => sub { [ 'GET', '/console/h', { Host => 'h' x 8192 } ] },
    status => 302, quiet => 1);

row(name => "Host with a '/' (nginx: 400)",
    req => sub { [ 'GET', '/console/h', { Host => 'evil.test/x' } ] },
    status => 400, quiet => 1);

# nginx makes the gate's relative Location absolute with the Host the
# client sent (absolute_redirect): only the sender sees it
row(name => 'Host of another site: the redirect names it',
    req => sub { [ 'GET', '/console/h', { Host => 'evil.test' } ] },
    status => 302, location => qr{^http://evil\.test(:\d+)?/_totp/login\?},
    quiet => 1);

row(name => 'many headers: 500 unknown ones',
    req => sub { [ 'GET', '/console/h',
                   { map { ("X-Junk-$_" => "v$_") } 1 .. 500 } ] },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

# Origin: t/gate-security.t has foreign hosts, null, the host without
# its port, a longer port, no scheme, two Origin headers.  New here:
row(name => "Origin: this host with a trailing '/'",
    prep => 'login',
    req => sub { form_post('/_totp/login', login_form($_[0]),
                           Origin => "$BASE/") },
    status => 403, quiet => 1);

row(name => "Origin: this host as a userinfo of another ('\@evil.test')",
    prep => 'login',
    req => sub { form_post('/_totp/login', login_form($_[0]),
                           Origin => "$BASE\@evil.test") },
    status => 403, quiet => 1);

row(name => 'Origin: on an HTTP/1.0 POST without Host',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0]);
        "POST /_totp/login HTTP/1.0\r\nCookie: totp_pre=$_[0]{pre}\r\n"
        . "Origin: $BASE\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($f) . "\r\n\r\n$f" },
    status => 403, quiet => 1);

row(name => 'Origin: an absolute request target naming the Origin\'s host',
    prep => 'login',
    raw => sub {
        my $f = login_form($_[0]);
        "POST http://evil.test/_totp/login HTTP/1.1\r\nHost: $HOST\r\n"
        . "Cookie: totp_pre=$_[0]{pre}\r\nOrigin: http://evil.test\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($f) . "\r\n"
        . "Connection: close\r\n\r\n$f" },
    status => 403, quiet => 1);

# The address counted is $remote_addr (no realip here); no header
# changes it.  Three wrong passwords, each claiming another client: all
# three on totp:ip:{127.0.0.1}, and no key for the claimed addresses.
row(name => 'X-Forwarded-For, X-Real-IP, Forwarded: counted on 127.0.0.1',
    prep => 'login',
    reqs => sub {
        my $f = login_form($_[0], user => 'mallory');
        (form_post('/_totp/login', $f, 'X-Forwarded-For' => '192.0.2.1'),
         form_post('/_totp/login', $f, 'X-Real-IP' => '192.0.2.2',
                   'X-Forwarded-For' => '192.0.2.2, 127.0.0.1'),
         form_post('/_totp/login', $f, Forwarded => 'for=192.0.2.3',
                   'Client-IP' => '192.0.2.3')) },
    status => 401, counted => counted('mallory', 3));


# --- methods and paths ------------------------------------------------------

# A 405 must say what is allowed (RFC 9110, 15.5.6).
sub allow_header {
    my ($r) = @_;

    like $r->{headers}{allow} // '', qr/^GET, HEAD(, POST)?$/,
        '405 with an Allow header';
}

# Gated: GET and HEAD go to the login page, anything else is 401.  The
# pages take GET, HEAD and POST (POST only where there is a form): 405.
# nginx refuses TRACE itself.

for my $m ([ 'TRACE', 405, 405 ], [ 'OPTIONS', 401, 405 ], [ 'PUT', 401, 405 ],
           [ 'DELETE', 401, 405 ], [ 'PATCH', 401, 405 ],
           [ 'PROPFIND', 401, 405 ])
{
    my ($method, $gated, $page) = @$m;
    my $body = $method =~ /^(PUT|PATCH)$/ ? 'a=1' : undef;

    row(name => "method $method on the gated location"
                . ($method eq 'TRACE' ? ' (nginx: 405)' : ''),
        req => sub { [ $method, '/console/m', {}, $body ] },
        status => $gated, quiet => 1);

    row(name => "method $method on /_totp/login"
                . ($method eq 'TRACE' ? ' (nginx: 405)' : ''),
        prep => 'login',
        req => sub { [ $method, '/_totp/login', { 'Content-Type' =>
                           'application/x-www-form-urlencoded' },
                       $body // login_form($_[0]) ] },
        status => $page, quiet => 1,
        check => $method eq 'TRACE' ? undef : \&allow_header);
}

row(name => 'method POST on /_totp/style.css',
    prep => 'login',
    req => sub { form_post('/_totp/style.css', login_form($_[0])) },
    status => 405, quiet => 1, check => \&allow_header);

row(name => "method in lower case 'get' (nginx: 400)",
    raw => sub { "get /console/m HTTP/1.1\r\nHost: $HOST\r\n\r\n" },
    status => 400, quiet => 1);

row(name => 'method CONNECT (nginx: 400)',
    raw => sub { "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: $HOST\r\n\r\n" },
    status => 400, quiet => 1);

row(name => 'a URI of 1 MB (nginx: 414)',
    raw => sub { "GET /" . ('a' x (1024 * 1024)) . " HTTP/1.1\r\n"
                 . "Host: $HOST\r\n\r\n" },
    raw_until => qr{</html>}, status => 414, quiet => 1);

# every byte of it escaped three times over in the Location: 45 KB
row(name => 'a URI of 15 KB of \'"\' on the gated location',
    raw => sub { "GET /" . ('"' x 15000) . " HTTP/1.1\r\nHost: $HOST\r\n"
                 . "Connection: close\r\n\r\n" },
    status => 302, quiet => 1,
    check => sub {
        is length($_[0]{location} // ''), length("$BASE/_totp/login?next=/")
            + 3 * 15000, 'the Location carries it, escaped';
    });

row(name => "path /_totp/../ (nginx makes it '/': gated)",
    req => sub { [ 'GET', '/_totp/../' ] },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => 'path /_totp/../../x (above the root; nginx: 400)',
    req => sub { [ 'GET', '/_totp/../../x' ] },
    status => 400, quiet => 1);

row(name => 'path /_totp//login (slashes merged: the login page)',
    req => sub { [ 'GET', '/_totp//login' ] },
    status => 200, body => qr/name="password"/, quiet => 1);

row(name => 'path /_totp/login%00 (nginx: 400)',
    req => sub { [ 'GET', '/_totp/login%00' ] },
    status => 400, quiet => 1);

row(name => 'path /_totp/LOGIN (no such page)',
    req => sub { [ 'GET', '/_totp/LOGIN' ] },
    status => 404, quiet => 1);

row(name => 'path /_TOTP/login (not the pages: gated)',
    req => sub { [ 'GET', '/_TOTP/login' ] },
    status => 302, location => $LOGIN_PAGE, quiet => 1);

row(name => 'path /_totp/login/ (trailing slash: no such page)',
    req => sub { [ 'GET', '/_totp/login/' ] },
    status => 404, quiet => 1);

row(name => 'path /_totp/login;x (no such page)',
    req => sub { [ 'GET', '/_totp/login;x' ] },
    status => 404, quiet => 1);

row(name => 'path /_totp/%6Cogin (decoded once: the login page)',
    req => sub { [ 'GET', '/_totp/%6Cogin' ] },
    status => 200, body => qr/name="password"/, quiet => 1);

row(name => 'path /_totp/%256Cogin (double-encoded: no such page)',
    req => sub { [ 'GET', '/_totp/%256Cogin' ] },
    status => 404, quiet => 1);

row(name => 'path /%5Ftotp/login (decoded: the login page)',
    req => sub { [ 'GET', '/%5Ftotp/login' ] },
    status => 200, body => qr/name="password"/, quiet => 1);

row(name => 'POST to /_totp/./login with no token (the login page: 403)',
    prep => 'login',
    req => sub { form_post('/_totp/./login',
                           login_form($_[0], csrf => undef)) },
    status => 403, quiet => 1);

row(name => 'HTTP/1.0 without Host: the login page',
    raw => sub { "GET /_totp/login HTTP/1.0\r\n\r\n" },
    status => 200, body => qr/name="password"/, quiet => 1);

row(name => 'HTTP/1.0 without Host: gated',
    raw => sub { "GET /console/p HTTP/1.0\r\n\r\n" },
    status => 302, location => qr{^http://[^/]+/_totp/login\?next=/console/p$},
    quiet => 1);

# HTTP/0.9: no status line, no headers (so no cookie either), the body
row(name => 'HTTP/0.9 GET of the login page: the body alone',
    raw => sub { "GET /_totp/login\r\n" },
    status => 0, body => qr/name="password"/, quiet => 1);

row(name => 'HTTP/0.9 GET of a gated page: the body alone',
    raw => sub { "GET /console/p\r\n" },
    status => 0, body => qr/302 Found/, quiet => 1);

row(name => 'HTTP/0.9 POST (nginx: 400, as HTTP/0.9)',
    raw => sub { "POST /_totp/login\r\n" },
    status => 0, body => qr/400 Bad Request/, quiet => 1);

row(name => 'request line HTTP/2.0 (nginx: 505)',
    raw => sub { "GET /console/p HTTP/2.0\r\nHost: $HOST\r\n\r\n" },
    status => 505, quiet => 1);


# --- next -------------------------------------------------------------------

# t/gate-security.t has 40 values of "next"; new here: escapes that do
# not decode, a "next" over its 2 KB limit, and two of them.

row(name => 'next: HTML, a safe path (escaped in the form)',
    req => sub { [ 'GET', '/_totp/login?next=/%22%3E%3Cscript%3Ex' ] },
    status => 200, quiet => 1,
    check => sub {
        unlike $_[0]{body}, qr/<script>/, 'no markup from next';
        is field($_[0]{body}, 'next'), '/"><script>x',
            "the form's next, escaped";
    });

for my $n ([ "a broken escape '%zz'" => '/ok%zz', '/' ],
           [ "a lone '%'" => '/ok%', '/' ],
           [ 'over 2 KB' => '/' . ('n' x 3000), '/' ],
           [ 'twice, the first taken' => '/ok&next=%2F%2Fevil.test', '/ok' ])
{
    my ($what, $query, $want) = @$n;

    row(name => "next: $what",
        req => sub { [ 'GET', "/_totp/login?next=$query" ] },
        status => 200, quiet => 1,
        check => sub {
            is field($_[0]{body}, 'next'), $want, "the form's next is $want";
        });
}


# --- running the rows -------------------------------------------------------

my $FAIL_KEYS = qr/:failures\z|:pair:|:trust:|^totp:ip:\{/;

# how long the module must have sent Redis nothing to be done
my $QUIET = $t->valgrind ? 0.5 : 0.1;

sub from_ua {
    my ($r) = @_;
    return {
        status      => $r->{status},
        set_cookies => $r->{headers}{'set-cookie'} // [],
        location    => $r->{headers}{location},
        headers     => $r->{headers},
        body        => $r->{body} // '',
        statuses    => [ $r->{status} ],
    };
}

my $waited;

sub run_row {
    my ($n, $row) = @_;

    # the code rows need a step later than the enrollment's
    if (($row->{prep} // '') eq 'verify' && !$waited++) {
        code_after($SECRET, $ENROLLED_AT);
    }

    my $c = prep($row->{prep});

    # a clean slate of counters, and the module's own follow-up
    # commands (a success gives its count back after answering) done
    $rc->quiesce($QUIET);
    $rc->cmd('DEL', $_) for grep { $_ =~ $FAIL_KEYS } keys %{ $rc->snapshot };

    my $before = $rc->snapshot;
    my $calls = $rc->module_calls;
    my @pids = $t->worker_pids;

    my @res;

    if ($row->{raw}) {
        my $raw = raw_exchange($port, $row->{raw}->($c),
                               until => $row->{raw_until},
                               timeout => $t->valgrind ? 30 : 5);
        @res = (parse_raw($raw));

    } else {
        my $b = $row->{port} ? $t->ua(port => $row->{port}) : $c->{ua};
        my @reqs = $row->{reqs} ? $row->{reqs}->($c) : ($row->{req}->($c));
        @res = map { from_ua($b->request(@$_)) } @reqs;
    }

    $rc->quiesce($QUIET);

    my $after = $rc->snapshot;
    my $sent = $rc->module_calls - $calls;

    subtest "row $n: $row->{name}" => sub {
        local $TODO = $row->{todo};

        my $want = $row->{status};

        for my $i (0 .. $#res) {
            my $r = $res[$i];
            my $at = @res > 1 ? ' (request ' . ($i + 1) . ')' : '';

            is $r->{status}, $want,
                'status ' . ($want // 'none: closed without an answer') . $at;

            ok !grep({ /^(?:__Host-)?totp_(?:session|trust)=[^;\s]/ }
                     @{ $r->{set_cookies} }),
                "no session issued$at"
                or diag explain $r->{set_cookies};

            if ($row->{pass}) {
                like $r->{body}, qr/^upstream user=alice /m,
                    "the upstream, as alice (a valid session)$at";
            } else {
                unlike $r->{body}, qr/^upstream /m,
                    "nothing from the upstream$at";
            }

            like $r->{location} // '', $row->{location}, "Location$at"
                if $row->{location};
            like $r->{body}, $row->{body}, "body$at" if $row->{body};
        }

        is_deeply [ @{ $res[0]{statuses} }[1 .. $#{ $res[0]{statuses} }] ],
            $row->{also}, 'the next answers on the connection: '
            . join(' ', @{ $row->{also} })
            if $row->{also};

        my $counted = $row->{counted} // {};

        for my $key (sort keys %$counted) {
            is $after->{$key}, $counted->{$key},
                'counted: ' . TotpHostile::show($key)
                . " holds $counted->{$key}";
        }

        my @diff = TotpHostile::diff($before, $after, [ keys %$counted ]);
        ok !@diff, 'nothing ' . (%$counted ? 'else ' : '')
                   . 'changed in Redis'
            or diag join "\n", @diff;

        is $sent, 0, 'no command sent to Redis' if $row->{quiet};

        $row->{check}->($res[0], $c) if $row->{check};

        # the worker stays up
        my $ok = $t->ua->get("/after/$n",
                             { Cookie => "totp_session=$SESSION" });
        is $ok->{status}, 200, 'after it, a session still passes';
        like $ok->{body}, qr{^upstream user=alice .* uri=/after/$n$}m,
            'and reaches the upstream';
        is_deeply [ $t->worker_pids ], \@pids, 'the same workers';
    };
}

note scalar(@ROWS) . ' rows';

my $n = 0;
run_row(++$n, $_) for @ROWS;


# --- the controls -------------------------------------------------------

# the way the code rows were sent works: none of them was taken, so the
# plain code of now, unwrapped, signs alice in
my $c = prep('verify');
my $r = $c->{ua}->post('/_totp/verify',
                       verify_form($c, code => totp_code($SECRET)));
is $r->{status}, 302, 'control: the plain code signs alice in';
ok grep({ /^totp_session=[^;]/ } @{ $r->{headers}{'set-cookie'} // [] }),
    'control: with a session';

$t->done;
