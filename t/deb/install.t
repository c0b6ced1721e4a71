#!/usr/bin/perl

# Run by make test-deb (tools/test-deb) once the package is installed,
# never by make test: the package's files where Debian wants them, and a
# sign-in through nginx that loads the module only through the package's
# modules-enabled file, with codes from oathtool.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;

use TotpTest;
use TotpGate qw(gate_setup login enroll);

my $so = $ENV{TOTP_DEB_SO} or BAIL_OUT('run by make test-deb');
my $enabled = $ENV{TOTP_DEB_ENABLED};
my $pkg = $ENV{TOTP_DEB_PKG};

# --- the package's files ---

my @files = split /\n/, `dpkg -L $pkg`;
my %has = map { $_ => 1 } @files;

ok($has{$so}, "dpkg -L: $so");
ok($has{'/usr/sbin/totp-admin'}, 'dpkg -L: /usr/sbin/totp-admin');
ok($has{'/usr/share/man/man8/totp-admin.8.gz'}, 'dpkg -L: its man page');
ok($has{"/usr/share/doc/$pkg/examples/console.conf"},
   'dpkg -L: the example site');
ok($has{"/usr/share/doc/$pkg/copyright"}, 'dpkg -L: the copyright file');

ok(-l $enabled, "$enabled: enabled by the install, as a symlink");
my $available = readlink $enabled // '';
is($available, '/usr/share/nginx/modules-available/mod-http-totp.conf',
   'pointing at the load file in modules-available');
is(TotpTest::_slurp($available),
   "load_module modules/ngx_http_totp_module.so;\n",
   'which loads the module from nginx\'s modules directory');

# the exact ABI of the nginx it was built for, which this nginx provides
my ($depends) = `dpkg-query -W -f '\${Depends}' $pkg`;
my ($abi) = ($depends // '') =~ /\b(nginx-abi-[\w.~+-]+)/;
ok($abi, "Depends names an nginx ABI: " . ($abi // 'none'));
my $provides = `dpkg-query -W -f '\${Provides}' nginx nginx-core nginx-light `
               . 'nginx-full nginx-extras 2>/dev/null';
like($provides, qr/\Q$abi\E/, 'the installed nginx provides that ABI')
    if $abi;

my ($out, $status) = TotpTest::Proc::capture('/usr/sbin/totp-admin', '--help');
is($status, 0, 'totp-admin --help runs from /usr/sbin');
like($out, qr/usage: totp-admin/, 'and says how to use it');

# --- nginx with the module only through modules-enabled ---

my $t = TotpTest->new(nginx => '/usr/sbin/nginx', module => $so);
my $dir = $t->dir;

gate_setup(t => $t, no_run => 1);

# as Debian's prefix has it: <prefix>/modules is the modules directory
symlink '/usr/lib/nginx/modules', "$dir/modules" or die "symlink: $!\n";

my $conf = TotpTest::_slurp("$dir/nginx.conf");
$conf =~ s{^load_module [^\n]*;$}{include $enabled;}m
    or die "no load_module line\n";
$t->write_file('nginx.conf', $conf);

unlike($conf, qr/load_module/, 'the configuration has no load_module');

my ($ok, $log) = $t->nginx_test;
ok($ok, 'nginx -t with the enabled file') or diag $log;

$t->run;

my $ua = $t->ua;
my $res = $ua->get('/console/');
is($res->{status}, 302, 'the console asks to sign in');

$res = login($ua, 'alice', 'wonderland');
is($res->{status}, 302, 'the password is right: to enrollment');

($res) = enroll($ua, $res->{headers}{location});
is($res->{status}, 302, 'enrolled with a code from oathtool');

$res = $ua->get('/console/');
is($res->{status}, 200, 'signed in: the console answers');
like($res->{body}, qr/upstream user=alice status=verified|upstream user=alice status=session/,
     'as alice');

$t->done;
