# dailyfresh — uWSGI application plugin for the dailyfresh shop.
#   make            build build/dailyfresh_plugin.so
#   make run        install missing packages, build, start the local stack
#   make stop       stop the local stack
#   make test       unit tests, then end-to-end tests on a private stack
#   make bench      wrk benchmarks against a private stack
#   make cluster    install, build, start a lab of hosts (network namespaces:
#                   Redis + Sentinel and Galera x3, uWSGI hosts, nginx; root)
#   make cluster-stop  stop the lab
#   make test-cluster  fault tests against the lab (test/cluster; root)
#   make fuzz       build the libFuzzer harnesses (test/fuzz) under build/fuzz
#                   with clang; scripts/fuzz.sh runs them
#   make net-delay  build build/net_delay (test/fakes/net_delay.c): holds the
#                   packets of a netfilter queue for a delay, for latency labs
#   SANITIZE=1      build with AddressSanitizer + UndefinedBehaviorSanitizer

CC       ?= gcc
BUILD    := build
PLUGIN   := $(BUILD)/dailyfresh_plugin.so
PYTHON   := /usr/bin/python3

# What `deps` installs may not be there yet when make reads this file, so
# nothing here asks uwsgi at parse time: scripts/uwsgi-flags.sh writes its
# flags and header under $(BUILD) when a recipe needs them, and fails with
# one line when uwsgi is missing.
DEPS     ?= scripts/deps.sh
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC $(WARN) -Ilib -Iplugin -Ihandlers -I/usr/include/mariadb
LIBS     := -lhiredis -lmariadb -lcjson -lssl -lcrypto -lcurl -lpthread

ifeq ($(SANITIZE),1)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif

CFLAGS_ALL := $(BASE_CFLAGS) $(CFLAGS)

LIB_SRC     := $(wildcard lib/*.c)
HANDLER_SRC := $(wildcard handlers/*.c)
PLUGIN_SRC  := $(wildcard plugin/*.c)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
HANDLER_OBJ := $(HANDLER_SRC:%.c=$(BUILD)/%.o)
PLUGIN_OBJ  := $(PLUGIN_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC    := $(wildcard test/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)

.PHONY: all deps run stop test unit e2e bench fuzz net-delay clean cluster cluster-stop test-cluster FORCE
all: $(PLUGIN)

export SANITIZE
export DF_BUILD := $(abspath $(BUILD))

# Objects depend on the flags they were built with: switching SANITIZE on
# or off rebuilds everything. The files are rewritten only when they change.
$(BUILD)/.cflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS_ALL) $(SAN_LDFLAGS)' | cmp -s - $@ || echo '$(CFLAGS_ALL) $(SAN_LDFLAGS)' > $@

# uWSGI's own -D flags change the layout of its structs: the plugin objects
# depend on the flags and header of the uwsgi installed now, so another
# uwsgi (or none at all before) rebuilds them.
$(BUILD)/uwsgi.h: $(BUILD)/uwsgi.cflags
$(BUILD)/uwsgi.cflags: FORCE
	@scripts/uwsgi-flags.sh $(BUILD)

# uwsgi.h is included as a system header: it trips -Wstrict-prototypes itself.
$(BUILD)/plugin/%.o: plugin/%.c $(BUILD)/uwsgi.h $(BUILD)/uwsgi.cflags $(BUILD)/.cflags $(wildcard plugin/*.h lib/*.h lib/*.def handlers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) @$(BUILD)/uwsgi.cflags -isystem $(BUILD) -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/.cflags $(wildcard lib/*.h lib/*.def handlers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(PLUGIN): $(PLUGIN_OBJ) $(HANDLER_OBJ) $(LIB_OBJ)
	$(CC) -shared $(SAN_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/test/%: test/unit/%.c $(LIB_OBJ) $(HANDLER_OBJ) $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itest/unit -o $@ $< $(LIB_OBJ) $(HANDLER_OBJ) $(SAN_LDFLAGS) $(LIBS) -lcmocka

# libFuzzer harnesses: clang only, every object built again with the
# fuzzer's coverage instrumentation and ASan+UBSan under build/fuzz, apart
# from the regular build. One binary per test/fuzz/fuzz_*.c.
FUZZ_CC     := clang
FUZZ_BUILD  := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) $(WARN) -Ilib -Ihandlers -I/usr/include/mariadb
FUZZ_SRC    := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN    := $(FUZZ_SRC:test/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_OBJ    := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(HANDLER_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

fuzz: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ) # reached through a pattern rule, kept all the same

$(FUZZ_BUILD)/obj/%.o: %.c $(wildcard lib/*.h lib/*.def handlers/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/%: test/fuzz/%.c test/fuzz/fuzz_common.h $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itest/fuzz -o $@ $< $(FUZZ_OBJ) $(LIBS)

# Not part of the plugin: a tool of its own, linked with libnetfilter_queue.
NET_DELAY := $(BUILD)/net_delay
net-delay: $(NET_DELAY)
$(NET_DELAY): test/fakes/net_delay.c $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(SAN_LDFLAGS) -lnetfilter_queue -lnfnetlink

deps:
	@$(DEPS)

# deps first, then the build in a make of its own: nothing of the build may
# be decided before the packages are there (and not in parallel with them).
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

unit: $(UNIT_BIN)

test: deps
	@$(MAKE) --no-print-directory all unit net-delay
	@scripts/test.sh

cluster: deps
	@$(MAKE) --no-print-directory all
	@scripts/cluster.sh start

cluster-stop:
	@scripts/cluster.sh stop

test-cluster: deps
	@$(MAKE) --no-print-directory all net-delay
	@$(PYTHON) -m pytest -v -s test/cluster $(PYTEST_ARGS)

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh

clean:
	rm -rf $(BUILD)
