"""Plain CNN family: article 001's simple and BatchNorm CNNs and article 003's ELU CNN."""

from __future__ import annotations

import dataclasses
from typing import Any

from keras import layers, regularizers

from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE, RESCALE_0_1

MODELS: list[ModelSpec] = []
"""Every variant of this family, in registration order."""


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Architecture of one plain CNN.

    Attributes:
        blocks: Per block, the (filters, kernel_size) of each convolution; a 2x2 max pool and
            a dropout follow every block.
        block_dropout: Dropout rate after each block's pool.
        padding: Padding of the convolutions.
        activation: Activation after each convolution.
        batch_norm: ``None``, ``"before_activation"`` (conv-BN-act) or
            ``"after_activation"`` (conv-act-BN, article 003).
        dense: Widths of the hidden dense layers (each followed by activation, optional BN,
            then dropout).
        dense_batch_norm: BatchNormalization in the hidden dense layers.
        dense_dropout: Dropout rate after each hidden dense layer.
        weight_decay: L2 factor on every convolution kernel, or None.
    """

    blocks: tuple[tuple[tuple[int, int], ...], ...]
    block_dropout: tuple[float, ...]
    padding: str
    activation: str
    batch_norm: str | None
    dense: tuple[int, ...] = ()
    dense_batch_norm: bool = False
    dense_dropout: float = 0.0
    weight_decay: float | None = None


def build_cnn(
    x: Any,
    config: CNNConfig,
    *,
    num_classes: int,
    include_top: bool,
    classifier_activation: str | None = "softmax",
) -> Any:
    """Builds a plain CNN on tensor ``x``; returns the output tensor."""
    index = 0
    for b, (convs, rate) in enumerate(
        zip(config.blocks, config.block_dropout, strict=True), start=1
    ):
        for filters, kernel in convs:
            index += 1
            name = f"conv{index}"
            x = layers.Conv2D(
                filters,
                kernel,
                padding=config.padding,
                kernel_regularizer=(
                    regularizers.L2(config.weight_decay) if config.weight_decay else None
                ),
                name=name,
            )(x)
            if config.batch_norm == "before_activation":
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
            x = layers.Activation(config.activation, name=f"{name}_{config.activation}")(x)
            if config.batch_norm == "after_activation":
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(rate, name=f"block{b}_dropout")(x)
    if not include_top:
        return x
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(config.dense, start=1):
        name = f"fc{i}"
        x = layers.Dense(units, name=name)(x)
        if config.dense_batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.Activation(config.activation, name=f"{name}_{config.activation}")(x)
        x = layers.Dropout(config.dense_dropout, name=f"{name}_dropout")(x)
    # the classifier stays float32 under mixed precision for a stable softmax
    return layers.Dense(
        num_classes, activation=classifier_activation, name="predictions", dtype="float32"
    )(x)


MODELS.append(
    ModelSpec(
        name="simple_cnn",
        builder=build_cnn,
        config=CNNConfig(
            blocks=(((32, 3), (64, 3)),),
            block_dropout=(0.25,),
            padding="valid",
            activation="relu",
            batch_norm=None,
            dense=(128,),
            dense_dropout=0.5,
        ),
        family="cnn",
        article="001",
        description="Article 001's reference CNN: two valid 3x3 convs (32, 64), max pool, dropout "
        "0.25, Dense(128), dropout 0.5.",
        num_params=1_626_442,
        preprocessing=RESCALE_0_1,
        default_recipe="article_001",
        min_input_size=6,
    )
)

MODELS.append(
    ModelSpec(
        name="cnn_bn",
        builder=build_cnn,
        config=CNNConfig(
            blocks=(
                ((64, 3), (128, 3), (128, 3)),
                ((256, 2), (256, 2), (256, 2)),
                ((512, 2), (512, 2), (512, 2)),
            ),
            block_dropout=(0.25, 0.25, 0.25),
            padding="same",
            activation="relu",
            batch_norm="before_activation",
            dense=(1024,),
            dense_batch_norm=True,
            dense_dropout=0.5,
        ),
        family="cnn",
        article="001",
        description="Article 001's 'complex CNN': nine convs (64-128-128, 256x3 2x2, 512x3 "
        "2x2) with BatchNorm, three pools with dropout 0.25, Dense(1024)+BN, dropout 0.5.",
        num_params=11_916_810,
        preprocessing=RESCALE_0_1,
        default_recipe="article_001",
        min_input_size=8,
    )
)

MODELS.append(
    ModelSpec(
        name="elu_cnn",
        builder=build_cnn,
        config=CNNConfig(
            blocks=(((32, 3), (32, 3)), ((64, 3), (64, 3)), ((128, 3), (128, 3))),
            block_dropout=(0.2, 0.3, 0.4),
            padding="same",
            activation="elu",
            batch_norm="after_activation",
            weight_decay=1e-4,
        ),
        family="cnn",
        article="003",
        description="Article 003's six 3x3 convs 32-32-64-64-128-128 with ELU then BatchNorm, L2 "
        "1e-4, dropout 0.2/0.3/0.4 after the pools, Dense(10).",
        num_params=309_290,
        preprocessing=CIFAR10_ZSCORE,
        default_recipe="article_003",
        min_input_size=8,
    )
)
