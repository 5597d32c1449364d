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
