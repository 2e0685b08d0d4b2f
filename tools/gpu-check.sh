#!/usr/bin/env bash
# First contact with an NVIDIA GPU, in one command (docs/cuda-runners.md): a Release build of the CUDA parts,
# the gpu-labelled tests, --check of every CUDA runner at small sizes, the same check and a short benchmark in
# each reduced precision (--dtype tf32, bf16, fp16), a short benchmark of each CUDA family at fastrnns' sizes,
# an eager-vs-graph A/B, 10 s of serve on cuda with 2 workers, and nsys around one short run
# when nsys is installed. Each step runs under its own time limit (a hang costs that step only); the budgets
# add up to at most 8 minutes on one H100, build included. Writes gpu-check.md (the report), the JSON results
# and one log per step into $OUT (default results/gpu-check-<UTC time>) and prints the step times.
#
#   tools/gpu-check.sh            run it (exit 0 every step passed, 1 a step failed or timed out,
#                                 77 no NVIDIA GPU here: one line says so, after the plan)
#   tools/gpu-check.sh --dry-run  print the plan with each step's budget and exit 0
#
# Environment: OUT (output folder), NNB_GPU_CHECK_BUILD (build folder, default build-gpu-check),
# NNB_GPU_CHECK_NVIDIA_SMI (the probe command, default nvidia-smi; tests set it to simulate no GPU),
# NNB_GPU_CHECK_STEPS (space-separated step names: run only those, e.g. to rerun one after a fix),
# NNB_GPU_CHECK_CUDA_ARCH (CMAKE_CUDA_ARCHITECTURES, default native: the GPU found).
# shellcheck disable=SC2317  # the step_* functions run through `bash -c`
set -u
shopt -s nullglob

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${NNB_GPU_CHECK_BUILD:-$ROOT/build-gpu-check}
SMI=${NNB_GPU_CHECK_NVIDIA_SMI:-nvidia-smi}
TOTAL_LIMIT_S=480
NNB=$BUILD/bin/nnbench
ARCH=${NNB_GPU_CHECK_CUDA_ARCH:-native}

# name|budget (s)|what it does. The order is the order they run in.
STEPS=(
  "build|130|cmake Release, CUDA parts only (nnbench, CUDA plugins, CPU references, gpu tests), native arch, all cores"
  "ctest_gpu|60|ctest -L gpu (every CUDA runner against its CPU reference, ABI 1.2 inference)"
  "check|45|--check of every CUDA runner at small sizes (T=8 B=4 I=H=32 L=2; ResNet N=2 S=64)"
  "bench_rnns|35|rnns on cuda at fastrnns' sizes (T=100 B=64 I=H=512 L=1), warmup 5, loops 20"
  "bench_vl_rnns|15|vl_rnns on cuda at fastrnns' sizes, warmup 5, loops 20"
  "dtypes|45|--dtype tf32, bf16, fp16: --check of cudnn, aten, jit, jit_premul, resnet18 at small sizes; cudnn and jit_premul at fastrnns' sizes"
  "convs|25|the cuDNN conv runner: --check (fp32, bf16) on two ResNet-50 layers, then res2a_branch2b at mb 32 with --conv-algo find"
  "bench_cnns|45|cnns on cuda at fastrnns' sizes (N=32 S=224), warmup 5, loops 20"
  "ab_executor|30|--ab jit eager vs graph (fastrnns' sizes, at most 20 s of rounds)"
  "serve|30|nnbench serve jit on cuda: 2 workers, poisson 200 req/s for 10 s"
  "nsys|20|nsys profile around a --profile run of jit and resnet18 (skipped without nsys)"
)

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

print_plan() {
  local total=0 line name budget what
  echo "gpu-check plan (each step killed at its budget; total limit ${TOTAL_LIMIT_S} s):"
  printf '  %-14s %8s  %s\n' step budget_s what
  for line in "${STEPS[@]}"; do
    IFS='|' read -r name budget what <<<"$line"
    printf '  %-14s %8d  %s\n' "$name" "$budget" "$what"
    total=$((total + budget))
  done
  printf '  %-14s %8d  (limit %d)\n' total "$total" "$TOTAL_LIMIT_S"
}

case "${1:-}" in
  --dry-run) print_plan; exit 0 ;;
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) echo "gpu-check: unknown argument '$1' (use --dry-run or --help)" >&2; exit 2 ;;
esac

