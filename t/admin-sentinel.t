#!/usr/bin/perl

# tools/totp-admin with Sentinel (--sentinel, --master, --sentinel-user,
# --sentinel-password-file), against a real master, replica and three
# Sentinels (TotpSentinel) that have their own ACL user: status and reset
# on the master the Sentinels name; a Sentinel that is down, skipped for
# the next; a master name no Sentinel knows, the Sentinels' password
# missing or wrong, every Sentinel down: exit 1, each Sentinel's reason;
# after a failover, the new master; a "master" that is a replica now:
# refused, nothing done; the usage errors.  A fake redis-cli first in
# PATH shows what each connection is given: the Sentinels their own user
# and password and no db, the master its own, TLS options to both.
# nginx is not run.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
use Test::More;

use TotpTest;
use TotpSentinel;
use TotpAdmin qw(slurp quiet_syslog refuses_usage);
use TotpGate qw(user_key);


my $syslog = quiet_syslog();

# nginx never runs here: any existing file will do as the module
my $t = TotpTest->new(module => abs_path(__FILE__));
my $dir = $t->dir;

my $s = TotpSentinel->new(t => $t, password => 'master secret',
                          sentinel_user => 'watcher',
                          sentinel_password => 'sentinel secret');

my $pw = $t->write_file('redis.pw', "master secret\n");
my $spw = $t->write_file('sentinel.pw', "sentinel secret\n");
my $wrong = $t->write_file('wrong.pw', "not it\n");

my @sentinels = map { ('--sentinel', $_) } $s->sentinel_addrs;
my @auth = ('--password-file', $pw, '--sentinel-user', 'watcher',
            '--sentinel-password-file', $spw);

# a port taken from the kernel and closed again: nobody listens
my $closed = '127.0.0.1:' . $t->port('closed');

sub admin {
    return TotpAdmin::admin($dir, @_);
}

sub enroll {
    my ($redis, $name) = @_;

    $redis->cli('HSET', user_key($name), secret => 'AAAA', digits => 6,
                period => 30, algorithm => 'sha1', created => 1700000000);
}

sub exists_user {
    my ($redis, $name) = @_;
    return scalar $redis->cli('EXISTS', user_key($name));
}

subtest 'the master the Sentinels name' => sub {
    enroll($s->master, 'alice');

    my ($out, $err, $rc) = admin(@sentinels, '--master', 'mymaster', @auth,
                                 'status', 'alice');
    is $rc, 0, 'status: exit 0' or diag $err;
    like $out, qr/enrolled/, 'status: read from the master';
    is $err, '', 'status: nothing on stderr';

    # the first Sentinel down: the next one answers
    ($out, $err, $rc) = admin('--sentinel', $closed, @sentinels,
                              '--master', 'mymaster', @auth, 'reset', 'alice');
    is $rc, 0, 'reset, the first Sentinel down: exit 0' or diag $err;
    is exists_user($s->master, 'alice'), '0', 'reset: gone from the master';

    # a Sentinel given as a bare host: port 26379, which nobody uses here
    ($out, $err, $rc) = admin('--sentinel', '127.0.0.1', '--master',
                              'mymaster', @auth, 'status', 'alice');
    is $rc, 1, 'a bare host: exit 1';
    like $err, qr/cannot connect to Sentinel at 127\.0\.0\.1:26379: /,
        'a bare host: port 26379' or diag $err;
};

