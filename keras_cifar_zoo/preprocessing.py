"""Input preprocessing declared as data, and the Keras ``Rescaling`` layer built from it.

A :class:`Preprocessing` record is the single source of truth: the registry stores one per
model, the weights manifest stores its :meth:`Preprocessing.to_config`, and
:meth:`Preprocessing.layer` builds the ``preprocessing`` layer baked into each model.

Every preset computes ``(x * scale - mean) / std`` on raw RGB pixels in 0-255, which is one
``keras.layers.Rescaling`` with per-channel ``scale / std`` and ``-mean / std``: a built-in,
weightless layer, so saved zoo models load in plain Keras without this package.
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


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How raw RGB pixels (0-255) become network inputs.

    Attributes:
        name: Short identifier of the preset, e.g. ``"rescale_0_1"``.
        description: One sentence saying what it does and where it comes from.
        scale: Multiplier applied first.
        mean: Subtracted after scaling; one value for all channels or one per RGB channel.
        std: Divisor applied last; one value or one per channel.
    """

    name: str
    description: str
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for field in ("mean", "std"):
            values = getattr(self, field)
            if len(values) not in (1, 3) or not all(math.isfinite(v) for v in values):
                raise InvalidArgumentError(
                    f"{field} must hold 1 or 3 finite numbers. Received: {field}={values!r}"
                )
        if any(v == 0 for v in self.std) or self.scale == 0 or not math.isfinite(self.scale):
            raise InvalidArgumentError(
                "scale and std must be finite and non-zero. "
                f"Received: scale={self.scale}, std={self.std}"
            )

    def __str__(self) -> str:
        parts = []
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
        config = dict(config)
        # Records written before the channel order moved into the first convolution say "rgb".
        if config.pop("channel_order", "rgb") != "rgb":
            raise InvalidArgumentError(
                "Preprocessing records take RGB images; a BGR channel order is folded into the "
                "first convolution when ImageNet weights are loaded. Received: channel_order="
                f"{config.get('channel_order')!r}"
            )
        return cls(**{**config, "mean": tuple(config["mean"]), "std": tuple(config["std"])})

    def rescaling(self) -> tuple[float | list[float], float | list[float]]:
        """The ``Rescaling`` arguments (scale, offset) computing this preprocessing.

        One number each when every channel is treated alike, else one per channel.
        """
        mean = np.broadcast_to(np.asarray(self.mean, np.float64), (3,))
        std = np.broadcast_to(np.asarray(self.std, np.float64), (3,))
        scale = self.scale / std
        offset = -mean / std
        if len(self.mean) == 1 and len(self.std) == 1:
            return float(scale[0]), float(offset[0])
        return [float(v) for v in scale], [float(v) for v in offset]

    def computes_like(self, other: Preprocessing) -> bool:
        """True if both give the same numbers (to float64 rounding), whatever their names."""
        mine, theirs = self.rescaling(), other.rescaling()
        return all(
            np.allclose(_per_channel(a), _per_channel(b), rtol=1e-9, atol=1e-12)
            for a, b in zip(mine, theirs, strict=True)
        )

    def apply(self, images: Any) -> np.ndarray:
        """Applies the preprocessing to a NumPy batch (N, H, W, 3); returns float32.

        Computed as the layer computes it, so the two agree to the last bit on one backend.
        """
        scale, offset = self.rescaling()
        x = np.asarray(images, dtype=np.float32)
        return x * np.asarray(scale, np.float32) + np.asarray(offset, np.float32)

    def layer(self, name: str = LAYER_NAME) -> keras.layers.Rescaling:
        """Builds the weightless ``keras.layers.Rescaling`` that applies this preprocessing."""
        scale, offset = self.rescaling()
        # float32 even under mixed precision: exact pixel arithmetic.
        return keras.layers.Rescaling(scale, offset, name=name, dtype="float32")

    @classmethod
    def from_layer(cls, layer: keras.layers.Layer) -> Preprocessing | None:
        """The preset a ``Rescaling`` (or legacy ``ImagePreprocessing``) layer computes.

        Returns a ``custom`` record when it matches no preset, None for other layers.
        """
        if isinstance(layer, ImagePreprocessing):
            found = named_preprocessing(*layer.rescaling())
            if layer.channel_order == "bgr":  # what no Rescaling computes: say so
                found = dataclasses.replace(
                    found,
                    name="custom",
                    description="Legacy layer: RGB->BGR first, then " + str(found),
                )
            return found
        if isinstance(layer, keras.layers.Rescaling):
            return named_preprocessing(layer.scale, layer.offset)
        return None


def _fmt(values: tuple[float, ...]) -> str:
    if len(values) == 1:
        return f"{values[0]:.6g}"
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def _per_channel(value: Any) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, np.float64).reshape(-1), (3,))


def named_preprocessing(scale: Any, offset: Any) -> Preprocessing:
    """The preset computing ``x * scale + offset``, or a ``custom`` record holding it."""
    scale, offset = _per_channel(scale), _per_channel(offset)
    for preset in PRESETS.values():
        want_scale, want_offset = (_per_channel(v) for v in preset.rescaling())
        if np.allclose(scale, want_scale, rtol=1e-9, atol=0) and np.allclose(
            offset, want_offset, rtol=1e-9, atol=1e-12
        ):
            return preset
    uniform = bool(np.all(scale == scale[0]) and np.all(offset == offset[0]))
    std = tuple(float(v) for v in (1 / scale[:1] if uniform else 1 / scale))
    mean = tuple(float(v) for v in (-offset[:1] / scale[:1] if uniform else -offset / scale))
    return Preprocessing(
        name="custom",
        description="Preprocessing stored with the weights.",
        mean=mean,
        std=std,
    )


@keras.saving.register_keras_serializable(package="keras_cifar_zoo")
class ImagePreprocessing(keras.layers.Layer):
    """Weightless layer computing ``(reorder(x) * scale - mean) / std``.

    Models now use ``keras.layers.Rescaling``; this class stays registered so that ``.keras``
    files saved by keras-cifar-zoo 0.1 still load (with the package imported).
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

    def rescaling(self) -> tuple[list[float], list[float]]:
        """(scale, offset) per RGB channel, with a BGR order reported as it computes."""
        mean, std = _per_channel(self.mean), _per_channel(self.std)
        return list(self.scale / std), list(-mean / std)

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

CIFAR10_CHANNEL_ZSCORE = Preprocessing(
    name="cifar10_channel_zscore",
    description=(
        "Pixels scaled to [0, 1], then the CIFAR-10 training set's per-channel mean (0.4914, "
        "0.4822, 0.4465) subtracted and std (0.2470, 0.2435, 0.2616) divided, as airbench94 "
        "normalizes."
    ),
    scale=1 / 255,
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
)

PRESETS = {
    p.name: p for p in (RESCALE_0_1, IMAGENET_MEAN_RGB, CIFAR10_ZSCORE, CIFAR10_CHANNEL_ZSCORE)
}
