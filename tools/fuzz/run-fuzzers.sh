#!/usr/bin/env bash
# Runs nnbench's libFuzzer targets (tests/fuzz) for a fixed time each.
#
#   tools/fuzz/run-fuzzers.sh [SECONDS]     (default 20 seconds per target)
#
# Configures and builds the clang fuzz build (idempotent; folder build-fuzz, or
# $NNBENCH_FUZZ_BUILD), then runs each target for SECONDS on a temporary copy of
# its seed corpus (tests/fuzz/corpus/<target>, left unmodified) plus its crash
# reproducers (tests/fuzz/regressions/<target>, read only) with its dictionary.
# Prints one line per target:
#   fuzz: fuzz_cli: N executions in S s, 0 crashes
# Exit status: 0 no target found anything; 1 a target crashed, leaked, timed
# out or ran out of memory (its reproducer path and the sanitizer's report are
# printed; logs and reproducers stay in <build>/fuzz-artifacts/<target>/);
# 2 setup failed (no clang/libFuzzer, configure or build error).
# Without clang or libFuzzer's runtime it installs them with apt-get when run
# as root (Debian 12: clang, libclang-rt-<version>-dev), else says what is missing.
set -euo pipefail

duration=${1:-20}
if ! [[ $duration =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS]  (a positive number of seconds per target, default 20)" >&2
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NNBENCH_FUZZ_BUILD:-$root/build-fuzz}
targets=(fuzz_cli fuzz_npy fuzz_compare_json fuzz_sweep_inputs)
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

work=$(mktemp -d "${TMPDIR:-/tmp}/nnb-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Can clang build and link a libFuzzer target here?
have_libfuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
        >"$work/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1
}

install_clang() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "fuzz: clang with libFuzzer is needed (Debian 12: apt-get install clang libclang-rt-14-dev); run as root to install it" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    local updated=0
    if ! dpkg -s clang >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
        echo "fuzz: installing clang"
        apt-get update -qq && updated=1
        apt-get install -y -qq --no-install-recommends clang >/dev/null
    fi
    # libFuzzer's runtime is in libclang-rt-<major>-dev, only recommended by clang.
    local major rt
    major=$(clang -dumpversion | cut -d. -f1)
    rt="libclang-rt-$major-dev"
    if ! dpkg -s "$rt" >/dev/null 2>&1; then
        echo "fuzz: installing $rt (libFuzzer's runtime)"
        [ "$updated" -eq 1 ] || apt-get update -qq
        apt-get install -y -qq --no-install-recommends "$rt" >/dev/null
    fi
}

if ! have_libfuzzer; then
    install_clang
    if ! have_libfuzzer; then
        echo "fuzz: clang still cannot link -fsanitize=fuzzer,address,undefined (libFuzzer runtime missing?)" >&2
        exit 2
    fi
fi
if ! command -v cmake >/dev/null 2>&1; then
    echo "fuzz: cmake is missing; run tools/install-deps.sh first" >&2
    exit 2
fi

echo "fuzz: configuring and building $build (clang, libFuzzer, ASan, UBSan)"
if ! CC=clang cmake -S "$root" -B "$build" -DNNBENCH_FUZZ=ON -DNNBENCH_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$sanitize" >"$work/configure.log" 2>&1; then
    cat "$work/configure.log" >&2
    echo "fuzz: configure failed" >&2
    exit 2
fi
if ! cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >"$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log" >&2
    echo "fuzz: build failed" >&2
    exit 2
fi

failed=0
total_runs=0
for target in "${targets[@]}"; do
    corpus="$work/corpus-$target"
    artifacts="$build/fuzz-artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    cp -R "$root/tests/fuzz/corpus/$target/." "$corpus/"
    rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/slow-unit-*
    # -close_fd_mask=1: the target's stdout is closed; its stderr stays, since the only things written
    # there are the harness's own "fuzz_<target>: <what>" lines before abort() (libFuzzer's and the
    # sanitizers' reports go to libFuzzer's own copy of stderr either way).
    args=(-max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=1
          -artifact_prefix="$artifacts/")
    [ -f "$root/tests/fuzz/$target.dict" ] && args+=(-dict="$root/tests/fuzz/$target.dict")
    args+=("$corpus")
    [ -d "$root/tests/fuzz/regressions/$target" ] && args+=("$root/tests/fuzz/regressions/$target")
    log="$artifacts/fuzz.log"
    rc=0
    (cd "$work" && timeout $((duration + 300)) "$build/fuzz/$target" "${args[@]}") >"$log" 2>&1 || rc=$?
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    runs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")
    secs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        total_runs=$((total_runs + runs))
        echo "fuzz: $target: $runs executions in $secs s, 0 crashes"
        continue
    fi
    failed=$((failed + 1))
    kind=$(grep -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): [a-zA-Z -]+' "$log" |
           head -n 1 || true)
    [ -n "$kind" ] || kind=$(grep -oE 'runtime error: .*' "$log" | head -n 1 || true)
    [ -n "$kind" ] || kind="exit status $rc"
    reproducer=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
    echo "----- $target: end of $log -----"
    tail -n 60 "$log"
    echo "-----"
    echo "fuzz: $target: FAILED: $kind"
    if [ -n "$reproducer" ]; then
        echo "fuzz: $target: reproducer: $reproducer"
        echo "fuzz: $target: rerun: $build/fuzz/$target $reproducer"
        echo "fuzz: $target: once fixed, add it to tests/fuzz/regressions/$target/"
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "fuzz: $failed of ${#targets[@]} targets failed"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean: $total_runs executions, ${duration} s each"
