"""CIFAR-10 folders in the official python layout, written from small arrays for the tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES


def write_batch(path: Path, images: np.ndarray, labels, protocol: int = 4) -> None:
    """One batch file: (N, 32, 32, 3) uint8 images stored channel-first and flattened, as the
    official files store them, with their labels."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    batch = {b"data": data, b"labels": [int(v) for v in labels], b"batch_label": b"test"}
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=protocol)


def tiny_cifar10(root: Path, rng: np.random.Generator, train: int = 8, test: int = 16) -> Path:
    """``root/cifar-10-batches-py`` with random images: ``train`` in each of the five training
    batches and ``test`` in the test batch, labels cycling through the classes; returns
    ``root``, the data folder ``fit``/``load_cifar10`` take."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, count in [(n, train) for n in TRAIN_BATCHES] + [(TEST_BATCH, test)]:
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        write_batch(folder / name, images, np.arange(count) % 10)
    return root
