#!/usr/bin/perl

# Where a session counts, and a few ways the gate must fail closed:
#  - cookies are bound to the first factor they were made under: a
#    session from a server that checks one password file is no session
#    on a server that checks another, even for the same user;
#  - a form refused for its Origin does not leave its body on the
#    connection to be read as the next request;
#  - a garbled enrollment in Redis is an error, never a fresh start;
#  - turning totp_trust_ttl off ends the trust of every browser.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(field gate_setup login enroll verify);

my $t = TotpTest->new;
my $redis = $t->redis;
my $port = $t->port('http');
my $port_b = $t->port('http_b');

my $hash = sub {
    my ($pw) = @_;
    my ($h) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', $pw);
    chomp $h;
    return $h;
};

my $file_b = $t->write_file('b.htpasswd', "bob:" . $hash->('builder') . "\n");

gate_setup(t => $t, redis => $redis, no_run => 1,
    users => { alice => 'wonderland' },
    http => <<"EOF");
    server {
        listen 127.0.0.1:$port_b;
        server_name b.test;

        location ^~ /_totp/ {
            totp_pages;
        }

        location / {
            totp on;
            totp_password_file $file_b;
            proxy_set_header Remote-User \$totp_user;
            proxy_pass http://127.0.0.1:@{[ $t->port('http_upstream') ]};
        }
    }
EOF
$t->run;

my $ua = $t->ua(port => $port);
my ($res, $secret) = enroll($ua, login($ua, 'alice', 'wonderland')->{headers}{location},
                            trust => 1);
is $res->{status}, 302, 'alice enrolled on server A';
like $ua->get('/console')->{body}, qr/user=alice /, 'signed in on A';

subtest 'a session is valid only where its password file is checked' => sub {
    my $b = $t->ua(port => $port_b);
    $b->set_cookie($_, $ua->cookies->{$_}) for qw(totp_session totp_trust);

    my $r = $b->get('/console');
    is $r->{status}, 302, "alice's session from A is no session on B";
    unlike $r->{body} // '', qr/upstream/, 'upstream not reached';

    $r = login($b, 'alice', 'wonderland');
    is $r->{status}, 401, "and B's password file does not know her";
};

subtest 'a refused form leaves nothing on the connection' => sub {
    my $smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    my $body = "user=a&password=b&csrf=c&x=$smuggled";
    my $raw = TotpTest::http_raw($port,
        "POST /_totp/login HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "Origin: http://evil.test\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body"
        . "GET /_totp/style.css HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "Connection: close\r\n\r\n");

    my @status = $raw =~ m{^HTTP/1\.1 (\d+)}mg;
    is "@status", '403 200', 'the 403, then the next real request';
    unlike $raw, qr/smuggled/, 'the body was never taken for a request';
};

subtest 'a garbled enrollment fails closed' => sub {
    $redis->cli('HSET', 'totp:user:{alice}', 'digits', '9');

    my $b = $t->ua(port => $port);
    my $r = login($b, 'alice', 'wonderland');
    is $r->{status}, 503, 'a record Redis holds but the module did not '
                          . 'write: 503';
    ok !grep({ /^totp_session=/ } @{ $r->{headers}{'set-cookie'} // [] }),
        'no session';
    $t->allow_log(qr/malformed user record/);

    $redis->cli('HSET', 'totp:user:{alice}', 'digits', '6');
};

subtest 'totp_trust_ttl off ends every trust' => sub {
    my $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $ua->cookies->{totp_trust});

    $res = login($b, 'alice', 'wonderland', next => '/console');
    is $res->{headers}{location}, "http://127.0.0.1:$port/console",
        'trusted: the password is enough';

    gate_setup(t => $t, redis => $redis, no_run => 1,
               users => { alice => 'wonderland' },
               location => 'totp_trust_ttl off;');
    $t->reload;

    $b = $t->ua(port => $port);
    $b->set_cookie('totp_trust', $ua->cookies->{totp_trust});
    $res = login($b, 'alice', 'wonderland', next => '/console');
    is $res->{headers}{location}, "http://127.0.0.1:$port/_totp/verify?next=/console",
        'trust off: the same browser is asked for a code';
};

$t->done;
