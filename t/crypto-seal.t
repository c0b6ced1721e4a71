#!/usr/bin/perl

# The C unit tests of secret sealing (AES-256-GCM) in
# src/ngx_http_totp_crypto.c (built by make): round trips, the stored
# layout opened with EVP directly, fresh IVs, every bit flip and truncation
# refused, the aad bound, key rotation, output wiped on failure.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('crypto_test', 'seal');
