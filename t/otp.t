#!/usr/bin/perl

# Runs the C unit tests of src/ngx_http_totp_otp.c (built by make).

use strict;
use warnings;

use FindBin;

my $bin = "$FindBin::Bin/../build/t/otp_test";

# a missing binary must fail the run, never skip it

unless (-x $bin) {
    print "Bail out! build/t/otp_test missing, run make\n";
    exit 255;
}

{ exec { $bin } $bin };

print "Bail out! cannot run $bin: $!\n";
exit 255;
