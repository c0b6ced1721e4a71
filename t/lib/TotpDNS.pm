package TotpDNS;

# A DNS server the test controls, for the module's name resolution (nginx's
# resolver): authoritative A records from a table the test changes while
# nginx runs, TTL 1, on 127.0.0.1 and a free port.  It runs
# Net::DNS::Nameserver in a child process (a fresh perl through
# TotpTest::Proc::spawn, so it is stopped with everything else however
# the test ends), which reads the table file again for every query: a
# change is seen by the next query, with no signal or pipe to get wrong.
#
#   my $dns = TotpDNS->new(t => $t);
#   $dns->set('redis.test' => '127.0.0.2');
#   ... resolver 127.0.0.1:${\ $dns->port} valid=1s; ...
#   $dns->set('redis.test' => '127.0.0.3');     # the next query sees it
#   $dns->set('redis.test' => undef);           # NXDOMAIN
#   $dns->pause;                                # no answer at all
#   $dns->resume;
#   $dns->queries('redis.test');                # how often it was asked
#   $dns->stop;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use TotpTest::Proc;

# this file's directory, for the child's perl to find this module
my $LIB = dirname(abs_path(__FILE__));

# %o: t (the TotpTest), name (of its port and files: "dns"), records
# ({ name => ip }, the table at the start)
sub new {
    my ($class, %o) = @_;

    my $t = $o{t} or die "TotpDNS->new: t needed\n";
    my $name = $o{name} // 'dns';
    my $base = $t->dir . "/$name";

    my $self = bless {
        name    => $name,
        table   => "$base.table",
        paused  => "$base.paused",
        log     => "$base.queries",
        out     => "$base.log",
        records => {},
        timeout => $t->valgrind ? 60 : 10,
    }, $class;

    $self->{port} = _udp_port($t, $name);
    $self->set(%{ $o{records} // {} });

    open my $fh, '>', $self->{log} or die "$self->{log}: $!\n";
    close $fh;

    $self->{pid} = TotpTest::Proc::spawn(
        [ $^X, "-I$LIB", '-MTotpDNS', '-e', 'TotpDNS::serve(@ARGV)',
          $self->{port}, $self->{table}, $self->{paused}, $self->{log} ],
        $self->{out}, 'TERM');

    # up when it answers; a name outside any table gets NXDOMAIN, and a
    # query for it is not one a test counts
    my $end = time + $self->{timeout};

    until (defined $self->lookup('ready.totpdns.invalid')) {
        if (defined(my $status = TotpTest::Proc::reap($self->{pid}, 0))) {
            delete $self->{pid};
            die "DNS server " . TotpTest::Proc::describe_status($status)
                . " at start:\n" . _slurp($self->{out});
        }

        if (time >= $end) {
            $self->stop;
            die "DNS server did not answer on $self->{port}:\n"
                . _slurp($self->{out});
        }

        sleep 0.02;
    }

    return $self;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }

# as nginx's resolver directive takes it
sub addr { "127.0.0.1:$_[0]{port}" }

# Sets A records (name => ip; undef removes the name: NXDOMAIN).  The
# table is replaced whole, by a rename, so that a query never reads it
# half written.
sub set {
    my ($self, %records) = @_;

    while (my ($name, $ip) = each %records) {
        if (defined $ip) {
            $self->{records}{lc $name} = $ip;
        } else {
            delete $self->{records}{lc $name};
        }
    }

    my $tmp = "$self->{table}.tmp";
    open my $fh, '>', $tmp or die "$tmp: $!\n";
    my $r = $self->{records};
    print $fh map { "$_ $r->{$_}\n" } sort keys %$r;
    close $fh or die "$tmp: $!\n";
    rename $tmp, $self->{table} or die "rename $tmp: $!\n";

    return $self;
}

# No answer to any query until resume: a resolver's timeout.
sub pause {
    my ($self) = @_;

    open my $fh, '>', $self->{paused} or die "$self->{paused}: $!\n";
    close $fh;

    return $self;
}

sub resume {
    my ($self) = @_;
    unlink $self->{paused};
    return $self;
}

# The queries seen for $name (every name without one), as
# [ time, name, type, "answered" or "ignored" ]; in scalar context
# their number.
sub queries {
    my ($self, $name) = @_;

    open my $fh, '<', $self->{log} or return;

    my @q = grep { !defined $name || $_->[1] eq lc $name }
            map { chomp; [ split / / ] } <$fh>;

    return wantarray ? @q : scalar @q;
}

# The time of the last query for $name, or 0.
sub last_query {
    my ($self, $name) = @_;

    my @q = $self->queries($name);
    return @q ? $q[-1][0] : 0;
}

# Asks the server for $name's A record as a resolver would: the address,
# '' for NXDOMAIN or no record, undef for no answer within $timeout
# seconds (default 1).  One UDP query, connected: before the server
# listens, the refusal comes back at once.
sub lookup {
    my ($self, $name, $timeout) = @_;

    require Net::DNS;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Proto => 'udp')
        or return undef;

    my $query = Net::DNS::Packet->new($name, 'A', 'IN');
    $query->header->rd(0);
    send $s, $query->data, 0 or return undef;

    my $sel = IO::Select->new($s);
    my $end = time + ($timeout // 1);

    while ((my $left = $end - time) > 0) {
        last unless $sel->can_read($left);

        my $buf;
        defined recv($s, $buf, 65535, 0) or return undef;

        my $reply = Net::DNS::Packet->new(\$buf) or next;
        next unless $reply->header->id == $query->header->id;

        my ($a) = grep { $_->type eq 'A' } $reply->answer;
        return $a ? $a->address : '';
    }

    return undef;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;
    TotpTest::Proc::terminate($pid, 'TERM', 10);
}

sub DESTROY {
    local ($?, $!, $@);
    $_[0]->stop;
}

# A port free for both TCP (TotpTest->port checks that one) and UDP:
# Net::DNS::Nameserver listens on both, nginx's resolver asks over UDP.
sub _udp_port {
    my ($t, $name) = @_;

    for my $n (0 .. 20) {
        my $port = $t->port($n ? "$name-$n" : $name);
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'udp');
        next unless $s;
        close $s;
        return $port;
    }

    die "TotpDNS: no port free for UDP too\n";
}

sub _slurp {
    my ($path) = @_;

    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh> // '';
}

# --- the child ---

# Runs the server: never returns.
sub serve {
    my ($port, $table, $paused, $log) = @_;

    require Net::DNS::Nameserver;

    my $ns = Net::DNS::Nameserver->new(
        LocalAddr    => ['127.0.0.1'],
        LocalPort    => $port,
        ReplyHandler => sub { _reply($table, $paused, $log, @_) },
        Verbose      => 0,
    ) or die "cannot listen on 127.0.0.1:$port\n";

    $ns->main_loop;
}

sub _reply {
    my ($table, $paused, $log, $qname, $qclass, $qtype) = @_;

    $qname = lc $qname;
    my $ignored = -e $paused;

    # one line per query, appended and closed at once: the test reads it
    # while this runs
    if (open my $fh, '>>', $log) {
        printf $fh "%.6f %s %s %s\n", time, $qname, $qtype,
            $ignored ? 'ignored' : 'answered';
        close $fh;
    }

    # no rcode: Net::DNS::Nameserver sends nothing
    return if $ignored;

    my %records;

    if (open my $fh, '<', $table) {
        %records = map { split ' ', $_, 2 }
                   grep { /\S/ } map { s/\s+\z//r } <$fh>;
        close $fh;
    }

    my $ip = $records{$qname};
    my %aa = (aa => 1);

    # a name not in the table does not exist; a name in it has an A
    # record and nothing else (an AAAA query gets an empty answer)
    return ('NXDOMAIN', [], [], [], \%aa) unless defined $ip;
    return ('NOERROR', [], [], [], \%aa)
        unless $qtype eq 'A' && $qclass eq 'IN';

    return ('NOERROR', [ Net::DNS::RR->new("$qname 1 IN A $ip") ], [], [],
            \%aa);
}

1;
