#!/usr/bin/perl

# The C unit tests of the primitives in src/ngx_http_totp_crypto.c (built
# by make): HMAC-SHA256 against RFC 4231, the constant-time compare, the
# random bytes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('crypto_test', 'hmac');
