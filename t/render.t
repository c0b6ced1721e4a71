#!/usr/bin/perl

# The C unit tests of src/ngx_http_totp_render.c (built by make): escaping,
# raw values, sections, the check's refusals and offsets, two passes that
# agree on random templates; then every template of html/ through it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use OtpUnit;

OtpUnit::run_unit('render_test', "$FindBin::Bin/../html");
