"""A tiny batch geometry and recipe shared by the training tests (fast on any backend)."""

from __future__ import annotations

import dataclasses

from keras_cifar_zoo import Recipe, Schedule

IMAGES = 32
BATCH = 8
STEPS = IMAGES // BATCH


def tiny_recipe(**changes) -> Recipe:
    """Plain SGD at a fixed rate for two epochs of batch ``BATCH``; ``changes`` override it."""
    base = Recipe(
        name="tiny",
        article="000",
        description="A test recipe.",
        optimizer="SGD",
        optimizer_config={"momentum": 0.9},
        schedule=Schedule("piecewise", (0.01,)),
        epochs=2,
        batch_size=BATCH,
    )
    return dataclasses.replace(base, **changes)
