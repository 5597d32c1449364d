"""read_images: image files as a model sees them, whatever bit depth and orientation they carry."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_cifar_zoo import InvalidArgumentError
from keras_cifar_zoo.data import read_images

EXIF_ORIENTATION = 0x0112


def test_16_bit_grayscale_png_is_scaled_to_8_bits(tmp_path: Path):
    levels = np.array([0, 257, 32896, 65535], np.uint16)  # 8-bit 0, 1, 128, 255
    pixels = np.repeat(levels, 8)[None, :].repeat(32, axis=0)  # 32 x 32, four bands
    Image.fromarray(pixels).save(tmp_path / "gray16.png")
    with Image.open(tmp_path / "gray16.png") as opened:
        assert opened.mode == "I;16"  # what Pillow makes of a 16-bit grayscale PNG
    images = read_images([tmp_path / "gray16.png"])
    assert images.shape == (1, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(
        images[0, 5, [0, 12, 20, 31]], [[0] * 3, [1] * 3, [128] * 3, [255] * 3]
    )


def test_32_bit_integer_grayscale_is_read_as_16_bits(tmp_path: Path):
    Image.fromarray(np.full((32, 32), 514, np.int32)).save(tmp_path / "gray.tif")
    with Image.open(tmp_path / "gray.tif") as opened:
        assert opened.mode == "I"
    np.testing.assert_array_equal(read_images([tmp_path / "gray.tif"]), np.full((1, 32, 32, 3), 2))


def test_exif_rotated_jpeg_is_read_upright(tmp_path: Path):
    # Stored landscape, left half red and right half blue; tag 6: shown turned 90 degrees
    # clockwise, so a viewer shows red on top and blue below.
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32, 0] = 255
    stored[:, 32:, 2] = 255
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", quality=95, exif=exif)
    image = read_images([tmp_path / "phone.jpg"])[0].astype(int)
    top, bottom = image[:12], image[20:]
    assert top[..., 0].min() > 200 and top[..., 2].max() < 60, "red on top"
    assert bottom[..., 2].min() > 200 and bottom[..., 0].max() < 60, "blue below"


def test_8_bit_images_read_as_before(tmp_path: Path, uint8_images: np.ndarray):
    Image.fromarray(uint8_images[0]).save(tmp_path / "a.png")
    Image.fromarray(uint8_images[1]).convert("RGBA").save(tmp_path / "b.png")
    np.testing.assert_array_equal(
        read_images([tmp_path / "a.png", tmp_path / "b.png"]), uint8_images[:2]
    )


def test_resizes_to_height_and_width(tmp_path: Path):
    Image.new("RGB", (50, 20), (10, 20, 30)).save(tmp_path / "wide.png")
    images = read_images([tmp_path / "wide.png"], (40, 24))
    assert images.shape == (1, 40, 24, 3)
    np.testing.assert_array_equal(images[0, 7, 3], [10, 20, 30])


def test_decompression_bomb_is_a_typed_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    Image.new("RGB", (32, 32)).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1,024 pixels: over twice the limit
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"Cannot read image {tmp_path / 'huge.png'}: it has more pixels than Pillow decodes "
            "safely (Image size (1024 pixels) exceeds limit of 200 pixels, could be "
            "decompression bomb DOS attack.). Shrink it first (a zoo model sees 32x32 pixels), "
            f"e.g. with an image editor. Received: path={str(tmp_path / 'huge.png')!r}"
        ),
    ):
        read_images([tmp_path / "huge.png"])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not an image", "cannot identify image file"),
        (None, "No such file or directory"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes | None, reason: str):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    start = f"Cannot read image {path}: "
    with pytest.raises(
        InvalidArgumentError, match=rf"^{re.escape(start)}.*{reason}.* Pass PNG or JPEG"
    ):
        read_images([path])


def test_truncated_png(tmp_path: Path):
    Image.new("RGB", (32, 32), (1, 2, 3)).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidArgumentError, match=r"^Cannot read image .*t\.png: .*Pass PNG"):
        read_images([tmp_path / "t.png"])
