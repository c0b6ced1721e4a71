#!/usr/bin/perl

# The C unit tests of base64url in src/ngx_http_totp_crypto.c (built by
# make): RFC 4648 vectors, the url alphabet, strictness (no '=', '+', '/',
# no length of 1 mod 4, no non-zero trailing bits), random round trips.
# t/crypto-encoding-mime.t compares with Perl's MIME::Base64.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('crypto_test', 'b64');
