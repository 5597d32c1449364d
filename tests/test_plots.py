"""Each plot writes a PNG; bad inputs and a missing matplotlib give clear errors."""

from __future__ import annotations

import importlib.util
import re
import sys

import numpy as np
import pytest
from PIL import Image

from keras_cifar_zoo import (
    CIFAR100_COARSE_NAMES,
    CIFAR100_FINE_NAMES,
    CLASS_NAMES,
    InvalidArgumentError,
    plots,
)
from keras_cifar_zoo.plots import (
    PlottingUnavailableError,
    plot_confusion_matrix,
    plot_history,
    plot_predictions,
)

HISTORY = {
    "accuracy": [0.3, 0.5, 0.6],
    "loss": [1.9, 1.4, 1.1],
    "val_accuracy": [0.35, 0.45, float("nan")],
    "val_loss": [1.8, 1.5, 1.3],
}


def assert_png(path, min_width=100):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.width >= min_width and image.height >= 50


needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib (the plots extra) absent"
)


@needs_matplotlib
def test_history_curves(tmp_path):
    class History:  # what keras.callbacks.History offers
        history = HISTORY

    assert_png(plot_history(HISTORY, tmp_path / "a.png"), min_width=500)
    path = plot_history(History(), tmp_path / "sub" / "b.png")
    assert path == tmp_path / "sub" / "b.png"
    assert_png(path, min_width=500)
    assert_png(plot_history({"loss": [2.0]}, tmp_path / "c.png"))


@needs_matplotlib
def test_confusion_matrix(tmp_path):
    matrix = np.arange(100).reshape(10, 10).tolist()
    assert_png(plot_confusion_matrix(matrix, tmp_path / "cm.png"), min_width=300)
    small = plot_confusion_matrix([[3, 1], [0, 4]], tmp_path / "cm2.png", class_names=("a", "b"))
    assert_png(small)


@needs_matplotlib
def test_prediction_grid(tmp_path, rng):
    images = rng.integers(0, 256, (11, 32, 32, 3), dtype=np.uint8)
    predicted = [*range(10), 3]
    assert_png(plot_predictions(images, predicted, tmp_path / "grid.png", true=[3] * 11))
    assert_png(plot_predictions(images[:2].astype(float), [1, 2], tmp_path / "two.png"))


