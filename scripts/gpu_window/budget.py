"""``budget`` (here, before staging): the epochs of each job that fit the window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpu_window.common import StageError


def estimate_budget(
    jobs: Sequence[Any],
    *,
    tflops: float,
    seconds: float,
    step_ms: float = 0.0,
    train_images: int = 50_000,
) -> list[dict[str, Any]]:
    """Estimated training seconds of each job from its FLOP count.

    An epoch takes ``training-step FLOPs/image (3 x forward) x images / (tflops x 1e12)``
    plus ``step_ms`` per step (the launch and host overhead that bounds small models); the
    rows say which jobs fit ``seconds`` in plan order. Small CIFAR models reach far less than
    a large GPU's peak: calibrate ``tflops`` with the ``TFLOP/s`` column that ``evaluate``
    prints after a first window.
    """
    import keras

    from keras_cifar_zoo.profiling import count_flops
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training.recipes import get_recipe

    if not tflops > 0 or not seconds > 0 or not step_ms >= 0:
        raise StageError(
            f"tflops and seconds must be > 0, step_ms >= 0. "
            f"Received: tflops={tflops}, seconds={seconds}, step_ms={step_ms}"
        )
    rows, total = [], 0.0
    for job in jobs:
        recipe = get_recipe(job.recipe)
        epochs = job.epochs or recipe.epochs
        images = min(job.train_images or train_images, train_images)
        steps = -(-images // (job.batch_size or recipe.batch_size))
        per_image = count_flops(build_model(job.model)).training_step
        keras.backend.clear_session()
        epoch_s = per_image * images / (tflops * 1e12) + steps * step_ms / 1e3
        total += epoch_s * epochs
        rows.append(
            {
                "id": job.id,
                "epochs": epochs,
                "gflops_per_image": round(per_image / 1e9, 3),
                "epoch_s": round(epoch_s, 2),
                "seconds": round(epoch_s * epochs, 1),
                "cumulative_s": round(total, 1),
                "fits": total <= seconds,
            }
        )
    return rows
