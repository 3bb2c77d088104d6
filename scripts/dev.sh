#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo
# available): installs the build dependencies that are missing, builds, and
#
#   scripts/dev.sh demo       runs the demo with one gctrace line per cycle
#   scripts/dev.sh test       runs the whole test suite (release build)
#   scripts/dev.sh test-asan  runs it again under AddressSanitizer + UBSan
#   scripts/dev.sh bench      runs the macro benchmarks against their anchors
#
# Build directories: build/ (release), build-asan/ (sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build g++ pkg-config python3 libmimalloc-dev libgtest-dev
          libgmock-dev libbenchmark-dev libgc-dev)

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
    # Fake stacks would move locals off the thread stack, out of sight of the
    # conservative stack scan: they must stay off.
    ASAN_OPTIONS=detect_stack_use_after_return=0:detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      meson test -C build-asan --print-errorlogs --num-processes 1 \
      --timeout-multiplier 3 ${TEST_ARGS:-}
    ;;
  bench)
    install_missing
    configure build
    ninja -C build
    python3 bench/run_macro.py --build build "${@:2}"
    ;;
  *)
    sed -n '2,11p' "$0"
    exit 2
    ;;
esac
