"""Training and inference throughput of zoo models with their recipes, through fit_cifar10.

Prints a table last and writes the full numbers as JSON. Run on the GPU machine with
KERAS_BACKEND=jax; works on any backend.

    python benchmarks/throughput.py --models resnet20_v1 vgg16_bn --precision float32 mixed_bfloat16 \
        --json throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import keras
import numpy as np


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def measure(name: str, precision: str, images: int, epochs: int, steps_per_execution: int) -> dict:
    import keras_cifar_zoo as zoo

    keras.config.set_dtype_policy(precision)
    try:
        recipe = zoo.get_recipe(name)
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(images, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, size=(images,))
        timer = _EpochTimer()
        zoo.fit_cifar10(
            name,
            recipe=recipe.name if recipe.initial_weights is None else "article_002",
            epochs=epochs,
            data=(x, y),
            validation_data=None,
            callbacks=[timer],
            verbose=0,
            steps_per_execution=steps_per_execution,
        )
        # epoch 1 includes compilation; the later ones are steady state
        steady = float(np.median(timer.times[1:]))
        model = zoo.load_model(name)
        model.predict(x[:4096], batch_size=1024, verbose=0)
        start = time.perf_counter()
        model.predict(x, batch_size=1024, verbose=0)
        infer = time.perf_counter() - start
    finally:
        keras.config.set_dtype_policy("float32")
    return {
        "model": name,
        "precision": precision,
        "recipe": recipe.name,
        "batch_size": recipe.batch_size,
        "images_per_epoch": images,
        "first_epoch_s": timer.times[0],
        "steady_epoch_s": steady,
        "train_images_per_s": images / steady,
        "seconds_per_50k_epoch": 50_000 / (images / steady),
        "inference_images_per_s": images / infer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--precision", nargs="+", default=["float32"])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for name in args.models:
        for precision in args.precision:
            row = measure(name, precision, args.images, args.epochs, args.steps_per_execution)
            rows.append(row)
            print(json.dumps(row), flush=True)
    info = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "devices": _devices(),
        "date": time.strftime("%Y-%m-%d"),
        "results": rows,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=2)
    print(
        f"\n{'model':22} {'precision':15} {'batch':>5} {'s/epoch(50k)':>12} {'train img/s':>12} {'infer img/s':>12}"
    )
    for r in rows:
        print(
            f"{r['model']:22} {r['precision']:15} {r['batch_size']:>5} {r['seconds_per_50k_epoch']:>12.2f} "
            f"{r['train_images_per_s']:>12.0f} {r['inference_images_per_s']:>12.0f}"
        )
    print(f"backend={info['backend']} keras={info['keras']} devices={info['devices']}")


def _devices() -> list[str]:
    if keras.backend.backend() == "jax":
        import jax

        return [d.device_kind for d in jax.devices()]
    return [platform.processor() or platform.machine()]


if __name__ == "__main__":
    main()
