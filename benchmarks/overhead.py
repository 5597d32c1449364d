"""What ``fit_cifar10`` costs over a plain hand-written ``model.fit`` doing the same work.

Both sides train the same zoo model on the same images with the same augmentation layer,
preprocessing (baked into the model), optimizer, learning-rate schedule, loss and batch size;
the plain side builds the training wrapper by hand and uses Keras's own
``PiecewiseConstantDecay``.

On a shared machine the speed of whole runs drifts by far more than the few percent to be
measured, so the two trainings run in one process, each in its own thread, and take turns
epoch by epoch (plain, helper, plain, helper, ...): every helper epoch is timed next to a
plain one, and only one side computes at a time. The first epoch of each side (tracing and
compilation) is left out. Wall time gives images per second; process CPU time, which other
processes' load touches less (with ``--threads 1`` hardly at all), is reported next to it,
and so is the time each side spends before its first epoch (checks, model building).

    python benchmarks/overhead.py --model simple_cnn --recipe article_002 --images 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

import keras_cifar_zoo as zoo
from keras_cifar_zoo.training.augment import RandomAugment

SIDES = ("plain", "helper")


class Turns:
    """Lets the two trainings run one epoch at a time, alternately."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._turn: str | None = None  # nobody trains until both are built
        self.ready = threading.Event()

    def wait_for(self, side: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._turn in (side, "anyone"))

    def give(self, side: str) -> None:
        with self._cond:
            self._turn = side
            self._cond.notify_all()


class EpochClock(keras.callbacks.Callback):
    """Waits for its side's turn at each epoch, times the epoch, then hands over."""

    def __init__(self, side: str, turns: Turns, last: bool) -> None:
        super().__init__()
        self.side, self.turns, self.last = side, turns, last
        self.other = SIDES[1 - SIDES.index(side)]
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.call_wall = self.call_cpu = self.setup_wall = self.setup_cpu = 0.0

    def called(self) -> None:
        """Marks the start of the side's call, to time what happens before training."""
        self.call_wall, self.call_cpu = time.perf_counter(), time.process_time()

    def on_train_begin(self, logs=None):
        self.setup_wall = time.perf_counter() - self.call_wall
        self.setup_cpu = time.process_time() - self.call_cpu
        if self.last:
            self.turns.give(SIDES[0])  # both built: the first side starts
        else:
            self.turns.ready.set()  # let the other side build now

    def on_epoch_begin(self, epoch, logs=None):
        self.turns.wait_for(self.side)
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)
        print(
            f"{self.side:6} epoch {epoch}: {self.wall[-1]:6.2f} s wall, {self.cpu[-1]:6.2f} s CPU",
            flush=True,
        )
        self.turns.give(self.other)

    def on_train_end(self, logs=None):
        self.turns.give("anyone")  # never leave the other side waiting


def plain_fit(name, recipe, x, y, *, epochs, batch_size, seed, clock):
    """What a user would write with Keras alone: wrapper, optimizer, schedule, fit."""
    model = zoo.load_model(name)
    inputs = keras.Input(shape=x.shape[1:])
    h = inputs
    aug = recipe.augmentation
    if aug.enabled:
        h = RandomAugment(
            aug.horizontal_flip, aug.shift, aug.rotation_degrees, aug.fill_mode, aug.fill_value,
            seed=seed,
        )(h)  # fmt: skip
    train = keras.Model(inputs, model(h))
    steps = -(-len(x) // batch_size)
    rate = recipe.schedule.values[0]
    if recipe.schedule.boundaries:
        rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            [b * steps for b in recipe.schedule.boundaries], list(recipe.schedule.values)
        )
    optimizer = getattr(keras.optimizers, recipe.optimizer)(
        learning_rate=rate, **recipe.optimizer_config
    )
    train.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    train.fit(
        x,
        keras.utils.to_categorical(y, 10),
        batch_size=batch_size,
        epochs=epochs,
        callbacks=[clock],
        verbose=0,
    )


