"""PNG plots the articles show: training curves, confusion matrix, a grid of predictions.

Needs matplotlib (``pip install keras-cifar-zoo[plots]``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from keras_cifar_zoo.data import CLASS_NAMES
from keras_cifar_zoo.errors import InvalidArgumentError, ZooError


class PlottingUnavailableError(ZooError, ImportError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlottingUnavailableError(
            "Plots need matplotlib: pip install 'keras-cifar-zoo[plots]'."
        ) from exc
    return plt


def _save(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_history(history: Any, path: str | os.PathLike) -> Path:
    """Writes accuracy and loss curves (train, and validation when present) to ``path``.

    Args:
        history: A ``keras.callbacks.History`` or its ``.history`` dict.
        path: PNG file to write.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: If the history holds neither accuracy nor loss.
        PlottingUnavailableError: If matplotlib is not installed.

    Example:
        >>> plot_history(fit_cifar10("simple_cnn", epochs=2), "curves.png")  # doctest: +SKIP
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not any(logs.get(k) for k in ("accuracy", "loss")):
        raise InvalidArgumentError(
            "history must be a keras History or its .history dict with 'accuracy' or 'loss' "
            f"values. Received: history={history!r}"
        )
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            if logs.get(key):
                ax.plot(range(1, len(logs[key]) + 1), logs[key], label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    return _save(fig, path)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    path: str | os.PathLike,
    class_names: Sequence[str] = CLASS_NAMES,
) -> Path:
    """Writes a confusion matrix (rows: true class, columns: predicted) with counts.

    Args:
        matrix: Square counts, e.g. ``evaluate(model)["confusion_matrix"]``.
        path: PNG file to write.
        class_names: One name per row.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: If the matrix is not square with one row per class name.
        PlottingUnavailableError: If matplotlib is not installed.
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(class_names), len(class_names)):
        raise InvalidArgumentError(
            f"matrix must be {len(class_names)}x{len(class_names)}, one row and column per class "
            f"name. Received: matrix.shape={matrix.shape}"
        )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            int(count),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if count > threshold else "black",
        )
    return _save(fig, path)


def plot_predictions(
    images: np.ndarray,
    predicted: Sequence[int],
    path: str | os.PathLike,
    true: Sequence[int] | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
    columns: int = 8,
) -> Path:
    """Writes a grid of images titled with predicted (and true) labels; misses in red.

    Args:
        images: Raw RGB images (N, H, W, 3) in 0-255.
        predicted: Predicted class index per image.
        path: PNG file to write.
        true: True class index per image, if known (titles then show both).
        class_names: Name of each class index.
        columns: Images per row.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: If the label counts differ from the image count.
        PlottingUnavailableError: If matplotlib is not installed.
    """
    count = len(images)
    if len(predicted) != count or (true is not None and len(true) != count) or count == 0:
        raise InvalidArgumentError(
            "images, predicted (and true) must have the same length, at least 1. Received: "
            f"{count} images, {len(predicted)} predicted, "
            f"{'no' if true is None else len(true)} true labels"
        )
    plt = _pyplot()
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(np.asarray(images[index], dtype=np.uint8))
        title = class_names[predicted[index]]
        color = "black"
        if true is not None:
            title += f"\n({class_names[true[index]]})"
            color = "green" if predicted[index] == true[index] else "red"
        ax.set_title(title, fontsize=7, color=color)
    return _save(fig, path)
