"""Random flip, rotation, shift and cutout as one ``keras.ops`` layer inside the compiled step.

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

FILL_MODES = ("constant", "nearest", "reflect")


@keras.saving.register_keras_serializable(package="keras_cifar_zoo")
class RandomAugment(keras.layers.Layer):
    """Random horizontal flip, rotation, translation and cutout of images in training only.

    By default it matches Keras 2 ``ImageDataGenerator``: rotation uniform in
    ``[-rotation_degrees, rotation_degrees]`` about the centre, shifts uniform in
    ``[-shift, shift]`` times the height/width, bilinear interpolation, pixels from outside
    filled with ``fill_value`` (``"constant"``), the nearest edge pixel (``"nearest"``) or the
    mirror image without repeating the edge (``"reflect"``). With ``integer_shift`` the shifts
    are whole pixels, uniform over ``-k..k`` with ``k = round(shift * size)``: with
    ``"reflect"`` this is the reflect-pad-and-random-crop of the fast CIFAR-10 recipes, and
    without rotation it copies pixels exactly (one gather, no interpolation).

    Args:
        horizontal_flip: Flip left-right with probability 0.5.
        shift: Largest translation as a fraction of the image size.
        rotation_degrees: Largest rotation in degrees.
        fill_mode: ``"constant"``, ``"nearest"`` or ``"reflect"``.
        fill_value: Value of pixels from outside in ``"constant"`` mode.
        seed: Seed of the layer's random generator.
        integer_shift: Draw whole-pixel shifts instead of fractional ones.
        cutout_size: Side of a square set to ``cutout_value`` in every image, its centre
            uniform over the image and clipped at the borders (DeVries & Taylor, 2017); 0: off.
        cutout_value: Value written into the cutout square.
    """

    def __init__(
        self,
        horizontal_flip: bool = False,
        shift: float = 0.0,
        rotation_degrees: float = 0.0,
        fill_mode: str = "nearest",
        fill_value: float = 0.0,
        seed: int | None = None,
        integer_shift: bool = False,
        cutout_size: int = 0,
        cutout_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("dtype", "float32")  # pixel arithmetic stays exact under mixed precision
        super().__init__(**kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(
                f"fill_mode must be one of {FILL_MODES}. Received: fill_mode={fill_mode!r}"
            )
        if int(cutout_size) != cutout_size or cutout_size < 0:
            raise ValueError(
                "cutout_size must be a whole number of pixels >= 0. "
                f"Received: cutout_size={cutout_size!r}"
            )
        self.horizontal_flip = bool(horizontal_flip)
        self.shift = float(shift)
        self.rotation_degrees = float(rotation_degrees)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.seed = seed
        self.integer_shift = bool(integer_shift)
        self.cutout_size = int(cutout_size)
        self.cutout_value = float(cutout_value)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool | None = None) -> Any:
        x = ops.cast(images, self.compute_dtype)
        if not training:
            return x
        if self.horizontal_flip or self.shift or self.rotation_degrees:
            x = self._resample(x)
        if self.cutout_size:
            x = self._cutout(x)
        return x

    def _offsets(self, batch: Any, size: int) -> Any:
        """Per-image shifts in pixels, shape (batch, 1)."""
        if not self.shift:
            return ops.zeros((batch, 1), self.compute_dtype)
        if self.integer_shift:
            k = round(self.shift * size)
            drawn = keras.random.randint((batch, 1), -k, k + 1, seed=self.seed_generator)
            return ops.cast(drawn, self.compute_dtype)
        limit = self.shift * size
        return keras.random.uniform((batch, 1), -limit, limit, seed=self.seed_generator)

    def _resample(self, x: Any) -> Any:
        batch = ops.shape(x)[0]
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        if self.rotation_degrees:
            limit = self.rotation_degrees * math.pi / 180
            angle = keras.random.uniform((batch, 1), -limit, limit, seed=self.seed_generator)
        else:
            angle = None
        ty = self._offsets(batch, height)
        tx = self._offsets(batch, width)
        rows, cols = ops.meshgrid(
            ops.arange(height, dtype=self.compute_dtype),
            ops.arange(width, dtype=self.compute_dtype),
            indexing="ij",
        )
        cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
        # Output pixel (r, c) reads the input at the inverse transform of its position.
        dy = ops.reshape(rows, (1, -1)) - cy - ty
        dx = ops.reshape(cols, (1, -1)) - cx - tx
        if angle is None:
            src_y, src_x = dy + cy, dx + cx
        else:
            cos, sin = ops.cos(angle), ops.sin(angle)
            src_y = cos * dy + sin * dx + cy
            src_x = -sin * dy + cos * dx + cx
        if self.horizontal_flip:
            flip = keras.random.uniform((batch, 1), seed=self.seed_generator) < 0.5
            src_x = ops.where(flip, (width - 1) - src_x, src_x)
        if self.fill_mode == "nearest":
            src_y = ops.clip(src_y, 0.0, height - 1.0)
            src_x = ops.clip(src_x, 0.0, width - 1.0)
        elif self.fill_mode == "reflect":  # mirror about the edge pixels (no edge repeat)
            src_y, src_x = _reflect(src_y, height), _reflect(src_x, width)

        flat = ops.reshape(x, (batch, height * width, channels))

        def gather(yy: Any, xx: Any) -> Any:
            inside = (yy >= 0) & (yy <= height - 1) & (xx >= 0) & (xx <= width - 1)
            index = ops.cast(
                ops.clip(yy, 0, height - 1) * width + ops.clip(xx, 0, width - 1), "int32"
            )
            index = ops.repeat(ops.expand_dims(index, -1), channels, axis=-1)
            pixels = ops.take_along_axis(flat, index, axis=1)
            return ops.where(ops.expand_dims(inside, -1), pixels, self.fill_value)

        if angle is None and (self.integer_shift or not self.shift):
            out = gather(src_y, src_x)  # whole-pixel moves: an exact copy
        else:
            y0, x0 = ops.floor(src_y), ops.floor(src_x)
            wy, wx = src_y - y0, src_x - x0
            out = ops.zeros_like(flat)
            for oy, ox, weight in (
                (0, 0, (1 - wy) * (1 - wx)),
                (0, 1, (1 - wy) * wx),
                (1, 0, wy * (1 - wx)),
                (1, 1, wy * wx),
            ):
                out = out + ops.expand_dims(weight, -1) * gather(y0 + oy, x0 + ox)
        return ops.reshape(out, (batch, height, width, channels))

    def _cutout(self, x: Any) -> Any:
        batch = ops.shape(x)[0]
        height, width = x.shape[1], x.shape[2]
        half = self.cutout_size // 2
        top = keras.random.randint((batch, 1, 1), 0, height, seed=self.seed_generator) - half
        left = keras.random.randint((batch, 1, 1), 0, width, seed=self.seed_generator) - half
        rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1))
        cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width))
        inside = (
            (rows >= top)
            & (rows < top + self.cutout_size)
            & (cols >= left)
            & (cols < left + self.cutout_size)
        )
        return ops.where(ops.expand_dims(inside, -1), self.cutout_value, x)

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
            "integer_shift": self.integer_shift,
            "cutout_size": self.cutout_size,
            "cutout_value": self.cutout_value,
        }


def _reflect(coordinate: Any, size: int) -> Any:
    """Mirrors coordinates outside ``[0, size - 1]`` back inside (valid for shifts < size)."""
    coordinate = ops.where(coordinate < 0, -coordinate, coordinate)
    return ops.where(coordinate > size - 1, 2 * (size - 1) - coordinate, coordinate)
