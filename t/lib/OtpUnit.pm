package OtpUnit;

# Runs one group of build/t/otp_test, a C program that prints TAP.

use strict;
use warnings;

use File::Basename qw(dirname);
use Cwd qw(abs_path);

sub run {
    my ($group) = @_;

    my $bin = abs_path(dirname(abs_path(__FILE__)) . '/../..')
              . '/build/t/otp_test';

    # a missing binary must fail the run, never skip it

    unless (-x $bin) {
        print "Bail out! build/t/otp_test missing, run make\n";
        exit 255;
    }

    { exec { $bin } $bin, $group };

    print "Bail out! cannot run $bin: $!\n";
    exit 255;
}

1;
