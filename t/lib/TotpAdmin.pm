package TotpAdmin;

# Runs tools/totp-admin as ops do, for t/admin*.t: its stdout and stderr
# kept apart as bytes, its exit status.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use IO::Socket::INET;
use POSIX ();
use Test::More ();

our @EXPORT_OK = qw(admin slurp quiet_syslog refuses_usage);

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

# What a t/admin*.t sets up first: no Redis password taken from the
# environment (redis-cli, and so the tool, would send one found there),
# and the audit records to a UDP socket of the test's own, never this
# machine's syslog.  The socket is returned: keep it as long as the test.
sub quiet_syslog {
    delete $ENV{REDISCLI_AUTH};

    my $syslog = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'udp')
        or die "cannot bind a UDP socket: $!\n";

    $ENV{TOTP_ADMIN_SYSLOG} = '127.0.0.1:' . $syslog->sockport;

    return $syslog;
}

# A usage error in @args: exit 2, $why on stderr, nothing on stdout.
sub refuses_usage {
    my ($dir, $what, $why, @args) = @_;

    my ($out, $err, $rc) = admin($dir, @args, 'list');

    Test::More::is($rc, 2, "$what: exit 2");
    Test::More::like($err, qr/^totp-admin: .*$why/, "$what: says why")
        or Test::More::diag($err);
    Test::More::is($out, '', "$what: nothing on stdout");
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar(<$fh>) // '';
}

1;
