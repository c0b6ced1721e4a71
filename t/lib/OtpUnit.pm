package OtpUnit;

# Runs one group of a C unit test in build/t/ (otp_test, crypto_test), a
# program that prints TAP.

use strict;
use warnings;

use File::Basename qw(dirname);
use Cwd qw(abs_path);

use TotpTest ();

# the path of build/t/$prog; a missing binary must fail the run, never
# skip it

sub bin {
    my ($prog) = @_;

    my $bin = abs_path(dirname(abs_path(__FILE__)) . '/../..')
              . "/build/t/$prog";

    unless (-x $bin) {
        print "Bail out! build/t/$prog missing, run make\n";
        exit 255;
    }

    return $bin;
}

sub run_unit {
    my ($prog, $group) = @_;

    my $bin = bin($prog);

    # under TOTP_TEST_VALGRIND the unit runs in valgrind, whose errors
    # (stderr) end in exit code 99, which prove reports as a failure
    my @argv = (TotpTest::valgrind_argv(), $bin, defined $group ? $group : ());

    { exec { $argv[0] } @argv };

    print "Bail out! cannot run $bin: $!\n";
    exit 255;
}

sub run {
    my ($group) = @_;

    run_unit('otp_test', $group);
}

1;
