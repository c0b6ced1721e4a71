# `config` in a plain nginx source tree: --add-module and
# --add-dynamic-module both configure, and a missing library stops
# configure with a message that names it.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $top = "$FindBin::Bin/..";
my $src = $ENV{NGINX_SRC} // '/usr/share/nginx/src';

plan skip_all => "no nginx source tree at $src" unless -x "$src/configure";

my $work = tempdir(CLEANUP => !$ENV{TOTP_TEST_KEEP});

sub configure {
    my ($name, @args) = @_;

    my $tree = "$work/$name";
    system('cp', '-a', $src, $tree) == 0 or die "cp: $?";

    # the least nginx needs: no PCRE, zlib or OpenSSL in the way
    my $out = `cd $tree && ./configure --with-compat \\
        --without-http_rewrite_module --without-http_gzip_module \\
        @args 2>&1`;

    return ($? == 0, $out, $tree);
}

sub makefile {
    my ($tree) = @_;
    open my $fh, '<', "$tree/objs/Makefile" or return '';
    local $/;
    return <$fh>;
}

my ($ok, $out, $tree) = configure('static', "--add-module=$top");
ok $ok, '--add-module configures' or diag $out;
like $out, qr/checking for hiredis library \.\.\. found/, 'hiredis probed';
like $out, qr/checking for libqrencode library \.\.\. found/, 'qrencode probed';
like $out, qr/checking for OpenSSL libcrypto library \.\.\. found/,
    'libcrypto probed';
like makefile($tree), qr/ngx_http_totp_redis\.c/, 'module sources built in';
like makefile($tree), qr/-lhiredis/, 'and linked with hiredis';

($ok, $out, $tree) = configure('dynamic', "--add-dynamic-module=$top");
ok $ok, '--add-dynamic-module configures' or diag $out;
like makefile($tree), qr{objs/ngx_http_totp_module\.so:},
    'a dynamic module target';

# A compiler that cannot find hiredis's headers stands in for a machine
# without libhiredis-dev.

my $cc = "$work/cc-without-hiredis";
open my $fh, '>', $cc or die $!;
print $fh <<'EOF';
#!/bin/sh
for arg; do
    case $arg in
    *.c) grep -q 'hiredis/' "$arg" 2>/dev/null && exit 1 ;;
    esac
done
exec cc "$@"
EOF
close $fh;
chmod 0755, $cc;

($ok, $out) = configure('missing', "--with-cc=$cc", "--add-module=$top");
ok !$ok, 'configure stops without hiredis';
like $out, qr/error: ngx_http_totp_module requires the hiredis library/,
    'the message names the library';
like $out, qr/apt-get install libhiredis-dev/, 'and its package';

done_testing;
