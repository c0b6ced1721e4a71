#!/usr/bin/perl

# tools/totp-admin over TLS (--tls, --cacert, --sni, --cert, --key),
# against real redis-servers that speak only TLS, with a PKI made for the
# test (TotpTLS): status and reset with the CA that signed Redis's
# certificate, a password as well; a client certificate where Redis
# demands one; a certificate that does not verify (another CA, the
# system's CAs, expired): exit 1, a message naming the address and the
# CA, nothing done; plain text to a TLS Redis and TLS without the client
# certificate it demands: exit 1 and a hint; the usage errors of the TLS
# options.  A fake redis-cli first in PATH shows the options it is given.
# nginx is not run.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
use Test::More;

use TotpTest;
use TotpTLS;
use TotpAdmin qw(slurp quiet_syslog refuses_usage);
use TotpGate qw(user_key);


my $syslog = quiet_syslog();

# nginx never runs here: any existing file will do as the module
my $t = TotpTest->new(module => abs_path(__FILE__));
my $dir = $t->dir;

my $pki = TotpTLS::make_pki(dir => $dir);

my %tls = (cert => $pki->{server_cert}, key => $pki->{server_key},
           ca => $pki->{ca});

my $r = $t->redis(password => 'tls secret', tls => {%tls});

my $mutual = $t->redis(name => 'redis_mutual',
    tls => { %tls, auth_clients => 'yes', client_cert => $pki->{client_cert},
             client_key => $pki->{client_key} });

my $expired = $t->redis(name => 'redis_expired',
    tls => { %tls, cert => $pki->{expired_cert}, key => $pki->{expired_key},
             insecure => 1 });

my $pw = $t->write_file('redis.pw', "tls secret\n");

sub admin {
    return TotpAdmin::admin($dir, @_);
}

# an enrolled user, as the module leaves one
sub enroll {
    my ($redis, $name) = @_;

    $redis->cli('HSET', user_key($name), secret => 'AAAA', digits => 6,
                period => 30, algorithm => 'sha1', created => 1700000000);
    $redis->cli('SADD', user_key($name, suffix => ':recovery'), 'h1', 'h2');
}

sub exists_user {
    my ($redis, $name) = @_;
    return scalar $redis->cli('EXISTS', user_key($name));
}

my @ca = ('--tls', '--cacert', $pki->{ca});

# --- the CA that signed Redis's certificate ---

subtest 'status and reset over TLS' => sub {
    enroll($r, 'alice');

    my ($out, $err, $rc) = admin('--redis', $r->addr, '--password-file', $pw,
                                 @ca, 'status', 'alice');
    is $rc, 0, 'status: exit 0' or diag $err;
    like $out, qr/^user: alice$/m, 'status: the user';
    like $out, qr/enrolled/, 'status: read from Redis over TLS';
    is $err, '', 'status: nothing on stderr';

    # the name the certificate is for, sent; and the list
    ($out, $err, $rc) = admin('--redis', $r->addr, '--password-file', $pw,
                              @ca, '--sni', 'redis.test', 'list');
    is $rc, 0, 'list with --sni: exit 0' or diag $err;
    is $out, "alice\n", 'list: alice';

    ($out, $err, $rc) = admin('--redis', $r->addr, '--password-file', $pw,
                              @ca, 'reset', 'alice');
    is $rc, 0, 'reset: exit 0' or diag $err;
    is exists_user($r, 'alice'), '0', 'reset: the user is gone from Redis';
};

subtest 'a client certificate' => sub {
    enroll($mutual, 'bob');

    my ($out, $err, $rc) = admin('--redis', $mutual->addr, @ca,
                                 '--cert', $pki->{client_cert},
                                 '--key', $pki->{client_key},
                                 'reset', 'bob');
    is $rc, 0, 'with --cert and --key: exit 0' or diag $err;
    is exists_user($mutual, 'bob'), '0', 'the user is gone';

    enroll($mutual, 'bob');

    ($out, $err, $rc) = admin('--redis', $mutual->addr, @ca, 'reset', 'bob');
    is $rc, 1, 'without: exit 1';
    my $addr = $mutual->addr;
    like $err, qr/^totp-admin: Redis at \Q$addr\E: .*\(does it want a client certificate\? --cert, --key\)$/m,
        'the message names the address and what may be missing' or diag $err;
    is $out, '', 'nothing on stdout';
    is exists_user($mutual, 'bob'), '1', 'nothing deleted';
};

