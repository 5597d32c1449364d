"""The record each family module declares per model variant; the registry is built from them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from keras_cifar_zoo.preprocessing import Preprocessing

# builder(x, config, *, num_classes, include_top, classifier_activation) -> output tensor
Builder = Callable[..., Any]

CLASSIFIER_LAYERS = ("predictions", "predictions_bn")
"""The classifier head every family names so: its shapes follow ``num_classes`` (loading
re-initialises it when the weights have another count) and a frozen-base recipe trains it
alone."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model variant: its builder and config, and the facts :class:`ModelInfo` shows.

    Attributes:
        name: Registry name.
        builder: The family's builder function.
        config: The family's frozen config record for this variant.
        family: Builder family (``"vgg"``, ``"resnet_v1"``, ``"cnn"``, ``"resnet9"``).
        article: Seed article the architecture comes from (``"000"`` ... ``"004"``, ``"zoo"``).
        description: What the architecture is, in one or two sentences.
        num_params: ``model.count_params()`` of the default build (checked by the tests).
        preprocessing: The preprocessing baked into the model.
        default_recipe: Training recipe ``fit_cifar10`` uses by default.
        min_input_size: Smallest height/width the pooling stages accept.
        imagenet_network: The Keras Applications network whose ImageNet weights match the
            convolutions, or None.
    """

    name: str
    builder: Builder
    config: Any
    family: str
    article: str
    description: str
    num_params: int
    preprocessing: Preprocessing
    default_recipe: str
    min_input_size: int
    imagenet_network: str | None = None
