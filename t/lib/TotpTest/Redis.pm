package TotpTest::Redis;

# A throw-away redis-server for one test, started by TotpTest->redis.
# It persists nothing (save "", appendonly no), so a restart empties it.
# With tls it speaks only TLS, on the port it was given (port 0 turns the
# plain-text listener off), and the harness's own redis-cli calls speak
# TLS to it as well.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Time::HiRes qw(time sleep);

use TotpTest::Proc;

# %o: dir (the test dir), name, port or unix, host (the address it binds
# to, 127.0.0.1 unless given), password, conf, timeout, tls: { cert, key,
# ca (files), auth_clients ('no' unless given, 'yes' or 'optional'),
# client_cert and client_key (what the harness's redis-cli shows the
# server; needed with auth_clients yes), insecure (the harness's
# redis-cli does not verify the server's certificate: one that is meant
# not to verify, an expired one, say) }
sub new {
    my ($class, %o) = @_;

    my $self = bless {
        dir      => $o{dir},
        name     => $o{name} // 'redis',
        port     => $o{unix} ? 0 : $o{port},
        host     => $o{host} // '127.0.0.1',
        password => $o{password},
        timeout  => $o{timeout} // 10,
        # a copy: the defaults filled in below are this server's
        tls      => $o{tls} ? { %{ $o{tls} } } : undef,
    }, $class;

    my $tls = $self->{tls};

    if ($tls) {
        die "redis tls: unix sockets are plain text\n" if $o{unix};

        for (qw(cert key ca)) {
            die "redis tls: $_ is needed\n" unless defined $tls->{$_};
        }

        $tls->{auth_clients} //= 'no';

        die "redis tls: auth_clients is no, yes or optional\n"
            unless $tls->{auth_clients} =~ /\A(no|yes|optional)\z/;

        # the harness's own connections would be refused
        die "redis tls: auth_clients yes needs client_cert and client_key\n"
            if $tls->{auth_clients} eq 'yes'
               && !(defined $tls->{client_cert} && defined $tls->{client_key});
    }

    my $base = "$self->{dir}/$self->{name}";

    $self->{socket} = "$base.sock" if $o{unix};
    $self->{conf_file} = "$base.conf";
    $self->{log_file} = "$base.log";

    mkdir "$base.data" or die "mkdir $base.data: $!\n";

    my @conf = (
        'port ' . ($tls ? 0 : $self->{port}),
        "bind $self->{host}",
        'daemonize no',
        'logfile ""',
        'save ""',
        'appendonly no',
        'dir ' . _quote("$base.data"),
    );

    push @conf, 'unixsocket ' . _quote($self->{socket}), 'unixsocketperm 700'
        if $o{unix};
    push @conf, 'requirepass ' . _quote($o{password})
        if defined $o{password};
    push @conf, "tls-port $self->{port}",
                'tls-cert-file ' . _quote($tls->{cert}),
                'tls-key-file ' . _quote($tls->{key}),
                'tls-ca-cert-file ' . _quote($tls->{ca}),
                "tls-auth-clients $tls->{auth_clients}"
        if $tls;
    push @conf, $o{conf} if defined $o{conf};

    open my $fh, '>', $self->{conf_file} or die "$self->{conf_file}: $!\n";
    print $fh map { "$_\n" } @conf;
    close $fh or die "$self->{conf_file}: $!\n";

    $self->start;

    return $self;
}

sub port   { $_[0]{port} }
sub host   { $_[0]{host} }
sub socket { $_[0]{socket} }
sub pid    { $_[0]{pid} }
sub tls    { $_[0]{tls} }

# as the module's totp_redis directive takes it
sub addr {
    my ($self) = @_;
    return $self->{socket} ? "unix:$self->{socket}"
                           : "$self->{host}:$self->{port}";
}

