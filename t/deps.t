#!/usr/bin/perl

# What each make target installs: make and make demo only what building
# and running need, never the tests' packages; make test adds those;
# make deb its own.  Read from make -n and tools/deps itself.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use TotpTest;

my $top = "$FindBin::Bin/..";

sub deps_calls {
    my ($target) = @_;
    # -i: in a fresh clone, a recursive make that -n still runs fails
    # on the nginx tree not configured yet; what matters is printed first
    my ($out) = TotpTest::Proc::capture('make', '-C', $top, '-n', '-i',
                                        $target);
    return [ $out =~ m{tools/deps (\w+)}g ];
}

is_deeply(deps_calls('all'), ['build'], 'make: the build\'s packages only');
is_deeply(deps_calls('demo'), ['build'], 'make demo: the same');
is_deeply(deps_calls('test'), ['build', 'test'],
          'make test: the build\'s, then the tests\'');
is_deeply(deps_calls('deb'), ['build', 'deb'],
          'make deb: the build\'s, then the package\'s');

# the lists themselves: nothing only a test needs is in the build's
my $script = TotpTest::_slurp("$top/tools/deps");
my ($build) = $script =~ /^build=\((.*?)^\)/ms;
my @build = $build =~ /^\s+([\w.+-]+):/mg;

ok(@build >= 10, scalar(@build) . ' packages for the build and the demo');
for my $test_only (qw(chromium valgrind wrk zbar-tools cppcheck clang
                      clang-tidy prometheus lintian debhelper nodejs npm)) {
    ok(!grep({ $_ eq $test_only } @build), "$test_only is not one of them");
}

# every package is said with its reason, in each list
for my $list (qw(build test deb)) {
    my ($body) = $script =~ /^$list=\((.*?)^\)/ms;
    my @lines = grep { /\S/ } split /\n/, $body // '';
    my @bare = grep { !/^\s+[\w.+-]+:"[^"]+"$/ } @lines;
    ok(@lines && !@bare, "$list: every package has its \"why\"")
        or diag explain \@bare;
}

done_testing;
