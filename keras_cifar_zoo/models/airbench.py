"""airbench94 in Keras layers: the network of Keller Jordan's CIFAR-10 speed record.

Not from the seed articles. After "94% on CIFAR-10 in 3.29 seconds on a single GPU"
(Jordan, 2024, arXiv:2404.00498): a frozen 2x2 patch-whitening convolution (no padding, 24
filters: the eigenvectors of the training images' 2x2 patch covariance scaled by
``1/sqrt(eigenvalue + 5e-4)``, and their negatives) with a trained bias, a GELU, then three
blocks of conv3x3 - max pool 2 - BatchNorm - GELU - conv3x3 - BatchNorm - GELU (64, 256 and
256 filters), a global max pool and a bias-free classifier whose logits are scaled by 1/9.

Only built-in Keras layers are used, so a saved model loads without this package:

* The whitening kernel is a ``Conv2D`` kernel marked non-trainable. It starts at zero and
  :func:`init_whitening` sets it from the training images; ``fit`` calls it before training.
* The reference trains BatchNorm biases with a learning rate 64 times the others and keeps
  the BatchNorm scale at 1. Here every BatchNorm keeps a frozen scale of 1/8 and is followed
  by a ``Rescaling(8)``: the forward pass is the same, and the gradient reaching each bias is
  8 times larger and moves the output 8 times further, so plain SGD trains the bias with the
  64-times rate (momentum and weight decay included), with no per-variable rates.
* Convolutions start from PyTorch's default initialisation with the identity written into
  the first ``in_channels`` filters, as the reference does (a partial Dirac initialisation).
* Weight decay is PyTorch's coupled SGD decay of the reference, as L2 on every trained
  variable (``weight_decay / 2``, so the gradient gains ``weight_decay * w``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import numpy as np
from keras import initializers, layers, regularizers

from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.models.speedrun import scaled_max_pool_head, torch_default_initializer
from keras_cifar_zoo.preprocessing import CIFAR10_CHANNEL_ZSCORE, Preprocessing

MODELS: list[ModelSpec] = []
"""Every variant of this family, in registration order."""

WHITENING_LAYER = "whitening"
"""Name of the patch-whitening convolution; :func:`init_whitening` finds it by this name."""


@dataclasses.dataclass(frozen=True)
class AirbenchConfig:
    """Architecture of an airbench network.

    Attributes:
        whitening_size: Side of the whitening patches (the filters are twice the patch
            dimension: eigenvectors and their negatives).
        block_filters: Filters of the three blocks.
        logit_scale: Factor applied to the pooled features before the classifier (the
            reference scales the logits, which is the same for a bias-free classifier).
        bn_momentum: Keras BatchNormalization momentum (PyTorch's 0.4).
        bn_epsilon: BatchNormalization epsilon.
        bias_lr_scale: How much faster BatchNorm biases learn than the other weights.
        weight_decay: Coupled weight decay per unit of learning rate; variables carry L2
            of half this factor.
        whitening_epsilon: Added to each eigenvalue before the whitening filters are scaled.
        whitening_images: Training images whose patches set the whitening filters.
    """

    whitening_size: int = 2
    block_filters: tuple[int, int, int] = (64, 256, 256)
    logit_scale: float = 1 / 9
    bn_momentum: float = 0.6
    bn_epsilon: float = 1e-12
    bias_lr_scale: float = 64.0
    # The reference's decay 0.0153 per 1024 images at its rate 11.5 per 1024 images.
    weight_decay: float = 0.0153 / 11.5
    whitening_epsilon: float = 5e-4
    whitening_images: int = 5000


def _partial_identity(conv: layers.Conv2D) -> None:
    """Writes the identity into the first ``in_channels`` filters of a built 3x3 conv, as
    PyTorch's ``dirac_`` on them does: each starts by passing one input channel through."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).copy()
    size, _, channels_in, channels_out = kernel.shape
    identity = min(channels_in, channels_out)
    kernel[..., :identity] = 0.0
    kernel[size // 2, size // 2, np.arange(identity), np.arange(identity)] = 1.0
    conv.kernel.assign(kernel)


def build_airbench(
    x: Any,
    config: AirbenchConfig,
    *,
    num_classes: int,
    include_top: bool,
    classifier_activation: str | None = "softmax",
) -> Any:
    """Builds an airbench network on tensor ``x``; returns the output tensor."""
    l2 = regularizers.L2(config.weight_decay / 2)
    torch_default = torch_default_initializer()
    bias_gain = math.sqrt(config.bias_lr_scale)

    size = config.whitening_size
    whitening = layers.Conv2D(
        2 * 3 * size * size,
        size,
        padding="valid",
        kernel_initializer="zeros",  # set from the training images by init_whitening
        bias_regularizer=l2,
        name=WHITENING_LAYER,
    )
    x = whitening(x)
    whitening.kernel.trainable = False
    x = layers.Activation("gelu", name="whitening_gelu")(x)

    def conv(t: Any, filters: int, name: str) -> Any:
        layer = layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer=torch_default,
            kernel_regularizer=l2,
            name=name,
        )
        t = layer(t)
        _partial_identity(layer)
        return t

    def norm_gelu(t: Any, name: str) -> Any:
        norm = layers.BatchNormalization(
            momentum=config.bn_momentum,
            epsilon=config.bn_epsilon,
            gamma_initializer=initializers.Constant(1 / bias_gain),
            beta_regularizer=l2,
            name=f"{name}_bn",
        )
        t = norm(t)
        norm.gamma.trainable = False
        t = layers.Rescaling(bias_gain, name=f"{name}_bias_gain")(t)
        return layers.Activation("gelu", name=f"{name}_gelu")(t)

    for block, filters in enumerate(config.block_filters, start=1):
        x = conv(x, filters, f"block{block}_conv1")
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        x = norm_gelu(x, f"block{block}_norm1")
        x = conv(x, filters, f"block{block}_conv2")
        x = norm_gelu(x, f"block{block}_norm2")
    if not include_top:
        return x
    return scaled_max_pool_head(
        x,
        logit_scale=config.logit_scale,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        kernel_regularizer=l2,
    )


def whitening_kernel(images: np.ndarray, size: int = 2, epsilon: float = 5e-4) -> np.ndarray:
    """The patch-whitening kernel of preprocessed ``images`` (N, H, W, C).

    The filters are the eigenvectors of the (uncentred, the inputs being normalized) covariance
    of every ``size`` x ``size`` patch, largest eigenvalue first, each divided by
    ``sqrt(eigenvalue + epsilon)``, followed by their negatives: a GELU after the layer then
    keeps both signs of every whitened direction.

    Returns:
        A Keras ``Conv2D`` kernel, shape (size, size, C, 2 * size * size * C), float32.
    """
    images = np.asarray(images, dtype=np.float64)
    channels = images.shape[-1]
    dim = size * size * channels
    covariance = np.zeros((dim, dim))
    count = 0
    for start in range(0, len(images), 500):  # a few tens of MB at a time
        windows = np.lib.stride_tricks.sliding_window_view(
            images[start : start + 500], (size, size), axis=(1, 2)
        )
        # (N, H', W', C, kh, kw) -> rows ordered (kh, kw, C), the layout of a Keras kernel
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, dim)
        covariance += patches.T @ patches
        count += len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance / count)
    order = np.argsort(eigenvalues)[::-1]
    filters = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + epsilon)
    kernel = filters.reshape(size, size, channels, dim)
    return np.concatenate([kernel, -kernel], axis=-1).astype(np.float32)


