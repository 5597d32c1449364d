"""Input preprocessing declared as data, and the weightless Keras layer built from it.

A :class:`Preprocessing` record is the single source of truth: the registry stores one per
model, the weights manifest stores its :meth:`Preprocessing.to_config`, and
:meth:`Preprocessing.layer` builds the ``preprocessing`` layer baked into each model.

Every preset computes ``(reorder(x) * scale - mean) / std`` on raw RGB pixels in 0-255.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_cifar_zoo.errors import InvalidArgumentError

LAYER_NAME = "preprocessing"
_CHANNEL_ORDERS = ("rgb", "bgr")


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How raw RGB pixels (0-255) become network inputs.

    Attributes:
        name: Short identifier of the preset, e.g. ``"rescale_0_1"``.
        description: One sentence saying what it does and where it comes from.
        channel_order: ``"rgb"`` keeps the channels, ``"bgr"`` reverses them first.
        scale: Multiplier applied after reordering.
        mean: Subtracted after scaling; one value for all channels or one per channel
            (in the order after reordering).
        std: Divisor applied last; one value or one per channel.
    """

    name: str
    description: str
    channel_order: str = "rgb"
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if self.channel_order not in _CHANNEL_ORDERS:
            raise InvalidArgumentError(
                f"channel_order must be one of {_CHANNEL_ORDERS}. "
                f"Received: channel_order={self.channel_order!r}"
            )
        for field in ("mean", "std"):
            values = getattr(self, field)
            if len(values) not in (1, 3) or not all(math.isfinite(v) for v in values):
                raise InvalidArgumentError(
                    f"{field} must hold 1 or 3 finite numbers. Received: {field}={values!r}"
                )
        if any(v == 0 for v in self.std) or self.scale == 0:
            raise InvalidArgumentError(
                f"scale and std must be non-zero. Received: scale={self.scale}, std={self.std}"
            )

    def __str__(self) -> str:
        parts = []
        if self.channel_order == "bgr":
            parts.append("RGB->BGR")
        if self.scale != 1.0:
            parts.append(f"x*{self.scale:.6g}" if self.scale != 1 / 255 else "x/255")
        if self.mean != (0.0,):
            parts.append("-" + _fmt(self.mean))
        if self.std != (1.0,):
            parts.append("/" + _fmt(self.std))
        formula = ", ".join(parts) if parts else "identity"
        return f"{self.name} ({formula}): {self.description}"

    def to_config(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict (the manifest stores this)."""
        return dataclasses.asdict(self) | {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        """Rebuilds a record from :meth:`to_config` output."""
        return cls(**{**config, "mean": tuple(config["mean"]), "std": tuple(config["std"])})

    def apply(self, images: Any) -> np.ndarray:
        """Applies the preprocessing to a NumPy batch (N, H, W, 3); returns float32."""
        x = np.asarray(images, dtype=np.float32)
        if self.channel_order == "bgr":
            x = x[..., ::-1]
        x = x * np.float32(self.scale) - np.asarray(self.mean, np.float32)
        return x / np.asarray(self.std, np.float32)

    def layer(self, name: str = LAYER_NAME) -> ImagePreprocessing:
        """Builds the weightless Keras layer that applies this preprocessing."""
        return ImagePreprocessing(
            channel_order=self.channel_order,
            scale=self.scale,
            mean=self.mean,
            std=self.std,
            name=name,
            dtype="float32",  # exact pixel arithmetic under mixed precision too
        )


def _fmt(values: tuple[float, ...]) -> str:
    if len(values) == 1:
        return f"{values[0]:.6g}"
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


@keras.saving.register_keras_serializable(package="keras_cifar_zoo")
class ImagePreprocessing(keras.layers.Layer):
    """Weightless layer computing ``(reorder(x) * scale - mean) / std``.

    Accepts uint8 or float images in 0-255 with channels last. Built from a
    :class:`Preprocessing` record through :meth:`Preprocessing.layer`.
    """

    def __init__(
        self,
        channel_order: str = "rgb",
        scale: float = 1.0,
        mean: tuple[float, ...] = (0.0,),
        std: tuple[float, ...] = (1.0,),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.channel_order = channel_order
        self.scale = float(scale)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        if self.channel_order == "bgr":
            x = ops.flip(x, axis=-1)
        x = x * self.scale - ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
        return x / ops.convert_to_tensor(self.std, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {
            "channel_order": self.channel_order,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
        }


RESCALE_0_1 = Preprocessing(
    name="rescale_0_1",
    description="Pixels divided by 255 into [0, 1], as articles 000, 001 and 004 do.",
    scale=1 / 255,
)

IMAGENET_MEAN_RGB = Preprocessing(
    name="imagenet_mean_rgb",
    description=(
        "ImageNet per-channel means subtracted in RGB order, as article 002 does for its "
        "VGGs (no division by a standard deviation despite the article's heading)."
    ),
    mean=(123.68, 116.779, 103.939),
)

CAFFE_BGR = Preprocessing(
    name="caffe_bgr",
    description=(
        "Caffe-style: RGB->BGR, then the ImageNet BGR means subtracted, as the Keras "
        "Applications VGG weights expect. Article 002 subtracts the means without the BGR "
        "swap; the zoo corrects this for every model holding ImageNet VGG weights."
    ),
    channel_order="bgr",
    mean=(103.939, 116.779, 123.68),
)

# Scalar mean and std over every pixel of the 50,000 training images of the lossless CIFAR-10
# copy (official pixels); article 003 divides by (std + 1e-7). A checkpoint trained with other
# constants records its own in the weights manifest and is built with those.
CIFAR10_ZSCORE = Preprocessing(
    name="cifar10_zscore",
    description=(
        "Z-score with the training set's scalar mean and std (+1e-7), as article 003 does; "
        "measured on the 50,000 training images (official pixels)."
    ),
    mean=(120.70754290364583,),
    std=(64.14971725258323 + 1e-7,),
)

PRESETS = {p.name: p for p in (RESCALE_0_1, IMAGENET_MEAN_RGB, CAFFE_BGR, CIFAR10_ZSCORE)}
