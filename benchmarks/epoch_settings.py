"""The fastest training setting per model: batch size, precision and TensorFlow's thread pools.

For every model, precision, batch size and thread setting of the grid, a fresh process trains
the model through ``fit_cifar10`` with ``--recipe`` (the recipe the training plans use) on
random uint8 images of CIFAR shape and times every training step: a callback waits for each
step's loss, so the median of the steps after ``--warmup-steps`` is the steady step time,
free of the work Keras does once per epoch (a short benchmark epoch would otherwise count it
many times over). From it: seconds per 50,000-image epoch, images/s, the FLOPs they imply
(``keras_cifar_zoo.profiling.count_flops``) and their share of the bfloat16 and float32
matmul peaks measured once at the start (``throughput.measure_peak``). The same process then
times ``model.predict`` on ``--predict-images`` images, giving what validating on the 10,000
test images adds to an epoch.

A new process per setting because TensorFlow fixes its thread pools at its first operation.
Threads are given as ``INTRA,INTER`` (``0,0`` is TensorFlow's default, one thread per core
for both). The rate does not change the speed of a step, so the recipe's rate is kept; a
plan that adopts another batch size must scale its rate (see docs/benchmarks.md).

    python benchmarks/epoch_settings.py --models vgg16_bn resnet56_v1 \\
        --batch-sizes 128 256 512 --precision float32 mixed_bfloat16 \\
        --json benchmarks/results/epoch-settings-cpu-tensorflow-DATE.json
    python benchmarks/epoch_settings.py --models vgg16_bn --threads 0,0 2,1 1,2 1,1 \\
        --json ... --append
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EPOCH_IMAGES = 50_000
VALIDATION_IMAGES = 10_000
PEAK_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
"""Precision policy -> the dtype of the matmul peak its runs are compared with."""


def child(spec: dict) -> dict:
    """Runs one setting in this process (the caller's fresh interpreter) and returns its record."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(spec["intra_op_threads"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["inter_op_threads"])
    import keras
    import numpy as np

    import keras_cifar_zoo as zoo
    from keras_cifar_zoo.profiling import count_flops

    class StepClock(keras.callbacks.Callback):
        """Wall time of every training step, waiting for its loss."""

        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            float(keras.ops.convert_to_numpy(logs["loss"]))
            self.times.append(time.perf_counter() - self._start)

    batch = spec["batch_size"]
    steps = spec["warmup_steps"] + spec["timed_steps"]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(batch * steps, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, size=(batch * steps,))
    keras.config.set_dtype_policy(spec["precision"])
    clock = StepClock()
    history = zoo.fit_cifar10(
        spec["model"],
        recipe=spec["recipe"],
        epochs=1,
        batch_size=batch,
        data=(x, y),
        validation_data=None,
        callbacks=[clock],
        verbose=0,
        seed=0,
    )
    model = history.model
    images = x[: spec["predict_images"]]
    model.predict(images, batch_size=spec["predict_batch_size"], verbose=0)  # traces
    start = time.perf_counter()
    model.predict(images, batch_size=spec["predict_batch_size"], verbose=0)
    predict_s = time.perf_counter() - start
    step_s = statistics.median(clock.times[spec["warmup_steps"] :])
    flops = count_flops(model)
    return {
        **spec,
        "step_s": clock.times,
        "median_step_s": step_s,
        "train_images_per_s": batch / step_s,
        "seconds_per_50k_epoch": EPOCH_IMAGES * step_s / batch,
        "predict_images_per_s": len(images) / predict_s,
        "validation_s_per_epoch": VALIDATION_IMAGES * predict_s / len(images),
        "train_gflops_per_image": flops.training_step / 1e9,
        "achieved_tflops": batch / step_s * flops.training_step / 1e12,
    }


def run_setting(spec: dict, timeout_s: float) -> dict:
    """Runs ``spec`` in a fresh interpreter; a failure becomes an ``error`` record."""
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"no result within {timeout_s:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {**spec, "error": (done.stderr.strip().splitlines() or ["no output"])[-1][:500]}
    return json.loads(lines[-1])


def fastest(rows: list[dict]) -> dict[str, dict]:
    """Per model, the setting with the shortest training epoch."""
    best: dict[str, dict] = {}
    for row in rows:
        if "error" in row:
            continue
        kept = best.get(row["model"])
        if kept is None or row["seconds_per_50k_epoch"] < kept["seconds_per_50k_epoch"]:
            best[row["model"]] = row
    return best


def table(rows: list[dict], peaks: dict) -> str:
    """The results as a fixed-width text table, the fastest setting per model starred."""
    best = {id(row) for row in fastest(rows).values()}
    lines = [
        f"{'model':20} {'precision':14} {'batch':>5} {'threads':>7} {'step s':>7} "
        f"{'s/ep 50k':>9} {'img/s':>6} {'%bf16pk':>7} {'%f32pk':>6} {'val s':>6}"
    ]
    for r in rows:
        threads = f"{r['intra_op_threads']},{r['inter_op_threads']}"
        head = f"{r['model']:20} {r['precision']:14} {r['batch_size']:>5} {threads:>7}"
        if "error" in r:
            lines.append(f"{head} failed: {r['error']}")
            continue
        lines.append(
            f"{head} {r['median_step_s']:>7.3f} {r['seconds_per_50k_epoch']:>9.1f} "
            f"{r['train_images_per_s']:>6.0f} "
            f"{100 * r['achieved_tflops'] / peaks['bfloat16']['tflops']:>7.1f} "
            f"{100 * r['achieved_tflops'] / peaks['float32']['tflops']:>6.1f} "
            f"{r['validation_s_per_epoch']:>6.1f}" + (" *" if id(r) in best else "")
        )
    return "\n".join(lines)


def _threads(text: str) -> tuple[int, int]:
    try:
        intra, inter = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"threads are INTRA,INTER, e.g. 2,1; got {text!r}"
        ) from None
    if intra < 0 or inter < 0:
        raise argparse.ArgumentTypeError(f"thread counts are 0 (default) or more; got {text!r}")
    return intra, inter


