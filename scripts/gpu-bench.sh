#!/usr/bin/env bash
# pawnet's GPU benchmark, in one call of the device tool.
#
#   scripts/gpu-bench.sh prepare   here: build the cgo binary (XLA backend
#                                  compiled in) and the sample photos into
#                                  .cache/gpu-bundle (carried to the device)
#   scripts/gpu-bench.sh run       on the GPU machine: print the table below,
#                                  write logs and metrics.jsonl to $OUT
#   scripts/gpu-bench.sh dry-run   the same steps on the CPU at toy sizes
#                                  (what CI runs, so the script does not rot)
#
# The device call (see README):
#   run(command="bash scripts/gpu-bench.sh run", carry=[".cache/gpu-bundle"], timeout_s=590)
#
# What `run` measures, most important first, each step under its own timeout:
#   1. GoMLX XLA/CUDA training img/s, full AlexNet, batch 128 fp32 and bf16,
#      synthetic tensors, after warm-up; the same in PyTorch (eager,
#      channels_last, bf16 autocast); the ratio ours/PyTorch.
#   2. A real short training run on the sample (small and full configs) on
#      the GPU; its metrics.jsonl goes to $OUT.
#   3. Batch 256, fp32 and bf16, both frameworks.
#   4. Data parallel: the same fp32 step split over every GPU of the host
#      (XLA's sharding through GoMLX, `-devices N`), batch 128 per GPU, and
#      its speed-up over one GPU; with one GPU it says N=1.
#   5. End-to-end epochs on a synthetic Kaggle-sized set (25,000 JPEGs,
#      500x375): pawnet (decode-once cache + 16 workers) vs PyTorch's
#      DataLoader (PIL decode every epoch, 16 workers).
set -uo pipefail
mode=${1:-}
cd "$(dirname "$0")/.."
bundle=.cache/gpu-bundle

case "$mode" in
prepare)
  set -e
  mkdir -p "$bundle"
  echo "building $bundle/pawnet (cgo, XLA backend, GOEXPERIMENT=simd)"
  # go.mod's toolchain (Go 1.27.3), fetched by an older go command too.
  GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=1 GOEXPERIMENT=simd go build -trimpath -ldflags="-s -w" -o "$bundle/pawnet" ./cmd/pawnet
  "$bundle/pawnet" sample -out "$bundle/sample"
  du -sh "$bundle"
  exit 0
  ;;
run)
  BIN=${BIN:-$bundle/pawnet}
  SAMPLE=${SAMPLE:-$bundle/sample}
  OUT=${OUT:-gpu-out}
  PY=${PY:-$(command -v /opt/torch/.venv/bin/python3 || command -v python3)}
  BACKEND=${BACKEND:-gpu}
  MODEL=full; SMALL=small; BATCHES="128 256"; STEPS=30; WARMUP=5
  SYNTH_N=${SYNTH_N:-25000}; SYNTH_W=500; SYNTH_H=375; WORKERS=16
  SAMPLE_EPOCHS_SMALL=30; SAMPLE_EPOCHS_FULL=10; TSIZE=227; TDEV=cuda
  ;;
dry-run)
  BIN=${BIN:-bin/pawnet}
  SAMPLE=${SAMPLE:-${PAWNET_SAMPLE_DIR:-data/sample}}
  OUT=${OUT:-$(mktemp -d)}
  PY=${PY:-$(command -v python3 || true)}
  BACKEND=go
  MODEL=small; SMALL=small; BATCHES="8"; STEPS=2; WARMUP=1
  SYNTH_N=16; SYNTH_W=80; SYNTH_H=60; WORKERS=2
  SAMPLE_EPOCHS_SMALL=1; SAMPLE_EPOCHS_FULL=0; TSIZE=64; TDEV=cpu
  ;;
*)
  echo "usage: $0 prepare|run|dry-run" >&2
  exit 2
  ;;
esac

mkdir -p "$OUT"
work=$(mktemp -d)
log="$OUT/gpu-bench.log"
: >"$log"
say() { echo "$@" | tee -a "$log"; }
# step NAME SECONDS CMD...: run one measurement under a timeout; a failure is
# reported and the script goes on.
step() {
  local name=$1 secs=$2; shift 2
  say "== $name"
  timeout --kill-after=10 "$secs" "$@" 2>&1 | tee -a "$log" | grep -v '^\s*$' | tail -n 40
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || say "!! $name: exit $rc"
}

[ -x "$BIN" ] || { echo "no pawnet binary at $BIN (run '$0 prepare' here first)" >&2; exit 1; }
say "pawnet GPU benchmark ($mode) $(date -u +%FT%TZ)"
command -v nvidia-smi >/dev/null && nvidia-smi -L | tee -a "$log"

# Sample data, separated into cat/ dog/ in a scratch copy.
cp -r "$SAMPLE" "$work/sample"
"$BIN" separate "$work/sample/train" >>"$log"
"$BIN" stats -size "$TSIZE" "$work/sample/train" >>"$log" 2>&1

