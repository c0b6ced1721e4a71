# Builds ngx_http_totp_module as a dynamic module against Debian's nginx-dev
# tree, so the result loads into Debian's own nginx binary (--with-compat).
#
#   make            the module and the C unit tests
#   make demo       Redis, nginx and a demo console (LISTEN=addr:port)
#   make test       every test (t/*.t) with prove
#   make deb        the Debian package, checked by lintian (build/deb/)
#   make test-deb   installs that package, signs in through it, purges it
#   make deps       apt-installs what the build needs (deps-test: and the
#                   tests, with npm ci; deps-deb: and the package), saying
#                   what and why

SHELL := /bin/bash

NGINX_SRC ?= /usr/share/nginx/src
BUILD     := build
NGX_TREE  := $(BUILD)/nginx
MODULE_SO := $(BUILD)/ngx_http_totp_module.so

MODULE_SRCS := ngx_http_totp_module.c $(wildcard src/*.c src/*.h)

UNIT_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
               -Isrc
UNITS := $(BUILD)/t/otp_test $(BUILD)/t/crypto_test \
         $(BUILD)/t/render_test $(BUILD)/t/qr_test $(BUILD)/t/json_test

PROVE ?= prove

# What each purpose needs from Debian, and why, is in tools/deps: `make`
# and `make demo` install what building and running need, the tests add
# theirs (make deps-test), the package its own (make deps-deb).

.PHONY: all deps deps-test deps-deb demo deb test-deb test test-valgrind \
        test-asan lint bench fuzz soak clean

all: deps $(MODULE_SO) $(UNITS)

deps:
	@tools/deps build

deps-test: deps
	@tools/deps test

deps-deb: deps
	@tools/deps deb

# configure runs once per change of `config` or of html/ (config embeds
# the pages then); nginx's own Makefile then recompiles only the module's
# objects that changed.  NGX_CC_OPT and NGX_LD_OPT add to nginx's flags
# (debian/rules passes Debian's hardening flags); NO_DEPS=1 installs
# nothing (a package build has its Build-Depends).
DEPS_FIRST := $(if $(NO_DEPS),,deps)

$(NGX_TREE)/objs/Makefile: config $(wildcard html/*) tools/embed-html \
                           | $(DEPS_FIRST)
	rm -rf $(NGX_TREE)
	mkdir -p $(BUILD)
	cp -a $(NGINX_SRC) $(NGX_TREE)
	cd $(NGX_TREE) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        $(if $(NGX_CC_OPT),--with-cc-opt="$(NGX_CC_OPT)") \
	        $(if $(NGX_LD_OPT),--with-ld-opt="$(NGX_LD_OPT)") \
	        --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }

$(MODULE_SO): $(NGX_TREE)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(NGX_TREE) -f objs/Makefile modules
	@# a new file, not the old one rewritten: an nginx running a test has
	@# the old one mapped and would crash on a rewrite in place
	cp $(NGX_TREE)/objs/ngx_http_totp_module.so $@.new
	mv -f $@.new $@

$(BUILD)/t/otp_test: t/unit/otp_test.c t/unit/tap.h src/ngx_http_totp_otp.c \
                     src/ngx_http_totp_otp.h | deps
	mkdir -p $(BUILD)/t
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/otp_test.c src/ngx_http_totp_otp.c \
	    -lcrypto

$(BUILD)/t/crypto_test: t/unit/crypto_test.c t/unit/tap.h \
                        src/ngx_http_totp_crypto.c \
                        src/ngx_http_totp_crypto.h src/ngx_http_totp_otp.c \
                        src/ngx_http_totp_otp.h | deps
	mkdir -p $(BUILD)/t
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/crypto_test.c \
	    src/ngx_http_totp_crypto.c src/ngx_http_totp_otp.c -lcrypto

$(BUILD)/t/render_test: t/unit/render_test.c t/unit/tap.h \
                        src/ngx_http_totp_render.c \
                        src/ngx_http_totp_render.h | deps
	mkdir -p $(BUILD)/t
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/render_test.c \
	    src/ngx_http_totp_render.c

$(BUILD)/t/json_test: t/unit/json_test.c t/unit/tap.h src/ngx_http_totp_json.c \
                      src/ngx_http_totp_json.h | deps
	mkdir -p $(BUILD)/t
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/json_test.c src/ngx_http_totp_json.c

$(BUILD)/t/qr_test: t/unit/qr_test.c t/unit/tap.h src/ngx_http_totp_qr_core.c \
                    src/ngx_http_totp_qr_core.h src/ngx_http_totp_otp.h | deps
	mkdir -p $(BUILD)/t
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/qr_test.c \
	    src/ngx_http_totp_qr_core.c -lqrencode

demo: all
	LISTEN=$(LISTEN) tools/demo

# The Debian package, built the Debian way (debian/, dh with dh_nginx)
# from a copy of the sources under build/deb/, then checked by lintian;
# the .deb is left in build/deb/.  Nothing is written outside the
# repository.  tools/test-deb installs it on this machine (make test-deb).
deb: deps-deb
	tools/deb

test-deb: deb
	tools/test-deb

test: deps-test all
	$(PROVE) -I t/lib t/

# The whole suite with nginx, nginx -t and the C units under valgrind
# (nginx with master_process off, so a test's reload is a restart); t/lib
# fails a test on any invalid access or definite leak.
test-valgrind: deps-test all
	TOTP_TEST_VALGRIND=1 $(PROVE) -I t/lib t/

# The gate's cost against plain proxying and forward auth, code checks per
# second, the workers' memory and instructions per request (README,
# "Performance"); about 4 minutes.
# Options through BENCH_* variables, e.g. BENCH_SECONDS=10.
bench: deps-test all
	bench/run

# cppcheck and clang-tidy (.clang-tidy) over the module, against the
# headers of the configured tree; any finding fails.  cppcheck's style
# checks that fight nginx's style (variables declared at the top, few
# consts) are off; false positives are marked in the source, with why.
# Then every file compiles, with nginx's warnings as errors, as for an
# nginx without threads and without crypt_r() (not Linux).
LINT_SRCS := ngx_http_totp_module.c $(wildcard src/*.c)
LINT_INCS := $(addprefix -I$(NGX_TREE)/,src/core src/event src/event/modules \
               src/os/unix objs src/http src/http/modules src/http/v2) -Isrc

lint: deps-test all
	cppcheck --enable=warning,style,performance,portability --std=c99 \
	    --inline-suppr --quiet --error-exitcode=1 \
	    --suppress=missingIncludeSystem --suppress=variableScope \
	    --suppress=constParameter --suppress=constVariable \
	    --suppress=toomanyconfigs \
	    --template='{file}:{line}: {severity} {id}: {message}' \
	    $(LINT_INCS) $(LINT_SRCS)
	clang-tidy --quiet $(LINT_SRCS) -- $(LINT_INCS) -D_GNU_SOURCE \
	    2>/dev/null
	@for f in $(LINT_SRCS); do \
	    $(CC) -c -o /dev/null -W -Wall -Wpointer-arith -Wno-unused-parameter \
	        -Werror -DNGX_THREADS=0 -DNGX_HAVE_GNU_CRYPT_R=0 \
	        $(LINT_INCS) $$f || exit 1; \
	done
	@echo "lint: no findings"

# The module built again with ASan and UBSan, into its own nginx tree, and
# loaded into Debian's nginx with their runtimes preloaded (t/lib does it
# when TOTP_TEST_ASAN is set); every test then runs, and a report fails it.
ASAN_TREE  := $(BUILD)/asan/nginx
ASAN_SO    := $(BUILD)/asan/ngx_http_totp_module.so
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer

$(ASAN_TREE)/objs/Makefile: config $(wildcard html/*) tools/embed-html \
                            | deps
	rm -rf $(ASAN_TREE)
	mkdir -p $(BUILD)/asan
	cp -a $(NGINX_SRC) $(ASAN_TREE)
	cd $(ASAN_TREE) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="-g -O1 $(ASAN_FLAGS)" \
	        --with-ld-opt="$(ASAN_FLAGS)" \
	        --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }

$(ASAN_SO): $(ASAN_TREE)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(ASAN_TREE) -f objs/Makefile modules
	cp $(ASAN_TREE)/objs/ngx_http_totp_module.so $@.new
	mv -f $@.new $@

test-asan: deps-test all $(ASAN_SO)
	TOTP_TEST_ASAN=1 TOTP_TEST_MODULE=$(CURDIR)/$(ASAN_SO) \
	    $(PROVE) -I t/lib t/

# libFuzzer harnesses (t/fuzz/README.md), built with ASan and UBSan; each
# runs FUZZ_TIME seconds over its corpus copy in build/fuzz/corpus/NAME.
# The nginx-typed sources compile against the configured nginx tree's
# headers, with the include directories its configure wrote.
FUZZ_TIME  ?= 60
FUZZ_CC    ?= clang
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_NAMES ?= base32 token form next password render store
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -Isrc -It/fuzz
FUZZ_NGX_INCS = $(foreach d,$(shell sed -n '/^ALL_INCS/,/^$$/p' \
                    $(NGX_TREE)/objs/Makefile | grep -o -- '-I *[^ \\]*' \
                    | sed 's/^-I *//'),-I$(if $(filter /%,$(d)),,$(NGX_TREE)/)$(d))
FUZZ_NGX_DEPS := $(NGX_TREE)/objs/Makefile t/fuzz/ngx_stubs.h \
                 t/fuzz/fuzz_common.h

fuzz: deps-test $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_NAMES))
	t/fuzz/run $(FUZZ_TIME) $(FUZZ_DIR) $(FUZZ_NAMES)

