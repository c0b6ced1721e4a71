package TotpTest;

# Test harness for ngx_http_totp_module: a real nginx (Debian's, loading
# build/ngx_http_totp_module.so) and real redis-servers, started on free
# ports inside a temporary directory, an HTTP client with a cookie jar,
# and the checks every test ends with.  See the POD at the end.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use Test::More ();
use Time::HiRes qw(sleep);

use TotpTest::Proc;
use TotpTest::Redis;
use TotpTest::UA;

our @EXPORT_OK = qw(totp_code);

# t/lib/TotpTest.pm -> the repository's root
my $ROOT = abs_path(dirname(abs_path(__FILE__)) . '/../..');

my $VALGRIND = $ENV{TOTP_TEST_VALGRIND} ? 1 : 0;

# nginx with the sanitizers' runtimes preloaded, for a module built with
# -fsanitize=address,undefined (make test-asan); reports go to files in
# the test dir, which done() fails on
my $ASAN = $ENV{TOTP_TEST_ASAN} ? 1 : 0;

# seconds; valgrind makes nginx some 20 to 50 times slower
my $SLOW_TIMEOUT = 60;
my $START_TIMEOUT = $VALGRIND ? $SLOW_TIMEOUT : 10;
my $STOP_TIMEOUT = $VALGRIND ? $SLOW_TIMEOUT : 10;

# names of the ports nginx listens on, waited for by run()
my $HTTP_PORT = qr/^http/;

# %opt: nginx (binary), module (the .so); both default from the
# environment (TOTP_TEST_NGINX, TOTP_TEST_MODULE), then the usual places.
# wrap: a command nginx runs under (a profiler, say), in one process as
# under valgrind.
sub new {
    my ($class, %opt) = @_;

    my $keep = $ENV{TOTP_TEST_KEEP} ? 1 : 0;
    my $tmp = File::Temp->newdir('totp-test-XXXXXX', TMPDIR => 1,
                                 CLEANUP => !$keep);

    my $self = bless {
        tmp     => $tmp,
        dir     => $tmp->dirname,
        nginx   => $opt{nginx} // $ENV{TOTP_TEST_NGINX} // '/usr/sbin/nginx',
        module  => $opt{module} // $ENV{TOTP_TEST_MODULE}
                   // "$ROOT/build/ngx_http_totp_module.so",
        ports   => {},
        workers => 1,
        allow   => [],
        redis   => [],
        exits   => [],
        runs    => 0,
        wrap    => $opt{wrap},
    }, $class;

    Test::More::diag("kept test dir: $self->{dir}") if $keep;

    # a missing module must fail the run loudly, never look like a skip
    Test::More::BAIL_OUT("$self->{module} missing, run make")
        unless -f $self->{module};

    return $self;
}

sub dir      { $_[0]{dir} }
sub valgrind { $VALGRIND }
sub asan     { $ASAN }

sub port {
    my ($self, $name) = @_;

    die "port: a name is needed\n" unless defined $name;

    return $self->{ports}{$name} if $self->{ports}{$name};

    my %taken = map { $_ => 1 } values %{ $self->{ports} };
    my $port;

    # the kernel may hand out a port again once it is closed; retry
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1)
            or die "cannot bind a free port: $!\n";
        $port = $s->sockport;
        close $s;
        last unless $taken{$port};
    }

    die "no free port for \"$name\"\n" if $taken{$port};

    return $self->{ports}{$name} = $port;
}

sub listen_ports {
    my ($self) = @_;

    my $p = $self->{ports};
    return sort { $a <=> $b } map { $p->{$_} } grep { /$HTTP_PORT/ } keys %$p;
}

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = "$self->{dir}/$name";
    make_path(dirname($path));

    open my $fh, '>:raw', $path or die "$path: $!\n";
    print $fh $content;
    close $fh or die "$path: $!\n";

    return $path;
}

# %o: workers, main (extra main-context lines), events (extra lines in
# the events block)
sub write_config {
    my ($self, $http, %o) = @_;

    my $main = $self->main_lines(%o);
    my $events = $self->events_lines(%o);
    my $harness = $self->http_lines;

    return $self->write_file('nginx.conf', <<"EOF");
$main
events {
$events}

http {
$harness
$http
}
EOF
}

