"""What the zoo's two speed-record networks (``resnet9``, ``airbench94``) share: PyTorch's
default kernel initialisation and a global max-pooled head with scaled logits."""

from __future__ import annotations

from typing import Any

from keras import initializers, layers, regularizers


def torch_default_initializer() -> initializers.Initializer:
    """PyTorch's default for Conv2d and Linear kernels: uniform within 1/sqrt(fan_in)."""
    return initializers.VarianceScaling(1 / 3, mode="fan_in", distribution="uniform")


def scaled_max_pool_head(
    x: Any,
    *,
    logit_scale: float,
    num_classes: int,
    classifier_activation: str | None,
    kernel_regularizer: regularizers.Regularizer,
) -> Any:
    """A global max pool, the features scaled by ``logit_scale`` (for a bias-free classifier,
    the same as scaling the logits) and a bias-free ``predictions`` layer."""
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    x = layers.Rescaling(logit_scale, name="logit_scale")(x)
    return layers.Dense(
        num_classes,
        activation=classifier_activation,
        use_bias=False,
        kernel_initializer=torch_default_initializer(),
        kernel_regularizer=kernel_regularizer,
        name="predictions",
        dtype="float32",  # stable softmax under mixed precision
    )(x)
