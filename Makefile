# Temper — the two commands of the README, plus `make run`.
#   make demo    set up, build, and run the main job on the bundled demo model
#   make check   set up, build, and run every test (then the engine tests
#                again under AddressSanitizer + UBSan)
#   make run     set up, build, and open the app
#   make fuzz    build with clang + libFuzzer and run every fuzzing harness
#                of tests/fuzz for FUZZ_SECONDS each
#   make interop-env  build, once, the LLaMA-Factory virtualenv the interop
#                suite uses (outside the tree); make check runs that suite
#                when it exists and reports it skipped otherwise
#                (AXOLOTL=1: an axolotl one too, for its token check)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
MESON_OPTS ?=
# Whether clang with libFuzzer's runtime is installed (asked when check runs,
# after setup.sh may have installed it).  The fuzzing build is also the check
# that the tree builds with clang (-Werror).
LIBFUZZER_PROBE = command -v clang >/dev/null 2>&1 && \
  echo 'int LLVMFuzzerTestOneInput (const char *d, unsigned long n) { return 0; }' | \
  clang -x c -fsanitize=fuzzer,address -o /dev/null - >/dev/null 2>&1

.PHONY: all setup build demo check run clean fuzz fuzz-build interop-env

all: build

setup:
	@build-aux/setup.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dgui=disabled -Dvulkan=disabled -Dcuda=disabled

build: setup $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	@build-aux/demo.sh $(BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=enabled -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dcuda=disabled

fuzz-build: setup $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

fuzz: fuzz-build
	nice tests/fuzz/run-fuzz.py --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

check: build $(ASAN_BUILD)/build.ninja
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json
	@# Only the tests need it (a Vulkan driver with cooperative matrices); offline they skip.
	-@build-aux/fetch-vulkan-test-driver.sh
	@# The fuzz-* tests run the harnesses of the clang build ~20 s each (and
	@# fail when that build failed); without clang and libFuzzer they are
	@# reported as skipped.
	-@if $(LIBFUZZER_PROBE); then \
	  fuzz_build=$(abspath $(FUZZ_BUILD)); \
	  $(MAKE) --no-print-directory fuzz-build || fuzz_build=$$fuzz_build/failed; \
	  export TEMPER_FUZZ_BUILD=$$fuzz_build TEMPER_FUZZ_SECONDS=20; \
	else \
	  echo "check: clang with libFuzzer not found: the clang build and the fuzz-* tests are skipped"; \
	fi; \
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	-ninja -C $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  meson test -C $(ASAN_BUILD) --suite engine --print-errorlogs --num-processes 2 --timeout-multiplier 4
	@venv="$${TEMPER_INTEROP_VENV:-$${XDG_CACHE_HOME:-$$HOME/.cache}/temper/interop-venv}"; \
	  [ -x "$$venv/bin/llamafactory-cli" ] || \
	  echo "interop suite (LLaMA-Factory) skipped: no virtualenv at $$venv; build it once with make interop-env"
	@build-aux/test-summary.py $(BUILD) $(ASAN_BUILD)

interop-env:
	@AXOLOTL=$(AXOLOTL) build-aux/interop-env.sh

run: build
	GSETTINGS_SCHEMA_DIR=$(BUILD)/data:$(BUILD)/app/gui $(BUILD)/app/gui/temper

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
