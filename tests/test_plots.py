"""Each plot writes a PNG; bad inputs and a missing matplotlib give clear errors."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from PIL import Image

from keras_cifar_zoo import InvalidArgumentError
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
