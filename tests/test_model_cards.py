"""The model cards and records under ``hub/``: what they promise works today, class order,
what label smoothing does to the probabilities, and that they match the manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from keras_cifar_zoo import load_model
from keras_cifar_zoo.data import default_class_names
from keras_cifar_zoo.publish import refresh_model_cards
from keras_cifar_zoo.weights.hub import file_hash
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
ENTRIES = load_manifest(ROOT / "weights_manifest.json").entries
IDS = [f"{e.model}:{e.identifier}" for e in ENTRIES]


def _card(entry) -> str:
    return (HUB / entry.repo_id / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cards_promise_only_what_works_today(entry):
    card = _card(entry)
    assert "pip install keras-cifar-zoo" not in card
    assert f'keras.saving.load_model("hf://{entry.repo_id}")' in card
    assert "Once the repository is on the Hub, `keras.saving.load_model(" in card  # future only
    assert (
        f"The files are in the keras-cifar-zoo source repository, in the folder "
        f"`hub/{entry.repo_id}/`; they will be published to the Hugging Face Hub as "
        f"`{entry.repo_id}`, and are not there yet."
    ) in card
    assert f'model = load_model("{entry.model}", weights="{entry.identifier}")' in card
    assert f'model = keras.saving.load_model("hub/{entry.repo_id}")' in card


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cards_and_records_name_the_class_order(entry):
    names = default_class_names(entry.num_classes)
    assert len(names) == {"cifar10": 10, "cifar100": 100}[entry.dataset]
    listed = ", ".join(f"{i} `{name}`" for i, name in enumerate(names))
    label = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}[entry.dataset]
    assert (
        f"Output i is the probability of class i, in {label}'s label order (also `class_names` "
        f"in `keras_cifar_zoo.json`): {listed}."
    ) in _card(entry)
    record = json.loads((HUB / entry.repo_id / "keras_cifar_zoo.json").read_text("utf-8"))
    assert record["class_names"] == list(names)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cards_say_what_label_smoothing_does_to_the_probabilities(entry):
    smoothing = entry.recipe.settings["label_smoothing"]
    # the true class's target, 1 - s + s / classes, and the top probability near it
    target, near = {
        (0.1, 10): ("0.91", "0.9"), (0.1, 100): ("0.901", "0.9"), (0.2, 10): ("0.82", "0.8"),
    }.get((smoothing, entry.num_classes), (None, None))  # fmt: skip
    said = f"so the top probability of a confident prediction sits near {near} rather than near 1"
    assert ("so the top probability of a confident" in _card(entry)) == (smoothing > 0)
    if smoothing:
        assert target, f"no expected text for label smoothing {smoothing}"
        assert (
            f"The recipe `{entry.recipe.name}` trains with label smoothing {smoothing:g}: the "
            f"true class's training target is {target}, not 1, {said}. Read the probabilities "
            "as scores that rank the classes, not as calibrated confidences."
        ) in _card(entry)
    if entry.tag == "improved":
        assert smoothing == 0.1


@pytest.mark.slow
def test_improved_checkpoints_do_score_near_0_9():
    """What the cards say, measured: real CIFAR-10 test images through an improved checkpoint."""
    from keras_cifar_zoo.cli.demo import load_embedded

    images = load_embedded().images
    top = load_model("vgg16_bn", weights="cifar10", hub_dir=HUB).predict(images, verbose=0)
    top = top.max(axis=1)
    assert 0.88 < np.median(top) < 0.92 and top.max() < 0.95


def test_the_cards_under_hub_are_what_refresh_writes_and_leave_the_weights(tmp_path: Path):
    shutil.copytree(HUB, tmp_path / "hub")
    shutil.copy(ROOT / "weights_manifest.json", tmp_path)
    refresh_model_cards(tmp_path)
    for entry in ENTRIES:
        ours, fresh = HUB / entry.repo_id, tmp_path / "hub" / entry.repo_id
        assert (fresh / "README.md").read_text("utf-8") == (ours / "README.md").read_text(
            "utf-8"
        ), f"{ours / 'README.md'} is stale: run refresh_model_cards('.')"
        written = json.loads((fresh / "keras_cifar_zoo.json").read_text("utf-8"))
        kept = json.loads((ours / "keras_cifar_zoo.json").read_text("utf-8"))
        assert written | {"keras_version": None} == kept | {"keras_version": None}
        for f in entry.files:  # the weights are the manifest's, byte for byte
            assert file_hash(ours / f.name) == f.sha256 and (ours / f.name).stat().st_size == f.size


PLAIN_KERAS = textwrap.dedent(
    """
    import sys

    class RefusePackage:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "keras_cifar_zoo":
                raise ImportError("keras_cifar_zoo is not importable in this process")

    sys.meta_path.insert(0, RefusePackage())
    import keras
    import numpy as np

    model = keras.saving.load_model(sys.argv[1])  # as the card shows it, from the checkout root
    np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
    """
)


@pytest.mark.slow
def test_the_cards_plain_keras_line_loads_the_folder(tmp_path: Path, uint8_images: np.ndarray):
    entry = next(e for e in ENTRIES if e.model == "elu_cnn" and e.dataset == "cifar10")
    np.save(tmp_path / "images.npy", uint8_images)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "KERAS_CIFAR_ZOO"))}
    env |= {"PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PLAIN_KERAS,
            f"hub/{entry.repo_id}",
            str(tmp_path / "images.npy"),
            str(tmp_path / "plain.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ours = load_model(entry.model, weights=entry.identifier, hub_dir=HUB)
    np.testing.assert_array_equal(
        np.load(tmp_path / "plain.npy"), ours.predict(uint8_images, verbose=0)
    )
