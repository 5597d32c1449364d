"""Published checkpoints and saved zoo models load in plain Keras, without keras-cifar-zoo.

``keras.saving.load_model("hf://<repo>")`` runs in a subprocess where importing the package
fails, against the local Hub stand-in serving the committed ``hub/`` folder; its predictions
must equal the package's ``load_model(name, weights="cifar10:<tag>")``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.hub_stand_in import HubStandIn

from keras_cifar_zoo import load_model
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
ENTRIES = load_manifest().entries

# Runs in a fresh interpreter: the package cannot be imported there, only Keras.
PLAIN_KERAS = r"""
import json, sys

class RefusePackage:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "keras_cifar_zoo":
            raise ImportError("keras_cifar_zoo is not importable in this process")

sys.meta_path.insert(0, RefusePackage())
try:
    import keras_cifar_zoo  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("keras_cifar_zoo was importable")

import keras
import numpy as np

images = np.load(sys.argv[1])
out = {}
for repo_id in sys.argv[3:]:
    # a repository on the Hub, or a .keras file saved from a zoo model
    path = repo_id if repo_id.endswith(".keras") else f"hf://{repo_id}"
    model = keras.saving.load_model(path)
    out[repo_id] = {
        "layer": type(model.get_layer("preprocessing")).__module__,
        "params": model.count_params(),
    }
    name = repo_id.replace("/", "--") if path.startswith("hf://") else "saved.keras"
    np.save(f"{sys.argv[2]}/{name}.npy", model.predict(images, verbose=0))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def plain_keras_predictions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """Loads every published repo once in the package-free process; returns its outputs."""
    tmp = tmp_path_factory.mktemp("plain_keras")
    images = np.random.default_rng(7).integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    np.save(tmp / "images.npy", images)
    saved = load_model("resnet20_v1", weights="cifar10", hub_dir=HUB)
    saved.save(tmp / "zoo_model.keras")
    server = HubStandIn(HUB).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "KERAS_CIFAR_ZOO"))}
        env |= {
            "HF_ENDPOINT": server.endpoint,
            "HF_HOME": str(tmp / "hf_home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "PYTHONPATH": "",
        }
        done = subprocess.run(
            [sys.executable, "-c", PLAIN_KERAS, str(tmp / "images.npy"), str(tmp)]
            + [entry.repo_id for entry in ENTRIES]
            + [str(tmp / "zoo_model.keras")],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            timeout=900,
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp, json.loads(done.stdout.strip().splitlines()[-1]), tmp / "images.npy"


@pytest.mark.slow
@pytest.mark.extended
@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.model}:{e.tag}" for e in ENTRIES])
def test_published_repo_loads_in_plain_keras_with_the_package_predictions(
    entry, plain_keras_predictions
):
    folder, report, images_file = plain_keras_predictions
    plain = np.load(folder / f"{entry.repo_id.replace('/', '--')}.npy")
    model = load_model(entry.model, weights=entry.identifier, hub_dir=HUB)
    ours = model.predict(np.load(images_file), verbose=0)
    np.testing.assert_array_equal(plain, ours)
    assert report[entry.repo_id] == {
        "layer": "keras.src.layers.preprocessing.rescaling",
        "params": model.count_params(),
    }


def test_every_repo_holds_what_keras_writes():
    for entry in ENTRIES:
        repo = HUB / entry.repo_id
        config = json.loads((repo / "config.json").read_text(encoding="utf-8"))
        assert config["class_name"] == "Functional", entry.repo_id
        assert config["config"]["name"] == entry.model
        assert (repo / "metadata.json").is_file() and (repo / "model.weights.h5").is_file()
        record = json.loads((repo / "keras_cifar_zoo.json").read_text(encoding="utf-8"))
        assert record["model"] == entry.model and record["tag"] == entry.tag
        modules = {layer["module"] for layer in config["config"]["layers"] if "module" in layer}
        assert modules <= {"keras.layers", "keras"}, (entry.repo_id, modules)


@pytest.mark.slow
@pytest.mark.extended
def test_a_keras_file_saved_from_a_zoo_model_loads_in_plain_keras(plain_keras_predictions):
    folder, report, images_file = plain_keras_predictions
    plain = np.load(folder / "saved.keras.npy")
    model = load_model("resnet20_v1", weights="cifar10", hub_dir=HUB)
    np.testing.assert_array_equal(plain, model.predict(np.load(images_file), verbose=0))
    assert report[str(folder / "zoo_model.keras")]["layer"] == (
        "keras.src.layers.preprocessing.rescaling"
    )
