# The two commands of the README: `make demo` and `make test`.
BUILD_DIR ?= build

# ccache: hit across checkouts (paths are hashed relative to the repository) and through the
# precompiled headers.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps configure build binaries test demo stop status clean

all: build

deps:
	@tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DSWITCHBOARD_WERROR=ON >/dev/null

build: configure
	@ninja -C $(BUILD_DIR) -j $(JOBS)

# Every test: unit, integration (real Redis, PostgreSQL and embedded Kafka on random ports),
# and lint (buf).
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# What the local stack runs, without the tests and the sanitized tree `build` adds.
binaries: configure
	@ninja -C $(BUILD_DIR) -j $(JOBS) switchboard switchboardctl meta-sim

demo: binaries
	@deploy/local/demo.sh

stop:
	@deploy/local/stack.sh down

status:
	@deploy/local/stack.sh status

clean:
	rm -rf $(BUILD_DIR)
