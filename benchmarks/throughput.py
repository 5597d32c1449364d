"""Training and inference throughput of every zoo model with its recipe, through fit_cifar10.

For each model and precision: seconds per 50,000-image epoch, training and inference images
per second, FLOPs per image (``keras_cifar_zoo.profiling.count_flops``), the achieved TFLOP/s
beside the peak this device reaches on a large matmul, and the speed-up over the per-epoch
time the model's article printed. Random uint8 images of CIFAR shape stand in for the data
(speed does not depend on pixel values), so no dataset is needed.

Each model trains through ``fit_cifar10`` with its default recipe (augmentation and
preprocessing inside the compiled step) for ``--epochs`` epochs of ``--images`` images, rounded
up to whole batches. The first epoch (tracing and compilation) is reported apart; the others
give the steady speed. Two settings of a recipe that change no computation are switched off
so that no data or download is needed: ImageNet initial weights (``vgg19_bn_pretrain``) and
validation on the CIFAR-10 test set (``vgg_lite``'s article 004 recipe). The JSON is rewritten
after every model, and the table is printed last.

Precision defaults to float32 and mixed_bfloat16 on an accelerator and on a CPU with bfloat16
instructions (AVX-512 BF16 or AMX), and to float32 alone on other CPUs, where bfloat16 is
emulated and slower (see docs/benchmarks.md).

    KERAS_BACKEND=jax python benchmarks/throughput.py \\
        --json benchmarks/results/throughput-h100-jax-YYYY-MM-DD.json --images 10240 --epochs 3
    python benchmarks/throughput.py --models simple_cnn vgg_lite --images 512 --epochs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

import keras_cifar_zoo as zoo
from keras_cifar_zoo.profiling import count_flops

ROOT = Path(__file__).resolve().parent.parent
EPOCH_IMAGES = 50_000

ARTICLE_EPOCHS = {
    "vgg16_bn_plainhead": {
        "article": "000",
        "seconds": 33.5,
        "source": "Article 000 (Keras 2, Google Colaboratory GPU): epochs 2-20 print 33-34 s, "
        "a median of 670 us per training image x 50,000 = 33.5 s, validation on 10,000 test "
        "images included.",
    },
    "vgg_lite": {
        "article": "004",
        "seconds": 16.0,
        "source": "Article 004 (Keras 2, GPU not named): epochs 105-106 print 16 s each "
        "(ImageDataGenerator augmentation and validation on 10,000 test images included; "
        "its 1875.35 s total over 106 epochs averages 17.7 s).",
    },
}
"""Per-epoch times the seed articles print; 001, 002 and 003 print none."""

PEAK_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
"""Precision policy -> dtype of the matmul that bounds it."""


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch, synchronised on the epoch's loss."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs and "loss" in logs:
            float(logs["loss"])  # waits for the device
        self.times.append(time.perf_counter() - self._start)


def _sync(tensor) -> None:
    """Waits for ``tensor`` (and all work queued before it) by fetching one element."""
    keras.ops.convert_to_numpy(keras.ops.reshape(tensor, (-1,))[:1])


def measure_peak(dtype: str, sizes: list[int], trials: int, seconds: float) -> dict:
    """Best TFLOP/s of square matmuls in ``dtype`` through ``keras.ops``.

    Each trial runs about ``seconds`` of back-to-back matmuls and synchronises once at the
    end; the best trial of all counts (a shared machine only ever slows a trial down).
    """
    rng = np.random.default_rng(0)
    runs = []
    for size in sizes:
        a, b = (
            keras.ops.convert_to_tensor(rng.standard_normal((size, size), np.float32), dtype)
            for _ in range(2)
        )

        def run(repeats: int, a=a, b=b) -> float:
            start = time.perf_counter()
            for _ in range(repeats):
                c = keras.ops.matmul(a, b)
            _sync(c)
            return time.perf_counter() - start

        run(1)  # compile / warm up
        repeats = 1
        while (elapsed := run(repeats)) < seconds / 4 and repeats < 10_000:
            repeats *= 2
        repeats = max(repeats, math.ceil(repeats * seconds / elapsed))
        for _ in range(trials):
            elapsed = run(repeats)
            runs.append(
                {"size": size, "repeats": repeats, "seconds": elapsed,
                 "tflops": 2 * size**3 * repeats / elapsed / 1e12}
            )  # fmt: skip
        del a, b
    best = max(runs, key=lambda r: r["tflops"])
    return {"tflops": best["tflops"], "size": best["size"], "trials": runs}


def _train_recipe(name: str) -> tuple[zoo.Recipe, list[str]]:
    """The model's default recipe, without settings that need data or downloads."""
    recipe = zoo.get_recipe(zoo.model_info(name).default_recipe)
    changes = {}
    if recipe.initial_weights is not None:
        changes["initial_weights"] = None
    if recipe.validation_is_test_set:
        changes["validation_is_test_set"] = False
        changes["early_stopping_patience"] = None
    described = [f"{k}={getattr(recipe, k)!r} -> {v!r}" for k, v in changes.items()]
    return dataclasses.replace(recipe, **changes), described


