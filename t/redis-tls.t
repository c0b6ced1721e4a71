#!/usr/bin/perl

# TLS to Redis (totp_redis_ssl and its companions), against real
# redis-servers that speak only TLS, with a PKI made for the test
# (TotpTLS): the sign-in flow over TLS; a certificate the module must
# refuse (another CA, another name, expired) or may take (verify off);
# the name checked by default, totp_redis's host, right and wrong; the
# name sent as SNI; client certificates where Redis demands them; TLS to
# a Redis that speaks plain text; the configurations nginx -t refuses.
# Every refusal is a 503, never a pass, with the error log's reason.
#
# totp_redis_* are http-level: each case is an nginx of its own, in one
# test dir, against the servers started once.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpTLS;
use TotpGate qw(gate_setup login enroll verify user_key);

my $t = TotpTest->new;
my $dir = $t->dir;

my $pki = TotpTLS::make_pki(dir => $dir);

my %tls = (cert => $pki->{server_cert}, key => $pki->{server_key},
           ca => $pki->{ca});

my $redis = $t->redis(tls => {%tls});

# the harness's redis-cli would not talk to it, verifying as it does
my $expired = $t->redis(name => 'redis_expired',
    tls => { %tls, cert => $pki->{expired_cert}, key => $pki->{expired_key},
             insecure => 1 });

my $mutual = $t->redis(name => 'redis_mutual',
    tls => { %tls, auth_clients => 'yes', client_cert => $pki->{client_cert},
             client_key => $pki->{client_key} });

# the certificate names 127.0.0.1, not this address
my $elsewhere = $t->redis(name => 'redis_elsewhere', host => '127.0.0.2',
                          tls => {%tls});

my $plain = $t->redis(name => 'redis_plain');

# nginx's own lines about the failed handshakes and reads: which level
# each gets depends on OpenSSL's reason
$t->allow_log(qr/\[crit\].*\b(SSL_do_handshake|SSL_read|SSL_write|SSL_shutdown)\(\) failed/);

my $ca = "totp_redis_ssl_trusted_certificate $pki->{ca};";

# OpenSSL's reason for a CA it does not trust: Redis sends its own CA
# along with its certificate (OpenSSL's servers complete the chain from
# the CAs they trust clients with), self-signed, or would send the
# certificate alone
my $unknown_ca = qr/(self-signed certificate in certificate chain|unable to get local issuer certificate)/;
my $wrong_ca = "totp_redis_ssl_trusted_certificate $pki->{wrong_ca};";

# An nginx gating a console with $r as its Redis, @http in the http
# block; returns the error log's length before it started.
sub start {
    my ($r, @http) = @_;

    my $from = length scalar $t->error_log;

    gate_setup(t => $t, redis => $r, no_run => 1, workers => 1,
        http => join('', map { "    $_\n" } @http),
        server => "        location = /health { totp_health; }\n");
    $t->run;

    return $from;
}

# the error log since $from
sub since {
    my ($from) = @_;
    return substr scalar $t->error_log, $from;
}

# Signs alice in and checks that every step reached $r: the password,
# the enrollment, a session, a wrong code counted.
sub sign_in {
    my ($what, $r) = @_;

    $r->cli('FLUSHALL');

    my $ua = $t->ua;
    my $res = login($ua, 'alice', 'wonderland');
    is($res->{status}, 302, "$what: the password checked");

    my ($enrolled, $secret) = enroll($ua, $res->{headers}{location});
    is($enrolled->{status}, 302, "$what: enrolled");
    is($ua->get('/x')->{status}, 200, "$what: a session passes");

    is(scalar $r->cli('HEXISTS', user_key('alice'), 'secret'), '1',
       "$what: the secret is in that Redis");

    my $other = $t->ua;
    $res = login($other, 'alice', 'wonderland');
    $res = verify($other, $res->{headers}{location},
                  TotpTest::totp_code($secret) eq '000000' ? '111111'
                                                           : '000000');
    is($res->{status}, 401, "$what: a wrong code refused");
}

# An nginx that must refuse: /health and a sign-in 503, the error log
# matching $why.
sub refuses {
    my ($what, $r, $why, @http) = @_;

    my $from = start($r, @http);

    is($t->ua->get('/health')->{status}, 503, "$what: /health 503");

    # the login page itself needs no Redis; the password's check does
    my $res = login($t->ua, 'alice', 'wonderland');
    is($res->{status}, 503, "$what: a sign-in 503, never a pass");

    $t->stop;

    like(since($from), $why, "$what: the error log says why")
        or diag since($from);
}

sub works {
    my ($what, $r, @http) = @_;

    my $from = start($r, @http);

    is($t->ua->get('/health')->{status}, 200, "$what: /health 200");
    sign_in($what, $r);

    $t->stop;

    unlike(since($from), qr/\[(error|crit|alert)\]/,
           "$what: no error logged") or diag since($from);
}

my $addr = $redis->addr;


# --- the certificate verifies: every step over TLS ---

works('the CA, redis.test', $redis,
      'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name redis.test;');

# totp_redis's host is the name checked by default: an address, which
# the certificate names in its subjectAltName
works('the CA, the default name 127.0.0.1', $redis,
      'totp_redis_ssl on;', $ca);

# without totp_redis_ssl, plain text, which this Redis does not speak
refuses('TLS off against a TLS Redis', $redis,
        qr/totp: (lost redis|connect to redis|redis) "\Q$addr\E"/);


# --- the certificate does not verify ---

