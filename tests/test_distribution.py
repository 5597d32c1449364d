"""fit_cifar10(distribution="data_parallel") on two virtual CPU devices, each backend in its
own process (the backend and the device count are fixed when the process starts)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300

# Trains simple_cnn with article_002 (augmentation included) for two epochs on 67 images,
# then prints what the probe saw as the last line of stdout.
COMMON = """
import json, logging, sys
import keras
import numpy as np
from keras_cifar_zoo import InvalidArgumentError, fit_cifar10

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
seen = {}

class Probe(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.before = keras.ops.convert_to_numpy(self.model.trainable_variables[0].value).copy()
        seen.update(begin(self.model))

    def on_train_end(self, logs=None):
        after = keras.ops.convert_to_numpy(self.model.trainable_variables[0].value)
        seen["kernel_changed"] = float(np.abs(after - self.before).max())
        seen.update(end(self.model))

rng = np.random.default_rng(0)
x = rng.integers(0, 256, (67, 32, 32, 3), dtype=np.uint8)
y = rng.integers(0, 10, 67)
history = fit_cifar10(
    "simple_cnn", recipe="article_002", epochs=2, batch_size=32, data=(x, y),
    distribution="data_parallel", callbacks=[Probe()], verbose=0, seed=0,
)
seen["loss"] = history.history["loss"]
seen["model"] = history.model.name
seen["predicts"] = list(history.model.predict(x[:3], verbose=0).shape)
try:
    fit_cifar10("simple_cnn", epochs=1, batch_size=33, data=(x, y), distribution="data_parallel",
                verbose=0)
    seen["odd_batch"] = "accepted"
except InvalidArgumentError as exc:
    seen["odd_batch"] = str(exc)
print(json.dumps(seen))
"""

TENSORFLOW = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

def begin(model):
    variable = model.trainable_variables[0].value
    return {
        "replicas": tf.distribute.get_strategy().num_replicas_in_sync,
        "variable": type(variable).__name__,
        "copies": len(variable.values),
    }

def end(model):
    return {}
"""

JAX = """
import jax

def begin(model):
    distribution = keras.distribution.distribution()
    return {
        "devices": len(jax.devices()),
        "distribution": type(distribution).__name__,
        "mesh_devices": int(distribution.device_mesh.devices.size),
    }

def end(model):
    return {"variable_devices": len(model.trainable_variables[0].value.devices())}
"""


def run_backend(backend: str, setup: str, extra_env: dict[str, str]) -> tuple[dict, str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        # the setup comes first: TensorFlow's logical devices must exist before anything runs
        [sys.executable, "-c", setup + COMMON],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def assert_trained(seen: dict) -> None:
    assert seen["model"] == "simple_cnn"
    assert len(seen["loss"]) == 2 and all(0 < loss < 10 for loss in seen["loss"])
    assert seen["kernel_changed"] > 0
    assert seen["predicts"] == [3, 10]


def assert_uneven_batches_handled(seen: dict, stderr: str) -> None:
    """JAX cannot split a batch of 3 over 2 devices, and MirroredStrategy failed on batches
    of 33 (17 + 16) and on a last batch of 1: the batch size must divide, the rest is trimmed."""
    assert "Leaving out the last 1 of 67 images of data" in stderr
    assert seen["odd_batch"] == (
        "batch_size must be a multiple of the 2 devices each batch is split over. "
        "Received: batch_size=33"
    )


@pytest.mark.slow  # a subprocess, 10-20 s here
@pytest.mark.extended
def test_tensorflow_mirrored_strategy_on_two_cpus():
    seen, stderr = run_backend("tensorflow", TENSORFLOW, {})
    assert seen["replicas"] == 2
    assert seen["variable"] == "MirroredVariable" and seen["copies"] == 2
    assert_trained(seen)
    assert_uneven_batches_handled(seen, stderr)


@pytest.mark.slow  # a subprocess, 10-20 s here
@pytest.mark.extended
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_data_parallel_on_two_cpus():
    flags = "--xla_force_host_platform_device_count=2 --xla_cpu_multi_thread_eigen=false "
    flags += "intra_op_parallelism_threads=1"  # without these it deadlocked one run in two
    seen, stderr = run_backend("jax", JAX, {"XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"})
    assert seen["devices"] == 2 and seen["mesh_devices"] == 2
    assert seen["distribution"] == "DataParallel"
    assert seen["variable_devices"] == 2  # every weight is replicated on both devices
    assert_trained(seen)
    assert_uneven_batches_handled(seen, stderr)