print_plan
gpus=$("$SMI" -L 2>/dev/null | grep -c '^GPU ' || true)
if [ "${gpus:-0}" -lt 1 ]; then
  echo "gpu-check: no NVIDIA GPU here ('$SMI -L' lists none); nothing run"
  exit 77
fi

OUT=${OUT:-$ROOT/results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/logs" || { echo "gpu-check: cannot create $OUT" >&2; exit 2; }
REPORT=$OUT/gpu-check.md
FAILED=0
declare -a ROWS=()

# The commands of each step. Sizes: fastrnns' defaults are nnbench's (T=100 B=64 I=H=512 L=1, N=32 S=224).
SMALL="--seqLength 8 --miniBatch 4 --inputSize 32 --hiddenSize 32 --numLayers 2 --cnn-batch 2 --image-size 64"
SHORT="--device cuda --warmup 5 --nloops 20 --runner-timeout 30"

cuda_runners() { # names of the CUDA runners of group $1, hidden ones included
  "$NNB" --list 2>/dev/null | awk -v g="$1" '$2 == g && $3 == "cuda" { print $1 }' | tr '\n' ' '
}

step_build() {
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DNNBENCH_CUDA=ON \
    >/dev/null || return 1
  local want="nnbench nnb_cuda_lstm nnb_cuda_resnet nnb_cpu_reference nnb_cpu_resnet_ref nnb_cpu_fast nnb_cpu_variants"
  want+=" nnb_cpu_onednn" # py_cudnn_layernorm, cudnn_layernorm's reference (built where oneDNN is)
  want+=" nnb_cuda_conv nnb_cpu_conv_ref" # the convs group: cuDNN's conv and its plain reference
  want+=" $(ctest --test-dir "$BUILD" -N -L gpu | awk '/Test +#/ { print $3 }' | tr '\n' ' ')"
  local have targets=""
  have=$(cmake --build "$BUILD" --target help | awk '{ sub(/:.*/, ""); print $NF }') # Makefiles and Ninja
  for t in $want; do grep -qx "$t" <<<"$have" && targets+=" $t"; done
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j "$(nproc)" --target $targets
}

step_ctest_gpu() { ctest --test-dir "$BUILD" -L gpu -j 3 --output-on-failure --timeout 55; }

step_check() {
  # shellcheck disable=SC2046,SC2086
  "$NNB" --device cuda --check $SMALL --warmup 1 --nloops 2 --runner-timeout 25 --group rnns vl_rnns cnns \
    --rnns $(cuda_runners rnns) --cnns $(cuda_runners cnns) --json-out "$OUT/check.json"
}

# shellcheck disable=SC2086  # SHORT is a list of flags
step_bench_rnns() { "$NNB" $SHORT --group rnns --json-out "$OUT/bench_rnns.json"; }
# shellcheck disable=SC2086
step_bench_vl_rnns() { "$NNB" $SHORT --group vl_rnns --json-out "$OUT/bench_vl_rnns.json"; }
# shellcheck disable=SC2086
step_bench_cnns() { "$NNB" $SHORT --group cnns --json-out "$OUT/bench_cnns.json"; }

# Each reduced precision: --check at small sizes of runners that declare it, then a short timed run of cudnn and
# jit_premul at fastrnns' sizes. A device too old for a precision has those runners refused by available() with
# the reason, in the log.
step_dtypes() {
  local d rc=0
  for d in tf32 bf16 fp16; do
    # shellcheck disable=SC2086  # SMALL and SHORT are lists of flags
    "$NNB" --device cuda --dtype "$d" --check $SMALL --warmup 1 --nloops 2 --runner-timeout 10 \
      --group rnns cnns --rnns cudnn aten jit jit_premul --cnns resnet18 --json-out "$OUT/check_$d.json" || rc=1
    # shellcheck disable=SC2086
    "$NNB" $SHORT --dtype "$d" --group rnns --rnns cudnn jit_premul --json-out "$OUT/bench_rnns_$d.json" || rc=1
  done
  return "$rc"
}

# The convs group on cuDNN (docs/convs-cuda.md): checked against conv_ref in fp32 and bf16 (a device too old for
# bf16 has it refused with the reason), then timed at batch 32 with measured (cudnnFind) algorithms.
step_convs() {
  local rc=0
  "$NNB" --device cuda --check --convs conv --conv 'mb4ic64ih56oc64oh56kh3ph1n"resnet_50:res2a_branch2b"' \
    --warmup 1 --nloops 3 --runner-timeout 20 --json-out "$OUT/convs_check.json" || rc=1
  "$NNB" --device cuda --check --dtype bf16 --convs conv --conv 'mb4ic128ih56oc128oh28kh3sh2ph1n"resnet_50:res3a_branch2b"' \
    --warmup 1 --nloops 3 --runner-timeout 20 --json-out "$OUT/convs_check_bf16.json" || rc=1
  "$NNB" --device cuda --convs conv --conv 'mb32ic64ih56oc64oh56kh3ph1n"resnet_50:res2a_branch2b"' --conv-algo find \
    --warmup 3 --nloops 20 --json-out "$OUT/convs_bench.json" || rc=1
  return "$rc"
}

step_ab_executor() {
  "$NNB" --device cuda --ab jit@--executor=eager jit@--executor=graph --min-samples 30 --max-time 20 \
    --json-out "$OUT/ab_executor.json"
}

step_serve() {
  "$NNB" serve --runner jit --device cuda --workers 2 --mode poisson --qps 200 --requests 2000 --max-batch 8 \
    --max-batch-delay-ms 1 --max-time 25 --json-out "$OUT/serve.json" --csv "$OUT/serve.csv"
}

step_nsys() {
  if ! command -v nsys >/dev/null; then
    echo "nsys not installed: skipped"
    return 0
  fi
  nsys profile --trace=cuda,nvtx,cublas,cudnn --force-overwrite=true -o "$OUT/nsys" \
    "$NNB" --device cuda --profile --rnns jit --cnns resnet18 --group rnns cnns --no-isolate
}

# Runs step $1 within budget $2 s (TERM 5 s before the budget, KILL at it); records status and time.
BUILD_FAILED=0
run_step() {
  local name=$1 budget=$2 log=$OUT/logs/$1.log t0 t1 rc status
  t0=$(date +%s.%N)
  if [ "$name" != build ] && { [ "$BUILD_FAILED" = 1 ] || [ ! -x "$NNB" ]; }; then
    status="skipped (no fresh nnbench: the build failed)"
    FAILED=1
    echo "$status" >"$log"
  else
    export -f "step_$name" cuda_runners
    export ROOT BUILD NNB OUT SMALL SHORT ARCH
    timeout --kill-after=5 "$((budget - 5))" bash -c "step_$name" >"$log" 2>&1
    rc=$?
    [ "$name" = build ] && [ "$rc" != 0 ] && BUILD_FAILED=1
    case $rc in
      0) status=ok; grep -q '^nsys not installed' "$log" && status="skipped (nsys not installed)" ;;
      124 | 137) status="TIMEOUT (over ${budget} s)"; FAILED=1 ;;
      *) status="FAILED (exit $rc)"; FAILED=1 ;;
    esac
  fi
  t1=$(date +%s.%N)
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  printf 'gpu-check: %-14s %6s s of %3d s  %s\n' "$name" "$secs" "$budget" "$status"
  ROWS+=("| $name | $status | $secs | $budget | logs/$name.log |")
}

START=$(date +%s)
for line in "${STEPS[@]}"; do
  IFS='|' read -r name budget _ <<<"$line"
  if [ -n "${NNB_GPU_CHECK_STEPS:-}" ] && ! grep -qw -- "$name" <<<"$NNB_GPU_CHECK_STEPS"; then
    continue
  fi
  run_step "$name" "$budget"
done
ELAPSED=$(($(date +%s) - START))

{
  echo "# nnbench gpu-check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), ${ELAPSED} s in all" \
    "(limit ${TOTAL_LIMIT_S} s)."
  echo
  echo '```'
  "$SMI" -L 2>&1
  echo '```'
  echo
  echo "| step | status | seconds | budget | log |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "JSON results:" "$OUT"/*.json
  for log in check bench_rnns bench_vl_rnns dtypes bench_cnns ab_executor serve; do
    [ -s "$OUT/logs/$log.log" ] || continue
    echo
    echo "## $log (last 40 lines of the log)"
    echo
    echo '```'
    tail -n 40 "$OUT/logs/$log.log"
    echo '```'
  done
} >"$REPORT"

echo "gpu-check: ${ELAPSED} s in all; report $REPORT"
exit $FAILED
