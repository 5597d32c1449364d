"""The model tests again under another Keras backend (the backend is fixed at import time,
so each one runs in its own process)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Parameter counts, forward passes and the preprocessing layer of every model, about a
# minute on two CPU cores (model building dominates under JAX).
SUBSET = "param or forward or preprocessing_layer"


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_model_tests_pass_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    backend = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.backend.backend())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert backend.stdout.strip() == "jax", backend.stderr[-2000:]

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         str(ROOT / "tests" / "test_models.py"), "-k", SUBSET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    # At least a parameter count and a forward pass per model ran.
    from keras_cifar_zoo import list_models

    assert passed and int(passed[1]) >= 2 * len(list_models()), done.stdout[-2000:]
