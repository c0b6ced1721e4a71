package TotpCatalog;

# The message catalogs of html/ (messages.en, .fr, .de, .it) and the
# {{@key}} tag of the templates, done in Perl as the module does them in
# C, so that a test can read a page as a language's visitors get it
# without starting nginx:
#
#   my $en = read_catalog("$dir/messages.en");
#   my $page = expand($template, $en);
#
# No Test::More here: a malformed catalog or an unknown key dies, with
# the file and line or the key, and the test that called says where.

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(read_catalog expand escape);

# A catalog's lines, as the C reads them: "key: text", one a line; a line
# whose first character is "#" and an empty line are left out; a CR
# before the LF is dropped.  The key is what comes before the first
# colon (spaces before the colon do not count) and is [a-z_]+; the text
# is what follows the colon and the spaces after it, to the end of the
# line.  A key given twice keeps its last text, as in the C, where a
# later line replaces an earlier one.  Returns { key => text }.

sub read_catalog {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "$path: $!\n";

    my %text;
    my $line = 0;

    while (my $l = <$fh>) {
        $line++;
        $l =~ s/\n\z//;
        $l =~ s/\r\z//;

        next if $l eq '' || $l =~ /\A#/;

        my ($key, $text) = $l =~ /\A([^:]*?) *: *(.*)\z/s
            or die "$path line $line is not \"key: text\"\n";

        $key =~ /\A[a-z_]+\z/
            or die "$path line $line has a malformed key \"$key\"\n";

        $text{$key} = $text;
    }

    close $fh;

    return \%text;
}

# & < > " ' as the module's renderer writes them

my %entity = ('&' => '&amp;', '<' => '&lt;', '>' => '&gt;',
              '"' => '&quot;', "'" => '&#39;');

sub escape {
    my ($s) = @_;
    $s =~ s/([&<>"'])/$entity{$1}/g;
    return $s;
}

# One catalog text as {{@key}} puts it into a template: escaped, except
# its Mustache tags ({{name}}, {{#name}}, {{^name}}, {{/name}}), which
# stay tags for the page's rendering.  Any other "{{" in a text (a raw
# {{{value}}}, a {{@key}} inside a text, a malformed tag) dies: the
# module's catalog check refuses it as well.

sub _text {
    my ($key, $text) = @_;

    my $out = '';

    die "catalog text of \"$key\" has a raw {{{value}}}: \"$text\"\n"
        if $text =~ /\{\{\{|\}\}\}/;

    for my $part (split /(\{\{[#^\/]?[a-z_]+\}\})/, $text) {
        if ($part =~ /\A\{\{[#^\/]?[a-z_]+\}\}\z/) {
            $out .= $part;
        } elsif ($part =~ /\{\{/) {
            die "catalog text of \"$key\" has a tag that is not "
                . "{{name}}, {{#name}}, {{^name}} or {{/name}}: \"$text\"\n";
        } else {
            $out .= escape($part);
        }
    }

    return $out;
}

# The template with every {{@key}} replaced by that key's text in
# $catalog (a read_catalog hashref); dies on a key the catalog does not
# have and on a "{{@" that is not followed by "key}}".

sub expand {
    my ($template, $catalog) = @_;

    $template =~ s{\{\{\@([a-z_]+)\}\}}{
        exists $catalog->{$1}
            ? _text($1, $catalog->{$1})
            : die "{{\@$1}}: no such key in the catalog\n"
    }ge;

    if ($template =~ /(\{\{\@.{0,20})/s) {
        die "a malformed {{\@key}} tag: \"$1\"\n";
    }

    return $template;
}

1;