def _positive(text: str) -> int:
    """An argparse type for a count of at least 1: the timing divides by it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more; got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--models", nargs="+", help="zoo model names (required)")
    add("--recipe", default="improved_sgd_crops", help="recipe to train with")
    add("--precision", nargs="+", default=["mixed_bfloat16"], choices=sorted(PEAK_DTYPES))
    add("--batch-sizes", type=_positive, nargs="+", default=[256])
    add("--threads", type=_threads, nargs="+", default=[(0, 0)], help="INTRA,INTER settings")
    add("--warmup-steps", type=_positive, default=3, help="untimed steps (tracing, warm-up)")
    add("--timed-steps", type=_positive, default=6, help="steps whose median is reported")
    add("--predict-images", type=_positive, default=2048, help="images timed through predict")
    add("--predict-batch-size", type=_positive, default=1024)
    add("--timeout", type=float, default=900.0, help="seconds allowed per setting")
    add("--json", type=Path, help="results file, rewritten after each setting (required)")
    add("--append", action="store_true", help="add to the results already in --json")
    add("--note", help="free text stored in the JSON, e.g. what else ran on the machine")
    add("--child", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return 0
    if not args.models or not args.json:
        raise SystemExit("--models and --json are required.")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import throughput

    import keras_cifar_zoo as zoo

    unknown = [m for m in args.models if m not in zoo.list_models()]
    if unknown:
        raise SystemExit(f"Unknown models {unknown}; choose from {zoo.list_models()}.")
    if args.append and args.json.exists():
        report = json.loads(args.json.read_text(encoding="utf-8"))
        report["runs"].append(throughput.environment(args.note))
    else:
        print("measuring the matmul peaks", file=sys.stderr, flush=True)
        peaks = {dtype: throughput.measure_peak(dtype, [2048, 4096], 3, 1.0) for dtype in
                 ("float32", "bfloat16")}  # fmt: skip
        report = {"runs": [throughput.environment(args.note)], "peak": peaks, "results": []}
    for name in args.models:
        for precision in args.precision:
            for batch in args.batch_sizes:
                for intra, inter in args.threads:
                    spec = {
                        "model": name, "recipe": args.recipe, "precision": precision,
                        "batch_size": batch, "intra_op_threads": intra,
                        "inter_op_threads": inter, "warmup_steps": args.warmup_steps,
                        "timed_steps": args.timed_steps, "predict_images": args.predict_images,
                        "predict_batch_size": args.predict_batch_size,
                    }  # fmt: skip
                    print(f"{name} {precision} batch {batch} threads {intra},{inter} ...",
                          file=sys.stderr, flush=True)  # fmt: skip
                    report["results"].append(run_setting(spec, args.timeout))
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report["results"], report["peak"]), flush=True)
    return 1 if any("error" in row for row in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
