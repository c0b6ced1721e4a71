#!/usr/bin/perl

# Redis ACL users (totp_redis_user): the module signs in with AUTH user
# password after every connect.  A user with the least privilege the
# README's ACL SETUSER line gives (keys under the prefix, only the
# commands the module and its scripts send) runs every sign-in flow; a
# user without one of those commands gets 503, never a pass, and the
# error log names Redis's error and the script that failed.

use strict;
use warnings;

use Test::More;

use FindBin;

use TotpTest;
use TotpAdmin qw(admin);
use TotpGate qw(gate_setup login enroll verify field);

# the README's line, as Redis's configuration file takes it
my ($acl) = TotpTest::_slurp("$FindBin::Bin/../README.md")
    =~ /^\s*redis-cli ACL SETUSER totp on '>PASSWORD' (.+?)\s*$/m;
ok($acl, 'the README gives an ACL SETUSER line') or BAIL_OUT('no ACL line');

my $t = TotpTest->new;
my $dir = $t->dir;

(my $without = $acl) =~ s/ \+hincrby\b//i;
isnt($without, $acl, 'a second user lacks HINCRBY');

my $redis = $t->redis(conf => "user totp on >totp-secret $acl\n"
                              . "user weak on >weak-secret $without\n"
                              . "user ops on >ops-secret ~* &* +\@all");

my $pw = $t->write_file('redis.pw', "totp-secret\n");
my $weak_pw = $t->write_file('weak.pw', "weak-secret\n");

gate_setup(t => $t, redis => $redis, no_run => 1,
    http => "    totp_redis_user totp;\n    totp_redis_password $pw;\n",
    server => "        location = /health { totp_health; }\n");
$t->run;

is($t->ua->get('/health')->{status}, 200, 'the health check as that user');

my $ua = $t->ua;
my $res = login($ua, 'alice', 'wonderland');
is($res->{status}, 302, 'the password checked as that user');
my ($enrolled, $secret) = enroll($ua, $res->{headers}{location});
is($enrolled->{status}, 302, 'enrolled');
is($ua->get('/x')->{status}, 200, 'a session passes');

my $other = $t->ua;
$res = login($other, 'alice', 'wonderland');
$res = verify($other, $res->{headers}{location}, '000000'
              eq TotpTest::totp_code($secret) ? '111111' : '000000');
is($res->{status}, 401, 'a wrong code: counted, refused');

my $page = $ua->get('/_totp/logout');
$res = $ua->post('/_totp/logout',
                 { csrf => field($page->{body}, 'csrf'), everywhere => 1 });
ok($res->{status} == 200 || $res->{status} == 302, 'signed out everywhere');
is($ua->get('/x')->{status}, 302, 'and the session ended');

like(scalar($redis->cli('ACL', 'LOG')), qr/^$/,
     'Redis logged no ACL denial');

# --- totp-admin as an operator's ACL user ---

my $ops_pw = $t->write_file('ops.pw', "ops-secret\n");
my @to = ('--redis', $redis->addr, '--syslog-server', '127.0.0.1:9');

my ($out, $err, $code) = admin($dir, @to, '--user', 'ops',
                               '--password-file', $ops_pw, 'status', 'alice');
is($code, 0, 'totp-admin --user ops: status') or diag $err;
like($out, qr/enrolled/, 'and it reads alice\'s enrollment');

($out, $err, $code) = admin($dir, @to, '--user', 'totp',
                            '--password-file', $pw, 'list');
is($code, 1, 'the module\'s own user cannot run totp-admin\'s SCAN');
like($err, qr/NOPERM|no permissions/i, 'and Redis says why') or diag $err;

($out, $err, $code) = admin($dir, @to, '--user', 'ops', 'list');
is($code, 2, '--user without a password: a usage error');

# --- the same with a user that lacks one command ---

my $conf = TotpTest::_slurp("$dir/nginx.conf");
$conf =~ s/totp_redis_user totp;/totp_redis_user weak;/ or die;
$conf =~ s/\Q$pw\E/$weak_pw/ or die;
$t->write_file('nginx.conf', $conf);
$t->reload;

my $from = length scalar $t->error_log;
$res = login($t->ua, 'bob', 'nope');
is($res->{status}, 503, 'a failure Redis cannot count: 503, never a pass');

my $new = substr scalar $t->error_log, $from;
like($new, qr/totp: Redis refused the attempt script or command: "[^"]*can't run this command/,
     'the error log: Redis\'s refusal, and the script that met it (the '
     . 'attempt counts a failure with HINCRBY)')
    or diag $new;
like(scalar($redis->cli('ACL', 'LOG', '1')), qr/hincrby/,
     'Redis\'s ACL LOG names the command: HINCRBY');

$t->done;
