#!/usr/bin/perl

# The C unit tests of src/ngx_http_totp_qr_core.c (built by make): the
# grouped secret, the otpauth:// URI's encoding, the QR code's SVG read
# back module by module, and end to end: drawn by rsvg-convert, decoded by
# zbarimg to the very URI.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('qr_test', $ENV{TMPDIR} || '/tmp');
