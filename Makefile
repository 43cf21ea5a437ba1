# Temper — the two commands of the README, plus `make run`.
#   make demo    set up, build, and run the main job on the bundled demo model
#   make check   set up, build, and run every test (then the engine tests
#                again under AddressSanitizer + UBSan)
#   make run     set up, build, and open the app
#   make interop-env  build, once, the LLaMA-Factory virtualenv the interop
#                suite uses (outside the tree); make check runs that suite
#                when it exists and reports it skipped otherwise
#                (AXOLOTL=1: an axolotl one too, for its token check)
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=

.PHONY: all setup build demo check run clean interop-env

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

check: build $(ASAN_BUILD)/build.ninja
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json
	@# Only the tests need it (a Vulkan driver with cooperative matrices); offline they skip.
	-@build-aux/fetch-vulkan-test-driver.sh
	-meson test -C $(BUILD) --print-errorlogs --num-processes 2
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
	rm -rf $(BUILD) $(ASAN_BUILD)
