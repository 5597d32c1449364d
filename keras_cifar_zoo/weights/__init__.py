"""Weights for zoo models (ImageNet VGG by layer name, published CIFAR-10 checkpoints)."""

from __future__ import annotations

import os
from typing import Any

import keras

from keras_cifar_zoo.errors import InvalidTypeError, WeightsNotAvailableError


def available_weights(info: Any) -> tuple[str, ...]:
    """Returns the ``weights=`` values :func:`load_model` accepts for a model."""
    return ()


def load_weights_into(model: keras.Model, name: str, weights: Any, **options: Any) -> None:
    """Loads ``weights`` into ``model`` (built from registry entry ``name``)."""
    if not isinstance(weights, (str, os.PathLike)):
        raise InvalidTypeError(
            "weights must be None, 'imagenet', 'cifar10', 'cifar10:<tag>' or a path. "
            f"Received: weights={weights!r}"
        )
    raise WeightsNotAvailableError(
        f"Loading weights is not available yet in this version; build with weights=None. "
        f"Received: weights={weights!r}"
    )
