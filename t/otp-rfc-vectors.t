#!/usr/bin/perl

# The C unit tests of src/ngx_http_totp_otp.c (built by make) that check
# the published vectors: RFC 4226 Appendix D, RFC 6238 Appendix B (SHA1,
# SHA256 and SHA512 with their own seeds), RFC 4648 section 10.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run('rfc');
