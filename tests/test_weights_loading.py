"""Loading Keras 3 checkpoints by layer name: formats, mismatches, num_classes transfer."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers import hub_stand_in
from helpers.hub_stand_in import HubStandIn, repo_commit

from keras_cifar_zoo import load_model
from keras_cifar_zoo.errors import (
    IntegrityError,
    InvalidArgumentError,
    InvalidTypeError,
    ManifestError,
    UnknownModelError,
    WeightsMismatchError,
)
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE, PRESETS
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights import hub as hub_module
from keras_cifar_zoo.weights import load_weights
from keras_cifar_zoo.weights.loading import use_preprocessing
from keras_cifar_zoo.weights.manifest import load_manifest
from keras_cifar_zoo.weights.source import RECORD_FILES, check_repo_preprocessing
from keras_cifar_zoo.weights.storage import cast_weights_file

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server


def randomize(model: keras.Model, seed: int = 0) -> keras.Model:
    """Gives every weight distinct random values (variances and scales stay positive)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if any(key in w.path for key in ("moving_variance", "gamma")):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            w.assign(rng.normal(0, 0.1, shape).astype("float32"))
    return model


def weights_of(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


@pytest.fixture(scope="module")
def resnet20(tmp_path_factory: pytest.TempPathFactory):
    """A randomized resnet20_v1 saved in the three formats."""
    folder = tmp_path_factory.mktemp("resnet20")
    model = randomize(build_model("resnet20_v1"))
    model.save_weights(folder / "r20.weights.h5")
    model.save_weights(folder / "r20.weights.json", max_shard_size=0.0004)  # 4 shards
    model.save(folder / "r20.keras")
    return model, folder


@pytest.mark.parametrize("filename", ["r20.weights.h5", "r20.weights.json", "r20.keras"])
def test_each_format_round_trips(resnet20, filename: str, uint8_images: np.ndarray):
    model, folder = resnet20
    loaded = load_model("resnet20_v1", weights=folder / filename)
    np.testing.assert_array_equal(
        loaded.predict(uint8_images, verbose=0), model.predict(uint8_images, verbose=0)
    )
    report = load_weights(build_model("resnet20_v1"), folder / filename)
    assert report.loaded == tuple(weights_of(model)) and dict(report.skipped) == {}


def test_sharded_checkpoint_has_several_files(resnet20):
    _, folder = resnet20
    assert len(list(folder.glob("r20_*.weights.h5"))) > 1


def test_float16_file_is_cast_back_to_float32(resnet20, tmp_path: Path):
    model, folder = resnet20
    cast_weights_file(folder / "r20.weights.h5", tmp_path / "half.weights.h5", "float16")
    loaded = load_model("resnet20_v1", weights=tmp_path / "half.weights.h5")
    kernel = loaded.get_layer("stem_conv").kernel
    assert kernel.dtype == "float32"
    expected = model.get_layer("stem_conv").get_weights()[0].astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), expected)


def test_missing_layer_is_named(resnet20):
    _, folder = resnet20
    with pytest.raises(
        WeightsMismatchError,
        match=r"first mismatching layer is 'stage1_block4_conv1' \(Conv2D, weights "
        r"\[\(3, 3, 16, 16\), \(16,\)\]\), which the checkpoint lacks",
    ):
        load_model("resnet56_v1", weights=folder / "r20.weights.h5")


def test_extra_checkpoint_layers_are_a_mismatch(tmp_path: Path):
    build_model("resnet56_v1").save_weights(tmp_path / "r56.weights.h5")
    with pytest.raises(
        WeightsMismatchError, match=r"holds layers the model lacks, first 'stage1_block4_"
    ):
        load_model("resnet20_v1", weights=tmp_path / "r56.weights.h5")


