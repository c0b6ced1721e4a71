package TotpSentinel;

# A Redis master, its replica and three Sentinels watching them, all on
# free loopback ports of one test, for the tests of the module's Sentinel
# support (and totp-admin's).  Sentinel is redis-server --sentinel: the
# same binary as the servers, no package of its own.  Tuned to fail over
# within seconds: a master is down after down_after ms without an answer,
# and a failover that stalls is given up after failover_timeout ms.
#
# With tls (a TotpTLS PKI) every one of them speaks only TLS, to its
# clients and to the others: the module, and this package's own clients,
# must too.
#
# Every wait here polls for a condition the Sentinels or servers report;
# none sleeps a fixed time.  See the POD at the end.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use TotpTest::Proc;

my $SENTINELS = 3;

# %o: t (the TotpTest), master_name, password (the servers' requirepass
# and masterauth), sentinel_password (the Sentinels' requirepass),
# sentinel_user (an ACL user on the Sentinels, sentinel_password its
# password; the default user then has another one), down_after (ms),
# failover_timeout (ms), name (prefix of the servers' and Sentinels'
# names and files, to run two sets in one test), timeout (seconds for
# the start), tls (a TotpTLS::make_pki hash: TLS only, everywhere, with
# its server certificate and CA), tls_auth_clients ('no' unless given,
# 'yes' or 'optional': whether the servers and Sentinels ask their
# clients for a certificate; each other too, so they show the PKI's
# client certificate, as this package's clients do)
sub new {
    my ($class, %o) = @_;

    my $t = $o{t} or die "TotpSentinel->new: t needed\n";

    my $self = bless {
        t                 => $t,
        dir               => $t->dir,
        name              => $o{name} // 'sentinel',
        master_name       => $o{master_name} // 'mymaster',
        password          => $o{password},
        sentinel_password => $o{sentinel_password},
        sentinel_user     => $o{sentinel_user},
        down_after        => $o{down_after} // 1000,
        # small, so that a failover whose election split is tried again
        # soon (Sentinel waits twice this before another attempt), and
        # enough for the promotion of a replica on loopback
        failover_timeout  => $o{failover_timeout} // 3000,
        timeout           => $o{timeout} // ($t->valgrind ? 60 : 20),
        tls               => $o{tls},
        tls_auth_clients  => $o{tls_auth_clients} // 'no',
        servers           => 0,
        sentinels         => [],
    }, $class;

    die "TotpSentinel->new: tls_auth_clients needs tls\n"
        if defined $o{tls_auth_clients} && !$o{tls};
    die "TotpSentinel->new: tls_auth_clients is no, yes or optional\n"
        unless $self->{tls_auth_clients} =~ /\A(no|yes|optional)\z/;

    die "TotpSentinel->new: sentinel_user needs sentinel_password\n"
        if defined $self->{sentinel_user}
           && !defined $self->{sentinel_password};

    $self->{master} = $self->_server;
    $self->{replica} = $self->_server(of => $self->{master});

    $self->_sentinel($_) for 1 .. $SENTINELS;

    $self->wait_ready
        or die "TotpSentinel: the Sentinels did not settle:\n" . $self->_tails;

    return $self;
}

sub master      { $_[0]{master} }
sub replica     { $_[0]{replica} }
sub master_name { $_[0]{master_name} }
sub password    { $_[0]{password} }
sub tls         { $_[0]{tls} }

# As the module's totp_redis_sentinel takes them.
sub sentinel_addrs {
    my ($self) = @_;
    return map { "127.0.0.1:$_->{port}" } @{ $self->{sentinels} };
}

sub sentinel_ports {
    my ($self) = @_;
    return map { $_->{port} } @{ $self->{sentinels} };
}

# What command() takes to reach $port, one of this set's: the port, or
# with tls the port and how to speak TLS to it.
sub endpoint {
    my ($self, $port) = @_;

    my $p = $self->{tls} or return $port;

    return { port => $port, ca => $p->{ca},
             $self->{tls_auth_clients} eq 'no' ? ()
                 : (cert => $p->{client_cert}, key => $p->{client_key}) };
}