# What every test's nginx.conf needs at the top: the module, the test dir
# for pid and logs, the workers.  %o: workers, main.
sub main_lines {
    my ($self, %o) = @_;

    my $d = $self->{dir};
    my $level = $ENV{TOTP_TEST_DEBUG} ? 'debug' : 'info';

    $self->{workers} = $o{workers} // 1;

    my $main = "load_module $self->{module};\n";

    # as root, workers would run as nobody, who cannot enter the 0700
    # test dir (temp files, the redis socket)
    $main .= "user root;\n" if $> == 0;

    $main .= "daemon off;\n";
    $main .= "master_process off;\n" if $VALGRIND || $self->{wrap};
    $main .= "pid $d/nginx.pid;\n";
    $main .= "error_log $d/error.log $level;\n";
    $main .= "worker_processes $self->{workers};\n";
    $main .= "$o{main}\n" if defined $o{main};

    return $main;
}

# The events block's lines.  %o: events.
sub events_lines {
    my ($self, %o) = @_;

    # TOTP_TEST_EVENT_METHOD=poll runs the module on level-triggered
    # events, with an nginx built with the poll module (TOTP_TEST_NGINX)
    my $lines = "    worker_connections 4096;\n";
    $lines .= "    use $ENV{TOTP_TEST_EVENT_METHOD};\n"
        if $ENV{TOTP_TEST_EVENT_METHOD};
    $lines .= "    $o{events}\n" if defined $o{events};

    return $lines;
}

# The http block's lines that keep nginx's files in the test dir.
sub http_lines {
    my ($self) = @_;

    my $d = $self->{dir};

    my $temp = join '', map { "    ${_}_temp_path $d/${_}_temp;\n" }
                        qw(client_body proxy fastcgi uwsgi scgi);

    return "$temp\n    access_log $d/access.log;\n";
}

sub _nginx_argv {
    my ($self, $log, @extra) = @_;

    my $d = $self->{dir};

    my @env;

    if ($ASAN) {
        @env = ('env',
            'LD_PRELOAD=' . join(' ', _sanitizer_runtimes()),
            "ASAN_OPTIONS=log_path=$d/asan:detect_leaks=0:halt_on_error=1"
                . ':detect_stack_use_after_return=1:strict_string_checks=1',
            "UBSAN_OPTIONS=log_path=$d/ubsan:print_stacktrace=1"
                . ':halt_on_error=1');
    }

    # -e: messages before error_log is read go here, not to stderr
    my @wrap = $self->{wrap} ? @{ $self->{wrap} }
                             : valgrind_argv("$d/valgrind.%p.log");

    return (@env, @wrap, $self->{nginx}, @extra,
            '-p', "$d/", '-e', $log, '-c', "$d/nginx.conf");
}

# The valgrind command line a program runs under with TOTP_TEST_VALGRIND
# (nothing without it), its report in $log (stderr without one): every
# invalid access and every definite leak is an error, and an error is
# exit code 99, so a unit run by prove fails as well.

sub valgrind_argv {
    my ($log) = @_;

    return () unless $VALGRIND;

    return ('valgrind', '--error-exitcode=99',
            '--leak-check=full', '--show-leak-kinds=definite',
            '--errors-for-leak-kinds=definite', '--track-fds=no',
            '--num-callers=30', '--keep-debuginfo=yes',
            # the threads of a pool take turns with the event loop
            '--fair-sched=yes',
            ($log ? "--log-file=$log" : '-q'),
            "--suppressions=$ROOT/t/valgrind.supp");
}

# gcc's ASan and UBSan runtimes, as the module was built with them
sub _sanitizer_runtimes {
    my @libs;

    for my $lib (qw(libasan.so libubsan.so)) {
        my ($path) = TotpTest::Proc::capture('gcc', "-print-file-name=$lib");
        chomp $path;
        die "TOTP_TEST_ASAN: gcc has no $lib\n" unless -e $path;
        push @libs, abs_path($path);
    }

    return @libs;
}

# Returns (ok, output); its own log, so a failed test leaves no [emerg]
# in error.log for done() to find.
sub nginx_test {
    my ($self) = @_;

    $self->{checks}++;

    my ($out, $status) = TotpTest::Proc::capture(
        $self->_nginx_argv("$self->{dir}/nginx-t.log", '-t'));

    return ($status == 0 ? 1 : 0, $out);
}

