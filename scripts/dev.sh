#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo
# available): installs the build dependencies that are missing, builds, and
#
#   scripts/dev.sh demo       runs the demo with one gctrace line per cycle
#   scripts/dev.sh test       runs the whole test suite (release build)
#   scripts/dev.sh test-asan  runs it again under AddressSanitizer + UBSan
#   scripts/dev.sh test-tsan  runs the multi-threaded tests under ThreadSanitizer
#   scripts/dev.sh bench      runs the macro benchmarks against their anchors
#
# Build directories: build/ (release), build-asan/, build-tsan/ (sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build g++ clang pkg-config cmake python3 libmimalloc-dev libgtest-dev
          libgmock-dev libbenchmark-dev libgc-dev zlib1g-dev golang-go)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

configure() {  # configure DIR [meson options...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  fi
}

case "${1:-}" in
  demo)
    install_missing
    configure build
    ninja -C build examples/demo
    TRICOLOR_DEBUG=gctrace=1 ./build/examples/demo
    ;;
  test)
    install_missing
    configure build
    ninja -C build
    meson test -C build --print-errorlogs --num-processes 1 ${TEST_ARGS:-}
    ;;
  test-asan)
    install_missing
    configure build-asan -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
      -Db_lundef=false -Dbenchmarks=false
    ninja -C build-asan
    # torture_test asks for 200 cycles within its 90 s deadline; under ASan
    # it reached 140 in 90 s (2026-11-30, after destructors moved to the
    # finalizer thread: a finalized object's slot is reused one cycle later,
    # and release takes 15-25 % longer to reach 200 than at 1d07d2e), so
    # ASan gives it 240 s for the same 200 cycles.
    # Fake stacks would move locals off the thread stack, out of sight of the
    # conservative stack scan: they must stay off.
    ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    TRICOLOR_TORTURE_DEADLINE_SECONDS=${TRICOLOR_ASAN_TORTURE_DEADLINE_SECONDS:-240} \
      meson test -C build-asan --print-errorlogs --num-processes 1 \
      --timeout-multiplier 3 ${TEST_ARGS:-}
    ;;
  test-tsan)
    # The tests in which threads race each other and the collector, under
    # ThreadSanitizer. TSan slows them 5-15x, so the torture tests get a
    # shorter run (TRICOLOR_TSAN_TORTURE_SECONDS / _SCALE override it). A
    # report fails its test (halt_on_error, exit code 66); to see every report
    # of a run instead: TSAN_OPTIONS=halt_on_error=0 scripts/dev.sh test-tsan.
    # TRICOLOR_TORTURE_MIN_CYCLES is for torture_test, whose 200 cycles took
    # minutes under TSan (its big heap marked at about 0.5 cycles per second).
    # TRICOLOR_LEAK_CONTROL_CYCLES: leak_report_test's quiet controls run 20
    # cycles instead of 100 (a forced cycle took about 0.5 s under TSan).
    # Both figures are from before 2026-12-01, when every pause still copied
    # TSan's own 47 MiB of .bss (roots/runtime_modules.hpp); the whole stage's
    # tests now take about 5 minutes, and the counts were kept.
    install_missing
    configure build-tsan -Dbuildtype=debugoptimized -Db_sanitize=thread \
      -Db_lundef=false -Dbenchmarks=false
    tsan_tests=(concurrent_torture concurrent_torture_verify concurrent_torture_no_scopes
                torture collector interleaving weak roots gc_root destructor gc_ptr array
                mark_workers gctrace threads finalizer exceptions coroutine
                root_allocator containers optional leak_report
                concurrent_torture_leakreport chan heap_profile heap_lock work_pool stop_signal
                generations)
    tsan_targets=()
    for t in "${tsan_tests[@]}"; do
      case "$t" in
        concurrent_torture_* | leak_report_*) ;;  # variants of another test's executable
        *) tsan_targets+=("tests/${t}_test") ;;
      esac
    done
    ninja -C build-tsan "${tsan_targets[@]}"
    TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
    TRICOLOR_TORTURE_SECONDS=${TRICOLOR_TSAN_TORTURE_SECONDS:-20} \
    TRICOLOR_TORTURE_SCALE=${TRICOLOR_TSAN_TORTURE_SCALE:-0.2} \
    TRICOLOR_TORTURE_MIN_CYCLES=${TRICOLOR_TSAN_TORTURE_MIN_CYCLES:-10} \
    TRICOLOR_LEAK_CONTROL_CYCLES=${TRICOLOR_TSAN_LEAK_CONTROL_CYCLES:-20} \
      meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes 1 \
      --timeout-multiplier 3 ${TEST_ARGS:-} "${tsan_tests[@]}"
    ;;
  bench)
    install_missing
    configure build
    ninja -C build
    python3 bench/run_macro.py --build build "${@:2}"
    ;;
  *)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
