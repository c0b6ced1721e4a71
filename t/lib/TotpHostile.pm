package TotpHostile;

# What t/hostile.t needs beside the harness: a Redis client of its own
# that speaks RESP over a socket (binary-safe keys, no redis-cli per
# command, and none of the commands the module sends, so that those can
# be counted), a snapshot of every key with its value and whether it has
# a TTL, and a raw HTTP exchange that keeps reading while it writes (a
# 1 MB request line is answered and the connection closed long before the
# last byte is sent).

use strict;
use warnings;

use Errno qw(EINTR EAGAIN EWOULDBLOCK);
use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(raw_exchange parse_raw);


# --- Redis ---------------------------------------------------------------

sub new {
    my ($class, %o) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $o{port}, Proto => 'tcp',
                                  Timeout => 5)
        or die "TotpHostile: cannot connect to Redis on $o{port}: $@\n";

    binmode $s;

    return bless { sock => $s, buf => '' }, $class;
}

# One command; the reply as a string, an arrayref, an integer or undef
# (nil).  A Redis error dies.
sub cmd {
    my ($self, @args) = @_;

    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;

    my $s = $self->{sock};

    while (length $req) {
        my $n = syswrite $s, $req;
        die "TotpHostile: Redis write: $!\n" unless defined $n;
        substr($req, 0, $n, '');
    }

    return $self->_reply;
}

sub _line {
    my ($self) = @_;

    my $i;

    until (($i = index $self->{buf}, "\r\n") >= 0) {
        $self->_fill;
    }

    my $line = substr $self->{buf}, 0, $i + 2, '';
    return substr $line, 0, -2;
}

sub _fill {
    my ($self) = @_;

    IO::Select->new($self->{sock})->can_read(10)
        or die "TotpHostile: Redis did not answer\n";

    my $n = sysread $self->{sock}, $self->{buf}, 65536, length $self->{buf};
    die "TotpHostile: Redis closed the connection\n" unless $n;
}

sub _reply {
    my ($self) = @_;

    my $line = $self->_line;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));

    return $rest if $type eq '+';
    return $rest + 0 if $type eq ':';
    die "TotpHostile: Redis: $rest\n" if $type eq '-';

    if ($type eq '$') {
        return undef if $rest < 0;

        $self->_fill while length $self->{buf} < $rest + 2;

        my $v = substr $self->{buf}, 0, $rest + 2, '';
        return substr $v, 0, $rest;
    }

    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { $self->_reply } 1 .. $rest ];
    }

    die "TotpHostile: Redis sent \"$line\"\n";
}

