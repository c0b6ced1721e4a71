#!/usr/bin/perl

# tools/embed-html, which `config` runs to compile html/ into the module:
# under /bin/sh, the C it writes compiles and holds every file byte for
# byte, html/'s own and awkward ones (NUL, CR, tab, backslash, quotes,
# trigraph-like "??=", UTF-8, no final newline, empty); bad names and
# missing files stop it.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $top = "$FindBin::Bin/..";
my $embed = "$top/tools/embed-html";
my $work = tempdir(CLEANUP => !$ENV{TOTP_TEST_KEEP});

sub spew {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $data;
    close $fh or die "$path: $!";
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return <$fh>;
}

# the stand-ins for nginx's headers that the generated file includes

mkdir "$work/inc" or die $!;
spew("$work/inc/ngx_config.h", <<'EOF');
#include <stddef.h>
typedef unsigned char u_char;
typedef struct { size_t len; u_char *data; } ngx_str_t;
#define ngx_string(str)  { sizeof(str) - 1, (u_char *) str }
#define ngx_null_string  { 0, NULL }
EOF
spew("$work/inc/ngx_core.h", '');
spew("$work/inc/ngx_http_totp_templates.h", <<'EOF');
typedef struct { ngx_str_t name; ngx_str_t data; } ngx_http_totp_html_file_t;
extern ngx_http_totp_html_file_t  ngx_http_totp_html_files[];
EOF

# writes each embedded file to OUT_DIR/NAME

spew("$work/dump.c", <<'EOF');
#include <stdio.h>
#include "ngx_config.h"
#include "ngx_http_totp_templates.h"

int
main(int argc, char **argv)
{
    char                        path[4096];
    FILE                       *f;
    ngx_http_totp_html_file_t  *h;

    for (h = ngx_http_totp_html_files; h->name.len; h++) {
        snprintf(path, sizeof(path), "%s/%s", argv[1], (char *) h->name.data);
        f = fopen(path, "wb");
        if (f == NULL
            || fwrite(h->data.data, 1, h->data.len, f) != h->data.len
            || fclose(f) != 0)
        {
            return 1;
        }
    }

    return argc != 2;
}
EOF

my $cc = $ENV{CC} || 'cc';

sub round_trip {
    my ($name, @files) = @_;

    my $out = "$work/$name.c";
    my $got = "$work/$name.out";
    mkdir $got or die $!;

    my $rc = system('/bin/sh', $embed, $out, @files);
    ok $rc == 0, "$name: embed-html runs under /bin/sh" or return;

    $rc = system($cc, qw(-std=c99 -Wall -Wextra -Werror -pedantic
                         -Wno-overlength-strings),
                 "-I$work/inc", '-o', "$work/$name.bin", "$work/dump.c",
                 $out);
    ok $rc == 0, "$name: the C compiles cleanly" or return;

    ok system("$work/$name.bin", $got) == 0, "$name: and runs" or return;

    for my $file (@files) {
        (my $base = $file) =~ s{.*/}{};
        ok -e "$got/$base" && slurp("$got/$base") eq slurp($file),
            "$name: $base byte for byte";
    }
}

my @html = (glob("$top/html/*.html"), glob("$top/html/*.css"));
ok @html >= 8, 'html/ has its pages and style.css';
round_trip('html', @html);

mkdir "$work/odd" or die $!;
spew("$work/odd/nul.html", "a\0b\0\0c\n");
spew("$work/odd/escapes.html",
     qq{q"uo"te \\back\\slash ??= ??/ ??' tab\tcr\r\n\x01\x7f\xff});
spew("$work/odd/utf-8.html", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92\n");
spew("$work/odd/no-newline.html", "last line\nwithout newline");
spew("$work/odd/empty.css", '');
spew("$work/odd/digits.html", "\x01" . "23 \x0c" . "7\n");
round_trip('odd', glob("$work/odd/*"));

spew("$work/bad name.html", "x");
isnt system("/bin/sh $embed $work/bad.c '$work/bad name.html' 2>/dev/null"),
    0, 'a name outside [A-Za-z0-9._-] is refused';
ok !-e "$work/bad.c", 'and nothing is left behind';

isnt system("/bin/sh $embed $work/missing.c $work/nope.html 2>/dev/null"),
    0, 'a missing file is refused';
ok !-e "$work/missing.c", 'and nothing is left behind';

done_testing;
