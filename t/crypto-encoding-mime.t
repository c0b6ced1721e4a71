#!/usr/bin/perl

# base64url of src/ngx_http_totp_crypto.c against Perl's MIME::Base64
# turned into the url alphabet without padding (RFC 4648 section 5), both
# ways, for lengths 0..70; the standard alphabet and padding are refused.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;

use OtpUnit;

my $bin = OtpUnit::bin('crypto_test');

sub run_bin {
    open(my $fh, '-|', $bin, @_) or die "cannot run $bin: $!";
    my @lines = <$fh>;
    close $fh;

    chomp @lines;

    is($? >> 8, 0, "crypto_test $_[0] exits 0");

    return @lines;
}

sub url {
    my ($raw) = @_;

    my $b64 = encode_base64($raw, '');
    $b64 =~ tr{+/}{-_};
    $b64 =~ s/=+\z//;

    return $b64;
}

# random lengths 0..70, then every byte value, then the bytes that make
# '-' and '_' (62 and 63) in every position of a group

my @raw = map { my $n = $_; join('', map { chr int rand 256 } 1 .. $n) }
          0 .. 70;
push @raw, join('', map { chr } 0 .. 255);
push @raw, "\xfb\xef\xbe", "\xff\xff\xff", "\xfb\xff", "\xff";

my @hex = map { unpack('H*', $_) } @raw;
my @want = map { url($_) } @raw;

my @got = run_bin('b64enc', @hex);

is(scalar @got, scalar @raw, 'one encoding per input');

my @bad = grep { ($got[$_] // '') ne $want[$_] } 0 .. $#raw;

ok(!@bad, 'encodings equal MIME::Base64 in the url alphabet, unpadded')
    or diag(join("\n", map { "len " . length($raw[$_])
                             . ": got '" . ($got[$_] // '') . "'"
                             . ", want '$want[$_]'" } @bad[0 .. 0]));

my @dec = run_bin('b64dec', @want);

@bad = grep { ($dec[$_] // '') ne $hex[$_] } 0 .. $#raw;

ok(!@bad, 'decoding MIME::Base64 in the url alphabet gives the bytes back')
    or diag("first mismatch at len " . length($raw[$bad[0]]));

# what MIME::Base64 writes as is, where it differs from base64url

my @std = grep { /[=+\/]/ }
          map { encode_base64($_, '') } @raw;

ok(@std > 20, 'standard encodings with =, + or / to try: ' . scalar @std);

my @refused = run_bin('b64dec', @std);

is(scalar(grep { $_ eq '-' } @refused), scalar @std,
   'every one of them refused');

done_testing();
