#!/usr/bin/env bash
# One prepared check for a bare x86-64 Linux machine with an NVIDIA or AMD driver, no Rust
# toolchain and no network (docs/gpu.md, "On a lent GPU"). It runs the stripped binary that
# scripts/gpu-pack.sh built and carried in .gpu/, from the root of a copy of the repository:
#
#   scripts/gpu-check.sh OUTDIR [--quick] [--allow-cpu] [--total SECONDS]
#
# 1. Vulkan: when no libvulkan.so.1 is installed, unpacks the carried loader packages
#    (.gpu/deb/*.deb) into a temporary folder on LD_LIBRARY_PATH; honours VK_DRIVER_FILES
#    (and points it at NVIDIA's ICD under /usr/local/nvidia when no ICD is found elsewhere).
# 2. Refuses to measure (exit 3) unless the chosen adapter is a discrete or integrated GPU on
#    Vulkan, Metal or DX12, saying which adapter it found; --allow-cpu lets it run on a CPU
#    adapter such as lavapipe (to test this script).
# 3. `locomotion selftest` (kernels against CPU references, a loss that falls, pre-training
#    steps), a warm-up, then `bench kernels`, `bench train --profile` and the `small`
#    pre-training row at batches 8, 16 and 32 with its peak memory.
# Each step has its own time limit, cut to what is left of --total (default 400 s: the whole
# check ends within 7 minutes). --quick: small sizes, for a CPU adapter. OUTDIR gets at most
# 8 files: summary.json, summary.txt, info.json, selftest.json, kernels.json, train.json,
# train-memory.json and logs.tar.gz (every step's stdout and stderr). The JSON files hold
# JSON only (the binary writes them with --json; stderr goes to the logs).
# LOCOMOTION_BIN: the binary (default .gpu/locomotion, else target/release/locomotion).
set -uo pipefail

usage="usage: scripts/gpu-check.sh OUTDIR [--quick] [--allow-cpu] [--total SECONDS]"
out=""
quick="${GPU_CHECK_QUICK:-0}"
allow_cpu=0
total=400
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --allow-cpu) allow_cpu=1 ;;
    --total)
      if ! [[ ${2:-} =~ ^[0-9]+$ ]] || [ "$2" -lt 10 ]; then
        echo "error: --total takes whole seconds, at least 10 ($usage)" >&2
        exit 2
      fi
      total=$2
      shift
      ;;
    -h | --help)
      echo "$usage"
      exit 0
      ;;
    -*)
      echo "error: unknown option '$1' ($usage)" >&2
      exit 2
      ;;
    *)
      if [ -n "$out" ]; then
        echo "error: one OUTDIR only, got '$out' and '$1' ($usage)" >&2
        exit 2
      fi
      out=$1
      ;;
  esac
  shift
done
if [ -z "$out" ]; then
  echo "error: no OUTDIR ($usage)" >&2
  exit 2