def test_shape_mismatch_names_layer_and_shapes(resnet20, tmp_path: Path):
    _, folder = resnet20
    path = tmp_path / "bad.weights.h5"
    path.write_bytes((folder / "r20.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        group = next(
            f[p] for p in _vars_groups(f) if f[p].attrs.get("name") == "stage2_block1_conv1"
        )
        del group["0"]
        group.create_dataset("0", data=np.zeros((3, 3, 16, 24), np.float32))
    model = build_model("resnet20_v1")
    before = weights_of(model)
    with pytest.raises(
        WeightsMismatchError,
        match=r"first mismatching layer is 'stage2_block1_conv1' \(Conv2D\), with weights "
        r"\[\(3, 3, 16, 24\), \(32,\)\] in the checkpoint and \[\(3, 3, 16, 32\), \(32,\)\]",
    ):
        load_weights(model, path)
    after = weights_of(model)  # nothing was assigned
    assert all(
        np.array_equal(a, b) for k in before for a, b in zip(before[k], after[k], strict=True)
    )


def _vars_groups(f: h5py.File) -> list[str]:
    found: list[str] = []
    f.visititems(lambda name, obj: found.append(name) if name.endswith("/vars") else None)
    return found


def test_num_classes_transfer_reinitialises_only_the_classifier(resnet20):
    model, folder = resnet20
    transferred = load_model("resnet20_v1", weights=folder / "r20.keras", num_classes=5)
    report = load_weights(build_model("resnet20_v1", num_classes=5), folder / "r20.keras")
    assert report.skipped == {
        "predictions": "classifier re-initialised: the checkpoint has 10 classes, the model 5"
    }
    assert any("newly initialised" in note for note in report.notes)
    source, target = weights_of(model), weights_of(transferred)
    for name in source:
        if name != "predictions":
            assert all(
                np.array_equal(a, b) for a, b in zip(source[name], target[name], strict=True)
            )
    assert target["predictions"][0].shape == (64, 5)


def test_num_classes_transfer_is_a_warning_naming_the_new_head(
    resnet20, caplog: pytest.LogCaptureFixture
):
    _, folder = resnet20
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        load_model("resnet20_v1", weights=folder / "r20.weights.h5", num_classes=5)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["keras_cifar_zoo.weights.loading"]
    assert warnings[0].getMessage() == (
        "resnet20_v1: the classifier layer predictions was re-initialised, not loaded: "
        "num_classes (5) differs from the checkpoint's (10). Train the new head (fit_cifar10 or "
        "model.fit) before using the model's predictions."
    )


def test_num_classes_transfer_with_batchnorm_classifier(tmp_path: Path, caplog):
    model = build_model("vgg11_bn")  # article 002's head: predictions + predictions_bn
    model.save_weights(tmp_path / "v11.weights.h5")
    report = load_weights(build_model("vgg11_bn", num_classes=100), tmp_path / "v11.weights.h5")
    assert set(report.skipped) == {"predictions", "predictions_bn"}
    assert report.skipped["predictions_bn"].endswith("has 10 classes, the model 100")
    assert (
        "vgg11_bn: the classifier layers predictions, predictions_bn were re-initialised"
        in caplog.text
    )


def test_include_top_false_ignores_the_head(resnet20):
    _, folder = resnet20
    report = load_weights(build_model("resnet20_v1", include_top=False), folder / "r20.weights.h5")
    assert "not used (the model has no classifier head): predictions" in report.notes


def test_file_without_layer_names_loads_by_order(resnet20, tmp_path: Path, uint8_images):
    model, folder = resnet20
    path = tmp_path / "old.weights.h5"
    path.write_bytes((folder / "r20.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        for group in _vars_groups(f):
            f[group].attrs.pop("name", None)
    loaded = build_model("resnet20_v1")
    report = load_weights(loaded, path)
    assert "loaded by layer order" in report.notes[0]
    np.testing.assert_array_equal(
        loaded.predict(uint8_images, verbose=0), model.predict(uint8_images, verbose=0)
    )


def test_keras_file_brings_its_preprocessing(tmp_path: Path, uint8_images: np.ndarray):
    model = randomize(build_model("resnet20_v1"))
    use_preprocessing(model, CIFAR10_ZSCORE, reason="test")
    model.save(tmp_path / "z.keras")
    fresh = build_model("resnet20_v1")
    report = load_weights(fresh, tmp_path / "z.keras")
    assert "preprocessing switched from rescale_0_1 to cifar10_zscore" in report.notes[-1]
    np.testing.assert_allclose(
        fresh.predict(uint8_images, verbose=0), model.predict(uint8_images, verbose=0), atol=1e-6
    )


def test_unsupported_suffix():
    with pytest.raises(InvalidArgumentError, match=r"Unsupported checkpoint file 'w.h5'.*imagenet"):
        load_model("resnet20_v1", weights="runs/w.h5")


def test_missing_file(tmp_path: Path):
    with pytest.raises(InvalidArgumentError, match=r"checkpoint file .* does not exist"):
        load_model("resnet20_v1", weights=tmp_path / "none.weights.h5")


def test_unreadable_file(tmp_path: Path):
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(WeightsMismatchError, match=r"Cannot read the checkpoint .*junk"):
        load_model("resnet20_v1", weights=tmp_path / "junk.weights.h5")


def test_weights_argument_errors(resnet20):
    _, folder = resnet20
    with pytest.raises(InvalidArgumentError, match=r"Did you mean 'imagenet'\?"):
        load_model("resnet20_v1", weights="imagnet")
    with pytest.raises(InvalidArgumentError, match=r"needs a tag after the colon"):
        load_model("resnet20_v1", weights="cifar10:")
    with pytest.raises(InvalidTypeError, match=r"weights must be None, 'imagenet'"):
        load_model("resnet20_v1", weights=3)
    with pytest.raises(InvalidTypeError, match=r"Unknown weights option\(s\) hubdir; accepted"):
        load_model("resnet20_v1", weights="cifar10", hubdir="x")
    with pytest.raises(InvalidArgumentError, match=r"takes no options. Received: hub_dir='x'"):
        load_model("resnet20_v1", weights=folder / "r20.keras", hub_dir="x")


def test_folder_named_like_a_checkpoint(tmp_path: Path):
    (tmp_path / "best.keras").mkdir()
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(f"{tmp_path / 'best.keras'} is a folder, not a checkpoint file: "),
    ):
        load_model("resnet20_v1", weights=tmp_path / "best.keras")


def test_load_weights_needs_a_keras_model():
    with pytest.raises(InvalidTypeError, match=r"^load_weights takes the model first: "):
        load_weights("resnet20_v1", "cifar10")


def test_load_weights_needs_a_zoo_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="mine")
    with pytest.raises(UnknownModelError, match=r"Unknown model 'mine'"):
        load_weights(model, "cifar10")


# --- the manifest's preprocessing against the repository's own records ----------------------

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
needs_hub = pytest.mark.skipif(not (HUB / "keras-cifar-zoo").is_dir(), reason="no hub/ here")
SIMPLE = "simple_cnn"
RESCALE = {"scale": 1 / 255, "mean": [0.0], "std": [1.0]}
ZSCORE = {"scale": 1.0, "mean": [120.68823526692708], "std": [63.85622621963612]}  # elu_cnn's


def _edited_copy(tmp_path: Path, **record_preprocessing: dict) -> tuple[Path, Path, str, str]:
    """The real simple_cnn repository in a mirror, and a manifest whose simple_cnn entry says it
    was trained with elu_cnn's z-score constants; ``record_preprocessing`` edits the repository's
    keras_cifar_zoo.json the same way. Returns (mirror, manifest, repo_id, weights)."""
    data = json.loads((ROOT / "weights_manifest.json").read_text())
    entry = next(e for e in data["checkpoints"] if e["model"] == SIMPLE and e["default"])
    assert {k: entry["preprocessing"][k] for k in RESCALE} == RESCALE  # what it was trained with
    entry["preprocessing"] |= {"name": "cifar10_zscore", **ZSCORE}
    data["checkpoints"] = [entry]
    manifest = tmp_path / "weights_manifest.json"
    manifest.write_text(json.dumps(data))
    repo = tmp_path / "mirror" / entry["repo_id"]
    shutil.copytree(HUB / entry["repo_id"], repo)
    if record_preprocessing:
        record = json.loads((repo / "keras_cifar_zoo.json").read_text())
        record["preprocessing"] |= record_preprocessing["values"]
        (repo / "keras_cifar_zoo.json").write_text(json.dumps(record))
    return tmp_path / "mirror", manifest, entry["repo_id"], f"cifar10:{entry['tag']}"


@needs_hub
def test_manifest_preprocessing_contradicting_the_repository_is_refused(tmp_path: Path):
    mirror, manifest, repo_id, weights = _edited_copy(tmp_path)
    with pytest.raises(ManifestError) as info:
        load_model(SIMPLE, weights="cifar10", hub_dir=mirror, manifest=manifest)
    assert str(info.value) == (
        f"The weights manifest {manifest} says simple_cnn {weights!r} was trained with "
        "preprocessing cifar10_zscore (-120.688, /63.8562), but its repository "
        f"{repo_id} records rescale_0_1 (x/255) in keras_cifar_zoo.json: loaded with the "
        "manifest's, the weights would see wrongly scaled inputs. If the repository is right, "
        "correct the entry's 'preprocessing' in the manifest to "
        + json.dumps(PRESETS["rescale_0_1"].to_config())
        + f"; if the manifest is right, update {mirror / repo_id} in the hub mirror from a hub/ "
        "folder written by `keras-cifar-zoo publish`. Received: manifest scale=1.0, "
        "mean=[120.68823526692708], std=[63.85622621963612]; keras_cifar_zoo.json "
        "scale=0.00392156862745098, mean=[0.0], std=[1.0]"
    )


@needs_hub
def test_keras_config_of_the_repository_is_checked_too(tmp_path: Path):
    mirror, manifest, *_ = _edited_copy(tmp_path, values={"name": "cifar10_zscore", **ZSCORE})
    with pytest.raises(
        ManifestError,
        match=r"records rescale_0_1 \(x/255\) in config\.json: .* Received: manifest scale=1\.0,",
    ):
        load_model(SIMPLE, weights="cifar10", hub_dir=mirror, manifest=manifest)


@needs_hub
def test_repository_records_are_downloaded_and_checked(
    tmp_path: Path, hub_server: HubStandIn, hub_env: Path
):
    mirror, manifest, repo_id, _ = _edited_copy(tmp_path)
    hub_server.root = mirror
    snapshot = (
        hub_env / f"models--{repo_id.replace('/', '--')}" / "snapshots" / repo_commit(repo_id)
    )
    expected = re.escape(
        f"records rescale_0_1 (x/255) in keras_cifar_zoo.json: loaded with the manifest's, the "
        f"weights would see wrongly scaled inputs. If the repository is right, correct the entry's "
        f"'preprocessing' in the manifest to {json.dumps(PRESETS['rescale_0_1'].to_config())}; if "
        f"the manifest is right, delete {snapshot} from the huggingface_hub cache and load again. "
    )
    for _ in range(2):  # the second time from the cache, with nothing downloaded again
        with pytest.raises(ManifestError, match=expected):
            load_weights(build_model(SIMPLE), "cifar10", manifest=manifest)
    assert hub_server.count("GET", "keras_cifar_zoo.json") == 1
    assert hub_server.count("GET", "config.json") == 1


@needs_hub
def test_every_published_entry_agrees_with_its_repository():
    manifest = load_manifest(ROOT / "weights_manifest.json")
    for entry in manifest.entries:
        folder = HUB / entry.repo_id
        records = {name: folder / name for name in RECORD_FILES if (folder / name).is_file()}
        assert "keras_cifar_zoo.json" in records, entry.identifier
        check_repo_preprocessing(entry, records)


def _mirror_copy(tmp_path: Path, **entry_edits) -> tuple[Path, Path, dict]:
    """The real default simple_cnn repository in a mirror, with a one-entry manifest whose
    entry gets ``entry_edits``. Returns (mirror, manifest, entry)."""
    data = json.loads((ROOT / "weights_manifest.json").read_text())
    entry = next(e for e in data["checkpoints"] if e["model"] == SIMPLE and e["default"])
    entry |= entry_edits
    data["checkpoints"] = [entry]
    manifest = tmp_path / "weights_manifest.json"
    manifest.write_text(json.dumps(data))
    shutil.copytree(HUB / entry["repo_id"], tmp_path / "mirror" / entry["repo_id"])
    return tmp_path / "mirror", manifest, entry


@needs_hub
def test_a_mirror_file_of_the_wrong_size_fails_before_it_is_hashed(tmp_path: Path, monkeypatch):
    mirror, manifest, entry = _mirror_copy(tmp_path)
    weights = mirror / entry["repo_id"] / "model.weights.h5"
    with open(weights, "ab") as f:
        f.truncate(2**31)  # a 2 GiB sparse file: hashing it would take seconds
    hashed = []
    monkeypatch.setattr(hub_module, "file_hash", lambda *a, **k: hashed.append(a) or "")
    with pytest.raises(IntegrityError) as info:
        load_model(SIMPLE, weights="cifar10", hub_dir=mirror, manifest=manifest)
    assert hashed == []
    size = entry["files"][0]["size"]
    assert f"got a file of {2**31:,} bytes where {size:,} are recorded (not hashed)" in str(
        info.value
    )
    assert weights.stat().st_size == 2**31  # a mirror file is never deleted


@needs_hub
def test_an_entry_whose_num_classes_disagrees_with_its_file_is_refused_on_load(tmp_path: Path):
    mirror, manifest, _ = _mirror_copy(tmp_path, num_classes=100)
    with pytest.raises(ManifestError, match=r"records num_classes=100, but model\.weights\.h5 "):
        load_model(SIMPLE, weights="cifar10", hub_dir=mirror, manifest=manifest)