def _airbench_config(model: keras.Model) -> AirbenchConfig:
    spec = next((s for s in MODELS if s.name == model.name), None)
    return spec.config if spec is not None else AirbenchConfig()


def init_whitening(
    model: keras.Model, images: np.ndarray, preprocessing: Preprocessing | None = None
) -> bool:
    """Sets a fresh airbench model's whitening filters from the training images, once.

    ``fit`` calls it before training. A whitening kernel that is not all zeros (loaded or
    trained weights) is left as it is. Either way the whitening kernel and the BatchNorm
    scales are marked non-trainable again: a ``.keras`` file does not keep that flag of
    single variables, and ``layer.trainable = True`` resets it.

    Args:
        model: Any model; one without a ``whitening`` Conv2D layer is left alone.
        images: Raw training images (N, H, W, 3) in 0-255; the first ``whitening_images``
            (5,000) are used.
        preprocessing: The preprocessing the caller applies before a model built without
            its ``preprocessing`` layer (None when the model has it).

    Returns:
        True if the filters were set.
    """
    layer = next(
        (
            x
            for x in model.layers
            if x.name == WHITENING_LAYER and isinstance(x, keras.layers.Conv2D)
        ),
        None,
    )
    if layer is None:
        return False
    layer.kernel.trainable = False
    for norm in model.layers:
        if isinstance(norm, keras.layers.BatchNormalization) and norm.gamma is not None:
            norm.gamma.trainable = False
    if np.any(keras.ops.convert_to_numpy(layer.kernel)):
        return False
    config = _airbench_config(model)
    x = np.asarray(images[: config.whitening_images])
    if preprocessing is not None:
        x = preprocessing.apply(x)
    # what the whitening layer sees: the images after the model's preprocessing layer
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    feed = keras.Model(inputs, layer.input)
    seen = np.concatenate(
        [keras.ops.convert_to_numpy(feed(x[i : i + 1000])) for i in range(0, len(x), 1000)]
    )
    layer.kernel.assign(whitening_kernel(seen, layer.kernel_size[0], config.whitening_epsilon))
    return True


MODELS.append(
    ModelSpec(
        name="airbench94",
        builder=build_airbench,
        config=AirbenchConfig(),
        family="airbench",
        article="zoo",
        description="Keller Jordan's airbench94 network (2024): a frozen 2x2 patch-whitening "
        "conv set from the training images, three conv-pool-BN-GELU-conv-BN-GELU blocks (64, "
        "256, 256 filters), global max pool, logits scaled by 1/9; the zoo's fastest model for "
        "time-to-94% training, not from the seed articles.",
        num_params=1_975_096,
        preprocessing=CIFAR10_CHANNEL_ZSCORE,
        default_recipe="airbench94",
        min_input_size=9,
    )
)
