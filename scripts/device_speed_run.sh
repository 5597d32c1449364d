#!/usr/bin/env bash
# Issue 6's GPU measurements in one call of the device machine (see /work/.library/device):
# time to 94% for resnet9 over 5 seeds first, then the throughput of every model with what
# time is left. Everything lands in $OUT (8 files at most come back): the two JSON files for
# benchmarks/results/, resnet9's float16 weights of each seed (13 MB each, for
# `keras-cifar-zoo publish`) and one log.
#
# Prepare here, once per session:
#   bash ../shared/tools/device-wheels.sh          # keras, namex, optree wheels into .whl/
#   mkdir -p .gpu && cp ../shared/data/cifar10-jpeg.tar.gz ../shared/tools/make_cifar10_batches.py .gpu/
#   (.gpu/ and .whl/ are ignored; the tree that travels is limited to 64 MiB, so hub/ must not
#   travel: check what `git ls-files` and untracked files add up to before the call)
# Then call the device tool's run with
#   command="bash scripts/device_speed_run.sh", carry=[".whl", ".gpu"], timeout_s=590
#
# BUDGET_S (default 560) bounds the whole script; T94_ARGS and THROUGHPUT_ARGS replace the
# benchmarks' default arguments (a dry run on a CPU: T94_ARGS="--seeds 0 --epochs 1
# --train-images 512 --test-images 256 --precision float32").
set -uo pipefail
: "${OUT:?OUT must name the folder whose files come back (the device tool sets it)}"
deadline=$((SECONDS + ${BUDGET_S:-560}))
log="$OUT/run.log"

if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND="${KERAS_BACKEND:-jax}" PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
if [ -z "${KERAS_CIFAR_ZOO_DATA:-}" ]; then
  python3 .gpu/make_cifar10_batches.py /tmp/cifar >>"$log" 2>&1 || { echo "no data" >>"$log"; exit 1; }
  export KERAS_CIFAR_ZOO_DATA=/tmp/cifar
fi

device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
tag=$(echo "${device:-cpu}" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
date=$(date +%F)
{ echo "device: ${device:-none}"; nvidia-smi 2>/dev/null | head -15; } >>"$log"

left() { local s=$((deadline - SECONDS - $1)); echo $((s > 1 ? s : 1)); }  # timeout 0 = none

# shellcheck disable=SC2086  # the *_ARGS are word lists
timeout "$(left 180)" python3 benchmarks/time_to_94.py \
  ${T94_ARGS:---seeds 0 1 2 3 4 --precision mixed_bfloat16} \
  --save-dir "$OUT" --json "$OUT/time-to-94-$tag-$KERAS_BACKEND-$date.json" >>"$log" 2>&1
echo "time_to_94 exit $?" >>"$log"

# shellcheck disable=SC2086
timeout "$(left 10)" python3 benchmarks/throughput.py \
  ${THROUGHPUT_ARGS:---images 10240 --epochs 3} \
  --json "$OUT/throughput-$tag-$KERAS_BACKEND-$date.json" >>"$log" 2>&1
echo "throughput exit $? (the JSON keeps every model measured before a timeout)" >>"$log"
tail -n 40 "$log"
