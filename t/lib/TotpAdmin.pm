package TotpAdmin;

# Runs tools/totp-admin as ops do, for t/admin*.t: its stdout and stderr
# kept apart as bytes, its exit status.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use POSIX ();

our @EXPORT_OK = qw(admin slurp);

my $TOOL = abs_path(dirname(abs_path(__FILE__)) . '/../../tools/totp-admin');

# (stdout, stderr, exit status); $dir holds the two outputs
sub admin {
    my ($dir, @args) = @_;

    my ($out, $err) = ("$dir/admin.out", "$dir/admin.err");

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        { exec { $TOOL } $TOOL, @args };
        POSIX::_exit(127);
    }

    waitpid $pid, 0;
    my $status = $?;

    die "totp-admin killed by signal " . ($status & 127) . "\n"
        if $status & 127;

    return (slurp($out), slurp($err), $status >> 8);
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar(<$fh>) // '';
}

1;