refuses('another CA', $redis,
        qr/totp: redis "\Q$addr\E" sent a certificate that does not verify: \(\d+: $unknown_ca\)/,
        'totp_redis_ssl on;', $wrong_ca, 'totp_redis_ssl_name redis.test;');

# the system's CA store knows nothing of this test's CA
refuses('no trusted certificate: the system\'s CAs', $redis,
        qr/totp: redis "\Q$addr\E" sent a certificate that does not verify: \(\d+: $unknown_ca\)/,
        'totp_redis_ssl on;', 'totp_redis_ssl_name redis.test;');

refuses('another name', $redis,
        qr/totp: redis "\Q$addr\E" sent a certificate that is not for "other\.test"/,
        'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name other.test;');

my $e = $elsewhere->addr;

refuses('the default name, another address', $elsewhere,
        qr/totp: redis "\Q$e\E" sent a certificate that is not for "127\.0\.0\.2"/,
        'totp_redis_ssl on;', $ca);

my $x = $expired->addr;

refuses('an expired certificate', $expired,
        qr/totp: redis "\Q$x\E" sent a certificate that does not verify: \(\d+: certificate has expired\)/,
        'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name redis.test;');


# --- totp_redis_ssl_verify off: encrypted, not authenticated ---

works('verify off, another CA and another name', $redis,
      'totp_redis_ssl on;', 'totp_redis_ssl_verify off;', $wrong_ca,
      'totp_redis_ssl_name other.test;');


# --- Redis demands a client certificate ---

works('a client certificate', $mutual,
      'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name redis.test;',
      "totp_redis_ssl_certificate $pki->{client_cert};",
      "totp_redis_ssl_certificate_key $pki->{client_key};");

my $m = $mutual->addr;

# with TLS 1.3 the client's handshake ends before the server has seen
# the certificate it lacks: Redis's refusal is then an alert on the
# first read
refuses('no client certificate', $mutual,
        qr/totp: (TLS handshake with redis "\Q$m\E" failed|lost redis "\Q$m\E")/,
        'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name redis.test;');


# --- TLS to a Redis that speaks plain text ---

# Redis reads a ClientHello as an inline command, and waits for the rest
# of it unless its random bytes hold a newline: the handshake either
# fails on the plain-text error or waits for totp_redis_timeout
my $p = $plain->addr;

refuses('TLS to a plain-text Redis', $plain,
        qr/totp: (TLS handshake with redis "\Q$p\E" (failed|timed out)|redis "\Q$p\E" did not answer within)/,
        'totp_redis_ssl on;', $ca, 'totp_redis_ssl_name redis.test;',
        'totp_redis_timeout 300ms;');

is(scalar $plain->cli('PING'), 'PONG', 'the plain-text Redis lives on');


# --- SNI: totp_redis_ssl_name is the name sent ---

# openssl s_server says which name a client sent (-debug), and answers
# every line reversed (-rev), which is no Redis reply: the module gives
# up on it after the handshake
{
    my $port = $t->port('s_server');
    my $out = "$dir/s_server.out";

    my $pid = TotpTest::Proc::spawn(['openssl', 's_server', '-rev', '-debug',
        '-accept', "127.0.0.1:$port",
        '-cert', $pki->{server_cert}, '-key', $pki->{server_key},
        '-cert2', $pki->{server_cert}, '-key2', $pki->{server_key},
        '-servername', 'redis.test'], $out, 'TERM');

    $t->wait_for(sub { TotpTest::_slurp($out) =~ /^ACCEPT$/m }, undef,
                 's_server to listen')
        or BAIL_OUT("s_server did not start:\n" . TotpTest::_slurp($out));

    my $fake = bless { addr => "127.0.0.1:$port" }, 'NotRedis';
    my $from = start($fake, 'totp_redis_ssl on;', $ca,
                     'totp_redis_ssl_name redis.test;',
                     'totp_redis_timeout 300ms;');

    is($t->ua->get('/health')->{status}, 503,
       'SNI: a server that is no Redis, 503');

    $t->stop;
    TotpTest::Proc::terminate($pid, 'TERM', 5);

    like(TotpTest::_slurp($out), qr/Hostname in TLS extension: "redis\.test"/,
         'SNI: the server saw redis.test');

    note since($from);
}


# --- configurations nginx -t refuses ---

sub rejects {
    my ($what, $why, @http) = @_;

    gate_setup(t => $t, redis => $redis, no_run => 1,
               http => join('', map { "    $_\n" } @http));

    my ($ok, $out) = $t->nginx_test;

    ok(!$ok, "nginx -t refuses $what");
    unlike($out, qr/unknown directive/, "$what: the directives are known");
    like($out, qr/\[emerg\].*$why/, "$what: the message says why")
        or diag $out;
}

rejects('a client certificate without its key',
        qr/totp_redis_ssl_certificate/,
        'totp_redis_ssl on;', $ca,
        "totp_redis_ssl_certificate $pki->{client_cert};");

rejects('a client key without its certificate',
        qr/totp_redis_ssl_certificate/,
        'totp_redis_ssl on;', $ca,
        "totp_redis_ssl_certificate_key $pki->{client_key};");

my $missing = "$dir/pki/missing.pem";

rejects('a trusted certificate file that does not exist',
        qr/\Q$missing\E/,
        'totp_redis_ssl on;', "totp_redis_ssl_trusted_certificate $missing;");

$t->done;


# what gate_setup needs of a Redis: its address
package NotRedis;

sub addr { $_[0]{addr} }