# The http-level directives that point the module at these Sentinels.
# %o: password_file (the master's, totp_redis_password),
# sentinel_password_file.  With tls also TLS on, trusting the PKI's CA
# (or %o: ca), with its client certificate when the servers ask for one;
# %o: ssl_name (totp_redis_ssl_name).
sub directives {
    my ($self, %o) = @_;

    my $lines = "    totp_redis_sentinel " . join(' ', $self->sentinel_addrs)
        . ";\n    totp_redis_sentinel_master $self->{master_name};\n";
    $lines .= "    totp_redis_sentinel_user $self->{sentinel_user};\n"
        if defined $self->{sentinel_user};
    $lines .= "    totp_redis_sentinel_password $o{sentinel_password_file};\n"
        if defined $o{sentinel_password_file};
    $lines .= "    totp_redis_password $o{password_file};\n"
        if defined $o{password_file};

    if (my $p = $self->{tls}) {
        my $ca = $o{ca} // $p->{ca};

        $lines .= "    totp_redis_ssl on;\n"
            . "    totp_redis_ssl_trusted_certificate $ca;\n";
        $lines .= "    totp_redis_ssl_certificate $p->{client_cert};\n"
            . "    totp_redis_ssl_certificate_key $p->{client_key};\n"
            if $self->{tls_auth_clients} eq 'yes';
        $lines .= "    totp_redis_ssl_name $o{ssl_name};\n"
            if defined $o{ssl_name};
    }

    return $lines;
}

# One command to Sentinel $i (0-based), as its user with its password:
# the reply as a Perl value (arrayrefs for arrays, undef for nil); dies
# on an error reply or when the Sentinel does not answer in 2 s.
sub sentinel {
    my ($self, $i, @args) = @_;

    my $s = $self->{sentinels}[$i] or die "sentinel: no Sentinel $i\n";

    return command($self->endpoint($s->{port}), $self->_sentinel_auth,
                   @args);
}

# The master's address as Sentinel $i reports it: its port, or undef
# when the Sentinel does not answer.
sub master_port_of {
    my ($self, $i) = @_;

    my $addr = eval {
        $self->sentinel($i, 'SENTINEL', 'get-master-addr-by-name',
                        $self->{master_name});
    };

    return ref $addr ? $addr->[1] : undef;
}

