#!/usr/bin/perl

# The C unit tests of src/ngx_http_totp_json.c (built by make): the audit
# log's escaping of quotes, control characters and invalid UTF-8.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('json_test');
