#!/usr/bin/perl

# The C unit tests of the key derivation in src/ngx_http_totp_crypto.c
# (built by make): HKDF-SHA256 against RFC 5869's test cases 1 to 3, the
# derived keys' salt and info, masters too short, keys wiped on failure.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('crypto_test', 'hkdf');
