#!/usr/bin/perl

# The pages speak English, French, German and Italian.  Each catalog has
# every key of the English one, with the same {{tags}}, and no English
# left in it but the words listed here; "totp_language auto" chooses by
# Accept-Language (q-values, regions, case, malformed weights), a fixed
# one ignores it; the page says its language in <html lang>, its
# template words and the module's own messages alike; a totp_templates
# directory can replace one message of one language, and a key no
# catalog knows fails nginx -t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpCatalog;
use TotpGate qw(gate_setup field login);

my $html = "$FindBin::Bin/../html";
my %cat = map { $_ => TotpCatalog::read_catalog("$html/messages.$_") }
          qw(en fr de it);
my $en = $cat{en};

# where a language really uses the English word
my %same = (
    it => { label_password => 'Password, as Italian sign-in forms say',
            enroll_param_account => 'Account, as Italian apps say' },
);

sub tags {
    my ($text) = @_;
    return join ' ', sort(($text // '') =~ /\{\{[^}]*\}\}/g);
}

for my $lang (qw(fr de it)) {
    my $c = $cat{$lang};

    is $c->{lang}, $lang, "messages.$lang: lang is $lang";
    is_deeply [ sort grep { !exists $c->{$_} } keys %$en ], [],
        "messages.$lang: every key of the English catalog";
    is_deeply [ sort grep { !exists $en->{$_} } keys %$c ], [],
        "messages.$lang: no key the English one lacks";
    is_deeply [ sort grep { tags($c->{$_}) ne tags($en->{$_}) } keys %$en ],
        [], "messages.$lang: the same {{tags}} in every text";
    is_deeply [ sort grep { ($c->{$_} // '') eq $en->{$_}
                            && !$same{$lang}{$_} } keys %$en ],
        [], "messages.$lang: no English left but the listed words";
    unlike join("\n", values %$c), qr/\x{df}|\xc3\x9f/,
        "messages.$lang: no sharp s (Swiss spelling)" if $lang eq 'de';
}

# the same words a page shows, escaped as the page escapes them
sub shown {
    my ($lang, $key) = @_;
    my $text = $cat{$lang}{$key};
    $text =~ s/&/&amp;/g;
    $text =~ s/</&lt;/g;
    $text =~ s/>/&gt;/g;
    $text =~ s/"/&quot;/g;
    $text =~ s/'/&#39;/g;
    return $text;
}

my $t = TotpTest->new;
my $dir = $t->dir . '/words';
mkdir $dir or die "$dir: $!";
$t->write_file('words/messages.fr', "title_login: Connexion maison\n");

my ($t2, $redis) = gate_setup(
    t => $t,
    http => "    totp_templates $dir;\n");

sub page_in {
    my ($accept, $path) = @_;
    my $ua = $t->ua(headers => { defined $accept
                                 ? ('Accept-Language' => $accept) : () });
    return $ua->get($path // '/_totp/login');
}

for my $case ([ undef, 'en', 'no Accept-Language' ],
              [ 'fr-CH, fr;q=0.9, en;q=0.8', 'fr', 'fr-CH first' ],
              [ 'en;q=0.5, de;q=0.9', 'de', 'the highest q, not the first' ],
              [ 'DE-ch', 'de', 'a region and capitals' ],
              [ 'es, it;q=0.3', 'it', 'a language not spoken is passed' ],
              [ 'it;q=0, es', 'en', 'q=0: not this one; none: English' ],
              [ 'fr;q=2', 'en', 'a weight above 1: refused' ],
              [ 'fr;q=0.0001', 'en', 'four decimals: refused' ],
              [ 'de;q=0.5, fr;q=0.5', 'de', 'equal weights: the first' ],
              [ '*;q=0.9, it;q=0.8', 'en', 'the wildcard: English' ],
              [ 'french, it', 'it', 'a longer name is not a code' ],
              [ ' it ; q=0.7 ,fr;q=0.6', 'it', 'spaces around' ],
              [ ',,;;q=,', 'en', 'garbage: English' ])
{
    my ($accept, $lang, $what) = @$case;

    my $res = page_in($accept);
    is $res->{status}, 200, "$what: the login page";
    like $res->{body}, qr{<html lang="$lang">}, "$what: <html lang=\"$lang\">";

    my $title = $lang eq 'fr' ? 'Connexion maison' : shown($lang, 'title_login');
    like $res->{body}, qr{<title>\Q$title\E}, "$what: the title in $lang";
    like $res->{body}, qr{<label for="user">\Q@{[ shown($lang, 'label_user') ]}\E</label>},
        "$what: the template's words in $lang";
}

unlike page_in('en')->{body}, qr/Connexion maison/,
    'the French override stays French';

# a message the module chooses, in the language of the page
my $ua = $t->ua(headers => { 'Accept-Language' => 'de-CH' });
my $page = $ua->get('/_totp/login');
my $res = $ua->post('/_totp/login', { user => 'alice', password => 'nope',
                                      csrf => field($page->{body}, 'csrf'),
                                      next => '/' });
like $res->{body}, qr{\Q@{[ shown('de', 'wrong_password') ]}\E},
    'a wrong password, said in German';

$t->stop;

# a key no catalog knows fails nginx -t, naming the file and the key
$t->write_file('words/messages.de', "titel_login: Anmelden\n");
my ($ok, $out) = $t->nginx_test;
ok !$ok, 'an unknown key in messages.de: nginx -t fails';
like $out, qr{messages\.de" line 1 has an unknown key "titel_login"},
    '... naming the file, the line and the key';

$t->write_file('words/messages.de', "title_login: {{#n}}Anmelden\n");
($ok, $out) = $t->nginx_test;
ok !$ok, 'a broken tag in messages.de: nginx -t fails';

# a word's brace next to the template's: a raw tag neither held alone
$t->write_file('words/messages.de', "brand: {\n");
$t->write_file('words/login.html', "<p>{{\@brand}}{{user}}}</p>\n");
($ok, $out) = $t->nginx_test;
ok !$ok, 'a word that makes {{{user}}} with the template: nginx -t fails';
like $out, qr{prints a value unescaped}, '... as an unescaped value';

$t->write_file('words/messages.de', "title_login: Anmelden\n");
$t->write_file('words/login.html', "<h1>{{\@title_loggin}}</h1>\n");
($ok, $out) = $t->nginx_test;
ok !$ok, 'a template naming an unknown word: nginx -t fails';
like $out, qr{login\.html" names an unknown word at offset 4 \(line 1\): "\{\{\@title_loggin\}\}},
    '... naming the file and where';

$t->done(nested => 1);

# a fixed language: the header does not count
my ($t3) = gate_setup(http => "    totp_language de;\n");
$res = $t3->ua(headers => { 'Accept-Language' => 'fr' })->get('/_totp/login');
like $res->{body}, qr{<html lang="de">}, 'totp_language de: German for fr';
like $res->{body}, qr{<title>\Q@{[ shown('de', 'title_login') ]}\E},
    '... all of it';

$t3->done(nested => 1);

# the language of a gated location: its pages speak it, whatever else
# the location shares with the others
my $t4 = TotpTest->new;
my $pw = $t4->write_file('htpasswd-it', "alice:{PLAIN}x\n");
gate_setup(t => $t4, password_file => $pw,
           server => "    location /it/ { totp on; totp_password_file $pw;\n"
                     . "        totp_language it; }\n");

for my $case ([ '/it/x', 'it' ], [ '/x', 'fr' ]) {
    my ($path, $lang) = @$case;
    my $b = $t4->ua(headers => { 'Accept-Language' => 'fr' });
    my $to = $b->get($path)->{headers}{location} // '';
    $to =~ s{^https?://[^/]+}{};
    like $b->get($to)->{body}, qr{<html lang="$lang">},
        "the login for $path speaks $lang";
}

$t4->done;
