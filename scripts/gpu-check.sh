#!/usr/bin/env bash
# One prepared check for a machine with a GPU (BENCHMARKS.md, "Training speed"): adapter info,
# the GPU-relevant tests, the kernel, compositor and training benchmarks and a short demo,
# each step's JSON and log under OUTDIR, in at most 8 minutes with a built binary.
#
#   scripts/gpu-check.sh OUTDIR [--quick]     (the options may come in any order)
#
# --quick (or GPU_CHECK_QUICK=1): small sizes, for a CPU adapter such as lavapipe.
# LOCOMOTION_BIN: the binary to run (default target/release/locomotion, built if missing and
# cargo is here). Tests need cargo and the sources; without cargo they are skipped. A step
# that fails or runs out of time is recorded in OUTDIR/summary.txt and the next one runs.
set -uo pipefail

usage="usage: scripts/gpu-check.sh OUTDIR [--quick]"
out=""
quick="${GPU_CHECK_QUICK:-0}"
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help)
      echo "$usage"
      exit 0
      ;;
    -*)
      echo "error: unknown option '$arg' ($usage)" >&2
      exit 2
      ;;
    *)
      if [ -n "$out" ]; then
        echo "error: one OUTDIR only, got '$out' and '$arg' ($usage)" >&2
        exit 2
      fi
      out=$arg
      ;;
  esac
done
if [ -z "$out" ]; then
  echo "error: no OUTDIR ($usage)" >&2
  exit 2
fi
# OUTDIR is taken from where the script was called; the steps run in the repository root.
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
# A relative LOCOMOTION_BIN is a path from where the script was called, too.
case ${LOCOMOTION_BIN:-} in
  /* | "") ;;
  *) LOCOMOTION_BIN="$PWD/$LOCOMOTION_BIN" ;;
esac
cd "$(dirname "$0")/.."
bin="${LOCOMOTION_BIN:-target/release/locomotion}"
summary="$out/summary.txt"
start=$(date +%s)
: >"$summary"
export NODEVICE_SELECT=1

note() { echo "$*" | tee -a "$summary"; }

# step NAME SECONDS COMMAND...: run with a time limit, log to OUTDIR/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local took=$(($(date +%s) - t0))
  case $rc in
    0) note "$name: ok (${took} s)" ;;
    124 | 137) note "$name: TIMED OUT after ${limit} s (log: $name.log)" ;;
    *) note "$name: FAILED with status $rc after ${took} s (log: $name.log)" ;;
  esac
}

if [ ! -x "$bin" ]; then
  if command -v cargo >/dev/null; then
    step build 900 cargo build --release --bin locomotion
  fi
  [ -x "$bin" ] || { note "no binary at $bin and none could be built"; exit 1; }
fi
note "gpu-check $(date -u +%FT%TZ) quick=$quick binary=$bin"
note "host: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | xargs) ($(nproc) cores), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv >"$out/nvidia-smi.csv" 2>&1

step info 60 "$bin" info --json
cp "$out/info.log" "$out/info.json"

if command -v cargo >/dev/null && [ -f Cargo.toml ]; then
  # The kernel variants a GPU picks (auto), the model steps on them, and the readback rule.
  step tests 240 cargo test --release --test gpu_path --test ops_attention --test ops_norm \
    --test ops_matmul --test step_readback --test bench_train --test data_parallel
else
  note "tests: skipped (no cargo or no sources here)"
fi

if [ "$quick" = 1 ]; then
  step bench-kernels 120 "$bin" bench kernels --quick --json "$out/kernels.json"
  step bench-composite 90 "$bin" bench composite --clips 2 --cpu-clips 1 --iters 1 \
    --json "$out/composite.json"
  step bench-train 300 "$bin" bench train --steps 2 --warmup 1 --batch 8 --seq 64 \
    --profile --json "$out/train.json"
  step bench-train-devices 120 "$bin" bench train --rows pretrain-vtc --steps 2 --warmup 1 \
    --batch 8 --devices 2 --json "$out/train-devices.json"
  step demo 300 "$bin" demo --quiet --force --steps 20 --batch 8 --eval-clips 16 \
    --groups 4 --per-group 2 --clips 2 --out "$out/demo"
else
  step bench-kernels 90 "$bin" bench kernels --json "$out/kernels.json"
  step bench-composite 45 "$bin" bench composite --json "$out/composite.json"
  step bench-train 120 "$bin" bench train --profile --json "$out/train.json"
  step bench-train-small 60 "$bin" bench train --rows pretrain --preset small --batch 8 \
    --steps 5 --warmup 2 --json "$out/train-small.json"
  # Data-parallel: every GPU adapter when there are several, else two devices on the one
  # (info --json lists the chosen adapter twice: among the adapters and as "chosen").
  ngpu=$("$bin" info --json 2>/dev/null | grep -c '"device_type": "\(DiscreteGpu\|IntegratedGpu\)"')
  devices=2
  [ "${ngpu:-0}" -gt 2 ] && devices=all
  step bench-train-devices 90 "$bin" bench train --rows pretrain --batch 32 --steps 5 \
    --warmup 2 --devices "$devices" --json "$out/train-devices.json"
  step demo 120 "$bin" demo --quiet --force --out "$out/demo"
fi
[ -f "$out/demo/results.json" ] && cp "$out/demo/results.json" "$out/demo-results.json"
note "total: $(($(date +%s) - start)) s"