sub run {
    my ($self) = @_;

    die "nginx is already running\n" if $self->{pid};
    die "no nginx.conf: write_config first\n"
        unless -f "$self->{dir}/nginx.conf";

    # a pid file left by a killed nginx would look like a start
    unlink "$self->{dir}/nginx.pid";

    my @argv = $self->_nginx_argv("$self->{dir}/error.log");

    $self->{pid} = TotpTest::Proc::spawn(\@argv, "$self->{dir}/nginx.out",
                                         'QUIT');
    $self->{runs}++;

    # the http ports this config listens on: a test may have named more
    # for a config it wrote before
    my $conf = _slurp("$self->{dir}/nginx.conf");
    my @ports = grep { $conf =~ /^\s*listen\s+(?:\S*:)?$_\b/m }
                $self->listen_ports;
    my $exited;
    my $timeout = $self->_timeout($START_TIMEOUT);

    my $up = $self->wait_for(sub {
        return 1 if defined($exited = TotpTest::Proc::reap($self->{pid}, 0));

        # nginx writes its pid once it has bound every socket: a port
        # that accepts before then may be somebody else's
        return -s "$self->{dir}/nginx.pid" && !grep { !_accepts($_) } @ports;
    }, $timeout);

    if (defined $exited) {
        delete $self->{pid};
        die "nginx " . TotpTest::Proc::describe_status($exited)
            . " at start\n" . $self->_tail;
    }

    unless ($up) {
        $self->stop;
        die "nginx did not start in ${timeout}s (ports @ports)\n"
            . $self->_tail;
    }

    return $self;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;

    my $timeout = $self->_timeout($STOP_TIMEOUT);
    my ($status, $killed, $strays) =
        TotpTest::Proc::terminate($pid, 'QUIT', $timeout, 1);

    my @why;
    push @why, "did not stop in ${timeout}s, killed" if $killed;
    push @why, TotpTest::Proc::describe_status($status)
        if $status && !$killed;
    push @why, 'left processes behind' if $strays;

    push @{ $self->{exits} }, "nginx $pid: " . join(', ', @why) if @why;

    return $status;
}

# nginx under a wrapper is as slow as under valgrind
sub _timeout {
    my ($self, $timeout) = @_;

    return $self->{wrap} ? $SLOW_TIMEOUT : $timeout;
}

sub reload {
    my ($self) = @_;

    my $pid = $self->{pid} or die "reload: nginx is not running\n";

    # With master_process off, nginx builds the new cycle on SIGHUP but
    # keeps accepting on the old one's listening sockets, and runs no
    # module's init_process again: a test would see the old config.  So
    # under valgrind a restart stands in: the new configuration in a new
    # process, as a reload gives, only without the shared memory a reload
    # keeps, and with no old nginx left when the new config is refused.
    if ($VALGRIND) {
        $self->stop;
        return $self->run;
    }

    # only new log lines can tell a refused config from a slow start
    my $from = -s "$self->{dir}/error.log" // 0;
    my %old = map { $_ => 1 } $self->worker_pids;

    kill 'HUP', $pid;

    $self->wait_for(sub {
        my $new = substr scalar $self->error_log, $from;
        die "reload failed:\n$new" if $new =~ /\[emerg\]/;

        grep({ !$old{$_} } $self->worker_pids) >= $self->{workers};
    }, $START_TIMEOUT) or die "reload: new workers did not come up\n"
                              . $self->_tail;

    # old workers close idle connections and leave; until then they
    # would still answer on connections a client kept alive
    $self->wait_for(sub { !grep { kill 0, $_ } keys %old },
                    $STOP_TIMEOUT, 'old workers to exit');

    return $self;
}

sub master_pid { $_[0]{pid} }

sub worker_pids {
    my ($self) = @_;

    my $master = $self->{pid} or return ();

    return ($master) if $VALGRIND;

    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;

        # the name in parentheses may itself hold spaces and parentheses
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/s or next;
        push @pids, $pid if $ppid == $master;
    }

    return sort { $a <=> $b } @pids;
}

# The whole log; in list context its lines (each with its newline).
sub error_log {
    my ($self) = @_;
    return _read_log("$self->{dir}/error.log");
}

sub access_log {
    my ($self) = @_;
    return _read_log("$self->{dir}/access.log");
}

