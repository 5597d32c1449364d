"""Time to 94%: wall time of ``fit_cifar10`` and the final test accuracy over several seeds.

For each seed the model is trained from scratch with its recipe (``resnet9`` with
``fast_resnet9`` by default) on the 50,000 training images, then measured by the package's
``evaluate`` on the 10,000 test images (the final epoch: no selection on the test set).

Timing: ``training_s`` runs from the start of the first training step to the end of
training, less the compilation, which is reported apart as ``compile_s`` (the first step's
time minus one steady step). Loading and checking the data, building the model and the
evaluation afterwards are outside both. JAX dispatches asynchronously, so the clock waits for
the device at the first step and at every epoch end.

Prints a table last and writes every number as JSON; ``docs/benchmarks.md`` is generated from
the JSON files in ``benchmarks/results/``.

    KERAS_BACKEND=jax python benchmarks/time_to_94.py --seeds 0 1 2 3 4 \\
        --precision mixed_bfloat16 --json benchmarks/results/time-to-94-h100-DATE.json
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


def run_seed(args: argparse.Namespace, seed: int, train: tuple, test: tuple) -> dict[str, Any]:
    import keras_cifar_zoo as zoo

    keras.backend.clear_session()
    keras.config.set_dtype_policy(args.precision)
    try:
        model = zoo.load_model(args.model)
        clock = TrainingClock()
        history = zoo.fit_cifar10(
            model,
            recipe=args.recipe,
            epochs=args.epochs,
            data=train,
            seed=seed,
            callbacks=[clock],
            verbose=0,
            steps_per_execution=args.steps_per_execution,
        )
    finally:
        keras.config.set_dtype_policy("float32")
    result = zoo.evaluate(history.model, data=test)
    if args.save_dir:
        save_weights(history.model, Path(args.save_dir) / f"{args.model}-seed{seed}.weights.h5")
    return {
        "seed": seed,
        "test_accuracy": result["accuracy"],
        "test_loss": result["loss"],
        "final_train_accuracy": history.history["accuracy"][-1],
        **clock.summary(),
    }


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet9")
    parser.add_argument("--recipe", help="default: the model's recipe")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--target", type=float, default=0.94)
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py/")
    parser.add_argument(
        "--train-images", type=int, help="use the first N training images (quick checks only)"
    )
    parser.add_argument(
        "--test-images", type=int, help="use the first N test images (quick checks only)"
    )
    parser.add_argument("--save-dir", help="also save each seed's weights here (float16)")
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args(argv)

    import keras_cifar_zoo as zoo

    recipe = zoo.get_recipe(args.recipe or args.model)
    args.recipe = recipe.name
    args.epochs = args.epochs or recipe.epochs
    (x_train, y_train), (x_test, y_test) = zoo.load_cifar10(args.data_dir)
    train = (x_train[: args.train_images], y_train[: args.train_images])
    test = (x_test[: args.test_images], y_test[: args.test_images])
    full = len(train[0]) == 50_000 and len(test[0]) == 10_000

    runs = []
    for seed in args.seeds:
        runs.append(run_seed(args, seed, train, test))
        r = runs[-1]
        print(
            f"seed {seed}: test accuracy {r['test_accuracy']:.4f}, training {r['training_s']:.2f} "
            f"s + compile {r['compile_s']:.2f} s",
            flush=True,
        )
    accuracy = spread([r["test_accuracy"] for r in runs])
    training = spread([r["training_s"] for r in runs])
    compile_s = spread([r["compile_s"] for r in runs])
    report = {
        "benchmark": "time_to_94",
        "model": args.model,
        "recipe": recipe.name,
        "epochs": args.epochs,
        "batch_size": recipe.batch_size,
        "precision": args.precision,
        "steps_per_execution": args.steps_per_execution,
        "target": args.target,
        "seeds": args.seeds,
        "train_images": len(train[0]),
        "test_images": len(test[0]),
        "full_dataset": full,
        **run_context(args.data_dir),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "accuracy": accuracy,
        "training_s": training,
        "compile_s": compile_s,
        "reached_target": sum(r["test_accuracy"] >= args.target for r in runs),
        "runs": runs,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"\n{args.model} / {recipe.name}, {args.epochs} epochs, {args.precision}, "
        f"{len(args.seeds)} seeds, {len(train[0])} train / {len(test[0])} test images, "
        f"{report['device']}, {report['backend']}"
    )
    print(f"{'':16} {'mean':>9} {'std':>9} {'min':>9} {'max':>9}")
    for label, values, fmt in (
        ("test accuracy", accuracy, ".4f"),
        ("training s", training, ".2f"),
        ("compile s", compile_s, ".2f"),
    ):
        cells = " ".join(f"{values[k]:>9{fmt}}" for k in ("mean", "std", "min", "max"))
        print(f"{label:16} {cells}")
    print(f"seeds at or above {args.target:.2%}: {report['reached_target']} of {len(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
