# Thin wrapper over CMake.  The two commands a newcomer needs:
#   make demo    build and run the demo
#   make test    build and run every test (normal and sanitizer builds)
# Others: make build | bench | fuzz | install | clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
BENCH_BUILD ?= build-bench
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build build-asan build-tsan test test-normal test-asan test-tsan demo bench fuzz install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMDT_SANITIZE=ON -DMDT_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)

build-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMDT_TSAN=ON -DMDT_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)

# The threaded parts under ThreadSanitizer: the store (one writer thread,
# readers, the checkpoint thread), the broker (nng callback threads,
# workers, the timer, the store's writer) through its integration tests,
# and the SDK's verifier and connection threads.
TSAN_TESTS = 'unit/test_store|unit/test_sdk|integration/test_broker|integration/test_sdk_broker|integration/test_attack|integration/test_mcp'

# Conformance counts (in requests) from the ctest log, so they show in
# the test output even though ctest hides passing tests' output.
CONFORMANCE_COUNTS = grep -h -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$$' \
	$(1)/Testing/Temporary/LastTest.log | sed 's/^/Cedar conformance corpus, requests -- /' || true

test-normal: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(call CONFORMANCE_COUNTS,$(BUILD))

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)
	@$(call CONFORMANCE_COUNTS,$(ASAN_BUILD))

# tests/tsan.supp: races ThreadSanitizer reports inside libnng, which is
# not instrumented (see the file for why).
test-tsan: build-tsan
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	    ctest --output-on-failure -j $(JOBS) -R $(TSAN_TESTS)

test: test-normal test-asan test-tsan
	@echo "make test: normal, address/undefined and thread sanitizer builds passed"

# The demo prints its story; the build's own output goes to a log.
demo: deps
	@echo "make demo: building into $(BUILD)/ (output in $(BUILD)/demo-build.log)"
	@mkdir -p $(BUILD)
	@{ cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) && \
	   cmake --build $(BUILD) -j $(JOBS); } >$(BUILD)/demo-build.log 2>&1 || \
	 { tail -n 30 $(BUILD)/demo-build.log; echo "make demo: the build failed; see $(BUILD)/demo-build.log" >&2; exit 1; }
	@bash examples/demo.sh $(BUILD)

bench: deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DMDT_TESTS=OFF $(CMAKE_ARGS)
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	@bash bench/run.sh $(BENCH_BUILD)

fuzz:
	@scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMDT_FUZZ=ON -DMDT_SANITIZE=ON -DMDT_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)
