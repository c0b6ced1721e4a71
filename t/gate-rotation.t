#!/usr/bin/perl

# Key rotation: with the old key as totp_key_file_previous, enrollments
# sealed under it still open, and each is sealed anew under the new key at
# its user's next sign-in, so that the old key can then be dropped.

use strict;
use warnings;

use Test::More;

use TotpTest;
use TotpGate qw(gate_setup login enroll verify);

my $old_key = 'o' x 32;
my $new_key = 'n' x 32;

# skew 2: alice signs in three times within one period, each time with a
# later step, as the replay rule wants, without waiting for the clock
my %conf = (users => { alice => 'wonderland', bob => 'builder' },
            location => 'totp_skew 2;');

my ($t, $redis, $port) = gate_setup(%conf, key => $old_key);

my $base = "http://127.0.0.1:$port";

my (%secret, %at);

for my $user (qw(alice bob)) {
    my $ua = $t->ua(port => $port);
    my $pw = $user eq 'alice' ? 'wonderland' : 'builder';
    my ($res, $secret) = enroll($ua, login($ua, $user, $pw)->{headers}{location});
    is $res->{status}, 302, "$user enrolled under the old key";
    $secret{$user} = $secret;
    $at{$user} = time;
}

my %sealed = map { $_ => scalar $redis->cli('HGET', "totp:user:{$_}", 'secret') }
             qw(alice bob);

# the new key signs and seals; the old one only verifies and opens

$t->write_file('old.key', $old_key);
gate_setup(%conf, t => $t, redis => $redis, no_run => 1, key => $new_key,
           http => '    totp_key_file_previous ' . $t->dir . '/old.key;');
$t->reload;

{
    my $ua = $t->ua(port => $port);
    my $res = verify($ua, login($ua, 'alice', 'wonderland')->{headers}{location},
                     TotpTest::totp_code($secret{alice}, $at{alice} + 30));
    is $res->{status}, 302, 'alice signs in: her secret opens with the previous key';

    isnt $redis->cli('HGET', 'totp:user:{alice}', 'secret'), $sealed{alice},
        '... and is sealed anew';
    is $redis->cli('HGET', 'totp:user:{bob}', 'secret'), $sealed{bob},
        "bob's, who did not sign in, is not touched";
}

# the old key dropped: alice's resealed secret opens, bob's no longer does

gate_setup(%conf, t => $t, redis => $redis, no_run => 1, key => $new_key);
$t->reload;

{
    my $ua = $t->ua(port => $port);
    my $res = verify($ua, login($ua, 'alice', 'wonderland')->{headers}{location},
                     TotpTest::totp_code($secret{alice}, time + 60));
    is $res->{status}, 302, 'alice signs in with the new key alone';

    $ua = $t->ua(port => $port);
    my $loc = login($ua, 'bob', 'builder')->{headers}{location};
    is $loc, "$base/_totp/verify", 'bob is still enrolled';
    my $res2 = verify($ua, $loc, TotpTest::totp_code($secret{bob}, time + 60));
    is $res2->{status}, 503,
        "but his secret, sealed under the dropped key, cannot be used";
    $t->allow_log(qr/does not open with the configured keys/);
}

$t->done;
