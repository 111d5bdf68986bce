# dailyfresh — uWSGI application plugin for the dailyfresh shop.
#   make            build build/dailyfresh_plugin.so
#   make run        install missing packages, build, start the local stack
#   make stop       stop the local stack
#   make test       unit tests, then end-to-end tests on a private stack
#   make bench      wrk benchmarks against a private stack
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

.PHONY: all deps run stop test unit e2e bench clean FORCE
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
	@$(MAKE) --no-print-directory all unit
	@scripts/test.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh
	@bench/orders.sh

clean:
	rm -rf $(BUILD)
