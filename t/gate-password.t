#!/usr/bin/perl

# totp_password_file: the htpasswd formats nginx's auth_basic reads
# ({PLAIN}, {SHA}, {SSHA}, $apr1$ and crypt()'s $5$, $6$, bcrypt and
# yescrypt, hashes made here, in Perl or by openssl), the file's
# comments, CRLF lines and trailing fields, lines longer than the 4096
# bytes the module keeps of a line, and a name that is not in the file,
# which must cost a password hash like any other: its answer must not be
# faster.  The hashes run in nginx's default thread pool here;
# t/password-threads.t has the pool, its limits and "off".

use strict;
use warnings;

use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);

use TotpTest;
use TotpGate qw(gate_setup login slow_hash);

sub sha { return '{SHA}' . encode_base64(sha1($_[0]), '') }

sub ssha {
    my ($password, $salt) = @_;
    return '{SSHA}' . encode_base64(sha1($password . $salt) . $salt, '');
}

sub apr1 {
    my ($hash) = TotpTest::Proc::capture('openssl', 'passwd', '-apr1', $_[0]);
    chomp $hash;
    return $hash;
}

# crypt() with a setting that is not a constant (Perl would fold it)
sub libcrypt { my ($p, $s) = @_; return crypt($p, $s) }

# The first crypt(3) entry is the slow one: a name not in the file is
# hashed against it (the disabled and {SHA} entries before it cost next
# to nothing, and are passed over).  Natively its hash takes three times
# totp_redis_timeout, and the Redis commands around it must still get
# their whole timeout.  Under valgrind, which slows nginx some 20 times,
# the hash is made shorter than the timeout the requests need there:
# only the decoy is tested.
my ($timeout, $hash_time) = TotpTest->valgrind ? (2, 0.03) : (0.2, 0.6);
my ($slow, $rounds) = slow_hash('slowpoke', $hash_time);

note "SHA-512 crypt with $rounds rounds, about ${hash_time} s here";

my %password = (
    slow => 'slowpoke',
    plain => 'in the clear',
    sha => 'sha one',
    ssha => 'salted sha',
    apr => 'apache md5',
    five => 'sha-256 crypt',
    six => 'sha-512 crypt',
    bcrypt => 'htpasswd -B',
    yescrypt => 'debian default',
    crlf => 'windows line',
    fields => 'trailing fields',
    after => 'after a long line',
);

# a line longer than the module reads at once: another user's is passed
# over, the user's own cannot be checked (500, and the error log says why)
my $long_comment = 'x' x 5000;

my $htpasswd = join '',
    "disabled:!\n",
    "fast:" . sha('fast') . "\n",
    "slow:$slow\n",
    "# a comment: plain:{PLAIN}not this one\n",
    "\n",
    "plain:{PLAIN}$password{plain}\n",
    "sha:" . sha($password{sha}) . "\n",
    "ssha:" . ssha($password{ssha}, "s\0lt") . "\n",
    "apr:" . apr1($password{apr}) . "\n",
    "five:" . libcrypt($password{five}, '$5$fivesalt$') . "\n",
    "six:" . libcrypt($password{six}, '$6$sixsalt$') . "\n",
    "bcrypt:" . libcrypt($password{bcrypt}, '$2y$05$' . 'b' x 22) . "\n",
    "yescrypt:" . libcrypt($password{yescrypt}, '$y$j9T$' . 'y' x 16 . '$')
        . "\n",
    "crlf:{PLAIN}$password{crlf}\r\n",
    "fields:{PLAIN}$password{fields}:Fields Person:more\n",
    "long:{PLAIN}long:$long_comment\n",
    "other:{PLAIN}x:$long_comment\n",
    "after:{PLAIN}$password{after}\n",
    "last:{PLAIN}no newline";

my $t = TotpTest->new;
my $file = $t->write_file('htpasswd', $htpasswd);

my (undef, $redis, $port) = gate_setup(t => $t, password_file => $file,
    http => 'totp_redis_timeout ' . int($timeout * 1000) . 'ms;');

my $ua = $t->ua(port => $port);

# a right password leads on to the second factor (here the enrollment)
sub signs_in {
    my ($user, $password) = @_;

    $ua->clear_cookies;
    my $res = login($ua, $user, $password);

    return $res->{status} == 302
           && ($res->{headers}{location} // '') =~ m{/_totp/enroll};
}

sub refused {
    my ($user, $password) = @_;

    $ua->clear_cookies;
    return login($ua, $user, $password)->{status} == 401;
}

for my $user (sort keys %password) {
    ok(signs_in($user, $password{$user}), "$user: the right password");
    ok(refused($user, "$password{$user}x"), "$user: a wrong one, 401");
}

ok(signs_in('last', 'no newline'), 'a last line without a newline');
ok(refused('plain', 'in the clear '), 'a trailing space is another password');
ok(refused('crlf', "windows line\r"), 'the CR is not part of the hash');
ok(refused('a comment', 'x'), 'a comment is no entry');
ok(refused('#', 'x'), 'nor is "#"');
ok(refused('disabled', '!'), 'a disabled entry ("!"): 401');
ok(refused('nobody', 'slowpoke'), 'a name not in the file: 401');
ok(refused('nobody', $slow), '... even with the first entry\'s hash');

$ua->clear_cookies;
is(login($ua, 'long', 'long')->{status}, 500,
   'the user\'s line longer than 4096 bytes: 500');
like($t->error_log, qr/\[error\].*the line of user "long" in "\Q$file\E" is longer than 4096 bytes/,
     '... and the error log names the user, the file and the limit');

# The time of a refusal, the median of 3 (the login page's GET apart).
sub refusal_time {
    my ($user) = @_;

    my @times;

    for (1 .. 3) {
        $ua->clear_cookies;
        my $page = $ua->get('/_totp/login');
        my $csrf = TotpGate::field($page->{body}, 'csrf');

        my $start = time;
        my $res = $ua->post('/_totp/login', {
            user => $user, password => 'wrong', csrf => $csrf, next => '/',
        });
        push @times, time - $start;

        is($res->{status}, 401, "$user: refused") or return 0;
    }

    return (sort { $a <=> $b } @times)[1];
}

my $known = refusal_time('slow');
my $unknown = refusal_time('nobody');

note sprintf 'refusal: known name %.3f s, unknown name %.3f s',
    $known, $unknown;

# without the decoy hash the unknown name answers in a millisecond or two
cmp_ok($known, '>', $hash_time / 3, 'the slow entry\'s hash is slow');
cmp_ok($unknown, '>', $known / 3,
       'a name not in the file is hashed too: no faster refusal');

SKIP: {
    skip 'under valgrind the hash is shorter than the Redis timeout', 1
        if $t->valgrind;

    cmp_ok($known, '>', $timeout,
           'the hash took longer than totp_redis_timeout');
}

unlike($t->error_log, qr/did not answer/,
       'no Redis command timed out behind a slow hash');

$t->done;
