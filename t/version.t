#!/usr/bin/perl

# One version: src/ngx_http_totp_version.h writes it; the Debian
# package's changelog, CHANGELOG.md and the man page must say the same,
# or make deb would ship a package whose version lies.  And a license.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;

my $top = "$FindBin::Bin/..";

sub slurp { TotpTest::_slurp("$top/$_[0]") }

my ($version) = slurp('src/ngx_http_totp_version.h')
    =~ /^#define NGX_HTTP_TOTP_VERSION\s+"(\d+\.\d+\.\d+)"$/m;
ok($version, 'the module\'s version: ' . ($version // 'none'));

my ($deb) = slurp('debian/changelog')
    =~ /\Alibnginx-mod-http-totp \(([^)]+)\) \w+; urgency=\w+$/m;
is($deb, $version, 'debian/changelog\'s newest entry: the same version, '
   . 'native (no Debian revision)');

my ($changes) = slurp('CHANGELOG.md') =~ /^## (\S+)/m;
is($changes, $version, 'CHANGELOG.md\'s newest section: the same');

my ($man) = slurp('docs/totp-admin.8') =~ /^\.TH \S+ \d+ "[^"]*" "ngx_http_totp_module (\S+)"/m;
is($man, $version, 'the totp-admin man page: the same');

like(slurp('LICENSE'), qr/\ABSD 2-Clause License\n/, 'LICENSE: BSD 2-clause');
like(slurp('debian/copyright'), qr/^License: BSD-2-clause$/m,
     'debian/copyright says the same');

done_testing;