tp() { # tp BATCH DTYPE
  local flag=""; [ "$2" = bf16 ] && flag=-bf16
  step "pawnet $MODEL batch $1 $2" 240 "$BIN" throughput -backend "$BACKEND" -model "$MODEL" -batch "$1" $flag -steps "$STEPS" -warmup "$WARMUP"
  if [ -n "$PY" ]; then
    step "torch $MODEL batch $1 $2" 240 "$PY" scripts/torch_bench.py throughput --device "$TDEV" --size "$TSIZE" --batch "$1" --dtype "$2" --steps "$STEPS" --warmup "$WARMUP"
  fi
}

first=${BATCHES%% *}
tp "$first" fp32
tp "$first" bf16

# Data parallel over every GPU (weak scaling: the same batch per GPU).
ngpu=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU ')
if [ "$ngpu" -gt 1 ]; then
  step "pawnet $MODEL batch $((first * ngpu)) fp32 on $ngpu GPUs" 240 "$BIN" throughput -backend "$BACKEND" -model "$MODEL" \
    -batch $((first * ngpu)) -devices "$ngpu" -steps "$STEPS" -warmup "$WARMUP"
else
  say "multi-GPU: N=1 (this host has $ngpu GPU); the N-GPU step rate is the 1-GPU one"
fi

sample_run() { # sample_run MODEL EPOCHS (the model's default lr, as on the CPU, so the accuracies compare)
  [ "$2" -gt 0 ] || return 0
  step "sample run $1 ($2 epochs)" 300 "$BIN" train -backend "$BACKEND" -model "$1" -epochs "$2" -patience 0 \
    -runs "$work/runs" -name "sample-$1" "$work/sample/train"
  cp "$work/runs/sample-$1/metrics.jsonl" "$OUT/metrics-sample-$1.jsonl" 2>/dev/null
}
sample_run "$SMALL" "$SAMPLE_EPOCHS_SMALL"

for b in ${BATCHES#"$first"}; do
  tp "$b" fp32
  tp "$b" bf16
done

step "synthesize $SYNTH_N photos ${SYNTH_W}x$SYNTH_H" 300 "$BIN" synth -from "$SAMPLE" -n "$SYNTH_N" -w "$SYNTH_W" -h "$SYNTH_H" -out "$work/synth"
"$BIN" separate "$work/synth/train" >>"$log"
step "pawnet input pipeline ($WORKERS workers)" 300 "$BIN" throughput -model "$MODEL" -batch "${BATCHES##* }" -workers "$WORKERS" -data "$work/synth/train"
step "pawnet epochs on the synthetic set" 400 "$BIN" train -backend "$BACKEND" -model "$MODEL" -epochs 2 -patience 0 \
  -batch "${BATCHES##* }" -workers "$WORKERS" -runs "$work/runs" -name synth "$work/synth/train"
if [ -n "$PY" ]; then
  step "torch epoch on the synthetic set" 400 "$PY" scripts/torch_bench.py epoch --device "$TDEV" --size "$TSIZE" \
    --batch "${BATCHES##* }" --dtype bf16 --workers "$WORKERS" --data "$work/synth/train"
fi
sample_run "$MODEL" "$SAMPLE_EPOCHS_FULL"

# Summary table.
say ""
say "== summary"
grep -hE '^(throughput|torch throughput)' "$log" | while read -r line; do say "  $line"; done
for b in $BATCHES; do for d in fp32 bf16; do
  ours=$(grep -E "^throughput .*batch=$b dtype=$d devices=1 " "$log" | sed -n 's/.*img\/s=\([0-9.]*\).*/\1/p' | tail -1)
  theirs=$(grep -E "^torch throughput .*batch=$b dtype=$d " "$log" | sed -n 's/.*img\/s=\([0-9.]*\).*/\1/p' | tail -1)
  if [ -n "$ours" ] && [ -n "$theirs" ]; then
    say "  ratio pawnet/torch batch=$b $d: $(awk -v a="$ours" -v b="$theirs" 'BEGIN{printf "%.2f", a/b}') ($ours vs $theirs img/s)"
  fi
done; done
one=$(grep -E "^throughput .*batch=$first dtype=fp32 devices=1 " "$log" | sed -n 's/.*img\/s=\([0-9.]*\).*/\1/p' | tail -1)
many=$(grep -E "^throughput .* dtype=fp32 devices=$ngpu " "$log" | sed -n 's/.*img\/s=\([0-9.]*\).*/\1/p' | tail -1)
if [ "$ngpu" -gt 1 ] && [ -n "$one" ] && [ -n "$many" ]; then
  say "  data parallel: $ngpu GPUs $many img/s vs 1 GPU $one img/s: $(awk -v a="$many" -v b="$one" 'BEGIN{printf "%.2f", a/b}')x"
else
  say "  data parallel: N=1 (one GPU), nothing to compare"
fi
grep -hE '^(input |torch epoch)' "$log" | while read -r line; do say "  $line"; done
grep -haE '^epoch [0-9]+/[0-9]+: ' "$log" | while read -r line; do say "  $line"; done
grep -haE '^run .*(finished|stopped|failed)' "$log" | while read -r line; do say "  $line"; done
rm -rf "$work"
say "logs and metrics in $OUT"