def helper_fit(name, recipe, x, y, *, epochs, batch_size, seed, clock):
    zoo.fit_cifar10(
        name,
        recipe=recipe,
        epochs=epochs,
        batch_size=batch_size,
        data=(x, y),
        callbacks=[clock],
        seed=seed,
        verbose=0,
    )


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="simple_cnn")
    parser.add_argument("--recipe", default="article_002", help="a piecewise-schedule recipe")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--epochs", type=int, default=11, help="per side; the first is left out")
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow intra- and inter-op threads (1 makes CPU time a steadier measure on "
        "a machine shared with other jobs)",
    )
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    if args.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    recipe = zoo.get_recipe(args.recipe)
    if recipe.schedule.kind != "piecewise" or recipe.schedule.inverse_time_decay:
        raise SystemExit(f"pick a recipe with a plain piecewise schedule, not {recipe.name}")
    batch_size = args.batch_size or recipe.batch_size
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.images)
    keras.utils.set_random_seed(0)

    turns = Turns()
    clocks = {side: EpochClock(side, turns, last=side == SIDES[1]) for side in SIDES}
    runs = {"plain": plain_fit, "helper": helper_fit}
    errors: list[BaseException] = []

    def train(side: str) -> None:
        try:
            clocks[side].called()
            runs[side](
                args.model, recipe, x, y, epochs=args.epochs, batch_size=batch_size, seed=0,
                clock=clocks[side],
            )  # fmt: skip
        except BaseException as exc:
            errors.append(exc)
            turns.ready.set()
            turns.give("anyone")

    # Built one after the other (Keras's global state is not made for parallel building),
    # trained in turns.
    threads = {side: threading.Thread(target=train, args=(side,)) for side in SIDES}
    threads["plain"].start()
    turns.ready.wait()
    threads["helper"].start()
    for thread in threads.values():
        thread.join()
    if errors:
        raise errors[0]

    wall = {side: clocks[side].wall[1:] for side in SIDES}
    cpu = {side: clocks[side].cpu[1:] for side in SIDES}
    speed = {side: args.images / statistics.median(wall[side]) for side in SIDES}
    cpu_speed = {side: args.images / statistics.median(cpu[side]) for side in SIDES}
    pairs = [p / h for p, h in zip(wall["plain"], wall["helper"], strict=True)]
    cpu_pairs = [p / h for p, h in zip(cpu["plain"], cpu["helper"], strict=True)]
    info = {
        "model": args.model,
        "recipe": recipe.name,
        "images": args.images,
        "batch_size": batch_size,
        "timed_epochs_per_side": args.epochs - 1,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "machine": _cpu_name(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "images_per_s": speed,
        "images_per_cpu_s": cpu_speed,
        "ratio": speed["helper"] / speed["plain"],
        "cpu_ratio": cpu_speed["helper"] / cpu_speed["plain"],
        "pair_ratios": pairs,
        "cpu_pair_ratios": cpu_pairs,
        "threads": args.threads,
        "first_epoch_s": {side: clocks[side].wall[0] for side in SIDES},
        "setup_s": {side: clocks[side].setup_wall for side in SIDES},
        "setup_cpu_s": {side: clocks[side].setup_cpu for side in SIDES},
        "wall_s": wall,
        "cpu_s": cpu,
    }
    print(
        f"\n{args.model} / {recipe.name}, {args.images} images, batch {batch_size}, "
        f"{args.epochs - 1} timed epochs per side, backend {info['backend']}, "
        f"{info['cpus']} CPUs ({info['machine']})"
    )
    print(f"{'':16} {'images/s':>10} {'images/CPU-s':>13} {'setup s':>8} {'setup CPU s':>12}")
    for side, label in (("plain", "plain model.fit"), ("helper", "fit_cifar10")):
        print(
            f"{label:16} {speed[side]:10.1f} {cpu_speed[side]:13.1f} "
            f"{clocks[side].setup_wall:8.2f} {clocks[side].setup_cpu:12.2f}"
        )
    print(
        f"ratio helper/plain: wall {info['ratio']:.4f} (median of pairs "
        f"{statistics.median(pairs):.4f}), CPU {info['cpu_ratio']:.4f} (median of pairs "
        f"{statistics.median(cpu_pairs):.4f}); helper cost = 1 - ratio"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=2)


if __name__ == "__main__":
    main()
