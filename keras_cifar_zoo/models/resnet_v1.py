"""ResNet v1 for CIFAR-10 (He et al. 2015, 6n+2 layers) as in article 001 and its book.

Every block is conv-BN-ReLU, conv-BN, add, ReLU; the first block of stages 2 and 3 halves the
resolution and projects the shortcut with a 1x1 convolution (no BN).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras import layers, regularizers

from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.preprocessing import RESCALE_0_1

MODELS: list[ModelSpec] = []
"""Every variant of this family, in registration order."""


@dataclasses.dataclass(frozen=True)
class ResNetConfig:
    """Architecture of one ResNet v1 variant.

    Attributes:
        blocks_per_stage: n in 6n+2 (3 for ResNet-20, 8 for ResNet-50, 9 for ResNet-56).
        block_dropout: Dropout rate between the two convolutions of a block (0: none).
        head_dropout: Dropout rate after Flatten, before the classifier (0: none).
        base_filters: Filters of the stem and the first stage (doubled per stage).
        weight_decay: L2 factor on every convolution kernel.
    """

    blocks_per_stage: int
    block_dropout: float = 0.0
    head_dropout: float = 0.0
    base_filters: int = 16
    weight_decay: float = 1e-4


def build_resnet_v1(
    x: Any,
    config: ResNetConfig,
    *,
    num_classes: int,
    include_top: bool,
    classifier_activation: str | None = "softmax",
) -> Any:
    """Builds a CIFAR ResNet v1 on tensor ``x``; returns the output tensor."""

    def conv(t: Any, filters: int, name: str, kernel: int = 3, strides: int = 1) -> Any:
        return layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding="same",
            kernel_initializer="he_normal",
            kernel_regularizer=regularizers.L2(config.weight_decay),
            name=name,
        )(t)

    x = conv(x, config.base_filters, "stem_conv")
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    filters = config.base_filters
    for stage in range(1, 4):
        for block in range(1, config.blocks_per_stage + 1):
            prefix = f"stage{stage}_block{block}"
            strides = 2 if stage > 1 and block == 1 else 1
            y = conv(x, filters, f"{prefix}_conv1", strides=strides)
            y = layers.BatchNormalization(name=f"{prefix}_bn1")(y)
            y = layers.Activation("relu", name=f"{prefix}_relu1")(y)
            if config.block_dropout:
                y = layers.Dropout(config.block_dropout, name=f"{prefix}_dropout")(y)
            y = conv(y, filters, f"{prefix}_conv2")
            y = layers.BatchNormalization(name=f"{prefix}_bn2")(y)
            if strides != 1:
                x = conv(x, filters, f"{prefix}_shortcut", kernel=1, strides=strides)
            x = layers.Add(name=f"{prefix}_add")([x, y])
            x = layers.Activation("relu", name=f"{prefix}_out")(x)
        filters *= 2
    if not include_top:
        return x
    x = layers.AveragePooling2D(8, name="avg_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if config.head_dropout:
        x = layers.Dropout(config.head_dropout, name="head_dropout")(x)
    return layers.Dense(
        num_classes,
        activation=classifier_activation,
        kernel_initializer="he_normal",
        name="predictions",
        dtype="float32",  # stable softmax under mixed precision
    )(x)


_DROPOUT = "Dropout(0.3) between the convolutions of every block and Dropout(0.4) before the head"

for _name, _n, _params, _dropout, _article_note in (
    ("resnet20_v1", 3, 274_442, False, "as in the book article 001 follows"),
    (
        "resnet20_v1_dropout",
        3,
        274_442,
        True,
        "article 001's fix for training without augmentation",
    ),
    ("resnet50_v1", 8, 763_882, False, "article 001's deeper variant"),
    ("resnet50_v1_dropout", 8, 763_882, True, "article 001's deeper variant"),
    ("resnet56_v1", 9, 861_770, False, "the standard He et al. depth, same block as article 001"),
):
    MODELS.append(
        ModelSpec(
            name=_name,
            builder=build_resnet_v1,
            config=ResNetConfig(
                blocks_per_stage=_n,
                block_dropout=0.3 if _dropout else 0.0,
                head_dropout=0.4 if _dropout else 0.0,
            ),
            family="resnet_v1",
            article="001",
            description=f"ResNet-{6 * _n + 2} v1 (n={_n}), {_article_note}"
            + (f"; {_DROPOUT}." if _dropout else "."),
            num_params=_params,
            preprocessing=RESCALE_0_1,
            default_recipe="article_001",
            min_input_size=29,
        )
    )