sub _read_log {
    my ($path) = @_;

    my $s = _slurp($path);
    return wantarray ? split(/^/m, $s) : $s;
}

sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allow} }, @re;
}

# error.log lines that fail a test: alerts, crashes; allow_log exempts
sub log_problems {
    my ($self) = @_;

    return grep {
        my $line = $_;
        # a worker ends with code 0 unless something killed it: a
        # sanitizer's halt says "exited with code 1", its report
        # "runtime error:" on stderr, which is the error log
        ($line =~ /\[(alert|crit|emerg)\]/ || $line =~ /exited on signal/
         || $line =~ /worker process \d+ exited with code [1-9]/
         || $line =~ /: runtime error: /)
            && !grep { $line =~ $_ } @{ $self->{allow} }
    } split /\n/, scalar $self->error_log;
}

# Polls $cond every 20ms for $timeout seconds (default: 10, 60 under
# valgrind); returns whether it came true.
sub wait_for {
    my ($self, $cond, $timeout, $what) = @_;

    my $end = Time::HiRes::time() + ($timeout // $START_TIMEOUT);

    for (;;) {
        return 1 if $cond->();

        if (Time::HiRes::time() >= $end) {
            Test::More::diag("timed out waiting for $what") if defined $what;
            return 0;
        }

        sleep 0.02;
    }
}

# %o: unix, password, conf, name (another server: its own port, socket)
sub redis {
    my ($self, %o) = @_;

    my $name = $o{name} // 'redis';

    my $r = TotpTest::Redis->new(
        %o,
        dir     => $self->{dir},
        name    => $name,
        port    => $o{unix} ? 0 : $self->port($name),
        timeout => $START_TIMEOUT,
    );

    push @{ $self->{redis} }, $r;

    return $r;
}

# %o: port (default: $t->port('http')), host, local, timeout
sub ua {
    my ($self, %o) = @_;

    return TotpTest::UA->new(
        timeout => $VALGRIND ? 60 : 10,
        %o,
        port => $o{port} // $self->port('http'),
    );
}

# Sends $bytes as they are; returns all that comes back until the server
# closes or $timeout (default 5s) passes.  Dies if it cannot connect.
sub http_raw {
    my ($port, $bytes, $timeout) = @_;

    $timeout //= $VALGRIND ? 30 : 5;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or die "http_raw: cannot connect to port $port: $@\n";

    local $SIG{PIPE} = 'IGNORE';

    my $end = Time::HiRes::time() + $timeout;
    my $sel = IO::Select->new($s);
    my $out = '';

    syswrite $s, $bytes if length $bytes;

    while ((my $left = $end - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        last unless sysread $s, $out, 65536, length $out;
    }

    close $s;
    return $out;
}

# The code an authenticator app shows for $secret (base32) at $time,
# computed by oathtool, independently of the module.
sub totp_code {
    my ($secret, $time, %o) = @_;

    my $digits = $o{digits} // 6;
    my $algorithm = uc($o{algorithm} // 'sha1');
    my $period = $o{period} // 30;

    $time //= CORE::time();

    my ($out, $status) = TotpTest::Proc::capture(
        'oathtool', "--totp=$algorithm", '-b', '-d', $digits,
        '-s', "${period}s", '-N', '@' . int($time), $secret);

    chomp $out;

    die "oathtool failed (" . TotpTest::Proc::describe_status($status)
        . "): $out\n" if $status || $out !~ /^\d{$digits}$/;

    return $out;
}

# The end of every test: stop everything, then check the logs.
# Stops everything and checks the logs; then done_testing(), unless
# nested: a test file that runs several nginx calls it once itself.
sub done {
    my ($self, %o) = @_;

    $self->stop;
    $_->stop for @{ $self->{redis} };

    my @bad = $self->log_problems;
    Test::More::ok(!@bad, 'no alerts or crashes in error.log')
        or Test::More::diag(join "\n", @bad);

    Test::More::ok(!@{ $self->{exits} }, 'nginx exited cleanly')
        or Test::More::diag(join "\n", @{ $self->{exits} });

    if ($ASAN && ($self->{runs} || $self->{checks})) {
        my @reports = glob "$self->{dir}/asan.* $self->{dir}/ubsan.*";

        Test::More::ok(!@reports, 'sanitizers: no reports')
            or Test::More::diag(map { "$_:\n" . _slurp($_) } @reports);
    }

    if ($VALGRIND && ($self->{runs} || $self->{checks})) {
        my @logs = glob "$self->{dir}/valgrind.*.log";
        my @failed = grep { _slurp($_) !~ /ERROR SUMMARY: 0 errors/ } @logs;

        Test::More::ok(@logs && !@failed, 'valgrind: no errors')
            or Test::More::diag(@logs ? map { "$_:\n" . _slurp($_) } @failed
                                      : 'no valgrind log');
    }

    Test::More::done_testing() unless $o{nested};
}

sub _accepts {
    my ($port) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;

    return 1;
}

sub _tail {
    my ($self) = @_;

    my $s = '';

    for my $f (qw(error.log nginx.out)) {
        my @lines = split /\n/, _slurp("$self->{dir}/$f");
        next unless @lines;
        splice @lines, 0, -20;
        $s .= "--- $f:\n" . join("\n", @lines) . "\n";
    }

    return $s;
}

sub _slurp {
    my ($path) = @_;

    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh> // '';
}

sub DESTROY {
    my ($self) = @_;

    local ($?, $!, $@);

    $self->stop;

    # in global destruction they may be gone already
    $_->stop for grep { defined } @{ $self->{redis} // [] };
}

1;

__END__

=head1 NAME

TotpTest - harness for the ngx_http_totp_module tests

=head1 SYNOPSIS

    use TotpTest qw(totp_code);

    my $t = TotpTest->new;
    my $r = $t->redis;
    my $key = $t->write_file('key', "\0" x 32);
    my $port = $t->port('http');

    $t->write_config(<<"EOF");
        totp_key_file $key;
        totp_redis ${\ $r->addr};
        server {
            listen 127.0.0.1:$port;
            location /health { totp_health; }
        }
    EOF

    $t->run;
    is($t->ua->get('/health')->{status}, 200);
    $t->done;

=head1 API

TotpTest: new(%opt: nginx, module), dir, valgrind, port($name),
listen_ports, write_file($rel, $content), write_config($http, %o: workers,
main, events), main_lines(%o), events_lines(%o), http_lines (the parts of
write_config's file, for a test that writes nginx.conf itself),
nginx_test, run, stop, reload, master_pid, worker_pids, error_log
and access_log (whole text; lines in list context), allow_log(qr//),
log_problems, wait_for($cond, $timeout, $what), redis(%o: unix, password,
conf, name), ua(%o: port, host, local, timeout), done; functions http_raw($port,
$bytes, $timeout), valgrind_argv($log) and totp_code($secret, $time, %o:
digits, algorithm, period), the latter exported on request.

TotpTest::Redis: port, socket, addr, pid, cli(@args), stop, start.

TotpTest::UA: get, head, post, request($method, $path, \%headers, $body),
cookie, cookies, set_cookie, clear_cookies, cookie_header, and the
function form_encode(\%form).  Its cookie jar is described there.

=head1 ENVIRONMENT

TOTP_TEST_KEEP (keep the test dir, print its name), TOTP_TEST_DEBUG
(error_log at debug), TOTP_TEST_VALGRIND (nginx and nginx -t under
valgrind, single process, longer waits, valgrind logs checked by done;
valgrind_argv() gives the same command line to other programs, such as
the C units), TOTP_TEST_ASAN
(nginx with gcc's ASan and UBSan runtimes preloaded, for a module built
with them; their reports checked by done), TOTP_TEST_NGINX and
TOTP_TEST_MODULE (other binaries).

=head1 NOTES

Ports named C<http...> are the ones run() waits for; redis(name => ...)
starts another server on the port of that name.  As root, the config
gets C<user root;> so that workers can use the test dir.  nginx_test()
logs to nginx-t.log, not error.log.  stop() repeats SIGQUIT every second
(a signal caught just before epoll_wait() is otherwise only seen at the
next timer).  reload() dies when the new configuration is refused (an
[emerg] after the SIGHUP) or no new workers appear.  Under valgrind,
where master_process off makes a reload meaningless, it restarts nginx
instead (shared memory starts empty).  run() waits for the pid file
write_config names and for the http ports the config listens on.  done()
adds a check that nginx exited cleanly (status 0, no SIGKILL needed, no
processes left).

=cut
