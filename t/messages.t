#!/usr/bin/perl

# The pages' words that the module chooses come from a message catalog
# (html/messages.en), which totp_templates can replace message by message:
# titles, errors, the lockout notice with its plural.  A catalog's text is
# plain: the page escapes it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpGate qw(gate_setup field login);

my $t = TotpTest->new;
my $dir = $t->dir . '/words';
mkdir $dir or die "$dir: $!";

$t->write_file('words/messages.en', <<'EOF2');
# only what this site says otherwise
title_login: Log on to <Ops> & co
wrong_password: Nope: "that" isn't it.
locked: Wait {{minutes}} {{#one}}min{{/one}}{{^one}}mins{{/one}}, please.
EOF2

my ($t2, $redis, $port) = gate_setup(
    t => $t,
    limits => "totp_fail_limit 2 1m;\n    totp_fail_limit_ip 1000 1m;\n"
              . "    totp_lockout 60s;",
    http => "    totp_templates $dir;",
);

my $ua = $t->ua;
$ua->get('/console/');

my $page = $ua->get('/_totp/login');
like $page->{body}, qr{<title>Log on to &lt;Ops&gt; &amp; co},
    'the title from the catalog, escaped in the page';

my $res = login($ua, 'alice', 'guess');
is $res->{status}, 401, 'a wrong password';
like $res->{body}, qr{Nope: &quot;that&quot; isn&#39;t it\.},
    'its error from the catalog, escaped';

$res = login($ua, 'alice', 'guess again');
is $res->{status}, 429, 'the second locks';
like $res->{body}, qr{Wait 1 min, please\.}, 'the lockout notice, singular';
like $res->{body}, qr{>Back to sign-in<},
    'a message the catalog leaves out stays built in'
    or diag $res->{body};

$t->done;
