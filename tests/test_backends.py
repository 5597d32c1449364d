"""The backend-sensitive tests again under JAX (the backend is fixed at import time, so the
rerun is a process of its own)."""

from __future__ import annotations

import keras
import pytest
from helpers.jax_rerun import JAX_MISSING, pytest_under_jax

from keras_cifar_zoo import list_models

# What depends on the backend: every model's parameter count, forward pass and preprocessing
# layer, the augmentation inside the compiled step, and fit with its input pipeline, seeding,
# checkpoints and exact resume. One process: starting JAX and Keras once, not per file.
RERUN = (
    "test_models.py::test_param_count",
    "test_models.py::test_forward_pass_on_uint8_batch",
    "test_models.py::test_preprocessing_layer_is_first_and_weightless",
    "test_augment.py",
    "test_training.py",
    "test_reliability_training.py",
    "test_weight_averaging.py",
    "test_alternating_flip.py",
    "test_frozen_variables.py",
)


@pytest.mark.slow  # one subprocess, about 1.5 minutes on two CPU cores
@pytest.mark.extended
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow" or JAX_MISSING,
    reason="reruns the backend-sensitive tests under JAX from the TensorFlow run, when JAX "
    "is installed",
)
def test_backend_sensitive_tests_pass_under_jax():
    passed = pytest_under_jax(*RERUN)
    models = len(list_models())
    assert passed["test_models.py"] >= 3 * models
    assert passed["test_augment.py"] >= 13
    assert passed["test_training.py"] >= 40
    assert passed["test_reliability_training.py"] >= 30
    assert passed["test_weight_averaging.py"] >= 9
    assert passed["test_alternating_flip.py"] >= 5
    assert passed["test_frozen_variables.py"] >= 10
