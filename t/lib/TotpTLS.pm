package TotpTLS;

# A throw-away PKI for the tests of TLS to Redis, made with the openssl
# command line in a test's dir: a CA, a second CA that signed nothing of
# this PKI (the "wrong" CA a client may trust), a server certificate for
# redis.test and 127.0.0.1, the same server's certificate expired, and a
# client certificate, all signed by the CA.  Keys are EC P-256: fast to
# make, as a test makes them at every run.
#
# Every certificate is signed by "openssl ca", not "openssl x509 -req":
# OpenSSL 3.0's x509 takes only -days, so it cannot date a certificate in
# the past, and an expired certificate is one of the cases.

use strict;
use warnings;

use File::Path qw(make_path);

use TotpTest::Proc;

# Returns a hash of paths: ca, wrong_ca (certificates), server_cert,
# server_key, expired_cert, expired_key, client_cert, client_key.
# %o: dir (the test dir; the files go to DIR/pki), names (the server's
# subjectAltName entries; default DNS:redis.test, IP:127.0.0.1).
sub make_pki {
    my (%o) = @_;

    my $d = "$o{dir}/pki";
    make_path("$d/new");

    my @names = @{ $o{names} // ['DNS:redis.test', 'IP:127.0.0.1'] };

    my %p = map { $_ => "$d/$_.pem" }
            qw(ca ca_key wrong_ca wrong_ca_key server_cert server_key
               expired_cert expired_key client_cert client_key);

    _write("$d/index.txt", '');

    # openssl ca's whole configuration: a database it insists on, any
    # subject, the extensions each kind of certificate carries
    _write("$d/ca.cnf", <<"EOF");
[ ca ]
default_ca = test_ca

[ test_ca ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = $p{ca}
private_key = $p{ca_key}
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none

[ any ]
commonName = supplied

[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = @{[ join ', ', @names ]}

[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF

    _ca($p{ca}, $p{ca_key}, 'totp test CA');
    _ca($p{wrong_ca}, $p{wrong_ca_key}, 'totp test wrong CA');

    _leaf($d, $p{server_cert}, $p{server_key}, 'redis.test', 'server',
          '-days', 2);

    # expired a day ago, after a day of validity
    _leaf($d, $p{expired_cert}, $p{expired_key}, 'redis.test', 'server',
          '-startdate', _utc(time - 2 * 86400),
          '-enddate', _utc(time - 86400));

    _leaf($d, $p{client_cert}, $p{client_key}, 'totp client', 'client',
          '-days', 2);

    return \%p;
}

sub _ca {
    my ($cert, $key, $cn) = @_;

    _openssl('req', '-x509', '-newkey', 'ec',
             '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
             '-keyout', $key, '-out', $cert, '-days', 2, '-subj', "/CN=$cn",
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

sub _leaf {
    my ($d, $cert, $key, $cn, $ext, @dates) = @_;

    (my $csr = $cert) =~ s/\.pem\z/.csr/;

    _openssl('req', '-new', '-newkey', 'ec',
             '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
             '-keyout', $key, '-out', $csr, '-subj', "/CN=$cn");

    _openssl('ca', '-batch', '-notext', '-config', "$d/ca.cnf",
             '-extensions', $ext, '-in', $csr, '-out', $cert, @dates);
}

# openssl ca's date form; the four-digit year is valid in every field
sub _utc {
    my @t = gmtime shift;
    return sprintf '%04d%02d%02d%02d%02d%02dZ',
                   $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0];
}

sub _openssl {
    my @argv = ('openssl', @_);

    my ($out, $status) = TotpTest::Proc::capture(@argv);
    die "@argv: " . TotpTest::Proc::describe_status($status) . "\n$out"
        if $status;
}

sub _write {
    my ($path, $content) = @_;

    open my $fh, '>', $path or die "$path: $!\n";
    print $fh $content;
    close $fh or die "$path: $!\n";
}

1;