# Waits until every Sentinel knows the master as the current master's
# port, sees every live replica linked to it, and knows the other
# Sentinels; and until every live replica's own link is up.  Then a
# failover can pick a replica and reach a quorum.
sub wait_ready {
    my ($self, $timeout) = @_;

    return $self->_wait(sub { $self->_ready }, $timeout // $self->{timeout});
}

sub _ready {
    my ($self) = @_;

    my $port = $self->{master}->port;
    my @live = grep { $_->pid } $self->replicas;

    for my $r (@live) {
        return 0 unless $self->_linked($r);
    }

    return 0 unless $self->_streaming;

    for my $i (0 .. $#{ $self->{sentinels} }) {
        return 0 unless ($self->master_port_of($i) // 0) == $port;

        my %m = eval { @{ $self->sentinel($i, 'SENTINEL', 'MASTER',
                                          $self->{master_name}) } };
        return 0 unless ($m{flags} // '') eq 'master'
                        && ($m{'num-other-sentinels'} // 0)
                           == $SENTINELS - 1;

        my $replicas = eval {
            $self->sentinel($i, 'SENTINEL', 'REPLICAS', $self->{master_name})
        } or return 0;

        my %seen = map {
            my %r = @$_;
            ($r{flags} eq 'slave' && $r{'master-link-status'} eq 'ok')
                ? ($r{port} => 1) : ()
        } @$replicas;

        return 0 if grep { !$seen{$_->port} } @live;
    }

    return 1;
}

# The replicas this set started or promoted away from, live or not.
sub replicas {
    my ($self) = @_;
    return grep { $_ != $self->{master} } @{ $self->{all} };
}

# Waits until every live replica holds what the master had written when
# this was called: data written before a failover must survive it.  Not
# WAIT: from a connection that wrote nothing (redis-cli's), WAIT counts
# every replica at once.  Returns whether they all got there within
# $timeout seconds.
sub sync {
    my ($self, $timeout) = @_;

    my %m = _info(scalar $self->{master}->cli('INFO', 'replication'));
    my $offset = $m{master_repl_offset};
    return 0 unless defined $offset && $offset =~ /^\d+$/;

    my @live = grep { $_->pid } $self->replicas;

    return $self->_wait(sub {
        !grep {
            my %r = _info(scalar $_->cli('INFO', 'replication'));
            ($r{slave_repl_offset} // -1) < $offset
        } @live;
    }, $timeout // 5);
}

# SIGKILL to the master: no shutdown, no last word to the replicas.
# Returns the time it was sent.
sub kill_master {
    my ($self) = @_;

    my $m = $self->{master};
    my $pid = $m->pid or die "kill_master: the master is not running\n";

    my $at = time;
    kill 'KILL', $pid;

    # reaps it (a TERM to a process already dead is lost, harmlessly)
    $m->stop;

    return $at;
}

# Asks Sentinel $i (default 0) for a failover now, with the master up:
# the master turns replica.  Returns the time it was asked.
sub failover {
    my ($self, $i) = @_;

    my $at = time;
    my $ok = $self->sentinel($i // 0, 'SENTINEL', 'FAILOVER',
                             $self->{master_name});
    die "SENTINEL FAILOVER: $ok\n" unless $ok eq 'OK';

    return $at;
}

# Polls SENTINEL get-master-addr-by-name on every Sentinel until all
# report another master than the current one.  Then master() is the
# promoted server and replica() the old master (dead after kill_master).
# Returns (the new master's port, when the last Sentinel reported it,
# when the first did); dies after $timeout seconds.  %o: during (called
# between polls: a test's checks while the failover runs).
sub wait_failover {
    my ($self, $timeout, %o) = @_;

    my $old = $self->{master}->port;
    my ($first, $port);

    my $done = $self->_wait(sub {
        my @ports = map { $self->master_port_of($_) }
                    0 .. $#{ $self->{sentinels} };
        my @moved = grep { defined && $_ != $old } @ports;

        $first //= time if @moved;

        if (@moved == @ports && !grep { $_ != $moved[0] } @moved) {
            $port = $moved[0];
            return 1;
        }

        $o{during}->() if $o{during};
        return 0;
    }, $timeout // 30);

    my $seen = time;

    die "wait_failover: the Sentinels still report $old, or disagree:\n"
        . $self->_tails unless $done;

    my ($new) = grep { $_->port == $port } @{ $self->{all} };
    die "wait_failover: $port is none of this set's servers\n" unless $new;

    $self->{replica} = $self->{master};
    $self->{master} = $new;

    return ($port, $seen, $first);
}

# A new replica of the current master (the one a failover left without
# one); replica() is it.  Returns once its link is up and the master
# streams to it: WAIT can be met again.  The Sentinels learn of it only
# from the master's INFO, which they read every 10 s: wait_ready waits
# for that too, for a test that fails over again.
sub add_replica {
    my ($self) = @_;

    my $r = $self->{replica} = $self->_server(of => $self->{master});

    $self->_wait(sub { $self->_linked($r) && $self->_streaming },
                 $self->{timeout})
        or die "add_replica: no link to the master\n";

    return $r;
}

# Whether the master streams its writes to every live replica now.  A
# replica is "online" from the end of its full sync, but after a
# diskless one the master streams only from the replica's next ACK,
# which may come a second later: a WAIT meanwhile times out.  So a
# write of no key (PUBLISH is replicated) and WAIT on the same
# connection, which counts only the replicas that acknowledged it.
sub _streaming {
    my ($self) = @_;

    my $n = grep { $_->pid } $self->replicas;
    my (undef, $acked) = eval {
        command($self->endpoint($self->{master}->port), undef,
                $self->{password}, [ 'PUBLISH', 'totp-test:sync', 'x' ],
                [ 'WAIT', $n, 50 ]);
    };

    return ($acked // -1) >= $n;
}

# whether $r replicates the current master, both sides saying so
sub _linked {
    my ($self, $r) = @_;

    my $m = $self->{master};
    my %info = _info(scalar $r->cli('INFO', 'replication'));
    return 0 unless ($info{master_link_status} // '') eq 'up'
                    && ($info{master_port} // 0) == $m->port;

    my %minfo = _info(scalar $m->cli('INFO', 'replication'));
    return grep { /\bport=@{[ $r->port ]},state=online\b/ } values %minfo;
}

# Everything this set started: Sentinels first, so that none of them
# fails over while the servers go.
sub stop {
    my ($self) = @_;

    for my $s (@{ $self->{sentinels} }) {
        my $pid = delete $s->{pid} or next;
        TotpTest::Proc::terminate($pid, 'TERM', 10);
    }

    # at global destruction (a set in a file's lexical) the servers may
    # be gone before this set: TotpTest stopped them already
    $_->stop for grep { defined } @{ $self->{all} // [] };
}

# A server through TotpTest->redis (so TotpTest::done stops it too).
# %o: of (the master it replicates).
sub _server {
    my ($self, %o) = @_;

    my $n = ++$self->{servers};
    my $pw = $self->{password};
    # a diskless full sync waits 5 s by default for more replicas to
    # share it; each sync here starts at once
    my @conf = ('repl-diskless-sync-delay 0');

    # the master too: once demoted, it must authenticate to the new one
    push @conf, 'masterauth ' . _quote($pw) if defined $pw;
    push @conf, "replicaof 127.0.0.1 @{[ $o{of}->port ]}" if $o{of};

    my %tls;

    if (my $p = $self->{tls}) {
        my $auth = $self->{tls_auth_clients};

        %tls = (tls => { cert => $p->{server_cert}, key => $p->{server_key},
                         ca => $p->{ca}, auth_clients => $auth,
                         $auth eq 'no' ? ()
                             : (client_cert => $p->{client_cert},
                                client_key => $p->{client_key}) });

        # a replica reaches its master over TLS, and tells it its TLS
        # port (which the master's INFO gives the Sentinels)
        push @conf, 'tls-replication yes', _tls_client_conf($self);
    }

    my $r = $self->{t}->redis(
        name => "$self->{name}-redis$n",
        (defined $pw ? (password => $pw) : ()),
        conf => join("\n", @conf),
        %tls,
    );

    push @{ $self->{all} }, $r;
    return $r;
}

sub _sentinel {
    my ($self, $n) = @_;

    my $name = "$self->{name}-$n";
    my $port = $self->{t}->port($name);
    my $base = "$self->{dir}/$name";
    my $m = $self->{master_name};
    my $pw = $self->{password};
    my $spw = $self->{sentinel_password};
    my $user = $self->{sentinel_user};

    # Sentinel rewrites its configuration file (its id, what it learnt):
    # each its own, in the test dir
    my @conf = (
        'bind 127.0.0.1',
        'daemonize no',
        'logfile ""',
        'dir ' . _quote($self->{dir}),
        "sentinel monitor $m 127.0.0.1 @{[ $self->{master}->port ]} 2",
        "sentinel down-after-milliseconds $m $self->{down_after}",
        "sentinel failover-timeout $m $self->{failover_timeout}",
        "sentinel parallel-syncs $m 1",
    );

    if (my $p = $self->{tls}) {
        # tls-replication: TLS to the servers and to the other Sentinels,
        # whom the hello messages give the TLS port
        push @conf, 'port 0', "tls-port $port",
            'tls-cert-file ' . _quote($p->{server_cert}),
            'tls-key-file ' . _quote($p->{server_key}),
            'tls-ca-cert-file ' . _quote($p->{ca}),
            "tls-auth-clients $self->{tls_auth_clients}",
            'tls-replication yes', _tls_client_conf($self);
    } else {
        push @conf, "port $port";
    }

    push @conf, "sentinel auth-pass $m " . _quote($pw) if defined $pw;

    if (defined $user) {
        # the default user gets a password nobody is told: only the
        # named user gets in, so a client that sends no user fails
        push @conf, 'requirepass ' . _quote("$spw-default"),
                    "user $user on " . _quote(">$spw") . ' +@all',
                    "sentinel sentinel-user $user",
                    'sentinel sentinel-pass ' . _quote($spw);
    } elsif (defined $spw) {
        # the Sentinels talk to each other with the same password
        push @conf, 'requirepass ' . _quote($spw),
                    'sentinel sentinel-pass ' . _quote($spw);
    }

    my $conf = "$base.conf";
    open my $fh, '>', $conf or die "$conf: $!\n";
    print $fh map { "$_\n" } @conf;
    close $fh or die "$conf: $!\n";

    my $s = { name => $name, port => $port, conf => $conf,
              log => "$base.log" };

    $s->{pid} = TotpTest::Proc::spawn(
        ['redis-server', $conf, '--sentinel'], $s->{log}, 'TERM');

    push @{ $self->{sentinels} }, $s;

    # up means it answers PING (or refuses it for a password)
    my $up = $self->_wait(sub {
        die "Sentinel $name exited at start:\n" . _tail($s->{log})
            if defined TotpTest::Proc::reap($s->{pid}, 0);
        my $pong = eval {
            command($self->endpoint($port), undef, undef, 'PING')
        } // $@;
        $pong =~ /PONG|NOAUTH|WRONGPASS/;
    }, $self->{timeout});

    die "Sentinel $name did not start:\n" . _tail($s->{log}) unless $up;

    return $s;
}

# The certificate a server or Sentinel shows the ones it connects to when
# they ask for one: its server certificate would not do, being for
# serverAuth only.
sub _tls_client_conf {
    my ($self) = @_;

    my $p = $self->{tls};
    return () if $self->{tls_auth_clients} eq 'no';

    return ('tls-client-cert-file ' . _quote($p->{client_cert}),
            'tls-client-key-file ' . _quote($p->{client_key}));
}

sub _sentinel_auth {
    my ($self) = @_;
    return ($self->{sentinel_user}, $self->{sentinel_password});
}

sub _wait {
    my ($self, $cond, $timeout) = @_;

    my $end = time + $timeout;

    for (;;) {
        return 1 if $cond->();
        return 0 if time >= $end;
        sleep 0.02;
    }
}

# A small RESP client: one connection per call, AUTH first when a
# password is given (with the user when one is); @args is a command, or
# several as arrayrefs (in list context, every reply).  Sentinel's replies
# nest (SENTINEL REPLICAS), which redis-cli's plain output flattens.
# $to: a port on 127.0.0.1, or (for TLS) a hash: port, ca (the CA the
# server's certificate must verify against; its name is not checked),
# cert and key (a client certificate).
sub command {
    my ($to, $user, $password, @args) = @_;

    my $port = ref $to ? $to->{port} : $to;
    my $s;

    if (ref $to) {
        # only for TLS: the other tests need no IO::Socket::SSL
        require IO::Socket::SSL;

        $s = IO::Socket::SSL->new(
            PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2,
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
            SSL_ca_file => $to->{ca},
            # the chain only, as redis-cli does: a test may give a
            # server a certificate for another name, to see the module
            # refuse it, and still talk to it
            SSL_verifycn_scheme => 'none',
            defined $to->{cert} ? (SSL_cert_file => $to->{cert},
                                   SSL_key_file => $to->{key}) : (),
        ) or die "connect to $port: "
                 . (IO::Socket::SSL::errstr() || $!) . "\n";
    } else {
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $port, Proto => 'tcp',
                                   Timeout => 2)
            or die "connect to $port: $!\n";
    }

    my $c = { s => $s, sel => IO::Select->new($s), buf => '',
              end => time + 2, port => $port };

    _send($c, 'AUTH', (defined $user ? $user : ()), $password)
        if defined $password;

    # several commands: arrayrefs, one after the other on this connection
    my @r = map { _send($c, @$_) } ref $args[0] ? @args : (\@args);
    close $s;

    return wantarray ? @r : $r[-1];
}

sub _send {
    my ($c, @args) = @_;

    syswrite $c->{s}, '*' . @args . "\r\n"
        . join '', map { '$' . length($_) . "\r\n$_\r\n" } @args;

    return _reply($c);
}

sub _reply {
    my ($c) = @_;

    my $l = _line($c);
    my ($type, $rest) = (substr($l, 0, 1), substr($l, 1));

    return $rest if $type eq '+' || $type eq ':';
    die "$rest\n" if $type eq '-';

    if ($type eq '$') {
        return undef if $rest < 0;
        _fill($c, $rest + 2);
        return substr substr($c->{buf}, 0, $rest + 2, ''), 0, $rest;
    }

    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { scalar _reply($c) } 1 .. $rest ];
    }

    die "unexpected reply from $c->{port}: $l\n";
}

sub _line {
    my ($c) = @_;

    my $i;
    _fill($c, length($c->{buf}) + 1)
        while ($i = index $c->{buf}, "\r\n") < 0;

    my $l = substr $c->{buf}, 0, $i + 2, '';
    return substr $l, 0, $i;
}

# reads until the buffer holds $n bytes
sub _fill {
    my ($c, $n) = @_;

    while (length $c->{buf} < $n) {
        my $left = $c->{end} - time;

        # TLS: a record read whole may hold more than sysread took,
        # which no select sees
        my $pending = $c->{s}->can('pending') && $c->{s}->pending;

        die "no answer from $c->{port}\n"
            unless $pending || $left > 0 && $c->{sel}->can_read($left);
        sysread($c->{s}, $c->{buf}, 65536, length $c->{buf})
            or die "$c->{port} closed the connection\n";
    }
}

# INFO's "field:value" lines as a hash
sub _info {
    my ($text) = @_;
    return map { /^([^:#]+):(.*?)\r?$/ ? ($1, $2) : () } split /\n/, $text;
}

sub _quote {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return qq{"$s"};
}

sub _tail {
    my ($path) = @_;

    open my $fh, '<', $path or return '';
    my @lines = <$fh>;
    splice @lines, 0, -20 if @lines > 20;
    return join '', @lines;
}

sub _tails {
    my ($self) = @_;
    return join '', map { "--- $_->{log}:\n" . _tail($_->{log}) }
                    @{ $self->{sentinels} };
}

sub DESTROY {
    local ($?, $!, $@);
    $_[0]->stop;
}

1;

__END__

=head1 NAME

TotpSentinel - a Redis master, a replica and three Sentinels for a test

=head1 SYNOPSIS

    my $t = TotpTest->new;
    my $s = TotpSentinel->new(t => $t, password => 'pw');

    $s->master->cli('SET', 'k', 'v');
    $s->sync or die;
    my $killed = $s->kill_master;
    my ($port, $seen, $first) = $s->wait_failover(30);
    $s->master->port == $port;     # the promoted replica
    $s->add_replica;               # so that WAIT 1 can succeed again
    $s->stop;

    # TLS only, everywhere
    my $pki = TotpTLS::make_pki(dir => $t->dir);
    my $s = TotpSentinel->new(t => $t, tls => $pki);
    my $lines = $s->directives(ssl_name => 'redis.test');
    TotpSentinel::command($s->endpoint($s->master->port), undef, undef,
                          'PING');

=head1 API

new(%o: t, master_name ('mymaster'), password (requirepass and
masterauth of every server; auth-pass of the Sentinels),
sentinel_password (the Sentinels' requirepass), sentinel_user (an ACL
user on the Sentinels with sentinel_password; the default user gets
another password), down_after (1000 ms), failover_timeout (3000 ms),
name ('sentinel': the prefix of ports, files and servers), timeout, tls
(a TotpTLS::make_pki hash), tls_auth_clients ('no', 'yes', 'optional')):
starts the master, a replica and three Sentinels (quorum 2) and returns
once every Sentinel knows the master, sees the replica linked and knows
the two others.

With tls, the servers and the Sentinels listen only for TLS (port 0,
tls-port on the ports they are given), with the PKI's server_cert,
server_key and ca, and reach each other over TLS (tls-replication yes);
tls_auth_clients is their tls-auth-clients, and when it is not 'no'
they show each other the PKI's client certificate (tls-client-cert-file:
the server certificate is for serverAuth only), as this package's
clients and redis-cli do.  Their chain is checked against ca, not their
names: a test may give a server a certificate for another name.

master, replica: TotpTest::Redis objects, updated by wait_failover and
add_replica; replicas (every server but the master, stopped ones too);
master_name; password; tls (the PKI, or undef); sentinel_addrs
('127.0.0.1:PORT', as totp_redis_sentinel takes them); sentinel_ports;
directives(%o: password_file, sentinel_password_file, and with tls: ca
(instead of the PKI's), ssl_name): the module's http-level lines, with
tls also totp_redis_ssl on, the trusted CA, and the client certificate
when tls_auth_clients is 'yes'.

sentinel($i, @command): one command to Sentinel $i, its reply as a Perl
value; master_port_of($i): the port Sentinel $i reports for the master,
undef when it does not answer.  The function command($to, $user,
$password, @command) is the RESP client under both (several commands
on one connection as arrayrefs); $to is a port, or for TLS a hash of
port, ca, cert and key, which endpoint($port) gives for this set's
servers and Sentinels (the port alone without tls).

wait_ready($timeout) (also until the master streams to every live
replica), sync($timeout) (until every live replica holds what the master
had written), kill_master (SIGKILL; the time), failover($i) (SENTINEL
FAILOVER; the time), wait_failover($timeout, %o: during => sub) (polls
every Sentinel until all report a new master; returns its port, the
time the last Sentinel and the time the first one reported it),
add_replica (a new replica of the current master, linked and streamed
to; the Sentinels only know it after wait_ready), stop.

=head1 TIMES

On loopback: the start, some 2 s (the Sentinels find each other by
their hello messages, sent every 2 s); a failover after kill_master,
some 2 to 3 s (down_after, then the vote); after failover, the
Sentinels report the new master within about 1 s, but convert the old
master to a replica only some 10 s later, and until then it is still a
master that takes writes; wait_ready after add_replica or failover, up
to 20 s (the Sentinels read a replica's INFO every 10 s).

=head1 NOTES

Sentinels listen on ports named NAME-1 .. NAME-3; their configuration
files (which they rewrite) and logs are NAME-N.conf and NAME-N.log in
the test dir.  The servers are TotpTest->redis(name => NAME-redisN), so
TotpTest::done stops them; stop (or DESTROY) stops the Sentinels first.

=cut
