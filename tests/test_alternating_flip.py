"""Alternating flips: each image mirrored in every other epoch, the same batches on every
backend's input pipeline, and the model's own random flip switched off."""

from __future__ import annotations

import numpy as np
import pytest

from keras_cifar_zoo.training import Augmentation
from keras_cifar_zoo.training.callbacks import EpochBatches, tf_batches
from keras_cifar_zoo.training.fit import augmentation_layers


@pytest.fixture
def images(rng):
    # no image equals its own mirror, so every flip shows
    return rng.integers(0, 256, (200, 8, 8, 3), dtype=np.uint8)


def _flipped(batches, images, epoch):
    """Which images the epoch's batches mirror, by image index, and the labels seen."""
    batches.set_epoch(epoch)
    flipped = np.zeros(len(images), dtype=bool)
    labels = []
    for index in range(len(batches)):
        x, y = batches[index]
        labels.extend(y)
        picked = batches.order[index * batches.batch_size : (index + 1) * batches.batch_size]
        mirrored = np.all(x == images[picked][:, :, ::-1], axis=(1, 2, 3))
        assert np.all(mirrored | np.all(x == images[picked], axis=(1, 2, 3)))
        flipped[picked] = mirrored
    return flipped, labels


def test_a_random_half_is_flipped_then_every_image_alternates(images):
    labels = np.arange(len(images))
    batches = EpochBatches(images, labels, 64, seed=3, alternating_flip=True)
    first, seen = _flipped(batches, images, 0)
    assert 70 < first.sum() < 130  # about half of 200
    assert seen == list(batches.order)  # every image once, in the epoch's order
    second, _ = _flipped(batches, images, 1)
    third, _ = _flipped(batches, images, 2)
    np.testing.assert_array_equal(second, ~first)
    np.testing.assert_array_equal(third, first)
    other, _ = _flipped(EpochBatches(images, labels, 64, seed=4, alternating_flip=True), images, 0)
    assert np.any(other != first)  # the half is drawn from the seed


def test_without_alternating_flips_the_batches_are_the_images(images):
    batches = EpochBatches(images, np.arange(len(images)), 64, seed=3)
    for epoch in (0, 1):
        flipped, _ = _flipped(batches, images, epoch)
        assert not flipped.any()


@pytest.mark.parametrize("alternating_flip", [False, True])
def test_the_tensorflow_pipeline_gives_the_same_batches(images, alternating_flip):
    pytest.importorskip("tensorflow")
    batches = EpochBatches(images, np.arange(len(images)), 64, 3, alternating_flip)
    dataset = tf_batches(batches)
    for epoch in (0, 1):
        batches.set_epoch(epoch)
        got = [(x.numpy(), y.numpy()) for x, y in dataset]
        assert len(got) == len(batches) == 4
        for index, (x, y) in enumerate(got):
            want_x, want_y = batches[index]
            np.testing.assert_array_equal(x, want_x)
            np.testing.assert_array_equal(y, want_y)


def test_the_model_does_not_flip_again():
    alternating = Augmentation(horizontal_flip=True, shift=2 / 32, alternating_flip=True)
    (layer,) = augmentation_layers(alternating)
    assert layer.horizontal_flip is False and layer.shift == 2 / 32
    (layer,) = augmentation_layers(Augmentation(horizontal_flip=True))
    assert layer.horizontal_flip is True
