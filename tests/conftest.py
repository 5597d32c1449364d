"""Shared fixtures. The default suite is offline; slow tests skip themselves without inputs."""

from __future__ import annotations

import os

# Before anything imports TensorFlow or huggingface_hub (both read these at import time).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from pathlib import Path

import huggingface_hub.constants  # noqa: F401  # before a test sets HF_HUB_OFFLINE (read at import)
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
def eager_steps():
    """Runs TensorFlow's training function eagerly for the test (nothing to do elsewhere)."""
    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(False)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator."""
    return np.random.default_rng(1234)


@pytest.fixture
def uint8_images(rng: np.random.Generator) -> np.ndarray:
    """A batch of four random RGB images, uint8, shape (4, 32, 32, 3)."""
    return rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)


def _real_data(marker: str, env: list[str | None], what: str, tool: str) -> Path:
    """The first folder of ``env`` (then the ignored ``.data/``) holding ``marker``; skips the
    test when none does."""
    for folder in [*env, ROOT / ".data"]:
        if folder and (Path(folder) / marker).is_file():
            return Path(folder)
    pytest.skip(
        f"real {what} not found: set KERAS_CIFAR_ZOO_DATA to a folder holding "
        f"{marker.split('/')[0]}/ (CI creates it with ../shared/tools/{tool})"
    )


@pytest.fixture(scope="session")
def cifar100_dir() -> Path:
    """The folder holding the real ``cifar-100-python/`` (``KERAS_CIFAR_ZOO_DATA``, where CI
    writes both datasets, then ``KERAS_CIFAR_ZOO_CIFAR100``, then ``.data/``)."""
    env = [os.environ.get("KERAS_CIFAR_ZOO_DATA"), os.environ.get("KERAS_CIFAR_ZOO_CIFAR100")]
    return _real_data("cifar-100-python/test", env, "CIFAR-100", "make_cifar100.py")


@pytest.fixture(scope="session")
def cifar10_dir() -> Path:
    """The folder holding ``cifar-10-batches-py/`` (real data): ``KERAS_CIFAR_ZOO_DATA`` (what
    CI exports), then the repository's ignored ``.data/`` folder."""
    env = [os.environ.get("KERAS_CIFAR_ZOO_DATA")]
    return _real_data("cifar-10-batches-py/test_batch", env, "CIFAR-10", "make_cifar10_batches.py")
