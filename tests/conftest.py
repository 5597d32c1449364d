"""Shared fixtures. The default suite is offline; slow tests skip themselves without inputs."""

from __future__ import annotations

import os

# Before anything imports TensorFlow or huggingface_hub (both read these at import time).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Resets Keras's global state (auto-generated names, dtype policy) before each test."""
    keras.backend.clear_session(free_memory=False)
    yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator."""
    return np.random.default_rng(1234)


@pytest.fixture
def uint8_images(rng: np.random.Generator) -> np.ndarray:
    """A batch of four random RGB images, uint8, shape (4, 32, 32, 3)."""
    return rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def cifar10_dir() -> Path:
    """The folder holding ``cifar-10-batches-py/`` (real data); skips the test when absent.

    Looks at ``KERAS_CIFAR_ZOO_DATA`` first (what CI exports), then at the repository's
    ignored ``.data/`` folder.
    """
    candidates = [os.environ.get("KERAS_CIFAR_ZOO_DATA"), ROOT / ".data"]
    for folder in candidates:
        if folder and (Path(folder) / "cifar-10-batches-py" / "test_batch").is_file():
            return Path(folder)
    pytest.skip(
        "real CIFAR-10 not found: set KERAS_CIFAR_ZOO_DATA to a folder holding "
        "cifar-10-batches-py/ (CI creates it with ../shared/tools/make_cifar10_batches.py)"
    )