# --- certificates that do not verify: nothing done ---

subtest 'certificates that do not verify' => sub {
    enroll($r, 'carol');

    my $addr = $r->addr;

    for (['another CA', $r, ['--cacert', $pki->{wrong_ca}],
          qr/does not verify against "\Q$pki->{wrong_ca}\E" \(--cacert\)/],
         ['the system\'s CAs', $r, [],
          qr/does not verify against the system's CAs \(no --cacert\)/],
         ['an expired certificate', $expired, ['--cacert', $pki->{ca}],
          qr/does not verify against "\Q$pki->{ca}\E" \(--cacert\)/])
    {
        my ($what, $redis, $cacert, $why) = @$_;
        my $addr = $redis->addr;

        my ($out, $err, $rc) = admin('--redis', $addr, '--password-file', $pw,
                                     '--tls', @$cacert, 'reset', 'carol');
        is $rc, 1, "$what: exit 1";
        like $err, qr/^totp-admin: cannot connect to Redis at \Q$addr\E: .*certificate verify failed/m,
            "$what: the address, and OpenSSL's reason" or diag $err;
        like $err, $why, "$what: which CAs it was checked against";
        is $out, '', "$what: nothing on stdout";
    }

    is exists_user($r, 'carol'), '1', 'nothing deleted';

    # plain text to a Redis that speaks only TLS
    my ($out, $err, $rc) = admin('--redis', $addr, '--password-file', $pw,
                                 'status', 'carol');
    is $rc, 1, 'no --tls: exit 1';
    like $err, qr/^totp-admin: Redis at \Q$addr\E: .*\(does it speak TLS only\? --tls\)$/m,
        'no --tls: a hint' or diag $err;
};

# --- usage errors ---

subtest 'usage errors' => sub {
    my $missing = "$dir/missing.pem";

    for (['--cacert without --tls', qr/--cacert needs --tls/,
          '--cacert', $pki->{ca}],
         ['--sni without --tls', qr/--sni needs --tls/, '--sni', 'x'],
         ['--cert without --tls', qr/--cert needs --tls/,
          '--cert', $pki->{client_cert}, '--key', $pki->{client_key}],
         ['--cert without --key', qr/--cert needs --key/,
          '--tls', '--cert', $pki->{client_cert}],
         ['--key without --cert', qr/--key needs --cert/,
          '--tls', '--key', $pki->{client_key}],
         ['a CA file that does not exist',
          qr/--cacert "\Q$missing\E": No such file/,
          '--tls', '--cacert', $missing],
         ['a bad --sni', qr/--sni "a b": expected a host name/,
          '--tls', '--sni', 'a b'],
         ['TLS to a unix socket', qr/a unix socket is plain text/,
          '--tls', '--redis', "unix:$dir/r.sock"])
    {
        refuses_usage($dir, @$_);
    }
};

# --- what redis-cli is given ---

subtest 'redis-cli\'s TLS options' => sub {
    my $log = "$dir/fake-cli.log";

    # records its argv, answers like an empty Redis
    my $fake = $t->write_file('fakebin/redis-cli', <<'EOF');
#!/usr/bin/perl
open my $fh, '>>', $ENV{FAKE_CLI_LOG} or die "$ENV{FAKE_CLI_LOG}: $!";
print $fh join("\0", @ARGV), "\n";
close $fh;
print qq{"0",\n};
EOF
    chmod 0755, $fake or die "$fake: $!";

    local $ENV{PATH} = dirname($fake) . ":$ENV{PATH}";
    local $ENV{FAKE_CLI_LOG} = $log;

    my ($out, $err, $rc) = admin('--redis', '10.0.0.5:6390', @ca,
                                 '--sni', 'redis.test',
                                 '--cert', $pki->{client_cert},
                                 '--key', $pki->{client_key}, 'list');
    is $rc, 0, 'exit 0' or diag $err;

    my @calls = map { [split /\0/, $_, -1] } split /\n/, slurp($log);

    is_deeply \@calls,
        [['--no-auth-warning', '-e', '--csv', '-h', '10.0.0.5', '-p', 6390,
          '--tls', '--cacert', $pki->{ca}, '--sni', 'redis.test',
          '--cert', $pki->{client_cert}, '--key', $pki->{client_key},
          '-n', 0, 'SCAN', 0, 'MATCH', 'totp:user:{*', 'TYPE', 'hash',
          'COUNT', 1000]],
        'the TLS options, after the address';
};

$t->done;
