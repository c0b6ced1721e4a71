package TotpTest::UA;

# A small HTTP/1.1 client for the tests, written out rather than taken
# from HTTP::Tiny: the tests need to set Host and Cookie themselves, to
# see every Set-Cookie, and never to follow a redirect.
#
# Cookie jar, deliberately simpler than a browser's (the tests talk plain
# http to 127.0.0.1 only):
#   - Domain is ignored; a cookie is stored whatever its Path or Secure,
#     and sent on every request;
#   - Max-Age <= 0, or an Expires in the past, deletes the cookie;
#   - cookies never expire with time: a test can so check that the server
#     itself refuses an expired cookie;
#   - a Cookie header given to a request replaces the jar's for that
#     request.

use strict;
use warnings;

use Errno qw(EINTR EAGAIN);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Time::Local qw(timegm);

# %o: port (required), host (127.0.0.1), timeout (seconds per request),
# local (the source address, such as 127.0.0.2: a client of its own), ssl
# (https, the server's certificate taken as it is; the Host header's name
# is sent for SNI), vhost (the Host header, for a name-based server),
# headers (a hash of headers sent with every request, such as X-Real-IP
# for a client behind a proxy)
sub new {
    my ($class, %o) = @_;

    die "TotpTest::UA->new: port needed\n" unless $o{port};

    return bless {
        host    => $o{host} // '127.0.0.1',
        local   => $o{local},
        ssl     => $o{ssl},
        vhost   => $o{vhost},
        always  => $o{headers} // {},
        port    => $o{port},
        timeout => $o{timeout} // 10,
        jar     => [],                   # [ name, value ] in arrival order
    }, $class;
}

sub get {
    my ($self, $path, $headers) = @_;
    return $self->request('GET', $path, $headers);
}

sub head {
    my ($self, $path, $headers) = @_;
    return $self->request('HEAD', $path, $headers);
}

