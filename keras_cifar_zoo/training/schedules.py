"""The learning-rate schedule object built from a recipe's :class:`Schedule`.

It runs on the optimizer's step counter, so a resumed run (which restores the optimizer's
iterations) continues on exactly the same schedule.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_cifar_zoo.training.recipes import Schedule


@keras.saving.register_keras_serializable(package="keras_cifar_zoo")
class RecipeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Piecewise-by-epoch or one-cycle learning rate, with optional Keras 2 time decay.

    Args:
        kind: ``"piecewise"`` or ``"onecycle"`` (see :class:`Schedule`).
        values: Learning rates.
        boundaries: Epochs where a piecewise schedule switches.
        warmup_fraction: Warm-up share of a one-cycle schedule.
        inverse_time_decay: Divide the rate by ``1 + decay * step``.
        steps_per_epoch: Optimizer steps in one epoch.
        epochs: Length of the run (one-cycle needs it).
    """

    def __init__(
        self,
        kind: str,
        values: tuple[float, ...],
        boundaries: tuple[int, ...] = (),
        warmup_fraction: float = 0.0,
        inverse_time_decay: float = 0.0,
        steps_per_epoch: int = 1,
        epochs: int = 1,
    ) -> None:
        self.kind = kind
        self.values = tuple(float(v) for v in values)
        self.boundaries = tuple(int(b) for b in boundaries)
        self.warmup_fraction = float(warmup_fraction)
        self.inverse_time_decay = float(inverse_time_decay)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)

    @classmethod
    def from_recipe(
        cls, schedule: Schedule, *, steps_per_epoch: int, epochs: int
    ) -> RecipeSchedule:
        """Builds the schedule of a recipe for a given number of steps per epoch."""
        return cls(
            kind=schedule.kind,
            values=schedule.values,
            boundaries=schedule.boundaries,
            warmup_fraction=schedule.warmup_fraction,
            inverse_time_decay=schedule.inverse_time_decay,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
        )

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        if self.kind == "piecewise":
            lr = ops.convert_to_tensor(self.values[0], "float32")
            for boundary, value in zip(self.boundaries, self.values[1:], strict=True):
                lr = ops.where(step >= boundary * self.steps_per_epoch, value, lr)
        else:
            start, peak, end = self.values
            total = float(self.epochs * self.steps_per_epoch)
            warmup = max(self.warmup_fraction * total, 1.0)
            rising = start + (peak - start) * step / warmup
            falling = peak + (end - peak) * ops.minimum(
                (step - warmup) / max(total - warmup, 1.0), 1.0
            )
            lr = ops.where(step < warmup, rising, falling)
        if self.inverse_time_decay:
            lr = lr / (1.0 + self.inverse_time_decay * step)
        return lr

    def get_config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "values": list(self.values),
            "boundaries": list(self.boundaries),
            "warmup_fraction": self.warmup_fraction,
            "inverse_time_decay": self.inverse_time_decay,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
        }
