package FakeRedis;

# A Redis impostor for the failure modes a real redis-server will not
# produce on demand: a server that accepts and never answers, one that
# answers a byte at a time, and one that answers late.  It speaks just
# enough RESP for the module: AUTH, SELECT, PING, EVALSHA (NOSCRIPT, so
# the module falls back) and EVAL (PONG, as the health script does).

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use Socket qw(IPPROTO_TCP TCP_CORK);
use POSIX ();
use Time::HiRes qw(sleep);

# mode: 'silent' | 'trickle' | 'late'
#   trickle: every reply byte goes out alone, $opt{gap} seconds apart
#   late:    every reply goes out whole after $opt{delay} seconds
#   bulky:   replies at once, NOSCRIPT padded to $opt{size} bytes, more
#            than hiredis takes in one read
#   instant: replies at once
# log:    a file that gets the name of every command received, a line each
# scripts: EVALSHA is answered as EVAL is (the script is "known")
# close:  the connection is closed right after the first reply, the close
#         in the same TCP segment as the reply
# extra:  bytes sent after every reply, a reply nobody asked for
sub new {
    my ($class, %opt) = @_;

    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => $opt{port} // 0,
        Listen    => 128,
        ReuseAddr => 1,
    ) or die "fake redis: listen: $!";

    my $self = bless {
        mode  => $opt{mode} // 'silent',
        gap   => $opt{gap} // 0.005,
        delay => $opt{delay} // 0.5,
        log   => $opt{log},
        size  => $opt{size} // 65536,
        scripts => $opt{scripts},
        close => $opt{close},
        extra => $opt{extra} // '',
        port  => $listen->sockport,
    }, $class;

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        $self->_serve($listen);
        POSIX::_exit(0);
    }

    close $listen;
    $self->{pid} = $pid;

    return $self;
}

sub port { $_[0]{port} }

# the commands received so far, oldest first
sub received {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return ();
    chomp(my @names = <$fh>);
    return @names;
}
sub addr { '127.0.0.1:' . $_[0]{port} }

sub stop {
    my ($self) = @_;

    return unless $self->{pid};

    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

sub _serve {
    my ($self, $listen) = @_;

    $SIG{CHLD} = 'IGNORE';

    while (my $c = $listen->accept) {
        my $pid = fork;

        if (defined $pid && $pid == 0) {
            close $listen;
            $self->_session($c);
            POSIX::_exit(0);
        }

        close $c;
    }
}

sub _session {
    my ($self, $c) = @_;

    my $buf = '';

    while (sysread $c, $buf, 65536, length $buf) {
        next if $self->{mode} eq 'silent' && !$self->{log};

        while (defined(my $argv = _parse(\$buf))) {
            my $reply = _reply($argv, $self->{scripts}) . $self->{extra};

            $reply =~ s/\r\n\z/' ' x $self->{size} . "\r\n"/e
                if $self->{mode} eq 'bulky' && $reply =~ /^-NOSCRIPT/;

            if ($self->{log}) {
                open my $fh, '>>', $self->{log} or die $!;
                print $fh uc($argv->[0]), "\n";
                close $fh;
            }

            if ($self->{mode} eq 'silent') {
                next;

            } elsif ($self->{mode} eq 'trickle') {
                for my $byte (split //, $reply) {
                    syswrite $c, $byte or return;
                    sleep $self->{gap};
                }

            } elsif ($self->{mode} eq 'bulky' || $self->{mode} eq 'instant') {
                # corked, so that a close that follows leaves with the reply
                setsockopt $c, IPPROTO_TCP, TCP_CORK, 1 if $self->{close};
                _write_all($c, $reply) or return;

            } else {
                sleep $self->{delay};
                _write_all($c, $reply) or return;
            }

            # the close comes with the reply to what the test sent
            if ($self->{close} && uc $argv->[0] ne 'ROLE') {
                shutdown $c, 1;
                setsockopt $c, IPPROTO_TCP, TCP_CORK, 0;
                return;
            }
        }
    }
}

sub _write_all {
    my ($c, $data) = @_;

    while (length $data) {
        my $n = syswrite $c, $data;
        return 0 unless $n;
        substr $data, 0, $n, '';
    }

    return 1;
}

# One RESP array of bulk strings off the front of $$buf, or undef when
# it is not all there yet.
sub _parse {
    my ($buf) = @_;

    return undef unless $$buf =~ /\A\*(\d+)\r\n/;

    my ($n, $pos) = ($1, length "*$1\r\n");
    my @argv;

    for (1 .. $n) {
        my $rest = substr $$buf, $pos;
        return undef unless $rest =~ /\A\$(\d+)\r\n/;

        my $len = $1;
        my $start = $pos + length "\$$len\r\n";
        return undef if length($$buf) < $start + $len + 2;

        push @argv, substr $$buf, $start, $len;
        $pos = $start + $len + 2;
    }

    substr $$buf, 0, $pos, '';

    return \@argv;
}

sub _reply {
    my ($argv, $scripts) = @_;

    my $cmd = uc $argv->[0];

    return "-NOSCRIPT No matching script. Please use EVAL.\r\n"
        if $cmd eq 'EVALSHA' && !$scripts;
    return "+PONG\r\n" if $cmd eq 'EVALSHA';
    return "+PONG\r\n" if $cmd eq 'EVAL' || $cmd eq 'PING';
    return "+OK\r\n" if $cmd eq 'AUTH' || $cmd eq 'SELECT';

    # the module checks it reached a master after every connect
    return "*3\r\n\$6\r\nmaster\r\n:0\r\n*0\r\n" if $cmd eq 'ROLE';

    return "-ERR unknown command '$cmd'\r\n";
}

1;