sub start {
    my ($self) = @_;

    die "redis $self->{name} is already running\n" if $self->{pid};

    $self->{pid} = TotpTest::Proc::spawn(
        ['redis-server', $self->{conf_file}], $self->{log_file}, 'TERM');

    my $end = time + $self->{timeout};

    until ($self->_ping) {
        if (defined(my $status = TotpTest::Proc::reap($self->{pid}, 0))) {
            delete $self->{pid};
            die "redis $self->{name} "
                . TotpTest::Proc::describe_status($status) . " at start:\n"
                . $self->_log_tail;
        }

        if (time >= $end) {
            $self->stop;
            die "redis $self->{name} did not start:\n" . $self->_log_tail;
        }

        sleep 0.02;
    }

    return $self;
}

# SIGTERM is redis's SHUTDOWN; with save "" it writes nothing.
sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;

    my ($status) = TotpTest::Proc::terminate($pid, 'TERM', $self->{timeout});

    # the next start must not find a stale socket file
    unlink $self->{socket} if $self->{socket};

    return $status;
}

# redis-cli against this server; stderr is part of the answer, so that a
# connection error shows up in the test's diagnostics.
sub cli {
    my ($self, @args) = @_;

    my ($out) = TotpTest::Proc::capture($self->_cli_argv, @args);

    chomp $out;

    # -1: an empty last line (a nil) is an answer too
    return wantarray ? split(/\n/, $out, -1) : $out;
}

# Up means it answers a command, even with NOAUTH.
sub _ping {
    my ($self) = @_;

    # perl has no TLS here without IO::Socket::SSL: redis-cli speaks it
    if ($self->{tls}) {
        my ($out) = TotpTest::Proc::capture($self->_cli_argv, 'PING');
        return $out =~ /^(PONG|NOAUTH)/m ? 1 : 0;
    }

    my $s = $self->{socket}
        ? IO::Socket::UNIX->new(Peer => $self->{socket})
        : IO::Socket::INET->new(PeerAddr => $self->{host},
                                PeerPort => $self->{port}, Timeout => 1);
    return 0 unless $s;

    syswrite $s, "PING\r\n";

    my $reply = '';
    my $sel = IO::Select->new($s);

    while ($reply !~ /\n/ && $sel->can_read(1)) {
        last unless sysread $s, $reply, 512, length $reply;
    }

    return $reply =~ /^(\+PONG|-NOAUTH)/ ? 1 : 0;
}

sub _log_tail {
    my ($self) = @_;

    open my $fh, '<', $self->{log_file} or return '';
    my @lines = <$fh>;

    # a slice past the start of a short array would die, hiding the error
    splice @lines, 0, @lines - 20 if @lines > 20;

    return join '', @lines;
}

# Many commands through one redis-cli (each an arrayref of words): a
# test that writes hundreds of keys need not start hundreds of processes.
# Returns redis-cli's output, an answer a line.
sub batch {
    my ($self, @commands) = @_;

    my $in = "$self->{dir}/$self->{name}.batch";

    open my $fh, '>', $in or die "$in: $!\n";
    print $fh join(' ', map { _quote($_) } @$_), "\n" for @commands;
    close $fh or die "$in: $!\n";

    my ($out, $status) = TotpTest::Proc::capture('sh', '-c', 'exec "$@" < "$0"',
                                                 $in, $self->_cli_argv);
    die "redis-cli: $out\n" if $status;

    return $out;
}

sub _cli_argv {
    my ($self) = @_;

    my @argv = ('redis-cli');

    push @argv, $self->{socket} ? ('-s', $self->{socket})
                                : ('-h', $self->{host}, '-p', $self->{port});
    push @argv, '-a', $self->{password}, '--no-auth-warning'
        if defined $self->{password};

    if (my $tls = $self->{tls}) {
        push @argv, '--tls',
            $tls->{insecure} ? '--insecure' : ('--cacert', $tls->{ca});
        push @argv, '--cert', $tls->{client_cert}, '--key', $tls->{client_key}
            if defined $tls->{client_cert};
    }

    return @argv;
}

# redis.conf's own quoting
sub _quote {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return qq{"$s"};
}

sub DESTROY {
    local ($?, $!, $@);
    $_[0]->stop;
}

1;