$(FUZZ_DIR)/.cc:
	@command -v $(FUZZ_CC) >/dev/null || \
	    { echo "make fuzz: needs $(FUZZ_CC) (Debian: apt-get install clang)"; \
	      exit 1; }
	mkdir -p $(FUZZ_DIR)
	touch $@

$(FUZZ_DIR)/fuzz_base32: t/fuzz/fuzz_base32.c t/fuzz/fuzz_common.h \
                         src/ngx_http_totp_otp.c src/ngx_http_totp_otp.h \
                         | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_base32.c \
	    src/ngx_http_totp_otp.c -lcrypto

$(FUZZ_DIR)/fuzz_token: t/fuzz/fuzz_token.c t/fuzz/fuzz_common.h \
                        src/ngx_http_totp_crypto.c src/ngx_http_totp_crypto.h \
                        src/ngx_http_totp_otp.c src/ngx_http_totp_otp.h \
                        | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_token.c \
	    src/ngx_http_totp_crypto.c src/ngx_http_totp_otp.c -lcrypto

$(FUZZ_DIR)/fuzz_render: t/fuzz/fuzz_render.c t/fuzz/fuzz_common.h \
                         src/ngx_http_totp_render.c \
                         src/ngx_http_totp_render.h | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DTOTP_FUZZ_HTML_DIR='"$(CURDIR)/html"' \
	    -o $@ t/fuzz/fuzz_render.c src/ngx_http_totp_render.c