fi
start=$(date +%s)
deadline=$((start + total))
# OUTDIR and a relative LOCOMOTION_BIN are taken from where the script was called; the
# steps run in the repository root.
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
case ${LOCOMOTION_BIN:-} in
  /* | "") ;;
  *) LOCOMOTION_BIN="$PWD/$LOCOMOTION_BIN" ;;
esac
cd "$(dirname "$0")/.." || exit 2
if [ -z "${LOCOMOTION_BIN:-}" ]; then
  LOCOMOTION_BIN=.gpu/locomotion
  [ -x "$LOCOMOTION_BIN" ] || LOCOMOTION_BIN=target/release/locomotion
fi
bin=$LOCOMOTION_BIN
logs=$(mktemp -d) || exit 2
trap 'rm -rf "$logs"' EXIT
export NODEVICE_SELECT=1
steps_json=""
refused=""
adapter=""

note() { echo "$*" | tee -a "$out/summary.txt"; }
# A JSON string: backslashes and quotes escaped, control characters dropped.
json_str() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# finish STATUS: write summary.json and the log tarball, then exit with STATUS.
finish() {
  local rc=$1
  note "total: $(($(date +%s) - start)) s"
  {
    printf '{\n  "check": "gpu-check",\n  "started_utc": %s,\n' "$(json_str "$started")"
    printf '  "quick": %s,\n  "allow_cpu": %s,\n' "$([ "$quick" = 1 ] && echo true || echo false)" \
      "$([ "$allow_cpu" = 1 ] && echo true || echo false)"
    printf '  "adapter": %s,\n' "$(json_str "$adapter")"
    printf '  "refused": %s,\n' "$([ -n "$refused" ] && json_str "$refused" || echo null)"
    printf '  "budget_s": %s,\n  "total_s": %s,\n' "$total" "$(($(date +%s) - start))"
    printf '  "steps": [%s\n  ]\n}\n' "$steps_json"
  } >"$out/summary.json.tmp" && mv "$out/summary.json.tmp" "$out/summary.json"
  tar -czf "$out/logs.tar.gz" -C "$logs" . 2>/dev/null || note "could not write logs.tar.gz"
  exit "$rc"
}

# step NAME SECONDS COMMAND...: run with the smaller of SECONDS and what is left of the
# budget, stdout and stderr to the logs; record ok, failed or timed out.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - $(date +%s) - 5))
  [ "$left" -lt "$limit" ] && limit=$left
  local status took t0
  t0=$(date +%s)
  if [ "$limit" -lt 1 ]; then
    status="skipped: no time left"
    took=0
  else
    timeout --kill-after=5 "$limit" "$@" >"$logs/$name.log" 2>"$logs/$name.err"
    local rc=$?
    took=$(($(date +%s) - t0))
    case $rc in
      0) status=ok ;;
      124 | 137) status="timed out after $limit s" ;;
      *) status="failed with status $rc" ;;
    esac
  fi
  note "$name: $status ($took s)"
  steps_json+="$([ -n "$steps_json" ] && echo ,)
    {\"name\": $(json_str "$name"), \"status\": $(json_str "$status"), \"seconds\": $took, \"limit_s\": $limit}"
  [ "$status" = ok ]
}

started=$(date -u +%FT%TZ)
: >"$out/summary.txt"
note "gpu-check $started quick=$quick allow_cpu=$allow_cpu budget=${total}s binary=$bin"
note "host: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | xargs) ($(nproc) cores), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
if [ ! -x "$bin" ]; then
  refused="no locomotion binary at $bin: build it with scripts/gpu-pack.sh and carry .gpu/"
  note "REFUSED: $refused"
  finish 1
fi

# ---------------------------------------------------------------- Vulkan loader and driver
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  debs=(.gpu/deb/*.deb)
  if [ -e "${debs[0]}" ]; then
    root=$(mktemp -d) || exit 2
    trap 'rm -rf "$logs" "$root"' EXIT
    for f in "${debs[@]}"; do
      dpkg-deb -x "$f" "$root" || note "vulkan: could not unpack $f (dpkg-deb missing?)"
    done
    export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "vulkan: no libvulkan.so.1 installed; unpacked ${#debs[@]} carried package(s) from .gpu/deb"
  else
    note "vulkan: no libvulkan.so.1 installed and no carried .gpu/deb/*.deb (scripts/gpu-pack.sh fetches them)"
  fi
fi
if [ -n "${VK_DRIVER_FILES:-}" ]; then
  note "vulkan: VK_DRIVER_FILES=$VK_DRIVER_FILES"
else
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1 && [ -f "$nv" ]; then
    export VK_DRIVER_FILES=$nv
    note "vulkan: no ICD in the usual folders; VK_DRIVER_FILES=$nv"
  fi
fi
# Loaders older than 1.3.207 read VK_ICD_FILENAMES instead.
[ -n "${VK_DRIVER_FILES:-}" ] && export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-$VK_DRIVER_FILES}"
if command -v nvidia-smi >/dev/null; then
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv \
    >"$logs/nvidia-smi.csv" 2>&1 && note "nvidia-smi: $(tail -n +2 "$logs/nvidia-smi.csv" | head -1)"
fi

# ---------------------------------------------------------------- the adapter, or refuse
step info 30 "$bin" info --json && cp "$logs/info.log" "$out/info.json"
timeout --kill-after=5 30 "$bin" info --require-gpu >"$logs/gate.log" 2>"$logs/gate.err"
gate=$?
adapter=$(sed -n 's/^chosen: //p' "$logs/gate.log" | head -1)
if [ "$gate" != 0 ]; then
  why=$(tail -n 1 "$logs/gate.err")
  if [ -z "$adapter" ]; then
    refused="no adapter: ${why:-locomotion info failed}"
  elif [ "$allow_cpu" != 1 ]; then
    refused="${why#error: --require-gpu: } (--allow-cpu measures anyway, for testing this script)"
  fi
fi
note "adapter: ${adapter:-none}"
if [ -n "$refused" ]; then
  note "REFUSED to measure: $refused"
  finish 3
fi

# ---------------------------------------------------------------- correctness, warm-up, timing
failed=0
step selftest 90 "$bin" selftest --json "$out/selftest.json" || failed=1
# Clocks rise under load: a few seconds of kernels before anything is timed.
step warmup 30 "$bin" bench kernels --quick || failed=1
if [ "$quick" = 1 ]; then
  step bench-kernels 60 "$bin" bench kernels --quick --json "$out/kernels.json" || failed=1
  step bench-train 90 "$bin" bench train --steps 1 --warmup 1 --batch 4 --seq 32 \
    --encoder-batch 2 --rows transformer-encoder,pretrain-vtc --profile \
    --json "$out/train.json" || failed=1
  step bench-train-memory 60 "$bin" bench train --rows pretrain-vtc --preset tiny \
    --batch 2,4 --steps 1 --warmup 0 --json "$out/train-memory.json" || failed=1
else
  step bench-kernels 90 "$bin" bench kernels --json "$out/kernels.json" || failed=1
  step bench-train 75 "$bin" bench train --profile --json "$out/train.json" || failed=1
  step bench-train-memory 90 "$bin" bench train --rows pretrain-vtc --preset small \
    --batch 8,16,32 --steps 3 --warmup 2 --json "$out/train-memory.json" || failed=1
fi
finish "$failed"
