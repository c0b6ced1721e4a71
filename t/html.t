#!/usr/bin/perl

# html/'s pages against the rules the gate serves them under: the CSP
# (no script, no inline style, nothing from elsewhere), forms that post
# with a CSRF token, a label for every field, the code field's attributes,
# errors in role="alert", and the names the module's code relies on.
# That every template is well formed and renders is render.t's part.

use strict;
use warnings;

use Test::More;
use FindBin;

my $dir = "$FindBin::Bin/../html";

my @pages = qw(login verify enroll reset logout message recovery codes
               forget);

sub slurp {
    my ($name) = @_;
    open my $fh, '<', "$dir/$name" or return undef;
    local $/;
    return <$fh>;
}

my %html;

for my $name ('layout', @pages) {
    $html{$name} = slurp("$name.html");
    ok defined $html{$name}, "html/$name.html is there";
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
    my %forms = (message => 0, logout => 2);

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

$css //= '';

like $css, qr/\@media \(prefers-color-scheme: dark\)/, 'css: a dark scheme';
like $css, qr/:focus-visible\s*\{[^}]*outline:/, 'css: focus rings';
like $css, qr/\.qr\s*\{[^}]*background: #ffffff;/,
    'css: the QR code stays on white';
like $css, qr/font-family: system-ui/, 'css: the system font';
like $css, qr/\.secret code\s*\{[^}]*font-family: var\(--mono\)/,
    'css: the secret in monospace';
unlike $css, qr/\@import|url\(/, 'css: nothing from elsewhere';

done_testing;
