#!/usr/bin/perl

# Every nginx snippet of README.md and docs/ is what an admin copies: each
# must pass "nginx -t" as written, its paths filled in.  A snippet is a
# whole nginx.conf (it has "http {"), server blocks (with what goes at the
# http level before them), location blocks, or http-level directives
# alone; the test puts the last three where they go.  t/readme.t signs a user in through the complete one.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;
use TotpDocs qw(snippets);

my $t = TotpTest->new;
my $dir = $t->dir;
my $port = $t->port('http');

my $key = $t->write_file('totp.key', 'd' x 32);
my $htpasswd = $t->write_file('users.htpasswd', "alice:{PLAIN}x\n");
my $redis_password = $t->write_file('redis.password', "secret\n");

my ($out, $status) = TotpTest::Proc::capture(
    'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$dir/cert.key", '-out', "$dir/cert.crt", '-days', '1',
    '-subj', '/CN=docs.test');
die "openssl req: $out\n" if $status;

# a real server's paths, as the snippets write them, made the test's
sub fill {
    my ($text) = @_;

    $text =~ s{load_module \S+;}{load_module $t->{module};}g;
    $text =~ s{/etc/nginx/totp\.key}{$key}g;
    $text =~ s{/etc/nginx/[\w.-]+\.htpasswd}{$htpasswd}g;
    $text =~ s{/etc/nginx/[\w.-]+\.crt}{$dir/cert.crt}g;
    $text =~ s{/etc/nginx/[\w.-]+\.key}{$dir/cert.key}g;
    $text =~ s{/etc/nginx/[\w.-]+\.password}{$redis_password}g;
    $text =~ s{/var/log/nginx/}{$dir/}g;
    $text =~ s{listen\s+[^;\s]+((?:\s+ssl)?)\s*;}{listen 127.0.0.1:$port$1;}g;

    return $text;
}

sub location_only {
    my ($text) = @_;

    # comments and blank lines aside, it starts with a location
    my $code = join '', grep { !/^\s*(#.*)?$/ } split /^/m, $text;

    return $code =~ /\A\s*location\b/;
}

my @snippets = snippets();
ok @snippets >= 8, scalar(@snippets) . ' snippets found';

for my $s (@snippets) {
    my $name = "$s->{file} line $s->{line}";
    my $text = fill($s->{text});
    my $conf;

    if ($text =~ /^\s*http\s*\{/m) {
        my $main = $t->main_lines;
        $main =~ s/^load_module .*\n//m;
        $text =~ s/^(load_module .*\n)/$1$main/m;
        $text =~ s/^events\s*\{\s*\}/"events {\n" . $t->events_lines . "}"/me;
        my $harness = $t->http_lines;
        $text =~ s/^http\s*\{\n/http {\n$harness/m;
        $conf = $text;

    } else {
        # a snippet that sets the key itself (a whole site file) keeps it
        my $http = $t->http_lines
                   . ($text =~ /^\s*totp_key_file\b/m ? ''
                                                       : "    totp_key_file $key;\n");

        if ($text =~ /^\s*server\s*\{/m) {
            $http .= $text;

        } elsif ($text !~ /\{/) {
            # http-level directives only: a server gives them a gated
            # location to serve
            $http .= $text . "    server {\n        listen 127.0.0.1:$port;\n"
                     . "        location ^~ /_totp/ { totp_pages; }\n"
                     . "        location / { totp on; "
                     . "totp_password_file $htpasswd; }\n    }\n";

        } elsif (location_only($text)) {
            my $pages = $text =~ /totp_pages/ ? ''
                        : "        location ^~ /_totp/ { totp_pages; }\n";
            $http .= "    server {\n        listen 127.0.0.1:$port;\n"
                     . "$pages$text    }\n";

        } else {
            fail("$name: a whole nginx.conf, server blocks or location "
                 . "blocks");
            next;
        }

        $conf = $t->main_lines . "events {\n" . $t->events_lines
                . "}\nhttp {\n$http}\n";
    }

    $t->write_file('nginx.conf', $conf);

    my ($ok, $log) = $t->nginx_test;
    ok $ok, "$name passes nginx -t" or diag "$log\n$conf";
}

$t->done;
