#!/usr/bin/perl

# bench/signins (case f of make bench) runs as the README says, in a
# short form: both nginx, the sign-in driver, wrk, the table and the
# error logs.  It asserts no figure: speed is measured, not tested.

use strict;
use warnings;

use FindBin;
use Test::More;

use lib "$FindBin::Bin/lib";
use TotpTest;

plan skip_all => 'wrk under valgrind measures nothing' if TotpTest->valgrind;

my ($out, $status) = TotpTest::Proc::capture(
    "$FindBin::Bin/../bench/signins", '--rounds', 1, '--seconds', 1,
    '--cost', 4, '--connections', 4, '--threads', 1);

is($status, 0, 'bench/signins ran') or diag $out;

for my $row ('totp_thread_pool totp | none',
             'totp_thread_pool totp | 1/s, bcrypt cost 4',
             'totp_thread_pool off | none',
             'totp_thread_pool off | 1/s, bcrypt cost 4')
{
    like($out, qr/^\| \Q$row\E \| \d+ \| [\d.]+ ms \| [\d.]+ ms \|/m,
         "a row for $row");
}

like($out, qr/^pool: p99 with sign-ins \/ without: [\d.]+ \(target <= 2: (met|MISSED)\)$/m,
     'the ratio and the target');
like($out, qr/^error\.log: no alerts or crashes$/m, 'no alerts or crashes');

done_testing;
