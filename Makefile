# A thin layer over CMake. `make demo` and `make test` install the Debian
# packages they need when run as root (otherwise they print the apt-get line).
# The package lists live here and nowhere else.

BUILD_PACKAGES := gcc libc6-dev make cmake pkg-config libldns-dev libuv1-dev libcsv-dev libcmocka-dev libidn2-dev libjson-c-dev
TEST_PACKAGES  := $(BUILD_PACKAGES) knot unbound ldnsutils bind9-dnsutils dnsperf faketime \
                  miller sqlite3 iproute2 util-linux procps valgrind time \
                  clang libclang-rt-14-dev clang-format clang-tidy bind9 pdns-recursor knot-resolver \
                  nftables man-db groff-base systemd dpkg-dev prometheus
BENCH_PACKAGES := $(TEST_PACKAGES) jq

BUILD    ?= build
SANBUILD ?= build-asan
FUZZBUILD ?= build-fuzz
# seconds each fuzz target runs in `make fuzz` (and so in `make test`)
FUZZ_SECONDS ?= 60
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DDNSPROP_WERROR=ON
endif

.PHONY: all demo test bench build build-asan build-fuzz fuzz valgrind deps-build deps-test deps-bench \
        clean format format-check tidy lint install uninstall package

# make install [PREFIX=/usr/local] [DESTDIR=/scratch/root]: the binary, dnsprop(1),
# the systemd units, bash completion, the README and an example configuration.
# Every path written is listed in $(BUILD)/install_manifest.txt; make uninstall
# removes exactly those. make package: a Debian package (CPack) in $(BUILD).
PREFIX  ?= /usr/local
DESTDIR ?=

all: build

deps-build:
	@sh tools/ensure-packages.sh $(BUILD_PACKAGES)
deps-test:
	@sh tools/ensure-packages.sh $(TEST_PACKAGES)
deps-bench:
	@sh tools/ensure-packages.sh $(BENCH_PACKAGES)

build: deps-build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-build
	cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DDNSPROP_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(SANBUILD) -j $(JOBS)

# libFuzzer targets (fuzz/): clang, the core built with
# -fsanitize=fuzzer-no-link,address,undefined.
build-fuzz: deps-test
	CC=clang cmake -S . -B $(FUZZBUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSPROP_FUZZ=ON \
	  -DDNSPROP_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZBUILD) -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS, JOBS at a time; fails on any crash.
fuzz: build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) sh fuzz/run.sh $(FUZZBUILD)

# The unit tests and a quick CLI session of the normal build under valgrind.
valgrind: deps-test build
	sh tools/valgrind.sh $(BUILD)

demo: build
	./$(BUILD)/dnsprop demo

test: deps-test
	$(MAKE) build build-asan
	$(MAKE) format-check
	$(MAKE) tidy
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -O ctest.log
	cd $(SANBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -O ctest.log
	$(MAKE) valgrind
	$(MAKE) fuzz

bench: deps-bench build
	@sh bench/run.sh $(BUILD)

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

uninstall:
	DESTDIR="$(DESTDIR)" cmake -DMANIFEST=$(BUILD)/install_manifest.txt -P dist/uninstall.cmake

package: build
	@sh tools/ensure-packages.sh dpkg-dev
	cd $(BUILD) && cpack -G DEB

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The style checks, both run by make test: every tracked C file formatted as
# .clang-format says, and clang-tidy (.clang-tidy) clean over the program's
# sources (compile_commands.json of the normal build; about two minutes of
# two cores, most of it the static analyzer).
lint: format-check tidy
format-check:
	@sh tools/ensure-packages.sh clang-format
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
# clang-tidy and run-clang-tidy: Debian's clang-tidy (in TEST_PACKAGES too)
tidy: build
	@sh tools/ensure-packages.sh clang-tidy
	run-clang-tidy -quiet -p $(BUILD) -j $(JOBS) "$$(pwd)/(common|rules|monitor|resolvers|reports)/"

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
