#!/usr/bin/perl

# bench/instructions (case g of make bench) runs as the README says, in a
# short form: its nginx under callgrind, each case's requests, the table
# and the error log.  It asserts no figure: the README's are measured.

use strict;
use warnings;

use FindBin;
use Test::More;

use lib "$FindBin::Bin/lib";
use TotpTest;

plan skip_all => 'callgrind under valgrind: one is enough'
    if TotpTest->valgrind;

my ($out, $status) = TotpTest::Proc::capture(
    "$FindBin::Bin/../bench/instructions", '--requests', 50,
    '--rounds', 1);

is($status, 0, 'bench/instructions ran') or diag $out;

like($out, qr/^round 1  a\. proxy_pass \d+  b\. totp on, valid session \d+  c\. b with audit log and metrics \d+  d\. auth_request \d+  e\. trusted pass \d+  f\. auth_basic \d+  b - a -?\d+ /m,
     'a round: every case counted');
like($out, qr/^medians: a \d+, b \d+, c \d+, d \d+, e \d+, f \d+, the gate's own cost -?\d+ instructions per request/m,
     'the medians and the gate\'s own cost');
like($out, qr/^the metrics counted \d+ passes with a session$/m,
     'the metrics counted the passes');
like($out, qr/^error\.log: no alerts or crashes$/m, 'no alerts or crashes');

done_testing;
