"""PNG plots the articles show: training curves, confusion matrix, a grid of predictions.

Needs matplotlib (``pip install keras-cifar-zoo[plots]``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from keras_cifar_zoo.data import CLASS_NAMES, default_class_names, resolve_class_names
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


def _save(fig: Any, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return path


_MARKED_EPOCHS = 30
"""Curves of up to this many epochs mark each epoch's point."""


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
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            if logs.get(key):
                values = logs[key]
                # A marker per epoch while they can be told apart; a one-epoch run would
                # otherwise draw a line of one point, which shows nothing.
                marker = "o" if len(values) <= _MARKED_EPOCHS else None
                ax.plot(range(1, len(values) + 1), values, label=label, marker=marker, ms=3)
        epochs = max((len(logs[k]) for k in (metric, f"val_{metric}") if logs.get(k)), default=0)
        if 0 < epochs <= 10:  # epochs are whole numbers, even where the axis spans less than 1
            ax.set_xticks(range(1, epochs + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    return _save(fig, path)


# Up to this many classes a confusion matrix shows each count; beyond, the cells get too small
# to hold a number (CIFAR-100's 100 classes), and the colours alone tell the story.
_MAX_COUNTED_CLASSES = 30
# Class counts whose names are known without being passed (CIFAR-10, CIFAR-100 coarse and fine).
_KNOWN_CLASS_COUNTS = (10, 20, 100)


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Writes a confusion matrix (rows: true class, columns: predicted).

    Up to 30 classes each cell shows its count; with more (CIFAR-100) the cells are too small
    for numbers, so the colours use a square-root scale, where the few confusions stay visible
    beside the full diagonal, and a colour bar gives the counts. The figure grows with the
    class count.

    Args:
        matrix: Square counts, e.g. ``evaluate(model)["confusion_matrix"]``.
        path: PNG file to write.
        class_names: One name per row. Default: CIFAR-10's for a 10x10 matrix, CIFAR-100's
            coarse names for 20x20 and fine names for 100x100.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: If the matrix is not square with one row per class name (or,
            without ``class_names``, not 10x10, 20x20 or 100x100).
        PlottingUnavailableError: If matplotlib is not installed.
    """
    matrix = np.asarray(matrix)
    if class_names is None:
        size = matrix.shape[0] if matrix.ndim == 2 else -1
        if matrix.shape != (size, size) or size not in _KNOWN_CLASS_COUNTS:
            raise InvalidArgumentError(
                "matrix must be 10x10, one row and column per CIFAR-10 class (20x20 or 100x100 "
                "for CIFAR-100), or pass class_names= with one name per row. "
                f"Received: matrix.shape={matrix.shape}"
            )
        class_names = default_class_names(size)
    else:
        class_names = resolve_class_names(class_names, None)
    if matrix.shape != (len(class_names), len(class_names)):
        raise InvalidArgumentError(
            f"matrix must be {len(class_names)}x{len(class_names)}, one row and column per class "
            f"name. Received: matrix.shape={matrix.shape}"
        )
    count = len(class_names)
    plt = _pyplot()
    ticks = range(count)
    if count <= len(CLASS_NAMES):
        fig, ax = plt.subplots(figsize=(7, 6))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(ticks, class_names, rotation=45, ha="right")
        ax.set_yticks(ticks, class_names)
    else:
        side = max(7.0, 0.45 * count + 2 if count <= _MAX_COUNTED_CLASSES else 0.16 * count + 3)
        fig, ax = plt.subplots(figsize=(side + 1.5, side))
        fontsize = 7 if count <= _MAX_COUNTED_CLASSES else 6
        if count <= _MAX_COUNTED_CLASSES:
            ax.imshow(matrix, cmap="Blues")
        else:
            from matplotlib.colors import PowerNorm

            image = ax.imshow(matrix, cmap="Blues", norm=PowerNorm(0.5, vmin=0))
            fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="images")
        ax.set_xticks(ticks, class_names, rotation=90, fontsize=fontsize)
        ax.set_yticks(ticks, class_names, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if count > _MAX_COUNTED_CLASSES:
        return _save(fig, path)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), cell in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            int(cell),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if cell > threshold else "black",
        )
    return _save(fig, path)


def _title_lines(name: str, width: int = 16) -> str:
    """A class name broken after its underscores to fit a grid cell: CIFAR-100 names such as
    ``large_man-made_outdoor_things`` are wider than an image; shorter names stay whole."""
    lines = [""]
    for part in re.split(r"(?<=_)", name):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def plot_predictions(
    images: np.ndarray,
    predicted: Sequence[int],
    path: str | os.PathLike,
    true: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    columns: int = 8,
    *,
    num_classes: int | None = None,
    title: str | None = None,
) -> Path:
    """Writes a grid of images titled with predicted (and true) labels; misses in red.

    The figure's heading says how to read the labels ("predicted (true)"). Each image is
    drawn with its pixels enlarged as they are (no smoothing), which keeps a grid of 200
    CIFAR images to a few hundred kilobytes.

    Args:
        images: Raw RGB images (N, H, W, 3) in 0-255.
        predicted: Predicted class index per image.
        path: PNG file to write.
        true: True class index per image, if known (titles then show both).
        class_names: Name of each class index. Default: the names for ``num_classes`` (see
            :func:`keras_cifar_zoo.evaluate`), CIFAR-10's when that is not given either.
        columns: Images per row.
        num_classes: The model's class count, e.g. ``probabilities.shape[-1]``; names the
            classes when ``class_names`` is not given.
        title: A first heading line, e.g. the model and its accuracy; the line saying how to
            read the labels follows it.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: If the label counts differ from the image count, a label has
            no class name, or ``class_names`` and ``num_classes`` disagree.
        PlottingUnavailableError: If matplotlib is not installed.
    """
    count = len(images)
    if len(predicted) != count or (true is not None and len(true) != count) or count == 0:
        raise InvalidArgumentError(
            "images, predicted (and true) must have the same length, at least 1. Received: "
            f"{count} images, {len(predicted)} predicted, "
            f"{'no' if true is None else len(true)} true labels"
        )
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
    ):
        raise InvalidArgumentError(
            f"num_classes must be a positive integer or None. Received: num_classes={num_classes!r}"
        )
    if class_names is None and num_classes is None:
        names = CLASS_NAMES
    elif num_classes is None:
        names = resolve_class_names(class_names, None)
    else:
        names = resolve_class_names(
            class_names, num_classes, f"the model (num_classes={num_classes})"
        )
    hint = ""
    if class_names is None and num_classes is None:
        hint = " (CIFAR-10's; pass class_names= or num_classes= for other classes)"
    for arg, labels in (("predicted", predicted), ("true", true)):
        indices = np.asarray(labels if labels is not None else [], dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(names)):
            raise InvalidArgumentError(
                f"{arg} must hold class indices in [0, {len(names)}), one per class name"
                f"{hint}. Received: min={indices.min()}, max={indices.max()}"
            )
    titles = [_title_lines(names[p]) for p in predicted]
    if true is not None:
        titles = [
            f"{title}\n({_title_lines(names[t])})" for title, t in zip(titles, true, strict=True)
        ]
    lines = max(title.count("\n") + 1 for title in titles)
    plt = _pyplot()
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    row_height = 1.6 + 0.12 * max(0, lines - 2)  # room for titles wrapped over more lines
    fig, axes = plt.subplots(
        rows, columns, figsize=(columns * 1.4, rows * row_height), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(np.asarray(images[index], dtype=np.uint8), interpolation="nearest")
        color = "black"
        if true is not None:
            color = "green" if predicted[index] == true[index] else "red"
        ax.set_title(titles[index], fontsize=7, color=color)
    legend = (
        "Above each image: predicted (true) class; green: right, red: wrong"
        if true is not None
        else "Above each image: the predicted class"
    )
    # Just above the first row's labels, however tall the grid is (the default y is a
    # fraction of the figure, which leaves a wide gap above a tall grid).
    top = fig.subplotpars.top + (0.12 * lines + 0.1) / fig.get_size_inches()[1]
    heading = legend if title is None else f"{title}\n{legend}"
    fig.suptitle(heading, fontsize=10, y=top, va="bottom")
    return _save(fig, path)