# Every key => "TYPE ttl|no-ttl VALUE", VALUE printable and sorted where
# Redis has no order.
sub snapshot {
    my ($self) = @_;

    my (%keys, $cursor);

    $cursor = 0;

    do {
        my $r = $self->cmd('SCAN', $cursor, 'COUNT', 1000);
        $cursor = $r->[0];
        $keys{$_} = 1 for @{ $r->[1] };
    } while ($cursor ne '0');

    my %snap;

    for my $key (sort keys %keys) {
        my $type = $self->cmd('TYPE', $key);
        my $value;

        if ($type eq 'string') {
            $value = $self->cmd('GET', $key);

        } elsif ($type eq 'hash') {
            my %h = @{ $self->cmd('HGETALL', $key) };
            $value = join ' ', map { "$_=$h{$_}" } sort keys %h;

        } elsif ($type eq 'set') {
            $value = join ' ', sort @{ $self->cmd('SMEMBERS', $key) };

        } elsif ($type eq 'none') {
            next;                          # gone between SCAN and TYPE

        } else {
            $value = unpack 'H*', $self->cmd('DUMP', $key) // '';
        }

        my $ttl = $self->cmd('PTTL', $key);
        next if $ttl == -2;

        $snap{$key} = "$type " . ($ttl >= 0 ? 'ttl' : 'no-ttl') . ' '
                      . show($value // '');
    }

    return \%snap;
}

# The calls the module makes: it sends EVALSHA, EVAL and HMGET only (its
# scripts' own calls are counted under their names, and so are this
# client's: those are left out).
sub module_calls {
    my ($self) = @_;

    my $n = 0;

    for (split /\r?\n/, $self->cmd('INFO', 'commandstats')) {
        $n += $2 if /^cmdstat_(evalsha|eval|hmget):calls=(\d+)/;
    }

    return $n;
}

# Waits until the module has sent nothing for $quiet seconds (default
# 0.1), at most 10 s: some commands go out after the answer (a success
# gives its count back without waiting for Redis).
sub quiesce {
    my ($self, $quiet) = @_;

    $quiet //= 0.1;

    my $end = time + 10;
    my $last = $self->module_calls;
    my $since = time;

    while (time < $end) {
        sleep 0.03;

        my $now = $self->module_calls;

        if ($now != $last) {
            $last = $now;
            $since = time;
        } elsif (time - $since >= $quiet) {
            return 1;
        }
    }

    return 0;
}

# Lines describing what differs between two snapshots, except in keys
# @$allowed.
sub diff {
    my ($before, $after, $allowed) = @_;

    my %skip = map { $_ => 1 } @{ $allowed // [] };
    my %all = (%$before, %$after);
    my @d;

    for my $key (sort keys %all) {
        next if $skip{$key};

        my ($b, $a) = ($before->{$key}, $after->{$key});

        if (!defined $b) {
            push @d, 'new key ' . show($key) . ": $a";
        } elsif (!defined $a) {
            push @d, 'key gone ' . show($key) . " (was $b)";
        } elsif ($a ne $b) {
            push @d, 'key changed ' . show($key) . ": $b -> $a";
        }
    }

    return @d;
}

# printable, short
sub show {
    my ($s) = @_;

    $s = substr($s, 0, 60) . '...(' . length($s) . ' bytes)'
        if length $s > 80;
    $s =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;

    return $s;
}


# --- raw HTTP --------------------------------------------------------------

# Sends $bytes while reading what comes back; returns all that came
# until the server closed, or $o{until} (a qr// on what was read) matched
# with the request sent, or $o{timeout} seconds (default 5) passed.  Write
# errors (the server closed first) end the sending, not the reading.
sub raw_exchange {
    my ($port, $bytes, %o) = @_;

    my $timeout = $o{timeout} // 5;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or die "raw_exchange: cannot connect to $port: $@\n";

    $s->blocking(0);

    local $SIG{PIPE} = 'IGNORE';

    my $end = time + $timeout;
    my $out = '';
    my $sel = IO::Select->new($s);

    while ((my $left = $end - time) > 0) {
        my ($r, $w) = IO::Select->select($sel, length $bytes ? $sel : undef,
                                         undef, $left);

        if ($w && @$w) {
            my $n = syswrite $s, $bytes, 65536;

            if (defined $n) {
                substr($bytes, 0, $n, '');
            } elsif ($! != EINTR && $! != EAGAIN && $! != EWOULDBLOCK) {
                $bytes = '';
            }
        }

        if ($r && @$r) {
            my $n = sysread $s, $out, 65536, length $out;

            next if !defined $n && ($! == EINTR || $! == EAGAIN
                                    || $! == EWOULDBLOCK);
            last unless $n;
        }

        last if $o{until} && !length $bytes && $out =~ $o{until};
    }

    close $s;

    return $out;
}

# The first response in $raw: { status (undef for none, 0 for a body
# without a status line: HTTP/0.9), set_cookies => [...], location,
# headers (text), body, statuses => every status line's, in order }.
sub parse_raw {
    my ($raw) = @_;

    return { status => undef, set_cookies => [], body => '', statuses => [] }
        unless length $raw;

    return { status => 0, set_cookies => [], body => $raw, statuses => [] }
        unless $raw =~ m{\AHTTP/\d\.\d \d{3}};

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = $head =~ m{\AHTTP/\d\.\d (\d{3})};

    return {
        status      => $status + 0,
        headers     => $head,
        set_cookies => [ $head =~ /^Set-Cookie:\s*(.*?)\r?$/mig ],
        location    => scalar(($head =~ /^Location:\s*(.*?)\r?$/mi)[0]),
        body        => $body // '',
        statuses    => [ map { $_ + 0 } $raw =~ m{^HTTP/\d\.\d (\d{3})}mg ],
    };
}

1;
