#!/usr/bin/env bash
# The GPU benchmarks as one command on the lent GPU machine (15 minutes of device time a session,
# 10 a command; the steps' limits add up to 540 s). Prepare here, once:
#   .venv/bin/python bench/device_wheels.py   # .whl/: what the machine's image lacks (~51 MiB)
#   .venv/bin/python bench/audio.py           # .cache/bench-audio/bank: the speech bank (~6 MiB)
# then call the device tool's `run` with carry [".whl", ".cache/bench-audio/bank"] and the command
#   bash bench/device.sh
# Each step writes its report to $OUT/<step>.log as it ends and has a time limit of its own, most
# wanted first, so a slow step costs only itself. Copy the reports into bench/RESULTS.md, naming
# the device. A dry run here, on the CPU with the tiny models: QUICK=1 bash bench/device.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out/device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}

if [ -d .whl ] && [ -z "${QUICK:-}" ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheels did not install"; exit 1; }
  export PYTHONPATH=/tmp/site
fi

if [ -n "${QUICK:-}" ]; then
  DEVICE=cpu; MODELS=(--models tiny); LONG=60; FILES=3; CLIPS=4; SECONDS_LIST=8,25
else
  DEVICE=cuda:0; MODELS=(); LONG=3600; FILES=16; CLIPS=60; SECONDS_LIST=8,16,25,60
fi

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2 began=$SECONDS
  shift 2
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: rc $rc after $((SECONDS - began)) s" | tee -a "$OUT/steps.txt"
  tail -n 20 "$OUT/$name.log"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"
  "$PY" -c "import torch, funasr; print('torch', torch.__version__, 'funasr', funasr.__version__)"
  nproc; } >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
QUICK_MODELS=${QUICK:+tiny}
step models 50 "$PY" -c "from bench.asr import build_models; build_models('${QUICK_MODELS:-large}')"
# issue 12: the 1-hour file's RTFx, end to end (decode + VAD + ASR + punctuation), against the plain loop
step asr-fp32 220 "$PY" bench/asr.py --device "$DEVICE" "${MODELS[@]}" --long-seconds "$LONG" --files "$FILES" \
  --rounds 2
# issue 11: audio hours per GPU hour through the real worker path
step queue 150 "$PY" bench/queue_bench.py --device "$DEVICE" "${MODELS[@]}" --clips "$CLIPS" --rounds 2 \
  --sides one-by-one,batched,serial
# half precision: speed, and how many files' text changes against fp32 (CUDA only)
if [ -z "${QUICK:-}" ]; then
  for dtype in bf16 fp16; do
    step "asr-$dtype" 45 "$PY" bench/asr.py --device "$DEVICE" --dtype "$dtype" --long-seconds 600 --files 8 \
      --rounds 1
  done
  # whether the GPU wants the encoder batched at every segment length, as the engine assumes there
  step batching 30 "$PY" bench/batching.py --device "$DEVICE" --seconds "$SECONDS_LIST" --rounds 3
fi
