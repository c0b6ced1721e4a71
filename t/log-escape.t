#!/usr/bin/perl

# Client-supplied values in the error log are escaped as the access log
# escapes them ("\xHH" for a quote, a backslash, control characters and
# bytes above 0x7e), so that no one can write a line a parser takes for
# another user's event: a user name may hold a quote, and an
# unauthenticated POST chooses it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;
use TotpGate qw(gate_setup login);

my ($t) = gate_setup(users => { alice => 'wonderland' });

my $forged = 'mallory" verified at "' . "\x{c3}\x{ab}" . '\\';
my $escaped = 'mallory\x22 verified at \x22\xC3\xAB\x5C';

my $ua = $t->ua;
$ua->get('/');

my $res = login($ua, $forged, 'guess');
is $res->{status}, 401, 'a login with a quote in the name: refused';

my @lines = grep { /totp: / } $t->error_log;

ok grep({ index($_, qq{totp: user "$escaped" failed password}) >= 0 }
        @lines),
    'the failure is logged with the name escaped'
    or diag explain \@lines;

ok !grep({ /user "mallory"/ } @lines),
    'no line has the name end its quotes early';

ok !grep({ /[^\x20-\x7e]/ } map { /(totp: .*), client: / } @lines),
    'every byte of the messages is printable ASCII';

$res = $ua->post('/_totp/login', { user => 'x', password => 'y' },
                 { Origin => 'http://evil.test/"x' });
is $res->{status}, 403, 'a foreign Origin with a quote: refused';

ok grep({ index($_, 'foreign origin "http://evil.test/\x22x"') >= 0 }
        $t->error_log),
    '... and logged escaped';

$t->done;
