"""Training runs in a process of their own, for the tests that kill them or fill their disk.

``python tests/helpers/training_worker.py MODE FOLDER`` with MODE:

- ``hold-fit``: trains :func:`train` in FOLDER, prints ``ready`` once epoch 1 is checkpointed,
  then waits in epoch 2 until killed;
- ``fill-disk``: trains the wide model in FOLDER, fills the disk once epoch 1 is
  checkpointed, and prints what epoch 2's checkpoint raised;
- ``hold-plan``: runs :func:`plan_jobs` in FOLDER, its first epoch :data:`SLOW_EPOCH` seconds
  long, prints ``ready`` once that epoch is checkpointed, then waits until killed.

The tests run the same functions in their own process to resume what the worker left.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

IMAGES = 32
WIDE = 8000  # about 0.9 MB of checkpoint state: a write HDF5 cannot finish on the full disk
LEFT_FREE = 300_000
SLOW_EPOCH = 3.0


def data(images: int = IMAGES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8)
    return x, np.arange(images) % 10


def model(name: str = "tiny", width: int = 0) -> keras.Model:
    inputs = keras.Input((32, 32, 3), name="images")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
    if width:
        x = keras.layers.Dense(width, name="wide")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def train(folder: Path, *, name: str = "tiny", seed: int = 0, width: int = 0, callbacks=()):
    """Two epochs of a tiny model, 4 steps each, checkpointed in ``folder``."""
    from helpers.tiny_training import tiny_recipe
    from keras_cifar_zoo import fit_cifar10
    from keras_cifar_zoo.preprocessing import RESCALE_0_1

    return fit_cifar10(
        model(name, width),
        data=data(),
        recipe=tiny_recipe(),
        checkpoint_dir=folder,
        seed=seed,
        verbose=0,
        preprocessing=RESCALE_0_1,
        callbacks=list(callbacks),
    )


def plan_jobs():
    from keras_cifar_zoo.training.plan import parse_plan

    return parse_plan([{"model": "simple_cnn", "recipe": "article_001", "epochs": 2}])


def plan_data():
    x, y = data(64)
    return (x, y), (x[:16], y[:16])


class _Ready(keras.callbacks.Callback):
    """Says ``ready`` when epoch 2 begins (epoch 1 is checkpointed by then), then acts."""

    def __init__(self, then) -> None:
        super().__init__()
        self.then = then

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == 1:
            self.then()


def _ready_and_wait() -> None:
    print("ready", flush=True)
    time.sleep(600)


def _fill(folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    (folder.parent / "filler").write_bytes(bytes(max(0, free - LEFT_FREE)))


def main(mode: str, folder: Path) -> None:
    if mode == "hold-fit":
        train(folder, callbacks=[_Ready(_ready_and_wait)])
    elif mode == "fill-disk":
        try:
            train(folder, width=WIDE, callbacks=[_Ready(lambda: _fill(folder))])
        except Exception as exc:
            print(f"raised {type(exc).__name__}: {exc}", flush=True)
        else:
            print("no error", flush=True)
    elif mode == "hold-plan":
        from keras_cifar_zoo.training import plan

        class Slow(plan._Deadline):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 1:
                    _ready_and_wait()
                super().on_epoch_begin(epoch, logs)

            def on_epoch_end(self, epoch, logs=None):
                time.sleep(SLOW_EPOCH)
                super().on_epoch_end(epoch, logs)

        plan._Deadline = Slow
        plan.run_plan(plan_jobs(), folder, data=plan_data(), verbose=0)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    # Run as a script, it imports the other helpers as the tests do: from the tests folder.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1], Path(sys.argv[2]))
