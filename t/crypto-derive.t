#!/usr/bin/perl

# The keys that src/ngx_http_totp_crypto.c derives from a key file, checked
# against an HKDF-SHA256 written here in Perl on Digest::SHA's HMAC, so
# that the salt, the info strings and their order are pinned down by an
# independent implementation (RFC 5869's own vectors check this one first).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(hmac_sha256);
use Test::More;

use OtpUnit;

my $bin = OtpUnit::bin('crypto_test');

my @info = map { "ngx_http_totp $_ v1" }
           qw(session trust pre csrf seal recovery line);

# RFC 5869, section 2

sub hkdf {
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

sub derive {
    my ($master, $quiet) = @_;

    # the refusal's message on stderr is expected, not a test's output

    open(my $stderr, '>&', \*STDERR) or die "dup: $!";
    open(STDERR, '>', '/dev/null') or die "/dev/null: $!" if $quiet;

    open(my $fh, '-|', $bin, 'derive', unpack('H*', $master))
        or die "cannot run $bin: $!";
    my @keys = <$fh>;
    close $fh;

    open(STDERR, '>&', $stderr) or die "dup: $!";

    chomp @keys;

    return ($? >> 8, @keys);
}

is(unpack('H*', hkdf(pack('H*', '000102030405060708090a0b0c'),
                     "\x0b" x 22, pack('H*', 'f0f1f2f3f4f5f6f7f8f9'), 42)),
   '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf'
   . '34007208d5b887185865', 'the Perl HKDF passes RFC 5869 case 1');

is(unpack('H*', hkdf('', "\x0b" x 22, '', 42)),
   '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d'
   . '9d201395faa4b61a96c8', 'the Perl HKDF passes RFC 5869 case 3');

my %masters = (
    '32 bytes of 0x42' => "\x42" x 32,
    '32 zero bytes'    => "\0" x 32,
    '33 bytes'         => join('', map { chr } 0 .. 32),
    '64 random bytes'  => join('', map { chr int rand 256 } 1 .. 64),
    '1000 bytes'       => join('', map { chr(($_ * 7) % 256) } 1 .. 1000),
);

for my $name (sort keys %masters) {
    my $master = $masters{$name};
    my ($rc, @got) = derive($master);

    my @want = map {
        unpack('H*', hkdf('ngx_http_totp_module', $master, $_, 32))
    } @info;

    is($rc, 0, "derive from $name exits 0");
    is_deeply(\@got, \@want, "six keys from $name as the Perl HKDF's");
}

my ($rc, @got) = derive("\x42" x 31, 1);

isnt($rc, 0, 'a master of 31 bytes is refused');
is(scalar @got, 0, 'and prints no keys');

done_testing();
