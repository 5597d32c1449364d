#!/usr/bin/env bash
# The GPU measurements of the Benchmarks page in one run: time to 94% for resnet9 over 5 seeds
# first, then the throughput of every model with the time left. Run it from the repository
# root on a machine with a GPU, in an environment where the package's dependencies (or the
# wheels below) are installed:
#
#   OUT=gpu-results KERAS_CIFAR_ZOO_DATA=~/data/cifar10 bash scripts/device_speed_run.sh
#
# Everything lands in $OUT: the two JSON files for benchmarks/results/ (commit them; the docs
# tables regenerate from them), resnet9's float16 weights of each seed (13 MB each, for
# `keras-cifar-zoo publish`) and one log, run.log.
#
# Data: KERAS_CIFAR_ZOO_DATA names a folder holding cifar-10-batches-py/ or
# cifar-10-python.tar.gz (the lossless copy or the official release; see docs/data.md).
# Without it, the script uses .gpu/ when that holds either, or builds the batches into
# /tmp/cifar with a builder script placed at .gpu/make_cifar10_batches.py; otherwise
# load_cifar10 looks in Keras's dataset cache and then downloads the official release.
# On a machine without internet access, wheels placed in .whl/ (keras, namex, optree, ...)
# are installed into /tmp/site first. .gpu/ and .whl/ are ignored by git.
#
# TIME_LIMIT_S (default 560) bounds the whole script in seconds; T94_ARGS and THROUGHPUT_ARGS
# replace the benchmarks' default arguments (a dry run on a CPU: T94_ARGS="--seeds 0
# --epochs 1 --train-images 512 --test-images 256 --precision float32").
set -uo pipefail
: "${OUT:?OUT must name the folder the results are written to}"
mkdir -p "$OUT"
deadline=$((SECONDS + ${TIME_LIMIT_S:-560}))
log="$OUT/run.log"

if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND="${KERAS_BACKEND:-jax}" PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
if [ -z "${KERAS_CIFAR_ZOO_DATA:-}" ]; then
  if [ -e .gpu/cifar-10-batches-py ] || [ -e .gpu/cifar-10-python.tar.gz ]; then
    export KERAS_CIFAR_ZOO_DATA="$PWD/.gpu"
  elif [ -f .gpu/make_cifar10_batches.py ]; then
    python3 .gpu/make_cifar10_batches.py /tmp/cifar >>"$log" 2>&1 || { echo "no data" >>"$log"; exit 1; }
    export KERAS_CIFAR_ZOO_DATA=/tmp/cifar
  fi
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
