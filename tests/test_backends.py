"""The model and augmentation tests again under another Keras backend (the backend is fixed
at import time, so each rerun is its own process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from jax_rerun import JAX_MISSING, ROOT, pytest_under_jax

from keras_cifar_zoo import list_models

# Parameter counts, forward passes and the preprocessing layer of every model, about a
# minute on two CPU cores (model building dominates under JAX).
SUBSET = "param or forward or preprocessing_layer"


@pytest.mark.skipif(JAX_MISSING, reason="JAX is not installed")
def test_model_tests_pass_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    backend = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.backend.backend())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert backend.stdout.strip() == "jax", backend.stderr[-2000:]
    passed = pytest_under_jax(ROOT / "tests" / "test_models.py", "-k", SUBSET, timeout=1200)
    # At least a parameter count and a forward pass per model ran.
    assert passed >= 2 * len(list_models())


@pytest.mark.skipif(JAX_MISSING, reason="JAX is not installed")
def test_augmentation_tests_pass_under_jax():
    """RandomAugment runs inside the compiled step on every backend; its exact checks too."""
    assert pytest_under_jax(ROOT / "tests" / "test_augment.py") >= 13