subtest 'no master from the Sentinels' => sub {
    enroll($s->master, 'bob');

    my $one = ($s->sentinel_addrs)[0];

    for (['a master no Sentinel knows',
          ['--sentinel', $one, '--master', 'other', @auth],
          qr/no master "other" from the Sentinels: Sentinel at \Q$one\E knows no master "other"$/m],
         ['no Sentinel password',
          ['--sentinel', $one, '--master', 'mymaster', '--password-file', $pw],
          qr/Sentinel at \Q$one\E wants a password and none was given: .*\(use --sentinel-password-file\)$/m],
         ['a wrong Sentinel password',
          ['--sentinel', $one, '--master', 'mymaster', '--password-file', $pw,
           '--sentinel-user', 'watcher', '--sentinel-password-file', $wrong],
          qr/Sentinel at \Q$one\E refused the password from "\Q$wrong\E": the password is wrong$/m],
         ['every Sentinel down',
          ['--sentinel', $closed, '--sentinel', $closed,
           '--master', 'mymaster', @auth],
          qr/no master "mymaster" from the Sentinels: cannot connect to Sentinel at \Q$closed\E: .+; cannot connect to Sentinel at \Q$closed\E: /],
         ['the master\'s password wrong',
          ['--sentinel', $one, '--master', 'mymaster',
           '--password-file', $wrong, '--sentinel-user', 'watcher',
           '--sentinel-password-file', $spw],
          qr/Redis at 127\.0\.0\.1:\d+ refused the password from "\Q$wrong\E": the password is wrong \(master "mymaster" from the Sentinel at \Q$one\E\)$/m])
    {
        my ($what, $args, $why) = @$_;

        my ($out, $err, $rc) = admin(@$args, 'reset', 'bob');
        is $rc, 1, "$what: exit 1";
        like $err, qr/^totp-admin: /, "$what: a message";
        like $err, $why, "$what: says why" or diag $err;
        is $out, '', "$what: nothing on stdout";
    }

    is exists_user($s->master, 'bob'), '1', 'nothing deleted';
};

subtest 'after a failover' => sub {
    my $old = $s->master;

    enroll($old, 'carol');
    ok $s->sync, 'the replica has carol';

    $s->failover;
    my ($port) = $s->wait_failover(30);
    isnt $port, $old->port, 'the Sentinels name the replica';

    my ($out, $err, $rc) = admin(@sentinels, '--master', 'mymaster', @auth,
                                 'reset', 'carol');
    is $rc, 0, 'reset: exit 0' or diag $err;
    is exists_user($s->master, 'carol'), '0', 'gone from the new master';

    # the master turned replica, the Sentinels not told yet: a Sentinel
    # may name a demoted master in a failover for a moment
    my $elsewhere = $t->redis(name => 'elsewhere');

    enroll($s->master, 'dave');
    $s->master->cli('REPLICAOF', '127.0.0.1', $elsewhere->port);

    my $m = $s->master->addr;

    ($out, $err, $rc) = admin('--sentinel', ($s->sentinel_addrs)[0],
                              '--master', 'mymaster', @auth, 'reset', 'dave');
    is $rc, 1, 'a master that is a replica now: exit 1';
    like $err, qr/Redis at \Q$m\E, master "mymaster" for the Sentinel at \S+, is a slave, not a master/,
        'says so' or diag $err;
    is exists_user($s->master, 'dave'), '1', 'nothing deleted';

    # the Sentinels would fail over again: none runs past here
    $s->stop;
};

subtest 'usage errors' => sub {
    for (['--sentinel and --redis', qr/--sentinel excludes --redis/,
          '--sentinel', $closed, '--master', 'm', '--redis', '127.0.0.1'],
         ['--sentinel without --master', qr/--sentinel needs --master/,
          '--sentinel', $closed],
         ['--master without --sentinel', qr/--master needs --sentinel/,
          '--master', 'm'],
         ['--sentinel-user without --sentinel',
          qr/--sentinel-user needs --sentinel/, '--sentinel-user', 'u'],
         ['--sentinel-password-file without --sentinel',
          qr/--sentinel-password-file needs --sentinel/,
          '--sentinel-password-file', $spw],
         ['--sentinel-user without a password',
          qr/--sentinel-user needs the user's password/,
          '--sentinel', $closed, '--master', 'm', '--sentinel-user', 'u'],
         ['a bad Sentinel address', qr/--sentinel "a b": expected/,
          '--sentinel', 'a b', '--master', 'm'],
         ['a master name with a space', qr/--master "a b": /,
          '--sentinel', $closed, '--master', 'a b'],
         ['an unreadable Sentinel password file',
          qr/cannot read the password file "\Q$dir\E\/none"/,
          '--sentinel', $closed, '--master', 'm',
          '--sentinel-password-file', "$dir/none"])
    {
        refuses_usage($dir, @$_);
    }
};

