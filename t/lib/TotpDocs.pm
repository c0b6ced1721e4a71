package TotpDocs;

# The nginx configuration snippets of README.md and docs/*.md, as the
# tests copy them out: every block fenced as ```nginx; and the example
# site files of docs/examples/.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);

our @EXPORT_OK = qw(snippets readme_complete_conf);

my $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../..');

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    local $/;
    return scalar <$fh>;
}

# [ { file => 'docs/x.md', line => N, text => '...' }, ... ] in file order
sub snippets {
    my @files = ('README.md', map { s{^\Q$ROOT\E/}{}r }
                              sort glob "$ROOT/docs/*.md");
    my @out;

    for my $file (@files) {
        my $line = 0;
        my $in;

        for my $l (split /^/m, _slurp("$ROOT/$file")) {
            $line++;

            if ($in) {
                if ($l =~ /^```\s*$/) {
                    push @out, $in;
                    undef $in;
                } else {
                    $in->{text} .= $l;
                }

            } elsif ($l =~ /^```nginx\s*$/) {
                $in = { file => $file, line => $line, text => '' };
            }
        }

        die "$file: a ```nginx block is not closed\n" if $in;
    }

    # the example site files the package installs, whole
    for my $path (sort glob "$ROOT/docs/examples/*.conf") {
        push @out, { file => $path =~ s{^\Q$ROOT\E/}{}r, line => 1,
                     text => _slurp($path) };
    }

    return @out;
}

# the first ```nginx block after the README's "## A complete nginx.conf"
sub readme_complete_conf {
    my $readme = _slurp("$ROOT/README.md");

    my ($conf) = $readme =~ /^## A complete nginx\.conf\n.*?^```nginx\n(.*?)^```$/ms
        or die "README.md: no complete nginx.conf\n";

    return $conf;
}

1;
