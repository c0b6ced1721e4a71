#!/usr/bin/perl

# The C unit tests of the signed cookie values in src/ngx_http_totp_crypto.c
# (built by make): round trips, user lengths 0, 256 and 257, expiry, wrong
# purpose, key rotation, every bit flip and truncation refused, payloads
# that lie about their user length refused even under a valid MAC.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('crypto_test', 'token');