# $form: a hashref (form-urlencoded, keys sorted, an arrayref value
# repeats its field) or a string sent as is.
sub post {
    my ($self, $path, $form, $headers) = @_;

    my %h = %{ $headers // {} };
    my $body = ref $form eq 'HASH' ? form_encode($form) : $form // '';

    $h{'Content-Type'} = 'application/x-www-form-urlencoded'
        unless grep { lc eq 'content-type' } keys %h;

    return $self->request('POST', $path, \%h, $body);
}

# Header values: a string, an arrayref (the header repeated), or undef
# (the header left out, even Host).  Returns { status, reason, headers,
# body }; a transport error or timeout gives status 599 and the error as
# body, as HTTP::Tiny does.
sub request {
    my ($self, $method, $path, $headers, $body) = @_;

    my $req = $self->_build($method, $path, $headers // {}, $body);

    for my $attempt (0, 1) {
        my $reused = $self->_connect;

        unless ($self->{sock}) {
            return _error("cannot connect to $self->{host}:$self->{port}: "
                          . $self->{connect_error});
        }

        my $deadline = time + $self->{timeout};
        $self->{got} = 0;

        my $res = eval {
            $self->_send($req, $deadline);
            $self->_receive($method, $deadline);
        };

        if ($res) {
            $self->_store_cookies($res->{headers}{'set-cookie'});
            return $res;
        }

        my $err = $@;
        $self->_close;

        # the server closed an idle kept-alive connection under us
        next if $attempt == 0 && $reused && !$self->{got}
                && $method =~ /^(GET|HEAD)$/;

        return _error($err);
    }
}

sub cookie {
    my ($self, $name) = @_;

    for my $c (@{ $self->{jar} }) {
        return $c->[1] if $c->[0] eq $name;
    }

    return undef;
}

# all cookies, as a hashref name => value
sub cookies {
    my ($self) = @_;
    return { map { @$_ } @{ $self->{jar} } };
}

# an undef value deletes the cookie
sub set_cookie {
    my ($self, $name, $value) = @_;

    my $jar = $self->{jar};

    for my $i (0 .. $#$jar) {
        next unless $jar->[$i][0] eq $name;

        if (defined $value) {
            $jar->[$i][1] = $value;
        } else {
            splice @$jar, $i, 1;
        }

        return;
    }

    push @$jar, [ $name, $value ] if defined $value;
}

sub clear_cookies {
    my ($self) = @_;
    $self->{jar} = [];
}

sub cookie_header {
    my ($self) = @_;
    return join '; ', map { "$_->[0]=$_->[1]" } @{ $self->{jar} };
}

# as a browser encodes a form: space as "+", [A-Za-z0-9*-._] as is
sub form_encode {
    my ($form) = @_;

    my @pairs;

    for my $k (sort keys %$form) {
        my $v = $form->{$k};

        for my $one (ref $v eq 'ARRAY' ? @$v : $v) {
            push @pairs, _encode($k) . '=' . _encode($one // '');
        }
    }

    return join '&', @pairs;
}

sub _encode {
    my ($s) = @_;

    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9*\-._ ])/sprintf '%%%02X', ord $1/ge;
    $s =~ tr/ /+/;

    return $s;
}

sub _build {
    my ($self, $method, $path, $headers, $body) = @_;

    my %h = (
        'Host'       => $self->{vhost} // "$self->{host}:$self->{port}",
        'User-Agent' => 'TotpTest',
    );

    my $cookies = $self->cookie_header;
    $h{Cookie} = $cookies if length $cookies;

    $h{'Content-Length'} = length $body
        if defined $body || $method =~ /^(POST|PUT|PATCH)$/;
    $body //= '';

    # the caller's headers win, whatever their case
    for my $name (keys %{ $self->{always} }, keys %$headers) {
        my $value = exists $headers->{$name} ? $headers->{$name}
                                             : $self->{always}{$name};
        delete $h{$_} for grep { lc eq lc $name } keys %h;
        $h{$name} = $value;
    }

    my $req = "$method $path HTTP/1.1\r\n";

    for my $name (sort keys %h) {
        my $v = $h{$name};
        next unless defined $v;
        $req .= "$name: $_\r\n" for ref $v eq 'ARRAY' ? @$v : $v;
    }

    utf8::encode($body) if utf8::is_utf8($body);

    return "$req\r\n$body";
}

# Returns whether a kept-alive connection is reused.
sub _connect {
    my ($self) = @_;

    if ($self->{sock}) {
        # readable while idle means closed by the server (or garbage)
        return 1 unless IO::Select->new($self->{sock})->can_read(0);
        $self->_close;
    }

    $self->{buf} = '';

    my %args = (
        PeerAddr => $self->{host},
        PeerPort => $self->{port},
        ($self->{local} ? (LocalAddr => $self->{local}) : ()),
        Proto    => 'tcp',
        Timeout  => $self->{timeout},
    );

    if ($self->{ssl}) {
        require IO::Socket::SSL;

        $self->{sock} = IO::Socket::SSL->new(%args,
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_hostname    => $self->{ssl} =~ /[a-z]/i ? $self->{ssl} : '',
        );
        $self->{connect_error} = $IO::Socket::SSL::SSL_ERROR || $@ || $!;

    } else {
        $self->{sock} = IO::Socket::INET->new(%args);
        $self->{connect_error} = $@ || $!;
    }

    return 0;
}

sub _close {
    my ($self) = @_;

    close $self->{sock} if $self->{sock};
    delete $self->{sock};
    $self->{buf} = '';
}

sub _send {
    my ($self, $data, $deadline) = @_;

    # a server that closed early must give an error, not kill the test
    local $SIG{PIPE} = 'IGNORE';

    my $sel = IO::Select->new($self->{sock});

    while (length $data) {
        die "timeout sending the request\n"
            unless $sel->can_write(_left($deadline));

        my $n = syswrite $self->{sock}, $data;

        unless (defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            die "send: $!\n";
        }

        substr($data, 0, $n, '');
    }
}

# Reads more into $self->{buf}; returns 0 at EOF.
sub _fill {
    my ($self, $deadline) = @_;

    for (;;) {
        # TLS may hold a record already read off the socket
        die "timeout reading the response\n"
            unless ($self->{ssl} && $self->{sock}->pending)
                   || IO::Select->new($self->{sock})
                          ->can_read(_left($deadline));

        my $n = sysread $self->{sock}, $self->{buf}, 65536,
                        length $self->{buf};

        unless (defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            die "receive: $!\n";
        }

        $self->{got} += $n;
        return $n;
    }
}

sub _receive {
    my ($self, $method, $deadline) = @_;

    my ($status, $reason, $version, $headers);

    # interim 1xx responses are skipped
    do {
        my $end;

        until (($end = index $self->{buf}, "\r\n\r\n") >= 0) {
            $self->_fill($deadline)
                or die "connection closed before the response header\n";
        }

        my $head = substr $self->{buf}, 0, $end + 4, '';
        my ($line, @lines) = split /\r\n/, $head;

        ($version, $status, $reason) =
            $line =~ m{^HTTP/(\d\.\d) (\d{3})(?: (.*))?$}
            or die "bad status line: $line\n";

        $headers = _parse_headers(@lines);

    } while ($status =~ /^1/ && $status != 101);

    my $body = '';
    my $keep = ($version eq '1.1' ? 1 : 0);
    my $conn = lc($headers->{connection} // '');

    $keep = 0 if $conn =~ /\bclose\b/;
    $keep = 1 if $conn =~ /\bkeep-alive\b/ && $version eq '1.0';

    if ($method eq 'HEAD' || $status =~ /^(1..|204|304)$/) {
        # no body

    } elsif (lc($headers->{'transfer-encoding'} // '') =~ /chunked/) {
        $body = $self->_read_chunked($deadline);

    } elsif (defined $headers->{'content-length'}) {
        $body = $self->_read_exactly($headers->{'content-length'}, $deadline);

    } else {
        1 while $self->_fill($deadline);
        $body = $self->{buf};
        $self->{buf} = '';
        $keep = 0;
    }

    $self->_close unless $keep;

    return {
        status  => $status + 0,
        reason  => $reason // '',
        headers => $headers,
        body    => $body,
    };
}

sub _read_exactly {
    my ($self, $len, $deadline) = @_;

    while (length $self->{buf} < $len) {
        $self->_fill($deadline)
            or die "connection closed inside the response body\n";
    }

    return substr $self->{buf}, 0, $len, '';
}

sub _read_line {
    my ($self, $deadline) = @_;

    my $end;

    until (($end = index $self->{buf}, "\r\n") >= 0) {
        $self->_fill($deadline)
            or die "connection closed inside a chunked body\n";
    }

    my $line = substr $self->{buf}, 0, $end + 2, '';
    return substr $line, 0, -2;
}

sub _read_chunked {
    my ($self, $deadline) = @_;

    my $body = '';

    for (;;) {
        my $size = $self->_read_line($deadline);

        $size =~ /^([0-9a-fA-F]+)/ or die "bad chunk size: $size\n";
        $size = hex $1;

        last if $size == 0;

        $body .= $self->_read_exactly($size, $deadline);
        $self->_read_line($deadline) eq '' or die "bad chunk end\n";
    }

    # trailers, up to the empty line
    1 while length $self->_read_line($deadline);

    return $body;
}

sub _parse_headers {
    my (@lines) = @_;

    my %h;

    for my $line (@lines) {
        my ($name, $value) = $line =~ /^([^:\s]+):[ \t]*(.*?)[ \t]*$/
            or next;
        $name = lc $name;

        if ($name eq 'set-cookie') {
            push @{ $h{$name} }, $value;
        } elsif (exists $h{$name}) {
            $h{$name} .= ", $value";
        } else {
            $h{$name} = $value;
        }
    }

    return \%h;
}

sub _store_cookies {
    my ($self, $lines) = @_;

    for my $line (@{ $lines // [] }) {
        my ($pair, @attrs) = split /;/, $line;
        my ($name, $value) = $pair =~ /^\s*([^=]*?)\s*=\s*(.*?)\s*$/
            or next;
        next unless length $name;

        my ($max_age, $expires);

        for (@attrs) {
            my ($k, $v) = /^\s*([^=]*?)\s*(?:=\s*(.*?)\s*)?$/;
            $k = lc $k;
            $max_age = $v if $k eq 'max-age' && defined $v;
            $expires = $v if $k eq 'expires' && defined $v;
        }

        # Max-Age wins over Expires (RFC 6265 5.3)
        my $gone;

        if (defined $max_age && $max_age =~ /^-?\d+$/) {
            $gone = $max_age <= 0;
        } elsif (defined $expires) {
            my $when = _http_date($expires);
            $gone = defined $when && $when <= time;
        }

        $self->set_cookie($name, $gone ? undef : $value);
    }
}

my %MONTH;
@MONTH{qw(jan feb mar apr may jun jul aug sep oct nov dec)} = (0 .. 11);

# "Thu, 01 Jan 1970 00:00:00 GMT" and "Thursday, 01-Jan-70 00:00:00 GMT";
# undef when not understood (the cookie is then kept).
sub _http_date {
    my ($s) = @_;

    my ($d, $m, $y, $hh, $mm, $ss) =
        $s =~ /(\d{1,2})[ -]([A-Za-z]{3})[ -](\d{2,4}) (\d\d):(\d\d):(\d\d)/
        or return undef;

    $m = $MONTH{ lc $m };
    return undef unless defined $m;

    $y += $y < 70 ? 2000 : 1900 if $y < 100;

    return eval { timegm($ss, $mm, $hh, $d, $m, $y) };
}

sub _left {
    my ($deadline) = @_;
    my $left = $deadline - time;
    return $left > 0 ? $left : 0;
}

sub _error {
    my ($msg) = @_;
    chomp $msg;
    return { status => 599, reason => 'Internal Exception',
             headers => {}, body => $msg };
}

1;
