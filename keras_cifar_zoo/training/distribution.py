"""Training on several devices: the distribution, and batches that split evenly over them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidTypeError,
)

logger = logging.getLogger(__name__)

DATA_PARALLEL = "data_parallel"


def _resolve_distribution(distribution: Any) -> Any:
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise InvalidArgumentError(
            "Multi-device training needs the JAX or TensorFlow backend. "
            f"Received: distribution={distribution!r} on backend {backend!r}"
        )
    if isinstance(distribution, str):
        if distribution != DATA_PARALLEL:
            raise InvalidArgumentError(
                f"distribution must be {DATA_PARALLEL!r}, a keras.distribution.Distribution "
                "(JAX) or a tf.distribute.Strategy (TensorFlow). "
                f"Received: distribution={distribution!r}"
            )
        if backend == "jax":
            return keras.distribution.DataParallel()
        import tensorflow as tf

        # Every GPU, or every logical CPU device when there is no GPU.
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if not callable(getattr(distribution, "scope", None)):
        raise InvalidTypeError(
            f"distribution must be {DATA_PARALLEL!r} or an object with a scope() method "
            "(keras.distribution.DataParallel, tf.distribute.MirroredStrategy). "
            f"Received: distribution={distribution!r}"
        )
    return distribution


@contextlib.contextmanager
def distribution_scope(distribution: Any) -> Iterator[Any]:
    """Runs model building, compiling and fitting on several devices.

    ``"data_parallel"`` uses every visible device: ``keras.distribution.DataParallel`` on JAX,
    ``tf.distribute.MirroredStrategy`` on TensorFlow (every GPU, else every logical CPU). A
    ready-made distribution or strategy object is used as it is. Yields the distribution or
    strategy in use (None without one).
    """
    if distribution is None:
        yield None
        return
    resolved = _resolve_distribution(distribution)
    with resolved.scope():
        yield resolved


def batch_shards(distribution: Any) -> int:
    """How many devices each batch is split over (1 without a distribution)."""
    replicas = getattr(distribution, "num_replicas_in_sync", None)  # tf.distribute
    if replicas:
        return int(replicas)
    mesh = getattr(distribution, "device_mesh", None)  # keras.distribution
    axis = getattr(distribution, "batch_dim_name", None)
    if mesh is None or axis is None:
        return 1
    return int(mesh.shape[list(mesh.axis_names).index(axis)])


def trim_for_shards(
    split: tuple[np.ndarray, np.ndarray], batch_size: int, shards: int, arg: str
) -> tuple[np.ndarray, np.ndarray]:
    """Drops the few last images that would leave a final batch not divisible by ``shards``
    (JAX cannot split such a batch over the devices; MirroredStrategy fails on some, such as
    a last batch of one image on two devices)."""
    images, labels = split
    drop = (len(images) % batch_size) % shards
    if drop:
        if drop == len(images):
            raise InvalidArgumentError(
                f"{arg} holds {len(images)} images, fewer than the {shards} devices it is split "
                f"over. Received: {arg}[0].shape={images.shape}"
            )
        logger.warning(
            "Leaving out the last %d of %d images of %s: with batch size %d the last batch "
            "must split evenly over %d devices.",
            drop,
            len(images),
            arg,
            batch_size,
            shards,
        )
        images, labels = images[:-drop], labels[:-drop]
    return images, labels
