"""VGG family: articles 000 (VGG16 + BN), 002 (VGG A-E + BN, ImageNet init) and 004 (VGG-lite).

Layer names follow ``keras.applications`` (``block1_conv1`` ... ``block5_pool``, ``flatten``,
``fc1``, ``fc2``, ``predictions``) so that ImageNet weights load by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras import layers, regularizers

from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.preprocessing import IMAGENET_MEAN_RGB, RESCALE_0_1

MODELS: list[ModelSpec] = []
"""Every variant of this family, in registration order."""

# A conv is (filters, kernel_size); a block is a tuple of convs followed by a 2x2 max pool.
Conv = tuple[int, int]


def _block(*filters: int | Conv) -> tuple[Conv, ...]:
    return tuple(f if isinstance(f, tuple) else (f, 3) for f in filters)


CONFIGS = {
    "A": (_block(64), _block(128), _block(256, 256), _block(512, 512), _block(512, 512)),
    "B": (_block(64, 64), _block(128, 128), _block(256, 256), _block(512, 512), _block(512, 512)),
    "C": (
        _block(64, 64),
        _block(128, 128),
        _block(256, 256, (256, 1)),
        _block(512, 512, (512, 1)),
        _block(512, 512, (512, 1)),
    ),
    "D": (
        _block(64, 64),
        _block(128, 128),
        _block(256, 256, 256),
        _block(512, 512, 512),
        _block(512, 512, 512),
    ),
    "E": (
        _block(64, 64),
        _block(128, 128),
        _block(256, 256, 256, 256),
        _block(512, 512, 512, 512),
        _block(512, 512, 512, 512),
    ),
    "lite": (_block(64, 64), _block(128, 128), _block(256, 256)),
}


@dataclasses.dataclass(frozen=True)
class VGGConfig:
    """Architecture of one VGG variant.

    Attributes:
        blocks: Convolutions per block (see ``CONFIGS``).
        batch_norm: BatchNormalization after every convolution (before ReLU).
        pool_padding: Padding of the max-pooling layers.
        kernel_initializer: Initializer of every kernel.
        weight_decay: L2 factor on every kernel, or None.
        head: ``"plain"`` (fc1-fc2-predictions, 000), ``"bn_dropout"`` (fc + BN + ReLU +
            dropout twice, predictions + BN, 002) or ``"dropout"`` (dropout + predictions, 004).
        fc_units: Width of fc1 and fc2.
        dropout: Dropout rate of the head.
    """

    blocks: tuple[tuple[Conv, ...], ...]
    batch_norm: bool
    pool_padding: str
    kernel_initializer: str
    weight_decay: float | None
    head: str
    fc_units: int = 4096
    dropout: float = 0.5


def build_vgg(
    x: Any,
    config: VGGConfig,
    *,
    num_classes: int,
    include_top: bool,
    classifier_activation: str | None = "softmax",
) -> Any:
    """Builds a VGG on tensor ``x``; returns the output tensor."""

    def reg() -> Any:
        return regularizers.L2(config.weight_decay) if config.weight_decay else None

    def dense(units: int, name: str, activation: str | None = None) -> layers.Dense:
        return layers.Dense(
            units,
            activation=activation,
            kernel_initializer=config.kernel_initializer,
            kernel_regularizer=reg(),
            name=name,
            # the classifier stays float32 under mixed precision for a stable softmax
            dtype="float32" if name == "predictions" else None,
        )

    for b, convs in enumerate(config.blocks, start=1):
        for c, (filters, kernel) in enumerate(convs, start=1):
            name = f"block{b}_conv{c}"
            x = layers.Conv2D(
                filters,
                kernel,
                padding="same",
                activation=None if config.batch_norm else "relu",
                kernel_initializer=config.kernel_initializer,
                kernel_regularizer=reg(),
                name=name,
            )(x)
            if config.batch_norm:
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
                x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, strides=2, padding=config.pool_padding, name=f"block{b}_pool")(x)
    if not include_top:
        return x

    x = layers.Flatten(name="flatten")(x)
    if config.head == "plain":
        x = dense(config.fc_units, "fc1", "relu")(x)
        x = dense(config.fc_units, "fc2", "relu")(x)
        return dense(num_classes, "predictions", classifier_activation)(x)
    if config.head == "bn_dropout":
        for fc in ("fc1", "fc2"):
            x = dense(config.fc_units, fc)(x)
            x = layers.BatchNormalization(name=f"{fc}_bn")(x)
            x = layers.Activation("relu", name=f"{fc}_relu")(x)
            x = layers.Dropout(config.dropout, name=f"{fc}_dropout")(x)
        x = dense(num_classes, "predictions")(x)
        x = layers.BatchNormalization(name="predictions_bn", dtype="float32")(x)
        if classifier_activation is None:
            return x
        return layers.Activation(classifier_activation, name="softmax", dtype="float32")(x)
    if config.head == "dropout":
        x = layers.Dropout(config.dropout, name="head_dropout")(x)
        return dense(num_classes, "predictions", classifier_activation)(x)
    raise ValueError(f"Unknown VGG head {config.head!r}.")


def _article_002(cfg: str) -> VGGConfig:
    return VGGConfig(
        blocks=CONFIGS[cfg],
        batch_norm=True,
        pool_padding="valid",
        kernel_initializer="he_normal",
        weight_decay=1e-4,
        head="bn_dropout",
    )


_HEAD_002 = "fc 4096-BN-ReLU-dropout 0.5 twice, Dense + BN + softmax; he_normal, L2 1e-4"

MODELS.append(
    ModelSpec(
        name="vgg16_bn_plainhead",
        builder=build_vgg,
        config=VGGConfig(
            blocks=CONFIGS["D"],
            batch_norm=True,
            pool_padding="same",
            kernel_initializer="glorot_uniform",
            weight_decay=None,
            head="plain",
        ),
        family="vgg",
        article="000",
        description="VGG16 (config D) with BatchNorm after every conv; head fc 4096-4096 "
        "without BN or dropout (article 000).",
        num_params=33_655_114,
        preprocessing=RESCALE_0_1,
        default_recipe="article_000",
        min_input_size=1,
        imagenet_network="vgg16",
    )
)

for _name, _cfg, _label, _params, _net in (
    ("vgg11_bn", "A", "VGG11 (config A)", 28_187_826, None),
    ("vgg13_bn", "B", "VGG13 (config B)", 28_373_106, None),
    ("vgg16c_bn", "C", "VGG16 (config C, 1x1 convs)", 28_969_330, None),
    ("vgg16_bn", "D", "VGG16 (config D)", 33_687_922, "vgg16"),
    ("vgg19_bn", "E", "VGG19 (config E)", 39_002_738, "vgg19"),
):
    MODELS.append(
        ModelSpec(
            name=_name,
            builder=build_vgg,
            config=_article_002(_cfg),
            family="vgg",
            article="002",
            description=f"{_label} with BatchNorm; {_HEAD_002} "
            "(article 002, trained from scratch).",
            num_params=_params,
            preprocessing=IMAGENET_MEAN_RGB,
            default_recipe="article_002",
            min_input_size=32,
            imagenet_network=_net,
        )
    )

MODELS.append(
    ModelSpec(
        name="vgg19_bn_pretrain",
        builder=build_vgg,
        config=_article_002("E"),
        family="vgg",
        article="002",
        description=f"VGG19 (config E) with BatchNorm; {_HEAD_002}; meant to start from ImageNet "
        "weights (article 002's vgg19_pretrain); they expect BGR images, so loading them reverses "
        "block1_conv1's input channels and the model takes RGB.",
        num_params=39_002_738,
        preprocessing=IMAGENET_MEAN_RGB,
        default_recipe="article_002_pretrain",
        min_input_size=32,
        imagenet_network="vgg19",
    )
)

MODELS.append(
    ModelSpec(
        name="vgg_lite",
        builder=build_vgg,
        config=VGGConfig(
            blocks=CONFIGS["lite"],
            batch_norm=False,
            pool_padding="same",
            kernel_initializer="he_normal",
            weight_decay=None,
            head="dropout",
        ),
        family="vgg",
        article="004",
        description="Three VGG blocks (64-128-256, two 3x3 convs each) without BN, dropout 0.5, "
        "Dense(10); he_normal (article 004).",
        num_params=1_186_378,
        preprocessing=RESCALE_0_1,
        default_recipe="article_004",
        min_input_size=1,
    )
)
