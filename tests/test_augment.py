"""RandomAugment keeps shapes and value ranges, is exact where it should be, off at inference."""

from __future__ import annotations

import numpy as np
import pytest

from keras_cifar_zoo.training.augment import RandomAugment


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, (16, 32, 32, 3)).astype("float32")


def test_identity_at_inference(images):
    layer = RandomAugment(True, 0.125, 15, "constant", seed=1)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    np.testing.assert_array_equal(np.asarray(layer(images)), images)


def test_flip_only_gives_original_or_mirror(images):
    out = np.asarray(RandomAugment(horizontal_flip=True, seed=3)(images, training=True))
    flipped = [np.allclose(o, i[:, ::-1], atol=1e-3) for o, i in zip(out, images, strict=True)]
    same = [np.allclose(o, i, atol=1e-3) for o, i in zip(out, images, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True))
    assert 0 < sum(flipped) < len(images)  # both outcomes occur in 16 draws with this seed


def test_shift_constant_fill_keeps_range_and_fills_zeros(images):
    out = np.asarray(
        RandomAugment(shift=0.125, fill_mode="constant", seed=2)(images, training=True)
    )
    assert out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 255
    assert (out == 0).mean() > 0.02  # borders filled with zeros


def test_nearest_fill_never_invents_values(images):
    out = np.asarray(RandomAugment(True, 0.1, 15, "nearest", seed=2)(images, training=True))
    assert out.shape == images.shape
    assert out.min() >= images.min() - 1e-3 and out.max() <= images.max() + 1e-3


def test_shift_moves_content_but_keeps_the_centre():
    """A flat image stays flat inside, gets zero borders, and is never brighter than itself."""
    flat = np.full((64, 32, 32, 3), 100.0, dtype="float32")
    out = np.asarray(RandomAugment(shift=0.125, fill_mode="constant", seed=0)(flat, training=True))
    np.testing.assert_allclose(out[:, 8:24, 8:24], 100.0, rtol=1e-5)  # shifts are at most 4 px
    assert out.max() <= 100.0 + 1e-3
    assert (out[:, 0, :, 0] < 100).any()  # some top rows came from outside


def test_config_round_trip():
    layer = RandomAugment(True, 0.1, 15, "nearest", 3.0, seed=7, name="augment")
    again = RandomAugment.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_rejects_unknown_fill_mode():
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        RandomAugment(fill_mode="wrap")


def _crop_offset(out: np.ndarray, image: np.ndarray, pad: int) -> tuple[int, int] | None:
    """The (dy, dx) whose crop of the reflect-padded image equals ``out``, or None."""
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    size = image.shape[0]
    for dy in range(-pad, pad + 1):
        for dx in range(-pad, pad + 1):
            crop = padded[pad - dy : pad - dy + size, pad - dx : pad - dx + size]
            if np.array_equal(crop, out):
                return dy, dx
    return None


def test_integer_reflect_shift_is_an_exact_random_crop_of_the_padded_image(images):
    layer = RandomAugment(shift=0.125, fill_mode="reflect", integer_shift=True, seed=5)
    out = np.asarray(layer(images, training=True))
    offsets = [_crop_offset(o, i, pad=4) for o, i in zip(out, images, strict=True)]
    assert None not in offsets, "every output is one of the 81 crops, copied exactly"
    assert len(set(offsets)) > 4  # the shifts vary from image to image


def test_integer_shift_rounds_the_largest_shift_to_whole_pixels(images):
    # 0.1 * 32 = 3.2 pixels: whole shifts up to 3
    layer = RandomAugment(shift=0.1, fill_mode="reflect", integer_shift=True, seed=1)
    out = np.asarray(layer(np.concatenate([images] * 4), training=True))
    offsets = [_crop_offset(o, i, pad=4) for o, i in zip(out, [*images] * 4, strict=True)]
    assert None not in offsets
    assert max(max(abs(dy), abs(dx)) for dy, dx in offsets) == 3


def test_reflect_fill_with_fractional_shifts_never_invents_values(images):
    out = np.asarray(RandomAugment(True, 0.125, 10, "reflect", seed=2)(images, training=True))
    assert out.min() >= images.min() - 1e-3 and out.max() <= images.max() + 1e-3
    assert not np.allclose(out, images)


def test_cutout_masks_one_clipped_square_per_image():
    ones = np.ones((32, 32, 32, 3), dtype="float32")
    out = np.asarray(RandomAugment(cutout_size=8, cutout_value=-1.0, seed=4)(ones, training=True))
    assert set(np.unique(out)) <= {-1.0, 1.0}
    full_squares = 0
    for image in out:
        rows, cols = np.nonzero(image[..., 0] == -1.0)
        assert rows.size, "every image gets a cutout (clipped, but never fully outside)"
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        # a filled rectangle, at most 8 x 8, the same in every channel
        assert (image[top : bottom + 1, left : right + 1] == -1.0).all()
        assert rows.size == (bottom - top + 1) * (right - left + 1)
        assert bottom - top + 1 <= 8 and right - left + 1 <= 8
        full_squares += rows.size == 64
    assert 0 < full_squares < len(out)  # squares inside the image and clipped at a border


def test_new_settings_survive_the_config_round_trip():
    layer = RandomAugment(
        True, 0.125, 0, "reflect", seed=7, integer_shift=True, cutout_size=8, cutout_value=120.5
    )
    config = RandomAugment.from_config(layer.get_config()).get_config()
    assert (config["integer_shift"], config["cutout_size"], config["cutout_value"]) == (
        True,
        8,
        120.5,
    )


def test_rejects_a_fractional_cutout():
    with pytest.raises(ValueError, match=r"cutout_size must be a whole number of pixels >= 0"):
        RandomAugment(cutout_size=2.5)
