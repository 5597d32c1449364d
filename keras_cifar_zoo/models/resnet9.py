"""The zoo's fast model: a ResNet-9 of the kind that holds the CIFAR-10 training-speed records.

Not from the seed articles. The layout follows David Page's DAWNBench ResNet-9 ("How to train
your ResNet", 2018): a 64-filter stem, three stages of 128, 256 and 512 filters, each a
conv-BN-ReLU followed by a 2x2 max pool, with a residual pair of conv-BN-ReLU after the first
and third stages, a global max pool and a bias-free classifier whose input is scaled by 1/8.
Convolutions have no bias (BatchNorm follows each), kernels start from PyTorch's default
initialisation (uniform within 1/sqrt(fan_in)), BatchNorm uses PyTorch's defaults
(momentum 0.1, epsilon 1e-5, which are Keras ``momentum=0.9``), and every kernel carries L2
``weight_decay / 2`` so that the gradient adds ``weight_decay * w``, as SGD's coupled weight
decay does in the reference.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras import layers, regularizers

from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.models.speedrun import scaled_max_pool_head, torch_default_initializer
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE

MODELS: list[ModelSpec] = []
"""Every variant of this family, in registration order."""


@dataclasses.dataclass(frozen=True)
class ResNet9Config:
    """Architecture of a ResNet-9.

    Attributes:
        stem_filters: Filters of the stem convolution.
        stage_filters: Filters of the three stages.
        residual_stages: Stages (1-based) followed by a residual pair of convolutions.
        logit_scale: Factor applied to the pooled features before the classifier.
        weight_decay: Coupled weight decay; kernels carry L2 of half this factor.
        bn_momentum: Keras BatchNormalization momentum.
        bn_epsilon: BatchNormalization epsilon.
    """

    stem_filters: int = 64
    stage_filters: tuple[int, int, int] = (128, 256, 512)
    residual_stages: tuple[int, ...] = (1, 3)
    logit_scale: float = 0.125
    weight_decay: float = 5e-4
    bn_momentum: float = 0.9
    bn_epsilon: float = 1e-5


def build_resnet9(
    x: Any,
    config: ResNet9Config,
    *,
    num_classes: int,
    include_top: bool,
    classifier_activation: str | None = "softmax",
) -> Any:
    """Builds a ResNet-9 on tensor ``x``; returns the output tensor."""
    l2 = regularizers.L2(config.weight_decay / 2)
    torch_default = torch_default_initializer()

    def conv_bn_relu(t: Any, filters: int, name: str) -> Any:
        t = layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer=torch_default,
            kernel_regularizer=l2,
            name=f"{name}_conv",
        )(t)
        t = layers.BatchNormalization(
            momentum=config.bn_momentum, epsilon=config.bn_epsilon, name=f"{name}_bn"
        )(t)
        return layers.Activation("relu", name=f"{name}_relu")(t)

    x = conv_bn_relu(x, config.stem_filters, "stem")
    for stage, filters in enumerate(config.stage_filters, start=1):
        x = conv_bn_relu(x, filters, f"stage{stage}")
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        if stage in config.residual_stages:
            y = conv_bn_relu(x, filters, f"stage{stage}_res1")
            y = conv_bn_relu(y, filters, f"stage{stage}_res2")
            x = layers.Add(name=f"stage{stage}_add")([x, y])
    if not include_top:
        return x
    return scaled_max_pool_head(
        x,
        logit_scale=config.logit_scale,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        kernel_regularizer=l2,
    )


MODELS.append(
    ModelSpec(
        name="resnet9",
        builder=build_resnet9,
        config=ResNet9Config(),
        family="resnet9",
        article="zoo",
        description="ResNet-9 after David Page's DAWNBench network (64-128-256-512 filters, "
        "residual pairs after stages 1 and 3, global max pool, logits scaled by 1/8): the zoo's "
        "fast model for time-to-94% training, not from the seed articles.",
        num_params=6_577_600,
        preprocessing=CIFAR10_ZSCORE,
        default_recipe="fast_resnet9",
        min_input_size=8,
    )
)