$(FUZZ_DIR)/fuzz_form $(FUZZ_DIR)/fuzz_next: $(FUZZ_DIR)/fuzz_%: \
        t/fuzz/fuzz_%.c src/ngx_http_totp_form.c src/ngx_http_totp_form.h \
        $(FUZZ_NGX_DEPS) | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_NGX_INCS) -o $@ $<

$(FUZZ_DIR)/fuzz_password: t/fuzz/fuzz_password.c \
                           src/ngx_http_totp_htpasswd.c \
                           src/ngx_http_totp_htpasswd.h $(FUZZ_NGX_DEPS) \
                           | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_NGX_INCS) -o $@ $<

$(FUZZ_DIR)/fuzz_store: t/fuzz/fuzz_store.c src/ngx_http_totp_store.c \
                        src/ngx_http_totp_store.h src/ngx_http_totp_otp.c \
                        $(FUZZ_NGX_DEPS) | $(FUZZ_DIR)/.cc
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_NGX_INCS) -o $@ $< \
	    src/ngx_http_totp_otp.c -lcrypto

# 20 minutes of mixed traffic while Redis is killed every minute and nginx
# reloaded every few (bench/soak --help); not part of make test.  Options
# through SOAK_ARGS, e.g. SOAK_ARGS="--minutes 2 --kill-every 20".
soak: deps-test all
	bench/soak $(SOAK_ARGS)

clean:
	rm -rf $(BUILD)