subtest 'what redis-cli is given' => sub {
    my $log = "$dir/fake-cli.log";

    # records REDISCLI_AUTH and its argv; a Sentinel that names
    # $FAKE_MASTER, a master that says so, an empty Redis
    my $fake = $t->write_file('fakebin/redis-cli', <<'EOF');
#!/usr/bin/perl
open my $fh, '>>', $ENV{FAKE_CLI_LOG} or die "$ENV{FAKE_CLI_LOG}: $!";
print $fh join("\0", $ENV{REDISCLI_AUTH} // '<unset>', @ARGV), "\n";
close $fh;
my %reply = (SENTINEL => qq{"$ENV{FAKE_MASTER}","6390"},
             ROLE => '"master",0', SCAN => '"0",');
my ($cmd) = grep { exists $reply{$_} } @ARGV;
print "$reply{$cmd}\n";
EOF
    chmod 0755, $fake or die "$fake: $!";

    local $ENV{PATH} = dirname($fake) . ":$ENV{PATH}";
    local $ENV{FAKE_CLI_LOG} = $log;

    my @tls = ('--tls', '--cacert', $pw, '--sni', 'redis.test');
    my @list = ('SCAN', 0, 'MATCH', 'totp:user:{*', 'TYPE', 'hash',
                'COUNT', 1000);

    for (['10.0.0.7', ['-h', '10.0.0.7', '-p', 6390]],
         ['fd00::7', ['-h', 'fd00::7', '-p', 6390]])
    {
        my ($master, $to) = @$_;

        local $ENV{FAKE_MASTER} = $master;

        my ($out, $err, $rc) = admin('--sentinel', '10.0.0.1:26380',
                                     '--sentinel', 'sentinel.example',
                                     '--master', 'mymaster', '--user', 'ops',
                                     @auth, '--db', 3, @tls, 'list');
        is $rc, 0, "$master: exit 0" or diag $err;

        my @calls = map { [split /\0/, $_, -1] } split /\n/, slurp($log);
        unlink $log;

        is_deeply \@calls, [
            ['sentinel secret', '--no-auth-warning', '-e', '--csv',
             '-h', '10.0.0.1', '-p', 26380, @tls, '--user', 'watcher',
             'SENTINEL', 'get-master-addr-by-name', 'mymaster'],
            ['master secret', '--no-auth-warning', '-e', '--csv',
             @$to, @tls, '--user', 'ops', '-n', 3, 'ROLE'],
            ['master secret', '--no-auth-warning', '-e', '--csv',
             @$to, @tls, '--user', 'ops', '-n', 3, @list],
        ], "$master: the first Sentinel asked with its own user and"
           . " password, no db; then the master; TLS to both";
    }

    # no Sentinel password: none in the environment, not the master's
    local $ENV{FAKE_MASTER} = '10.0.0.7';
    local $ENV{REDISCLI_AUTH} = 'from the environment';

    my ($out, $err, $rc) = admin('--sentinel', '10.0.0.1', '--master', 'm',
                                 'list');
    is $rc, 0, 'REDISCLI_AUTH: exit 0' or diag $err;

    my @auths = map { (split /\0/, $_, -1)[0] } split /\n/, slurp($log);
    is_deeply \@auths, ['<unset>', 'from the environment',
                        'from the environment'],
        'REDISCLI_AUTH: the master\'s, never the Sentinel\'s';
};

$t->done;
