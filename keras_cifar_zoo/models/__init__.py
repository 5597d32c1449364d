"""Model families. Each declares its variants as :class:`ModelSpec` records in ``MODELS``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keras_cifar_zoo.models import airbench, cnn, resnet9, resnet_v1, vgg
from keras_cifar_zoo.models.spec import ModelSpec

if TYPE_CHECKING:
    import keras
    import numpy as np

    from keras_cifar_zoo.preprocessing import Preprocessing

ALL_MODELS: tuple[ModelSpec, ...] = (
    *cnn.MODELS,
    *resnet_v1.MODELS,
    *vgg.MODELS,
    *resnet9.MODELS,
    *airbench.MODELS,
)
"""Every registered variant; :mod:`keras_cifar_zoo.registry` indexes them by name."""


def prepare_for_training(
    model: keras.Model, images: np.ndarray, preprocessing: Preprocessing | None = None
) -> None:
    """The set-up from training data that a model needs before its first step.

    Only airbench94 needs one (its whitening filters come from the training images'
    patches); every other model is left as it is. ``fit`` calls this once, before compiling.

    Args:
        model: The model about to be trained.
        images: The raw training images (N, H, W, 3).
        preprocessing: What the caller applies before a model without its own
            ``preprocessing`` layer, or None.
    """
    airbench.init_whitening(model, images, preprocessing)
