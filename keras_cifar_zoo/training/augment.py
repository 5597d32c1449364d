"""Random flip, rotation and shift as one ``keras.ops`` layer that runs inside the compiled step.

Keras's ``RandomTranslation``/``RandomRotation`` trained a VGG16 on an H100 under JAX at 173
images/s (measured, 2026-11-23), about 150 times slower than the same model without them. This
layer does the same transforms as one bilinear resampling pass written with ``keras.ops`` (a
gather of four neighbours per output pixel), on any backend.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

_FILL_MODES = ("constant", "nearest")


@keras.saving.register_keras_serializable(package="keras_cifar_zoo")
class RandomAugment(keras.layers.Layer):
    """Random horizontal flip, rotation and translation of images in training only.

    Matches Keras 2 ``ImageDataGenerator``: rotation uniform in ``[-rotation_degrees,
    rotation_degrees]`` about the centre, shifts uniform in ``[-shift, shift]`` times the
    height/width, bilinear interpolation, pixels from outside filled with ``fill_value``
    (``"constant"``) or the nearest edge pixel (``"nearest"``).

    Args:
        horizontal_flip: Flip left-right with probability 0.5.
        shift: Largest translation as a fraction of the image size.
        rotation_degrees: Largest rotation in degrees.
        fill_mode: ``"constant"`` or ``"nearest"``.
        fill_value: Value of pixels from outside in ``"constant"`` mode.
        seed: Seed of the layer's random generator.
    """

    def __init__(
        self,
        horizontal_flip: bool = False,
        shift: float = 0.0,
        rotation_degrees: float = 0.0,
        fill_mode: str = "nearest",
        fill_value: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("dtype", "float32")  # pixel arithmetic stays exact under mixed precision
        super().__init__(**kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(
                f"fill_mode must be one of {_FILL_MODES}. Received: fill_mode={fill_mode!r}"
            )
        self.horizontal_flip = bool(horizontal_flip)
        self.shift = float(shift)
        self.rotation_degrees = float(rotation_degrees)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        x = ops.cast(images, self.compute_dtype)
        if not training:
            return x
        batch = ops.shape(x)[0]
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]

        def uniform(limit: float) -> Any:
            return keras.random.uniform((batch, 1), -limit, limit, seed=self.seed_generator)

        zeros = ops.zeros((batch, 1), self.compute_dtype)
        angle = uniform(self.rotation_degrees * math.pi / 180) if self.rotation_degrees else zeros
        ty = uniform(self.shift * height) if self.shift else zeros
        tx = uniform(self.shift * width) if self.shift else zeros
        rows, cols = ops.meshgrid(
            ops.arange(height, dtype=self.compute_dtype),
            ops.arange(width, dtype=self.compute_dtype),
            indexing="ij",
        )
        cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
        # Output pixel (r, c) reads the input at the inverse transform of its position.
        dy = ops.reshape(rows, (1, -1)) - cy - ty
        dx = ops.reshape(cols, (1, -1)) - cx - tx
        cos, sin = ops.cos(angle), ops.sin(angle)
        src_y = cos * dy + sin * dx + cy
        src_x = -sin * dy + cos * dx + cx
        if self.horizontal_flip:
            flip = keras.random.uniform((batch, 1), seed=self.seed_generator) < 0.5
            src_x = ops.where(flip, (width - 1) - src_x, src_x)
        if self.fill_mode == "nearest":
            src_y = ops.clip(src_y, 0.0, height - 1.0)
            src_x = ops.clip(src_x, 0.0, width - 1.0)

        flat = ops.reshape(x, (batch, height * width, channels))
        y0, x0 = ops.floor(src_y), ops.floor(src_x)
        wy, wx = src_y - y0, src_x - x0
        out = ops.zeros_like(flat)
        for oy, ox, weight in (
            (0, 0, (1 - wy) * (1 - wx)),
            (0, 1, (1 - wy) * wx),
            (1, 0, wy * (1 - wx)),
            (1, 1, wy * wx),
        ):
            yy, xx = y0 + oy, x0 + ox
            inside = (yy >= 0) & (yy <= height - 1) & (xx >= 0) & (xx <= width - 1)
            index = ops.cast(
                ops.clip(yy, 0, height - 1) * width + ops.clip(xx, 0, width - 1), "int32"
            )
            index = ops.repeat(ops.expand_dims(index, -1), channels, axis=-1)
            pixels = ops.take_along_axis(flat, index, axis=1)
            pixels = ops.where(ops.expand_dims(inside, -1), pixels, self.fill_value)
            out = out + ops.expand_dims(weight, -1) * pixels
        return ops.reshape(out, (batch, height, width, channels))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {
            "horizontal_flip": self.horizontal_flip,
            "shift": self.shift,
            "rotation_degrees": self.rotation_degrees,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "seed": self.seed,
        }
