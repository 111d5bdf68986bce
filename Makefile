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

UWSGI_CFLAGS := $(shell uwsgi --cflags 2>/dev/null | sed -e 's/-I\. //' -e 's/-Wno-unused-parameter//' -e 's/-O2//g' -e 's/-g //')
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

# Objects depend on the flags they were built with: switching SANITIZE on
# or off rebuilds everything.
$(BUILD)/.cflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CFLAGS_ALL) $(SAN_LDFLAGS)' | cmp -s - $@ || echo '$(CFLAGS_ALL) $(SAN_LDFLAGS)' > $@

$(BUILD)/uwsgi.h:
	@mkdir -p $(BUILD)
	uwsgi --dot-h > $@.tmp && mv $@.tmp $@

# uwsgi.h is included as a system header: it trips -Wstrict-prototypes itself.
$(BUILD)/plugin/%.o: plugin/%.c $(BUILD)/uwsgi.h $(BUILD)/.cflags $(wildcard plugin/*.h lib/*.h lib/*.def handlers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(UWSGI_CFLAGS) -isystem $(BUILD) -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/.cflags $(wildcard lib/*.h lib/*.def handlers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(PLUGIN): $(PLUGIN_OBJ) $(HANDLER_OBJ) $(LIB_OBJ)
	$(CC) -shared $(SAN_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/test/%: test/unit/%.c $(LIB_OBJ) $(HANDLER_OBJ) $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itest/unit -o $@ $< $(LIB_OBJ) $(HANDLER_OBJ) $(SAN_LDFLAGS) $(LIBS) -lcmocka

deps:
	@scripts/deps.sh

run: deps all
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

unit: $(UNIT_BIN)

test: deps all unit
	@scripts/test.sh

bench: deps all
	@bench/run.sh

clean:
	rm -rf $(BUILD)
