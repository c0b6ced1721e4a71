#!/usr/bin/perl

# The C unit tests of src/ngx_http_totp_otp.c (built by make) beyond the
# published vectors: digits, periods and 64-bit steps, the window check's
# edges, algorithm names, base32 tolerance and strictness, base32 against
# coreutils' base32.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run('edges');