@needs_matplotlib
def test_bad_inputs(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"matrix must be 10x10, one row and column"):
        plot_confusion_matrix([[1, 2], [3, 4]], tmp_path / "x.png")
    with pytest.raises(InvalidArgumentError, match=r"Received: 2 images, 1 predicted, no true"):
        plot_predictions(np.zeros((2, 32, 32, 3)), [1], tmp_path / "x.png")
    with pytest.raises(InvalidArgumentError, match=r"Received: 1 images, 1 predicted, 2 true"):
        plot_predictions(np.zeros((1, 32, 32, 3)), [1], tmp_path / "x.png", true=[1, 2])
    with pytest.raises(InvalidArgumentError, match=r"with 'accuracy' or 'loss' values"):
        plot_history({}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(PlottingUnavailableError, match=r"pip install 'keras-cifar-zoo\[plots\]'"):
        plot_history(HISTORY, tmp_path / "x.png")
    assert issubclass(PlottingUnavailableError, ImportError)


# ------------------------------------------------- class names follow the classes (CIFAR-100)


@pytest.fixture
def drawn(monkeypatch):
    """Records each figure's axes before it is written, to check what the plot shows."""
    figures = []
    save = plots._save

    def recording_save(fig, path):
        figures.append(
            {
                "size": tuple(fig.get_size_inches()),
                "titles": [ax.get_title() for ax in fig.axes],
                "texts": [len(ax.texts) for ax in fig.axes],
                "xticks": [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes],
                "tick_size": [{t.get_fontsize() for t in ax.get_xticklabels()} for ax in fig.axes],
                "heading": fig._suptitle.get_text() if fig._suptitle else None,
            }
        )
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", recording_save)
    return figures


@needs_matplotlib
def test_cifar10_confusion_matrix_is_drawn_as_before(tmp_path, drawn):
    plot_confusion_matrix(np.arange(100).reshape(10, 10), tmp_path / "cm.png")
    assert drawn[0]["size"] == (7, 6) and drawn[0]["texts"] == [100]  # a count per cell
    assert drawn[0]["xticks"] == [list(CLASS_NAMES)]


@needs_matplotlib
def test_cifar100_confusion_matrix_reads_well(tmp_path, drawn, rng):
    matrix = np.diag(np.full(100, 80)) + rng.integers(0, 3, (100, 100))
    path = plot_confusion_matrix(matrix, tmp_path / "cm100.png")
    assert_png(path, min_width=1500)  # grows with the class count
    fine = drawn[0]
    assert fine["xticks"][0] == list(CIFAR100_FINE_NAMES)  # the matrix axes, then the colour bar
    assert fine["texts"][0] == 0  # no per-cell numbers: they would not fit
    assert fine["tick_size"][0] == {6}
    assert fine["size"][1] > 15

    plot_confusion_matrix(np.eye(20, dtype=int) * 9, tmp_path / "cm20.png")
    coarse = drawn[1]
    assert coarse["xticks"] == [list(CIFAR100_COARSE_NAMES)]
    assert coarse["texts"] == [400] and 7 < coarse["size"][1] < fine["size"][1]


@needs_matplotlib
def test_confusion_matrix_class_names_must_fit(tmp_path):
    with pytest.raises(
        InvalidArgumentError,
        match=r"matrix must be 10x10, one row and column per CIFAR-10 class \(20x20 or 100x100 "
        r"for CIFAR-100\), or pass class_names= with one name per row\. "
        r"Received: matrix\.shape=\(7, 7\)",
    ):
        plot_confusion_matrix(np.zeros((7, 7)), tmp_path / "x.png")
    with pytest.raises(InvalidArgumentError, match=r"matrix must be 10x10, one row and column"):
        plot_confusion_matrix(np.zeros((10, 9)), tmp_path / "x.png")
    with pytest.raises(InvalidArgumentError, match=r"matrix must be 3x3, .*shape=\(100, 100\)"):
        plot_confusion_matrix(np.zeros((100, 100)), tmp_path / "x.png", class_names=tuple("abc"))
    with pytest.raises(InvalidArgumentError, match=r"class_names must be a sequence of names"):
        plot_confusion_matrix(np.zeros((3, 3)), tmp_path / "x.png", class_names="abc")
    with pytest.raises(InvalidArgumentError, match=r"must name each class once"):
        plot_confusion_matrix(np.zeros((2, 2)), tmp_path / "x.png", class_names=["a", "a"])
    assert_png(plot_confusion_matrix(np.eye(7), tmp_path / "seven.png", list("abcdefg")))
    assert not (tmp_path / "x.png").exists()


@needs_matplotlib
def test_prediction_grid_titles_use_the_names_of_the_classes(tmp_path, drawn, rng):
    images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    plot_predictions(images, [0, 41, 99, 3], tmp_path / "fine.png", true=[0, 41, 98, 3],
                     num_classes=100)  # fmt: skip
    assert drawn[0]["titles"] == [
        "apple\n(apple)",
        "lawn_mower\n(lawn_mower)",
        "worm\n(woman)",
        "bear\n(bear)",
    ]
    plot_predictions(images[:2], [9, 5], tmp_path / "coarse.png", num_classes=20)
    assert drawn[1]["titles"] == [
        "large_man-made_\noutdoor_things",
        "household_\nelectrical_\ndevices",
    ]
    assert drawn[1]["size"][1] > 1.6  # rows grow for titles over three lines
    plot_predictions(images[:2], [1, 0], tmp_path / "own.png", class_names=("no", "yes"))
    assert drawn[2]["titles"] == ["yes", "no"]
    plot_predictions(images[:2], [1, 9], tmp_path / "cifar10.png", true=[1, 8])
    assert drawn[3]["titles"] == ["automobile\n(automobile)", "truck\n(ship)"]
    assert drawn[3]["size"] == (2 * 1.4, 1.6)  # CIFAR-10 grids keep their size


@needs_matplotlib
def test_prediction_grid_refuses_labels_without_a_name(tmp_path):
    images = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "predicted must hold class indices in [0, 10), one per class name (CIFAR-10's; pass "
            "class_names= or num_classes= for other classes). Received: min=3, max=57"
        ),
    ):
        plot_predictions(images, [3, 57], tmp_path / "x.png")
    with pytest.raises(InvalidArgumentError, match=r"true must hold class indices in \[0, 20\)"):
        plot_predictions(images, [3, 5], tmp_path / "x.png", true=[1, 20], num_classes=20)
    with pytest.raises(
        InvalidArgumentError,
        match=r"class_names holds 10 names but the model \(num_classes=100\) has 100 classes",
    ):
        plot_predictions(images, [3, 5], tmp_path / "x.png", class_names=CLASS_NAMES,
                         num_classes=100)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=r"num_classes must be a positive integer"):
        plot_predictions(images, [3, 5], tmp_path / "x.png", num_classes=0)
    assert not (tmp_path / "x.png").exists()


@needs_matplotlib
def test_prediction_grid_says_how_to_read_its_labels(tmp_path, drawn, rng):
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = [i % 10 for i in range(40)]
    path = plot_predictions(images, labels, tmp_path / "grid.png", true=labels, columns=20)
    assert drawn[0]["heading"] == (
        "Above each image: predicted (true) class; green: right, red: wrong"
    )
    plot_predictions(images[:2], [1, 2], tmp_path / "p.png", title="resnet20_v1 (cifar10)")
    assert drawn[1]["heading"] == "resnet20_v1 (cifar10)\nAbove each image: the predicted class"
    # Pixels enlarged as they are, not smoothed: noise images, the worst case, stay small.
    with Image.open(path) as image:
        assert image.width >= 20 * 100
    assert path.stat().st_size < 1_000_000
