"""Time to 94%: wall time of ``fit_cifar10`` and the final test accuracy over several seeds.

For each seed the model is trained from scratch with its recipe (``resnet9`` with
``fast_resnet9`` by default, any ``--model`` and ``--recipe``) on the 50,000 training
images, then measured by the package's ``evaluate`` on the 10,000 test images (the final
epoch: no selection on the test set), once on single views and, with ``--tta``, once more
with test-time augmentation; the target is judged on the latter (airbench94 reports its 94%
with ``--tta flip_translate``).

Timing, reported apart: ``data_loading_s`` reads the dataset (once); ``setup_s`` runs from
the ``fit_cifar10`` call to the first training step (checks, building the training model,
data-dependent initialisation such as airbench94's whitening filters); ``training_s`` runs
from the start of the first training step to the end of training, less the compilation,
reported as ``compile_s`` (the first step's time minus one steady step); ``evaluation_s`` and
``tta_evaluation_s`` time each ``evaluate`` call (its tracing included). JAX dispatches
asynchronously, so the clock waits for the device at the first step and at every epoch end.
Throughput: training images per second over ``training_s``, and the FLOPs they imply
(``keras_cifar_zoo.profiling.count_flops``) as a share of the bfloat16 matmul peak that
``benchmarks/throughput.py``'s ``measure_peak`` finds on this device. The peak is measured
before the first seed and again after every seed, and each seed records the two beside it: a
shared virtual machine's speed can change more than twofold within an hour, and a seed
trained in a slow spell shows as one between two low peaks. The share of the peak is taken
of the best one measured in the run.

Prints a table last and writes every number as JSON; ``docs/benchmarks.md`` is generated from
the JSON files in ``benchmarks/results/``.

    KERAS_BACKEND=jax python benchmarks/time_to_94.py --model airbench94 --seeds 0 1 2 3 4 \\
        --tta flip_translate --json benchmarks/results/time-to-94-airbench94-h100-DATE.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import keras


class TrainingClock(keras.callbacks.Callback):
    """Times training from its first step, separating the first step (compilation)."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.first_step_end = self.end = 0.0
        self.epoch_times: list[float] = []
        self.steps_per_epoch = 0

    @staticmethod
    def _wait(logs: dict | None) -> None:
        if logs and "loss" in logs:  # a host copy waits for the device
            float(keras.ops.convert_to_numpy(logs["loss"]))

    def on_train_begin(self, logs=None):
        self.steps_per_epoch = int(self.params.get("steps") or 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        if not self.start:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.first_step_end:
            self._wait(logs)
            self.first_step_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._wait(logs)
        self.epoch_times.append(time.perf_counter() - self._epoch_start)

    def on_train_end(self, logs=None):
        self.end = time.perf_counter()

    def summary(self) -> dict[str, float]:
        """Wall time split into compilation and training (seconds)."""
        later = self.epoch_times[1:] or self.epoch_times
        step = statistics.median(later) / max(self.steps_per_epoch, 1)
        compile_s = max(self.first_step_end - self.start - step, 0.0)
        total = self.end - self.start
        return {
            "training_s": total - compile_s,
            "compile_s": compile_s,
            "wall_s_with_compile": total,
            "steady_epoch_s": statistics.median(later),
            "epoch_s": self.epoch_times,
        }


def device_name() -> str:
    """The accelerator (JAX device kind, torch CUDA name) or the CPU model."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{device.device_kind} (JAX {device.platform})"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPUs"


def run_context(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Data, device, software and date of a benchmark run, for its JSON report."""
    from keras_cifar_zoo.data import DATA_ENV, describe_copy

    folder = data_dir or os.environ.get(DATA_ENV)
    return {
        "data": describe_copy(folder, "train") if folder else "CIFAR-10 (Keras's copy)",
        "device": device_name(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def run_seed(
    args: argparse.Namespace, seed: int, train: tuple, test: tuple, recipe: Any
) -> dict[str, Any]:
    """Trains and evaluates one seed; returns its record (seconds, accuracies, throughput)."""
    import keras_cifar_zoo as zoo
    from keras_cifar_zoo.profiling import count_flops

    keras.backend.clear_session()
    keras.config.set_dtype_policy(args.precision)
    try:
        model = zoo.load_model(args.model)
        clock = TrainingClock()
        callbacks = [clock]
        if args.save_dir:  # the per-epoch log publish --training-log takes
            log = Path(args.save_dir) / f"{args.model}-seed{seed}.history.csv"
            log.parent.mkdir(parents=True, exist_ok=True)
            callbacks.append(keras.callbacks.CSVLogger(str(log)))
        called = time.perf_counter()
        history = zoo.fit_cifar10(
            model,
            recipe=recipe,
            epochs=args.epochs,
            data=train,
            seed=seed,
            callbacks=callbacks,
            verbose=0,
            steps_per_execution=args.steps_per_execution,
        )
    finally:
        keras.config.set_dtype_policy("float32")
    start = time.perf_counter()
    single = zoo.evaluate(history.model, data=test)
    evaluation_s = time.perf_counter() - start
    record = {
        "seed": seed,
        "single_view_accuracy": single["accuracy"],
        "single_view_loss": single["loss"],
        "final_train_accuracy": history.history["accuracy"][-1],
        "setup_s": clock.start - called,
        **clock.summary(),
        "evaluation_s": evaluation_s,
    }
    if args.tta != "none":
        start = time.perf_counter()
        augmented = zoo.evaluate(history.model, data=test, tta=args.tta)
        record["tta_evaluation_s"] = time.perf_counter() - start
        record["tta_accuracy"] = augmented["accuracy"]
        record["tta_loss"] = augmented["loss"]
    record["test_accuracy"] = record.get("tta_accuracy", single["accuracy"])
    record["test_loss"] = record.get("tta_loss", single["loss"])
    images = args.epochs * len(train[0])
    record["train_images_per_s"] = images / record["training_s"]
    record["train_gflops_per_image"] = count_flops(history.model).training_step / 1e9
    record["achieved_tflops"] = (
        record["train_images_per_s"] * record["train_gflops_per_image"] / 1e3
    )
    if args.save_dir:
        weights = Path(args.save_dir) / f"{args.model}-seed{seed}.weights.h5"
        save_weights(history.model, weights)
        if not args.override:  # an overridden recipe is not the one publish would record
            write_run_record(args, seed, recipe, record, train, test, weights)
    return record


def _measure_peak(args: argparse.Namespace) -> dict[str, Any]:
    """The bfloat16 matmul peak now (``benchmarks/throughput.py``'s ``measure_peak``)."""
    print("measuring the bfloat16 matmul peak", file=sys.stderr, flush=True)
    return _throughput_module().measure_peak(
        "bfloat16", args.peak_sizes, args.peak_trials, args.peak_seconds
    )


def write_run_record(
    args: argparse.Namespace,
    seed: int,
    recipe: Any,
    record: dict[str, Any],
    train: tuple,
    test: tuple,
    weights: Path,
) -> None:
    """Writes ``<model>-seed<N>.metrics.json`` beside the seed's weights: how it trained and
    its single-view test accuracy, for ``keras-cifar-zoo publish --run-info`` (and
    ``--seed-run`` for the other seeds)."""
    from keras_cifar_zoo.data import DATA_ENV, describe_copy
    from keras_cifar_zoo.training import run_record

    folder = args.data_dir or os.environ.get(DATA_ENV)
    subset = len(train[0]) < 50_000
    run = run_record.RunRecord(
        model=args.model,
        recipe=recipe.name,
        seed=seed,
        epochs=args.epochs,
        batch_size=recipe.batch_size,
        train_images=len(train[0]) if subset else None,
        precision=args.precision,
        measurement=run_record.Measurement(
            record["single_view_accuracy"], record["single_view_loss"], len(test[0])
        ),
        wall_time_s=record["training_s"],
        data=describe_copy(folder, "test") if folder else None,
        training_data=describe_copy(folder, "train") if folder else None,
        **run_record.environment(),  # hardware, backend, Keras version and date, as plans record
    )
    run_record.write(run, weights.with_name(weights.name.replace(".weights.h5", ".metrics.json")))


def save_weights(model: keras.Model, path: Path) -> None:
    """Saves float16 weights (half the bytes: 13 MB for resnet9); ``keras-cifar-zoo publish``
    measures them again before publishing."""
    from keras_cifar_zoo.weights.storage import cast_weights_file

    path.parent.mkdir(parents=True, exist_ok=True)
    float32 = path.with_name(path.name.replace(".weights.h5", ".float32.weights.h5"))
    model.save_weights(float32)
    cast_weights_file(float32, path, "float16")
    float32.unlink()


def spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def apply_overrides(recipe: Any, overrides: list[str]) -> Any:
    """The recipe with ``FIELD=JSON`` changes: a top-level field (``epochs=8``), or one key of
    its optimizer configuration, augmentation or schedule (``optimizer_config.use_ema=true``,
    ``augmentation.horizontal_flip=false``, ``schedule.values=[0.02,0.2,0]``: a batch of 512
    with the rate scaled); ``weight_averaging={}`` switches on lookahead averaging with its
    default fields (``null`` switches it off); for A/B comparisons."""
    import dataclasses

    from keras_cifar_zoo import WeightAveraging

    changes: dict[str, Any] = {}
    nested = {"optimizer_config": dict(recipe.optimizer_config), "augmentation": {}, "schedule": {}}
    fields = {f.name for f in dataclasses.fields(recipe)}
    for item in overrides:
        key, sep, text = item.partition("=")
        head, dot, tail = key.partition(".")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            sep = ""
        if not sep or (dot and head not in nested) or (not dot and key not in fields):
            raise SystemExit(
                f"--override takes FIELD=JSON with a Recipe field, optimizer_config.KEY, "
                f"augmentation.FIELD or schedule.FIELD, e.g. optimizer_config.use_ema=true. "
                f"Received: {item!r}"
            )
        if dot:
            # JSON lists are the tuples of a schedule's values and boundaries
            nested[head][tail] = tuple(value) if isinstance(value, list) else value
        elif key == "weight_averaging" and isinstance(value, dict):
            try:
                changes[key] = WeightAveraging(**value)
            except TypeError as error:  # an unknown field
                raise SystemExit(f"--override {item!r}: {error}") from None
        else:
            changes[key] = value
    return dataclasses.replace(
        recipe,
        optimizer_config=nested["optimizer_config"],
        augmentation=dataclasses.replace(recipe.augmentation, **nested["augmentation"]),
        schedule=dataclasses.replace(recipe.schedule, **nested["schedule"]),
        **changes,
    )


def _throughput_module() -> Any:
    """benchmarks/throughput.py, beside this file (for its matmul peak)."""
    import importlib.util

    path = Path(__file__).resolve().parent / "throughput.py"
    spec = importlib.util.spec_from_file_location("throughput_for_time_to_94", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet9")
    parser.add_argument("--recipe", help="default: the model's recipe")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="change one recipe setting, e.g. optimizer_config.use_ema=true (repeatable)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument(
        "--tta",
        choices=["none", "flip", "flip_translate"],
        default="none",
        help="test-time augmentation the target is judged on (single views are reported too)",
    )
    parser.add_argument("--target", type=float, default=0.94)
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py/")
    parser.add_argument(
        "--train-images", type=int, help="use the first N training images (quick checks only)"
    )
    parser.add_argument(
        "--test-images", type=int, help="use the first N test images (quick checks only)"
    )
    parser.add_argument("--peak-sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--peak-trials", type=int, default=3)
    parser.add_argument("--peak-seconds", type=float, default=1.0)
    parser.add_argument(
        "--no-peak", action="store_true", help="skip the bfloat16 matmul peak (no %% of peak)"
    )
    parser.add_argument(
        "--save-dir",
        help="also save each seed's float16 weights here, with its per-epoch history.csv and "
        "a metrics.json for 'keras-cifar-zoo publish' (no metrics.json when --override "
        "changed the recipe)",
    )
    parser.add_argument("--json", help="write every number here")
    return parser


ROWS = (
    ("test accuracy", "accuracy", ".4f"),
    ("single-view acc", "single_view_accuracy", ".4f"),
    ("TTA accuracy", "tta_accuracy", ".4f"),
    ("training s", "training_s", ".2f"),
    ("compile s", "compile_s", ".2f"),
    ("setup s", "setup_s", ".2f"),
    ("evaluation s", "evaluation_s", ".2f"),
    ("TTA eval s", "tta_evaluation_s", ".2f"),
    ("train images/s", "train_images_per_s", ".0f"),
    ("% of bf16 peak", "percent_of_peak", ".2f"),
)
"""Printed rows: label, report key, format."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    import keras_cifar_zoo as zoo

    recipe = apply_overrides(zoo.get_recipe(args.recipe or args.model), args.override)
    args.epochs = args.epochs or recipe.epochs
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = zoo.load_cifar10(args.data_dir)
    data_loading_s = time.perf_counter() - start
    train = (x_train[: args.train_images], y_train[: args.train_images])
    test = (x_test[: args.test_images], y_test[: args.test_images])
    full = len(train[0]) == 50_000 and len(test[0]) == 10_000
    peaks = [] if args.no_peak else [_measure_peak(args)]  # before the first seed, then after each

    runs = []
    for seed in args.seeds:
        runs.append(run_seed(args, seed, train, test, recipe))
        r = runs[-1]
        if peaks:
            peaks.append(_measure_peak(args))
            r["peak_tflops_before"], r["peak_tflops_after"] = (p["tflops"] for p in peaks[-2:])
        print(
            f"seed {seed}: test accuracy {r['test_accuracy']:.4f} (single view "
            f"{r['single_view_accuracy']:.4f}), training {r['training_s']:.2f} s + compile "
            f"{r['compile_s']:.2f} s",
            flush=True,
        )
    args.peak = max(peaks, key=lambda p: p["tflops"]) if peaks else None
    if args.peak is not None:
        for r in runs:
            r["percent_of_peak"] = 100 * r["achieved_tflops"] / args.peak["tflops"]
    report = {
        "benchmark": "time_to_94",
        "model": args.model,
        "recipe": recipe.name,
        "recipe_overrides": args.override,
        "recipe_settings": recipe.to_config(),
        "epochs": args.epochs,
        "batch_size": recipe.batch_size,
        "precision": args.precision,
        "steps_per_execution": args.steps_per_execution,
        "tta": args.tta,
        "target": args.target,
        "seeds": args.seeds,
        "train_images": len(train[0]),
        "test_images": len(test[0]),
        "full_dataset": full,
        **run_context(args.data_dir),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "data_loading_s": data_loading_s,
        "peak": None if args.peak is None else {"dtype": "bfloat16", **args.peak},
        "peaks_measured_tflops": [p["tflops"] for p in peaks],
        "accuracy": spread([r["test_accuracy"] for r in runs]),
    }
    for _, key, _ in ROWS[1:]:
        if key in runs[0]:
            report[key] = spread([r[key] for r in runs])
    report["train_gflops_per_image"] = runs[0]["train_gflops_per_image"]
    report["reached_target"] = sum(r["test_accuracy"] >= args.target for r in runs)
    report["runs"] = runs
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    peak = ""
    if args.peak is not None:
        low = min(p["tflops"] for p in peaks)
        peak = f", bfloat16 peak {args.peak['tflops']:.2f} TFLOP/s (lowest measured {low:.2f})"
    print(
        f"\n{args.model} / {recipe.name}, {args.epochs} epochs, {args.precision}, "
        f"{len(args.seeds)} seeds, {len(train[0])} train / {len(test[0])} test images, TTA "
        f"{args.tta}, {report['device']}, {report['backend']}; data loading "
        f"{data_loading_s:.2f} s{peak}"
    )
    print(f"{'':16} {'mean':>9} {'std':>9} {'min':>9} {'max':>9}")
    for label, key, fmt in ROWS:
        if key in report:
            values = report[key]
            cells = " ".join(f"{values[k]:>9{fmt}}" for k in ("mean", "std", "min", "max"))
            print(f"{label:16} {cells}")
    print(f"seeds at or above {args.target:.2%}: {report['reached_target']} of {len(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
