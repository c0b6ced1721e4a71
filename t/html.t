#!/usr/bin/perl

# html/'s pages against the rules the gate serves them under: the CSP
# (no script, no inline style, nothing from elsewhere), forms that post
# with a CSRF token, a label for every field, the code field's attributes,
# errors in role="alert", and the names the module's code relies on.
# The pages are read as an English visitor gets them: each {{@key}}
# replaced by its text in html/messages.en (t/lib/TotpCatalog.pm does it
# as the module does).  The raw templates hold no words of their own, so
# that messages.fr, .de and .it translate every one.  That every template
# is well formed and renders is render.t's part.

use strict;
use warnings;

use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";

use TotpCatalog qw(read_catalog expand escape);

my $dir = "$FindBin::Bin/../html";

my @pages = qw(login verify enroll reset logout message recovery codes
               forget);

sub slurp {
    my ($name) = @_;
    open my $fh, '<', "$dir/$name" or return undef;
    local $/;
    return <$fh>;
}

my $en = eval { read_catalog("$dir/messages.en") };
ok $en, 'html/messages.en reads' or diag $@;
$en //= {};

# the {{@key}} rule, as the module's: the text escaped, its tags kept

is expand('<p title="{{@a}}">{{@a}}</p>',
          { a => q{Tom & "Jerry" <x> it's {{#user}}{{user}}{{/user}}} }),
    '<p title="Tom &amp; &quot;Jerry&quot; &lt;x&gt; it&#39;s '
    . '{{#user}}{{user}}{{/user}}">Tom &amp; &quot;Jerry&quot; &lt;x&gt; '
    . 'it&#39;s {{#user}}{{user}}{{/user}}</p>',
    'expand: the text escaped, its tags kept';
ok !eval { expand('{{@b}}', { a => 'x' }) }, 'expand: an unknown key dies';
ok !eval { expand('{{@a}}', { a => '{{{body}}}' }) },
    'expand: a raw value in a text dies';

# %raw: the templates as written; %html: as an English visitor gets them

my (%raw, %html);

for my $name ('layout', @pages) {
    $raw{$name} = slurp("$name.html");
    ok defined $raw{$name}, "html/$name.html is there" or next;

    $html{$name} = eval { expand($raw{$name}, $en) };
    ok defined $html{$name}, "$name: every {{\@key}} is in messages.en"
        or diag $@;
}

my $css = slurp('style.css');
ok defined $css, 'html/style.css is there';

# attributes of the first tag of type $tag matching $re, as a hash

sub attrs {
    my ($tag) = @_;
    my %a;
    while ($tag =~ /([a-z-]+)(?:="([^"]*)")?/g) {
        $a{$1} = $2 // '';
    }
    return \%a;
}

sub tags {
    my ($html, $name) = @_;
    return map { attrs($_) } $html =~ /<\Q$name\E\b([^>]*)>/gs;
}

for my $name ('layout', @pages) {
    my $h = $html{$name} // next;

    unlike $h, qr/<script\b/i, "$name: no script";
    unlike $h, qr/\son[a-z]+\s*=/i, "$name: no event handler attributes";
    unlike $h, qr/\sstyle\s*=/i, "$name: no style attribute";
    unlike $h, qr/<style\b/i, "$name: no style element";
    unlike $h, qr/<(?:img|iframe|object|embed|base)\b/i,
        "$name: no img, iframe, object, embed, base";
    unlike $h, qr/(?:src|href|action)="(?!\{\{)/,
        "$name: every URL comes from the module";
    unlike $h, qr{https?://|//[a-z]}i, "$name: nothing from elsewhere";

    my @raw = $h =~ /\{\{\{([a-z_]+)\}\}\}/g;
    my %allowed = (layout => 'body', enroll => 'qr');
    is "@raw", $allowed{$name} // '',
        "$name: raw values only for what the module generates";

    # every {{error}} sits in an element with role="alert"
    my @errors = $h =~ /(<[^<>]*>)\{\{error\}\}/g;
    is scalar(@errors), scalar(() = $h =~ /\{\{error\}\}/g),
        "$name: every error right inside an element";
    ok !grep({ !/role="alert"/ } @errors), "$name: errors in role=alert";
}

my $layout = $html{layout} // '';

like $layout, qr/\A<!DOCTYPE html>\n/, 'layout: a doctype';
like $layout, qr/<html lang="en">/, 'layout: lang="en"';
like $raw{layout} // '', qr/<html lang="\{\{\@lang\}\}">/,
    'layout: the language from the catalog';
like $layout, qr/<meta charset="utf-8">/, 'layout: utf-8';
like $layout,
    qr/<meta name="viewport" content="width=device-width, initial-scale=1">/,
    'layout: viewport';
like $layout, qr/<meta name="color-scheme" content="light dark">/,
    'layout: color-scheme';
like $layout, qr/<link rel="stylesheet" href="\{\{css\}\}">/,
    'layout: the stylesheet';
like $layout, qr/<title>\{\{title\}\}/, 'layout: the title';
is scalar(() = $layout =~ /\{\{\{body\}\}\}/g), 1, 'layout: body once';

for my $name (@pages) {
    my $h = $html{$name} // next;

    my @forms = tags($h, 'form');

    for my $f (@forms) {
        is $f->{method}, 'post', "$name: the form posts";
        is $f->{action}, '{{action}}', "$name: to {{action}}";
    }

    # logout: here, or everywhere
    my %forms = (message => 0, logout => 2, codes => 2, account => 3);

    if ($name ne 'message') {
        is scalar(@forms), $forms{$name} // 1,
            "$name: " . ($forms{$name} // 1) . " form(s)";
        is scalar(() = $h =~ /<input type="hidden" name="csrf" value="\{\{csrf\}\}">/g),
            scalar(@forms), "$name: the csrf token in each form";
    }

    my @labels = map { $_->{for} } tags($h, 'label');

    for my $i (tags($h, 'input')) {
        next if ($i->{type} // '') eq 'hidden';
        ok defined $i->{id} && grep({ $_ eq $i->{id} } @labels),
            "$name: a label for field " . ($i->{name} // '?');
    }

    my ($code) = grep { ($_->{name} // '') eq 'code' } tags($h, 'input');

    if ($name =~ /^(?:verify|enroll|reset|codes)$/) {
        ok $code, "$name: a code field" or next;
        is_deeply [ @$code{qw(type id autocomplete inputmode pattern
                              maxlength)} ],
            # no pattern, and room for more than the digits: a code
            # pasted as "123 456" must reach the module, which takes
            # spaces and dashes out
            [ 'text', 'code', 'one-time-code', 'numeric', undef, '20' ],
            "$name: the code field's attributes";
        ok exists $code->{required}, "$name: the code field is required";

        # on the enrollment page focus would scroll the QR code away; it
        # moves to the field only when an error brings the user back
        if ($name eq 'enroll') {
            like $h, qr/required\{\{#error\}\} autofocus\s/,
                "$name: the code field is focused after an error only";
        } else {
            ok exists $code->{autofocus}, "$name: the code field is focused";
        }
    } elsif ($name eq 'recovery') {

        # a recovery code has letters: no numeric keyboard, no autofill
        ok $code, "$name: a field for the recovery code";
        is $code->{autocomplete}, 'off', "$name: not a one-time code";
        ok !exists $code->{inputmode}, "$name: the full keyboard";
    } else {
        ok !$code, "$name: no code field";
    }

    if ($name =~ /^(?:verify|enroll)$/) {
        like $h, qr/\{\{\#trust_for\}\}\s*<div\ class="check">\s*
                    <input\ type="checkbox"\ name="trust"\ id="trust"
                    \ value="1">\s*<label\ for="trust">Trust\ this\ browser
                    \ for\ \{\{trust_for\}\}<\/label>\s*<\/div>\s*
                    \{\{\/trust_for\}\}/x,
            "$name: the trust checkbox, only with trust_for";
        like $h, qr/<input type="hidden" name="next" value="\{\{next\}\}">/,
            "$name: next is carried on";
    }
}

my $login = $html{login} // '';
my %field = map { ($_->{name} // '') => $_ } tags($login, 'input');

is $field{user}{autocomplete}, 'username', 'login: user is the username';
is $field{user}{value}, '{{user}}', 'login: user is prefilled';
is $field{password}{type}, 'password', 'login: password is hidden';
is $field{password}{autocomplete}, 'current-password',
    'login: password autocompletes';
like $login, qr/name="next" value="\{\{next\}\}"/, 'login: next is carried on';

my $verify = $html{verify} // '';

like $verify, qr/Signing in as <strong>\{\{user\}\}<\/strong>/,
    'verify: who is signing in';
like $verify, qr/href="\{\{login\}\}"/, 'verify: a way to another account';

my $enroll = $html{enroll} // '';

like $enroll, qr/<code id="totp-secret">\{\{secret\}\}<\/code>/,
    'enroll: the secret in #totp-secret';
like $enroll, qr/<div class="qr">\{\{\{qr\}\}\}<\/div>/, 'enroll: the QR code';
like $enroll, qr/<a [^>]*href="\{\{uri\}\}">Open in authenticator app<\/a>/,
    'enroll: the otpauth link';
like $enroll, qr/Google Authenticator, Microsoft Authenticator/,
    'enroll: names the apps';
like $enroll, qr/\{\{algorithm\}\}.*\{\{digits\}\}.*\{\{period\}\}/s,
    'enroll: the parameters for typing the key';

my $reset = $html{reset} // '';

like $reset, qr/Enter a current code/, 'reset: asks for a current code';
like $html{codes}, qr/<pre class="codes" id="totp-recovery-codes">\{\{codes\}\}<\/pre>/,
    'codes: the recovery codes, in id="totp-recovery-codes"';
like $html{codes}, qr/safe/, 'codes: with advice to keep them safe';
like $reset, qr/old one keeps working until the new one is\s+confirmed/s,
    'reset: says what happens';
like $reset, qr/\{\{#cancel\}\}\s*<a [^>]*href="\{\{cancel\}\}"/,
    'reset: a way back';

my $logout = $html{logout} // '';

like $logout, qr/<button type="submit"[^>]*>Sign out<\/button>/,
    'logout: a Sign out button';
like $logout, qr{<input type="hidden" name="everywhere" value="1">.*<button type="submit"[^>]*>Sign out everywhere</button>}s,
    'logout: a Sign out everywhere button, with everywhere=1';

like $html{forget} // '',
    qr/<button type="submit"[^>]*>Forget this browser<\/button>/,
    'forget: a Forget this browser button';

my $message = $html{message} // '';

like $message, qr/<h1>\{\{heading\}\}<\/h1>/, 'message: the heading';
like $message, qr/\{\{#link\}\}.*href="\{\{link\}\}".*\{\{\/link\}\}/s,
    'message: the link only with one';
unlike $message =~ s/\{\{#link\}\}.*?\{\{\/link\}\}//sr, qr/<a\b/,
    'message: no other link';

# each page's heading is its title: the same key, so the same words in
# every language (codes.html's list of new codes has a heading of its
# own; message.html's is the one the module gives)

my %h1 = (
    login    => [ 'title_login' ],
    verify   => [ 'title_verify' ],
    enroll   => [ 'title_enroll', 'title_change' ],
    recovery => [ 'title_recovery' ],
    reset    => [ 'title_reset' ],
    codes    => [ 'codes_heading', 'title_codes' ],
    logout   => [ 'title_logout' ],
    forget   => [ 'title_forget' ],
);

for my $name (sort keys %h1) {
    my $raw = $raw{$name} // next;
    my @want = @{ $h1{$name} };

    my @keys = $raw =~ /<h1>\{\{\@([a-z_]+)\}\}<\/h1>/g;
    is "@keys", "@want", "$name: its h1 is {{\@" . join('}} or {{@', @want)
                         . '}}';
    is scalar(() = $raw =~ /<h1\b/g), scalar(@want), "$name: no other h1";

    my @text = ($html{$name} // '') =~ /<h1>(.*?)<\/h1>/gs;
    is_deeply \@text, [ map { escape($en->{$_} // "no $_") } @want ],
        "$name: its h1 says its title's words";
}

like $raw{enroll} // '',
    qr/\{\{\^change\}\}\s*<h1>\{\{\@title_enroll\}\}<\/h1>/,
    'enroll: title_enroll heads a first enrollment';
like $raw{enroll} // '',
    qr/\{\{#change\}\}\s*<h1>\{\{\@title_change\}\}<\/h1>/,
    'enroll: title_change heads a change of device';
like $raw{codes} // '', qr/\{\{#codes\}\}\s*<h1>\{\{\@codes_heading\}\}<\/h1>/,
    'codes: the new codes under a heading of their own';
like $raw{codes} // '', qr/\{\{\^codes\}\}\s*<h1>\{\{\@title_codes\}\}<\/h1>/,
    'codes: the form under the title';

# the enrollment page fits a laptop's screen: the key to type and its
# settings wait behind "Can't scan the code?", without JavaScript

my ($manual) = $enroll =~ m{(<details class="manual">.*?</details>)}s;
ok $manual, 'enroll: a <details class="manual">';
$manual //= '';
like $manual, qr{\A<details class="manual">\s*<summary>[^<]+</summary>},
    'enroll: ... opened by its summary';
like $raw{enroll} // '', qr{<summary>\{\{\@enroll_cant_scan\}\}</summary>},
    'enroll: ... "Can\'t scan the code?"';
like $manual, qr/<code id="totp-secret">\{\{secret\}\}<\/code>/,
    'enroll: #totp-secret inside the details';
like $manual, qr/<dl class="params">.*\{\{period\}\}.*<\/dl>/s,
    'enroll: the key\'s settings inside the details';
unlike $enroll =~ s{<details class="manual">.*?</details>}{}sr,
    qr/totp-secret|class="params"/, 'enroll: the key nowhere else';
like $enroll, qr/\{\{#uri\}\}\s*<p class="on-phone">/,
    'enroll: the otpauth link in .on-phone';

# the recovery codes' warning is a box, not a note

like $html{codes} // '',
    qr{<p class="warning" role="note">.*only time they are shown.*?</p>}s,
    'codes: "the only time they are shown" in a warning box';

# every template of html/, those above and any other: each {{@key}} is
# in messages.en, or nginx -t fails

my %every = map { m{([^/]+)\.html\z} ? ($1 => slurp("$1.html")) : () }
                glob "$dir/*.html";

for my $name (sort keys %every) {
    ok eval { expand($every{$name}, $en); 1 },
        "$name.html: every {{\@key}} in messages.en" or diag $@;
}

# no words in the templates themselves: without the tags, the markup and
# the entities, only spaces and punctuation are left; the attributes a
# person reads (aria-label, title, alt) come from the catalog, and a
# placeholder shows a code's shape (xxxxx-xxxxx), not words

for my $name (sort keys %every) {
    my $left = $every{$name};

    $left =~ s/\{\{\{?[^{}]*\}\}\}?//g;
    $left =~ s/<!--.*?-->//gs;
    $left =~ s/<[^<>]*>//gs;
    $left =~ s/&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);//gi;

    ok $left =~ /\A[\s[:punct:]]*\z/, "$name.html: no words of its own"
        or diag join ' ', $left =~ /([^\s[:punct:]]\S*)/g;

    my $raw = $every{$name};
    my @read = $raw =~ /\s(?:aria-label|title|alt)="([^"]*)"/g;
    ok !grep({ !/\A\{\{\@[a-z_]+\}\}\z/ } @read),
        "$name.html: labels in attributes from the catalog" or diag "@read";
    my @shapes = $raw =~ /\splaceholder="([^"]*)"/g;
    ok !grep({ !/\A[x\s-]*\z/ } @shapes),
        "$name.html: placeholders without words" or diag "@shapes";
}

# the catalog: every text can go into a page, every key of the pages' own
# words is used, none is given twice; the other languages' catalogs have
# the same keys and every page takes them

my $catalog = slurp('messages.en') // '';
my @lines = $catalog =~ /^([a-z_]+) *:/mg;
my %seen;
my @twice = grep { $seen{$_}++ } @lines;
is "@twice", '', 'messages.en: no key twice';

for my $key (sort keys %$en) {
    ok eval { expand("{{\@$key}}", $en); 1 },
        "messages.en: $key is plain text and tags" or diag $@;
}

my ($own) = $catalog =~ /^# the pages' own words\b(.*)\z/ms;
ok $own, "messages.en: a section of the pages' own words";
my $all = join '', map { $every{$_} // '' } sort keys %every;

for my $key (($own // '') =~ /^([a-z_]+) *:/mg, 'lang') {
    like $all, qr/\{\{\@\Q$key\E\}\}/, "messages.en: $key is used";
}

for my $path (sort glob "$dir/messages.*") {
    my ($lang) = $path =~ /messages\.([a-z]+)\z/ or next;
    next if $lang eq 'en';

    my $cat = eval { read_catalog($path) };
    ok $cat, "messages.$lang reads" or diag $@;
    $cat //= {};

    my @missing = grep { !exists $cat->{$_} } sort keys %$en;
    my @unknown = grep { !exists $en->{$_} } sort keys %$cat;
    is "@missing", '', "messages.$lang: every key of messages.en";
    is "@unknown", '', "messages.$lang: no key messages.en has not";

    for my $name (sort keys %every) {
        ok eval { expand($every{$name}, $cat); 1 },
            "messages.$lang: $name.html takes its words" or diag $@;
    }
}

$css //= '';

like $css, qr/\@media \(prefers-color-scheme: dark\)/, 'css: a dark scheme';
like $css, qr/:focus-visible\s*\{[^}]*outline:/, 'css: focus rings';
like $css, qr/\.qr\s*\{[^}]*background: #ffffff;/,
    'css: the QR code stays on white';
like $css, qr/font-family: system-ui/, 'css: the system font';
like $css, qr/\.secret code\s*\{[^}]*font-family: var\(--mono\)/,
    'css: the secret in monospace';
unlike $css, qr/\@import|url\(/, 'css: nothing from elsewhere';

# a desktop has no authenticator app to open: the link shows where a
# finger points

like $css, qr/\.on-phone\s*\{[^}]*display: none;/,
    'css: the otpauth link hidden by default';
like $css, qr/\@media \(pointer: coarse\) \{\s*\.on-phone \{\s*display: block;/,
    'css: ... shown on a touch screen';
like $css, qr/\@media \(min-width: [0-9.]+rem\) \{\s*\.card:has\(\.steps\)/,
    'css: the enrollment steps side by side on a wide screen';
like $css, qr/\.manual summary\s*\{/, 'css: the disclosure styled';

# the warning box, in both schemes

like $css, qr/\.warning\s*\{[^}]*background: var\(--warning-bg\);[^}]*border:/s,
    'css: the warning is a box';
is scalar(() = $css =~ /--warning-bg:/g), 2,
    'css: its colours in light and in dark';

# the recovery codes: two columns within the border down to 320 px

like $css, qr/\.codes\s*\{[^}]*columns: 2 [^;]+;/,
    'css: two columns of codes, each as wide as a code';
like $css, qr/\@media \(max-width: 22\.5rem\) \{\s*\.codes \{[^}]*font-size/,
    'css: smaller on a 320 px phone';

# on paper: black on white, no buttons, forms or brand chrome

my ($print) = $css =~ /^\@media print \{\n(.*?)^\}/ms;
ok $print, 'css: a print stylesheet';
$print //= '';
like $print, qr/--text: #000000;/, 'print: black text';
like $print, qr/--surface: #ffffff;/, 'print: on white';
like $print, qr/box-shadow: none;/, 'print: no card shadow';
my ($hidden) = $print =~ /((?:[^{}]+,\s*)*[^{}]+)\{\s*display: none;/;
for my $sel ('.brand-icon', 'form', '.button', '.actions', '.warning') {
    like $hidden // '', qr/(?:\A|,)\s*\Q$sel\E\s*(?:,|\z)/,
        "print: no $sel";
}

done_testing;
