"""``keras-cifar-zoo demo`` and the embedded default it runs on (offline)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest

from keras_cifar_zoo import CLASS_NAMES, evaluate, load_cifar10, load_weights
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.cli.demo import embedded_dir, load_embedded
from keras_cifar_zoo.errors import ZooError
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights.hub import file_hash
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = load_manifest(ROOT / "weights_manifest.json")
# The grid needs the plots extra; without it the numbers are still checked (--no-plot).
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to fetch a checkpoint fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the demo tried to download something")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("KERAS_CIFAR_ZOO_HUB", "KERAS_CIFAR_ZOO_DATA", "KERAS_CIFAR_ZOO_MANIFEST"):
        monkeypatch.delenv(var, raising=False)


def test_demo_prints_what_evaluate_measures_on_the_sample(
    tmp_path: Path, no_network, capsys: pytest.CaptureFixture
):
    grid = tmp_path / "grid.png"
    assert main(["demo", "--out", str(grid)] if HAS_MATPLOTLIB else ["demo", "--no-plot"]) == 0
    out = capsys.readouterr().out

    demo = load_embedded()
    model = build_model(demo.model, preprocessing=demo.preprocessing)  # what it trained with
    load_weights(model, demo.weights)
    expected = evaluate(model, data=(demo.images, demo.labels))
    printed = re.search(r"^accuracy (\d\.\d{4}) \((\d+)/200\)$", out, re.MULTILINE)
    assert printed, out
    assert printed[1] == f"{expected['accuracy']:.4f}"
    assert int(printed[2]) == round(expected["accuracy"] * 200)
    for name in CLASS_NAMES:
        row = re.search(rf"^  {name} +(\d\.\d{{4}}) \((\d+)/20\)$", out, re.MULTILINE)
        assert row and row[1] == f"{expected['per_class_accuracy'][name]:.4f}", name
    assert f"model: {demo.model}, weights cifar10:{demo.tag}" in out
    published = MANIFEST.find(demo.model, demo.tag).metrics.accuracy
    assert f"the whole test set (10,000 images) measures {published:.4f}" in out
    if HAS_MATPLOTLIB:
        assert f"grid: {grid}" in out
        assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_shows_the_demo_output(no_network, capsys: pytest.CaptureFixture):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ keras-cifar-zoo demo\n", 1)[1].split("```", 1)[0].splitlines()
    assert main(["demo", "--no-plot"]) == 0
    printed = capsys.readouterr().out.splitlines()
    # The README also shows the load report the log prints on stderr, and a grid path.
    shown = [line for line in block if not re.match(r"^(grid: |\w+: loaded \d+ layers)", line)]
    assert shown == printed, "README.md shows another demo output: paste the new one"


def test_embedded_checkpoint_is_the_published_one_with_most_accuracy_per_byte():
    demo = load_embedded()
    entry = MANIFEST.find(demo.model, demo.tag)
    (record,) = entry.files
    assert file_hash(demo.weights) == record.sha256 == demo.description["sha256"]
    assert demo.weights.stat().st_size == record.size
    assert demo.preprocessing == entry.preprocessing
    cifar10 = [e for e in MANIFEST.entries if e.dataset == "cifar10"]
    best = max(cifar10, key=lambda e: e.metrics.accuracy / sum(f.size for f in e.files))
    assert (best.model, best.tag) == (demo.model, demo.tag)
    size = sum(p.stat().st_size for p in embedded_dir().iterdir())
    assert size < 3 * 2**20, f"the embedded default holds {size:,} bytes"


def test_embedded_sample_is_class_balanced():
    demo = load_embedded()
    assert demo.images.shape == (200, 32, 32, 3) and demo.images.dtype == np.uint8
    assert np.bincount(demo.labels, minlength=10).tolist() == [20] * 10
    assert len(set(demo.indices.tolist())) == 200


@pytest.mark.slow
def test_embedded_sample_holds_real_test_images(cifar10_dir: Path):
    demo = load_embedded()
    _, (images, labels) = load_cifar10(cifar10_dir)
    np.testing.assert_array_equal(demo.images, images[demo.indices])
    np.testing.assert_array_equal(demo.labels, labels[demo.indices])
    filled = cifar10_dir / "cifar-10-batches-py" / "jpeg_filled.json"
    if filled.is_file():  # the lossless copy: only official pixels are embedded
        assert not set(demo.indices.tolist()) & set(json.loads(filled.read_text())["test"])


def test_a_damaged_embedded_checkpoint_is_refused(tmp_path: Path):
    folder = tmp_path / "embedded"
    shutil.copytree(embedded_dir(), folder)
    weights = folder / load_embedded().weights.name
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ZooError, match=r"fails its sha256 check .* reinstall keras-cifar-zoo"):
        load_embedded(folder)
    (folder / "cifar10_test_sample.npz").unlink()
    with pytest.raises(ZooError, match=r"The embedded default in .* is incomplete"):
        load_embedded(folder)


def test_demo_without_matplotlib(
    tmp_path: Path, no_network, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import plots

    def missing():
        raise plots.PlottingUnavailableError(
            "Plots need matplotlib: pip install 'keras-cifar-zoo[plots]'."
        )

    monkeypatch.setattr(plots, "_pyplot", missing)
    assert main(["demo", "--out", str(tmp_path / "grid.png")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "pip install 'keras-cifar-zoo[plots]'" in err
    assert main(["demo", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^accuracy \d\.\d{4} ", out, re.MULTILINE) and "grid:" not in out
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib (the plots extra) absent")
def test_demo_grid_is_headed_and_small(
    tmp_path: Path, no_network, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import plots

    headings = []
    save = plots._save

    def recording_save(fig, path, **kwargs):
        headings.append(fig._suptitle.get_text())
        return save(fig, path, **kwargs)

    monkeypatch.setattr(plots, "_save", recording_save)
    grid = tmp_path / "grid.png"
    assert main(["demo", "--out", str(grid)]) == 0
    accuracy = re.search(r"^accuracy (\d\.\d{4} \(\d+/200\))$", capsys.readouterr().out, re.M)[1]
    demo = load_embedded()
    assert headings == [
        f"{demo.model} (cifar10:{demo.tag}) on 200 CIFAR-10 test images: accuracy {accuracy}\n"
        "Above each image: predicted (true) class; green: right, red: wrong"
    ]
    assert grid.stat().st_size < 1_300_000  # half of what a smoothed grid took


def test_demo_runs_on_another_published_checkpoint_from_the_checkout(
    no_network, capsys: pytest.CaptureFixture
):
    assert main(["demo", "--model", "vgg_lite", "--no-plot"]) == 0
    out = capsys.readouterr().out
    hub = ROOT / "hub"
    assert out.splitlines()[0] == (
        f"model: vgg_lite, weights cifar10:improved (from the checkout's hub/ mirror {hub})"
    )
    demo = load_embedded()
    model = build_model("vgg_lite")
    load_weights(model, "cifar10", hub_dir=hub)
    expected = evaluate(model, data=(demo.images, demo.labels))
    assert f"\naccuracy {expected['accuracy']:.4f} " in out
    published = MANIFEST.find("vgg_lite").metrics.accuracy
    assert f"the whole test set (10,000 images) measures {published:.4f}" in out

    assert main(["demo", "--model", "elu_cnn", "--weights", "cifar100", "--no-plot"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        "keras-cifar-zoo: error: demo classifies CIFAR-10 test images: --weights takes "
        "'cifar10' or 'cifar10:<tag>'. Received: --weights 'cifar100'\n"
    )