def measure(name: str, precision: str, args: argparse.Namespace, peaks: dict) -> dict:
    """Trains and runs one model in one precision; returns its record."""
    recipe, changes = _train_recipe(name)
    batch = recipe.batch_size
    images = math.ceil(args.images / batch) * batch
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, size=(images,))
    keras.config.set_dtype_policy(precision)
    try:
        timer = EpochTimer()
        start = time.perf_counter()
        history = zoo.fit_cifar10(
            name,
            recipe=recipe,
            epochs=args.epochs,
            data=(x, y),
            validation_data=None,
            callbacks=[timer],
            verbose=0,
            steps_per_execution=args.steps_per_execution,
            seed=0,
        )
        fit_s = time.perf_counter() - start
        model = history.model
        predict_batch = min(args.inference_batch_size, images)
        model.predict(x, batch_size=predict_batch, verbose=0)  # compile
        predict_s = []
        for _ in range(args.inference_repeats):
            start = time.perf_counter()
            model.predict(x, batch_size=predict_batch, verbose=0)
            predict_s.append(time.perf_counter() - start)
        flops = count_flops(model)
    finally:
        keras.config.set_dtype_policy("float32")
    steady = statistics.median(timer.times[1:])
    train_ips = images / steady
    achieved = train_ips * flops.training_step / 1e12
    peak = peaks[PEAK_DTYPES[precision]]["tflops"]
    article = ARTICLE_EPOCHS.get(name)
    record = {
        "model": name,
        "article": zoo.model_info(name).article,
        "params": model.count_params(),
        "precision": precision,
        "recipe": recipe.name,
        "recipe_changes": changes,
        "batch_size": batch,
        "steps_per_execution": args.steps_per_execution,
        "images_per_epoch": images,
        "epochs": args.epochs,
        "epoch_s": timer.times,
        "first_epoch_s": timer.times[0],
        "steady_epoch_s": steady,
        "fit_call_s": fit_s,
        "train_images_per_s": train_ips,
        "seconds_per_50k_epoch": EPOCH_IMAGES / train_ips,
        "inference_batch_size": predict_batch,
        "inference_s": predict_s,
        "inference_images_per_s": images / statistics.median(predict_s),
        "forward_gflops_per_image": flops.forward / 1e9,
        "train_gflops_per_image": flops.training_step / 1e9,
        "achieved_tflops": achieved,
        "peak_dtype": PEAK_DTYPES[precision],
        "peak_tflops": peak,
        "percent_of_peak": 100 * achieved / peak,
        "article_seconds_per_epoch": article["seconds"] if article else None,
        "speedup_vs_article": article["seconds"] * train_ips / EPOCH_IMAGES if article else None,
    }
    keras.backend.clear_session()
    return record


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpuinfo() -> str:
    """Linux's CPU description ("" elsewhere)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpu_name() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def cpu_has_bfloat16() -> bool:
    """Whether the CPU lists bfloat16 instructions (AVX-512 BF16 or AMX)."""
    flags = _cpuinfo().split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _accelerators() -> list[str]:
    """Names of the accelerators the backend sees (empty on a CPU-only machine)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(d).get("device_name", d.name)
            for d in tf.config.list_physical_devices("GPU")
        ]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def environment(note: str | None) -> dict:
    """Backend, versions, hardware, date and command line of this run."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    packages = ("keras", "jax", "jaxlib", "tensorflow", "torch", "numpy", "keras-cifar-zoo")
    accelerators = _accelerators()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    backend_env = [f"KERAS_BACKEND={v}" for v in [os.environ.get("KERAS_BACKEND")] if v]
    return {
        "backend": keras.backend.backend(),
        "versions": {p: v for p in packages if (v := _version(p))},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": accelerators[0] if accelerators else f"{_cpu_name()} ({cpus} CPUs)",
        "accelerators": accelerators,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": cpus,
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": shlex.join([*backend_env, Path(sys.executable).name, *sys.argv]),
        "git_commit": commit,
        "note": note,
    }


def table(rows: list[dict]) -> str:
    """The results as a fixed-width text table."""
    header = (
        f"{'model':20} {'precision':14} {'batch':>5} {'1st ep s':>8} {'s/ep 50k':>9} "
        f"{'train/s':>8} {'infer/s':>8} {'GF/img':>7} {'TFLOP/s':>8} {'%peak':>6} {'vs art':>6}"
    )
    lines = [header]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['model']:20} {r['precision']:14} failed: {r['error']}")
            continue
        speedup = r["speedup_vs_article"]
        lines.append(
            f"{r['model']:20} {r['precision']:14} {r['batch_size']:>5} "
            f"{r['first_epoch_s']:>8.1f} {r['seconds_per_50k_epoch']:>9.1f} "
            f"{r['train_images_per_s']:>8.0f} {r['inference_images_per_s']:>8.0f} "
            f"{r['train_gflops_per_image']:>7.3f} {r['achieved_tflops']:>8.3f} "
            f"{r['percent_of_peak']:>6.1f} {f'{speedup:.2f}x' if speedup else '-':>6}"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--models", nargs="+", help="zoo model names (default: every model)")
    add(
        "--precision",
        nargs="+",
        choices=sorted(PEAK_DTYPES),
        help="Keras dtype policies (default: float32 and mixed_bfloat16 on an accelerator or a "
        "CPU with bfloat16 instructions, else float32)",
    )
    add("--images", type=int, default=512, help="images per epoch, rounded up to whole batches")
    add("--epochs", type=int, default=2, help="epochs, the first (compiling) reported apart")
    add("--steps-per-execution", type=int, default=1, help="training steps per compiled call")
    add("--inference-batch-size", type=int, default=1024, help="batch size of model.predict")
    add("--inference-repeats", type=int, default=2, help="timed predict calls (median)")
    add("--peak-sizes", type=int, nargs="+", default=[2048, 4096], help="square matmul sizes")
    add("--peak-trials", type=int, default=3, help="timed matmul trials per size")
    add("--peak-seconds", type=float, default=1.0, help="length of one matmul trial")
    add("--json", type=Path, help="write the full numbers there (rewritten after each model)")
    add("--note", help="free text stored in the JSON, e.g. that the machine was shared")
    for action in parser._actions:
        if action.default not in (None, argparse.SUPPRESS) and action.help:
            action.help += f" (default: {action.default})"
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2: the first epoch only compiles.")
    for option in ("images", "steps_per_execution", "inference_batch_size", "inference_repeats"):
        if getattr(args, option) < 1:
            raise SystemExit(f"--{option.replace('_', '-')} must be a positive integer.")
    models = args.models or zoo.list_models()
    unknown = [m for m in models if m not in zoo.list_models()]
    if unknown:
        raise SystemExit(f"Unknown models {unknown}; choose from {zoo.list_models()}.")
    info = environment(args.note)
    precisions = args.precision or (
        ["float32", "mixed_bfloat16"] if info["accelerators"] or cpu_has_bfloat16() else ["float32"]
    )
    print(f"{info['backend']} on {info['device']}; measuring the matmul peak", file=sys.stderr)
    peaks = {
        dtype: measure_peak(dtype, args.peak_sizes, args.peak_trials, args.peak_seconds)
        for dtype in dict.fromkeys(["float32", "bfloat16", *(PEAK_DTYPES[p] for p in precisions)])
    }
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "note")}
    settings.update(models=models, precision=precisions)
    report = {"environment": info, "settings": settings, "peak": peaks, "results": []}
    failed = False
    for name in models:
        for precision in precisions:
            print(f"{name} {precision} ...", file=sys.stderr, flush=True)
            try:
                record = measure(name, precision, args, peaks)
            except Exception as error:  # record it and go on: one OOM must not end the run
                failed = True
                record = {"model": name, "precision": precision, "error": repr(error)[:500]}
                keras.backend.clear_session()
            report["results"].append(record)
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    peak_text = ", ".join(f"{k} {v['tflops']:.3f}" for k, v in peaks.items())
    print(
        f"\n{info['backend']} (Keras {info['versions']['keras']}) on {info['device']}, "
        f"{info['date']}; measured matmul peak TFLOP/s: {peak_text}"
        + (f"; JSON: {args.json}" if args.json else "")
    )
    print(table(report["results"]), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
