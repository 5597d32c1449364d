"""Publishing: save -> publish -> load through the local hub gives the same model."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import huggingface_hub
import keras
import numpy as np
import pytest
import yaml
from helpers import hub_stand_in
from helpers.hub_stand_in import HubStandIn
from helpers.run_records import RUN  # placeholders: only temporary manifests hold them

from keras_cifar_zoo import load_model
from keras_cifar_zoo.errors import InvalidArgumentError, WeightsMismatchError
from keras_cifar_zoo.publish import publish, refresh_model_cards
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.training import evaluate, get_recipe
from keras_cifar_zoo.weights import hub, load_weights, resolve_weights
from keras_cifar_zoo.weights.manifest import check_against_registry, load_manifest
from keras_cifar_zoo.weights.storage import cast_weights_file

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server

NAME = "resnet20_v1"
REPO = f"keras-cifar-zoo/{NAME}-article"
# What a published repository holds: Keras's files for model.save("hf://..."), then ours.
KERAS_FILES = ["config.json", "metadata.json", "model.weights.h5"]
ZOO_FILES = ["README.md", "keras_cifar_zoo.json"]


def _randomized(seed: int = 0) -> keras.Model:
    rng = np.random.default_rng(seed)
    model = build_model(NAME)
    for w in model.weights:
        positive = any(k in w.path for k in ("moving_variance", "gamma"))
        values = rng.uniform(0.5, 1.5, w.shape) if positive else rng.normal(0, 0.1, w.shape)
        w.assign(values.astype("float32"))
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A resnet20_v1 with random weights saved as .keras, and a small labelled dataset."""
    folder = tmp_path_factory.mktemp("trained")
    model = _randomized()
    model.save(folder / "model.keras")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(48, 32, 32, 3), dtype=np.uint8)
    labels = model.predict(images, verbose=0).argmax(-1)
    labels[::3] = rng.integers(0, 10, size=len(labels[::3]))  # some wrong: accuracy < 1
    return model, folder / "model.keras", (images, labels)


def _publish(trained, root: Path, **kwargs):
    _, checkpoint, data = trained
    options = {"run_info": RUN, "recipe": "improved_sgd", "data": data, "data_name": "synthetic"}
    return publish(NAME, checkpoint, root=root, **(options | kwargs))


def test_round_trip_through_local_hub_gives_identical_predictions(trained, tmp_path: Path, hub_env):
    model, _, (images, labels) = trained
    result = _publish(trained, tmp_path, dtype="float32")
    manifest = tmp_path / "weights_manifest.json"
    assert result.folder == tmp_path / "hub" / "keras-cifar-zoo" / f"{NAME}-article"
    loaded = load_model(NAME, weights="cifar10", hub_dir=tmp_path / "hub", manifest=manifest)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    entry = load_manifest(manifest).find(NAME)
    assert entry == result.entry and entry.dtype == "float32" and entry.default
    assert entry.metrics.accuracy == evaluate(model, data=(images, labels))["accuracy"]
    check_against_registry(load_manifest(manifest))
    report = load_weights(
        build_model(NAME, num_classes=3), "cifar10", hub_dir=tmp_path / "hub", manifest=manifest
    )
    assert report.skipped == {
        "predictions": "classifier re-initialised: the checkpoint has 10 classes, the model 3"
    }


def test_round_trip_over_http_with_sharded_float16(
    trained, tmp_path: Path, hub_server: HubStandIn, monkeypatch: pytest.MonkeyPatch
):
    model, _, (images, labels) = trained
    result = _publish(trained, tmp_path, dtype="float16", max_shard_size=0.0003)
    assert result.entry.weights_file == "model.weights.json" and len(result.entry.files) > 2
    # Shards cannot take Keras's layout: the index and shards beside our files, no config.json.
    weights = [f.name for f in result.entry.files]
    assert sorted(os.listdir(result.folder)) == sorted(weights + ZOO_FILES)
    card = (result.folder / "README.md").read_text()
    assert "sharded" in card and "hf://" not in card
    hub_server.root = tmp_path / "hub"  # serve what publish wrote
    manifest = tmp_path / "weights_manifest.json"
    loaded = load_model(NAME, weights="cifar10:article", manifest=manifest)
    # Each weights file is downloaded once (small records beside them may be fetched too).
    assert [hub_server.count("GET", f.name) for f in result.entry.files] == [1] * len(weights)
    # The published number is what the downloaded weights measure.
    assert evaluate(loaded, data=(images, labels))["accuracy"] == result.entry.metrics.accuracy
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=2e-2
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # then offline, from the cache
    before = len(hub_server.requests)
    again = load_model(NAME, weights="cifar10", manifest=manifest)
    assert len(hub_server.requests) == before
    np.testing.assert_array_equal(
        again.predict(images, verbose=0), loaded.predict(images, verbose=0)
    )


def _halves_differ(model: keras.Model) -> dict:
    """An evaluator whose accuracy depends on whether the weights are float16 values."""
    kernel = keras.ops.convert_to_numpy(model.get_layer("stem_conv").kernel)
    is_half = np.array_equal(kernel, kernel.astype(np.float16).astype(np.float32))
    return {"accuracy": 0.5 if is_half else 0.6, "loss": 1.0, "num_images": 10}


def _same(model: keras.Model) -> dict:
    return {"accuracy": 0.5, "loss": 1.0, "num_images": 10}


def test_auto_dtype_keeps_float16_when_accuracy_holds(trained, tmp_path: Path):
    result = _publish(trained, tmp_path, evaluate_fn=_same)
    assert result.entry.dtype == "float16"
    float32 = _publish(trained, tmp_path / "f32", evaluate_fn=_same, dtype="float32")
    assert result.entry.files[0].size < 0.6 * float32.entry.files[0].size
    loaded = load_model(
        NAME, weights="cifar10", hub_dir=tmp_path / "hub", manifest=result.manifest_path
    )
    model, _, _ = trained
    expected = model.get_layer("stem_conv").get_weights()[0].astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(loaded.get_layer("stem_conv").get_weights()[0], expected)


def test_auto_dtype_falls_back_to_float32_when_accuracy_changes(trained, tmp_path: Path):
    result = _publish(trained, tmp_path, evaluate_fn=_halves_differ)
    assert result.entry.dtype == "float32"
    assert (result.float32_accuracy, result.float16_accuracy) == (0.6, 0.5)
    assert result.entry.metrics.accuracy == 0.6


def test_float16_checkpoint_is_measured_once_and_stored_as_float16(trained, tmp_path: Path):
    model, _, _ = trained
    model.save_weights(tmp_path / "f32.weights.h5")
    cast_weights_file(tmp_path / "f32.weights.h5", tmp_path / "f16.weights.h5", "float16")
    calls = []

    def counting(m: keras.Model) -> dict:
        calls.append(m)
        return _halves_differ(m)  # would refuse float16 if the values were not halves already

    result = publish(
        NAME,
        tmp_path / "f16.weights.h5",
        root=tmp_path / "root",
        run_info=RUN,
        recipe="improved_sgd",
        data_name="synthetic",
        evaluate_fn=counting,
    )
    assert len(calls) == 1
    assert result.entry.dtype == "float16"
    assert result.float16_accuracy == result.float32_accuracy == 0.5
    stored = result.folder / "model.weights.h5"
    assert result.entry.files[0].size == stored.stat().st_size
    # A float32 checkpoint still gets its float16 round trip measured.
    calls.clear()
    publish(
        NAME,
        tmp_path / "f32.weights.h5",
        root=tmp_path / "root32",
        run_info=RUN,
        recipe="improved_sgd",
        data_name="synthetic",
        evaluate_fn=counting,
    )
    assert len(calls) == 2


def test_a_repository_folder_holds_one_checkpoint(trained, tmp_path: Path):
    repo = f"keras-cifar-zoo/{NAME}"
    _publish(trained, tmp_path, evaluate_fn=_same, repo_id=repo)
    _publish(trained, tmp_path, evaluate_fn=_same, repo_id=repo)  # the same checkpoint again
    with pytest.raises(
        InvalidArgumentError,
        match=rf"hub/{repo}/ already holds {NAME} cifar10:article; publishing {NAME} with tag "
        rf"'improved' there would replace .*\(the default is keras-cifar-zoo/{NAME}-improved",
    ):
        _publish(trained, tmp_path, evaluate_fn=_same, repo_id=repo, tag="improved")
    entries = load_manifest(tmp_path / "weights_manifest.json").entries
    assert [(e.tag, e.repo_id) for e in entries] == [("article", repo)]
    assert (tmp_path / "hub" / repo / "model.weights.h5").is_file()


def _training_log(folder: Path) -> Path:
    """A per-epoch log as Keras's CSVLogger (fit_cifar10's history.csv) writes it."""
    path = folder / "history.csv"
    path.write_text("epoch,accuracy,loss\n0,0.31,1.9\n1,0.42,1.6\n")
    return path


def test_repository_holds_what_keras_writes_and_our_files(trained, tmp_path: Path):
    log = _training_log(tmp_path)
    result = _publish(trained, tmp_path, evaluate_fn=_same, training_log=log)
    folder = result.folder
    assert sorted(os.listdir(folder)) == sorted([*KERAS_FILES, *ZOO_FILES, "training_log.csv"])
    config = json.loads((folder / "config.json").read_text())
    assert config["class_name"] == "Functional" and "registered_name" in config
    assert json.loads((folder / "metadata.json").read_text())["keras_version"] == keras.__version__
    # The package downloads and verifies the weights only: the manifest lists just them.
    assert [f.name for f in result.entry.files] == ["model.weights.h5"]
    assert result.entry.files[0].sha256 == hub.file_hash(folder / "model.weights.h5")
    record = json.loads((folder / "keras_cifar_zoo.json").read_text())
    assert record["library_name"] == "keras-cifar-zoo"
    assert record["weights"] == "cifar10:article" and record["dtype"] == "float16"
    assert record["weights_file"] == "model.weights.h5"
    assert record["preprocessing"]["name"] == "rescale_0_1"
    assert (folder / "training_log.csv").read_bytes() == log.read_bytes()


def test_the_published_folder_loads_in_keras(trained, tmp_path: Path):
    """keras.saving.load_model reads the folder (float16 weights cast on assign); the model
    predicts as the package's. The package is imported here, which registers its classes."""
    _, _, (images, _) = trained
    result = _publish(trained, tmp_path, evaluate_fn=_same)
    assert result.entry.dtype == "float16"
    plain = keras.saving.load_model(result.folder)
    assert {w.dtype for w in plain.weights} == {"float32"}
    zoo = load_model(
        NAME, weights="cifar10", hub_dir=tmp_path / "hub", manifest=result.manifest_path
    )
    np.testing.assert_array_equal(plain.predict(images, verbose=0), zoo.predict(images, verbose=0))


def test_model_card(trained, tmp_path: Path):
    runs = [{"seed": 0, "accuracy": 0.5, "loss": 1.0}, {"seed": 1, "accuracy": 0.52, "loss": 0.9}]
    result = _publish(
        trained,
        tmp_path,
        evaluate_fn=_same,
        notes="A test checkpoint.",
        run_info=RUN | {"seed": 0, "seed_runs": runs},
        training_log=_training_log(tmp_path),
    )
    text = (result.folder / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["library_name"] == "keras" and front["license"] == "apache-2.0"
    assert front["datasets"] == ["cifar10"]
    assert {"keras", "keras-cifar-zoo", "cifar10", "image-classification"} <= set(front["tags"])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {"type": "accuracy", "value": 0.5} in metrics
    assert f'keras.saving.load_model("hf://{REPO}")' in text
    assert f'load_model("{NAME}", weights="cifar10:article")' in text
    assert "raw RGB pixels 0-255" in text and "`Rescaling` layer" in text
    assert f"Trained on the {RUN['training_data']}" in text  # the entry's training data
    assert "synthetic" in text  # the test set it is measured on
    assert "Over 2 seeds (0, 1): 51.00 ± 1.41 %" in text and "| 1 | 52.00 % | 0.9000 |" in text
    assert "[`training_log.csv`](training_log.csv)" in text
    assert "A test checkpoint." in text and "improved_sgd" in text
    assert result.entry.files[0].sha256 in text
    assert "## License\n\nApache-2.0." in text


def test_republishing_replaces_our_files_and_keeps_others(trained, tmp_path: Path):
    result = _publish(trained, tmp_path, evaluate_fn=_same, training_log=_training_log(tmp_path))
    (result.folder / ".gitattributes").write_text("*.h5 filter=lfs\n")
    again = _publish(trained, tmp_path, evaluate_fn=_same)  # no training log this time
    assert sorted(os.listdir(again.folder)) == sorted([*KERAS_FILES, *ZOO_FILES, ".gitattributes"])
    assert "training_log.csv" not in (again.folder / "README.md").read_text()


def test_a_training_log_must_be_a_per_epoch_csv(trained, tmp_path: Path):
    bad = tmp_path / "log.csv"
    bad.write_text("step,loss\n0,1.0\n")
    with pytest.raises(InvalidArgumentError, match=r"training_log must be a per-epoch CSV"):
        _publish(trained, tmp_path, evaluate_fn=_same, training_log=bad)
    with pytest.raises(InvalidArgumentError, match=r"training_log must be a readable CSV"):
        _publish(trained, tmp_path, evaluate_fn=_same, training_log=tmp_path / "missing.csv")
    assert not (tmp_path / "hub").exists() and not (tmp_path / "weights_manifest.json").exists()


def test_the_cli_publishes_a_training_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import publish as publish_module
    from keras_cifar_zoo.cli import main

    monkeypatch.setattr(publish_module, "_default_evaluator", lambda *args: _same)
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "run.json").write_text(json.dumps(RUN | {"recipe": "improved_sgd"}))
    args = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--root"]
    args += [str(tmp_path), "--run-info", str(tmp_path / "run.json"), "--data-name", "synthetic"]
    log = _training_log(tmp_path)
    assert main([*args, "--training-log", str(log), "--dry-run"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "would upload 6 files to" in out and "    training_log.csv" in out
    folder = tmp_path / "hub" / REPO
    assert (folder / "training_log.csv").read_bytes() == log.read_bytes()


def test_refresh_model_cards_keeps_keras_files_and_drops_an_old_record(trained, tmp_path: Path):
    result = _publish(trained, tmp_path, evaluate_fn=_same)
    legacy = _publish(trained, tmp_path, evaluate_fn=_same, tag="improved").folder
    folder = result.folder
    kept = {name: (folder / name).read_bytes() for name in KERAS_FILES}
    (folder / "README.md").write_text("stale")
    (folder / "keras_cifar_zoo.json").unlink()
    # A folder written before: the zoo's record in config.json, no Keras files.
    (legacy / "metadata.json").unlink()
    (legacy / "keras_cifar_zoo.json").replace(legacy / "config.json")
    assert refresh_model_cards(tmp_path) == [folder, legacy]
    assert {name: (folder / name).read_bytes() for name in KERAS_FILES} == kept
    assert f'keras.saving.load_model("hub/{REPO}")' in (folder / "README.md").read_text()
    assert json.loads((folder / "keras_cifar_zoo.json").read_text())["dtype"] == "float16"
    assert sorted(os.listdir(legacy)) == ["README.md", "keras_cifar_zoo.json", "model.weights.h5"]
    card = (legacy / "README.md").read_text()
    assert "holds no Keras `config.json`" in card and "hf://" not in card


def test_republish_and_second_tag(trained, tmp_path: Path, monkeypatch):
    _publish(trained, tmp_path, evaluate_fn=_same)
    _publish(trained, tmp_path, evaluate_fn=_halves_differ)  # same tag: replaced
    _publish(trained, tmp_path, evaluate_fn=_same, tag="improved")
    manifest = load_manifest(tmp_path / "weights_manifest.json")
    assert [(e.tag, e.default, e.dtype) for e in manifest.for_model(NAME)] == [
        ("article", True, "float32"),
        ("improved", False, "float16"),
    ]
    monkeypatch.setenv("KERAS_CIFAR_ZOO_MANIFEST", str(tmp_path / "weights_manifest.json"))
    from keras_cifar_zoo import model_info

    assert model_info(NAME).weights == ("cifar10", "cifar10:article", "cifar10:improved")
    _publish(trained, tmp_path, evaluate_fn=_same, tag="improved", default=True)
    manifest = load_manifest(tmp_path / "weights_manifest.json")
    assert manifest.find(NAME).tag == "improved"
    with pytest.raises(InvalidArgumentError, match=r"would have no default checkpoint"):
        _publish(trained, tmp_path, evaluate_fn=_same, tag="improved", default=False)


def test_training_information_is_required(trained, tmp_path: Path):
    with pytest.raises(InvalidArgumentError, match=r"run_info lacks wall_time_s, hardware"):
        _publish(trained, tmp_path, run_info={"epochs": 3, "backend": "jax"})
    with pytest.raises(
        InvalidArgumentError, match=r"run_info lacks training_data: .*describe_copy"
    ):
        _publish(trained, tmp_path, run_info={k: v for k, v in RUN.items() if k != "training_data"})
    with pytest.raises(InvalidArgumentError, match=r"data_name must name the data"):
        _publish(trained, tmp_path, data_name=None)
    with pytest.raises(InvalidArgumentError, match=r"Say which recipe trained the checkpoint"):
        _publish(trained, tmp_path, recipe=None)
    with pytest.raises(InvalidArgumentError, match=r"tag must be lower case"):
        _publish(trained, tmp_path, tag="Best")
    with pytest.raises(InvalidArgumentError, match=r"dtype must be 'auto', 'float16' or 'float32'"):
        _publish(trained, tmp_path, dtype="int8")
    assert not (tmp_path / "weights_manifest.json").exists()


def test_metrics_json_of_the_training_script_is_understood(trained, tmp_path: Path):
    run = {
        "epochs": 40,  # trained; early stopping ended the planned 200
        "epochs_planned": 200,
        "wall_time_s": 612.5,
        "hardware": "NVIDIA H100 80GB HBM3",
        "backend": "jax",
        "keras_version": "3.15.1",
        "seed": 2,
        "data": "CIFAR-10 test set (10,000 images), lossless copy",
        "training_data": "CIFAR-10 training set (50,000 images), lossless copy",
        "recipe": "improved_sgd",
    }
    result = _publish(
        trained, tmp_path, run_info=run, recipe=None, data_name=None, evaluate_fn=_same
    )
    m = result.entry.metrics
    assert (m.hardware, m.keras_version, m.seed, m.epochs) == (
        "NVIDIA H100 80GB HBM3",
        "3.15.1",
        2,
        40,
    )
    assert m.data == "CIFAR-10 test set (10,000 images), lossless copy"
    assert m.training_data == "CIFAR-10 training set (50,000 images), lossless copy"
    assert result.entry.recipe.settings["name"] == "improved_sgd"
    assert result.entry.recipe.settings["epochs"] == 200  # the schedule it stopped early in


def test_the_recorded_recipe_has_the_run_s_epochs_and_batch_size(trained, tmp_path: Path):
    run = RUN | {"epochs": 20, "batch_size": 64}  # a plan job shortening improved_sgd's 40
    settings = _publish(trained, tmp_path, run_info=run).entry.recipe.settings
    assert (settings["name"], settings["epochs"], settings["batch_size"]) == (
        "improved_sgd",
        20,
        64,
    )
    schedule = get_recipe("improved_sgd").schedule
    assert settings["schedule"]["values"] == list(schedule.values)  # the rest is the recipe's


def test_checkpoint_of_another_model_is_refused(tmp_path: Path):
    build_model("resnet56_v1").save_weights(tmp_path / "r56.weights.h5")
    with pytest.raises(WeightsMismatchError, match=r"does not match resnet20_v1: it holds layers"):
        publish(
            NAME,
            tmp_path / "r56.weights.h5",
            root=tmp_path,
            run_info=RUN,
            recipe="improved_sgd",
            data_name="x",
            evaluate_fn=_same,
        )


def test_push_dry_run_and_push(trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls = []

    class FakeApi:
        def __init__(self, **kwargs):
            pass

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs["repo_id"]))
            return type("Info", (), {"oid": "d" * 40, "commit_url": "u"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    dry = _publish(
        trained, tmp_path, evaluate_fn=_same, push=True, dry_run=True, endpoint="http://127.0.0.1:1"
    )
    assert dry.push.dry_run and sorted(dry.push.files) == sorted(KERAS_FILES + ZOO_FILES)
    assert calls == [] and dry.entry.revision == "main"
    pushed = _publish(
        trained, tmp_path, evaluate_fn=_same, push=True, endpoint="http://127.0.0.1:1"
    )
    repo = f"keras-cifar-zoo/{NAME}-article"
    assert calls == [("create_repo", repo), ("upload_folder", repo)]
    assert pushed.entry.revision == "d" * 40  # the manifest is pinned to the uploaded commit
    assert load_manifest(tmp_path / "weights_manifest.json").find(NAME).revision == "d" * 40


def test_publish_keeps_imagenet_preprocessing(tmp_path: Path):
    imagenet = resolve_weights("vgg19_bn_pretrain", "imagenet").preprocessing
    model = build_model("vgg19_bn_pretrain", preprocessing=imagenet)
    model.save_weights(tmp_path / "v19.weights.h5")
    result = publish(
        "vgg19_bn_pretrain",
        tmp_path / "v19.weights.h5",
        root=tmp_path,
        run_info=RUN,
        recipe="article_002_pretrain",
        data_name="x",
        evaluate_fn=_same,
        dtype="float16",
    )
    assert result.entry.preprocessing == imagenet  # the recipe starts from ImageNet weights
    report = load_weights(build_model("vgg19_bn_pretrain"), result.folder / "model.weights.h5")
    assert not any("preprocessing" in n for n in report.notes)


def test_the_test_set_is_named_after_the_copy_it_is_measured_on(trained, tmp_path: Path):
    """Measuring on data_dir names that folder's copy, whatever run_info's ``data`` says."""
    batches = tmp_path / "data" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "test_batch").write_bytes(b"")
    (batches / "SOURCE.txt").write_text("CIFAR-10 rebuilt from a JPEG (quality 75) copy of all")
    result = _publish(
        trained,
        tmp_path,
        data=None,
        data_name=None,
        data_dir=tmp_path / "data",
        run_info=RUN | {"data": "a stale description"},
        evaluate_fn=lambda model: {"accuracy": 0.5, "loss": 1.0, "num_images": 10_000},
    )
    assert result.entry.metrics.data == (
        "CIFAR-10 test set (10,000 images), JPEG q75 copy (every pixel differs slightly from "
        "the official release)"
    )


# Writing the folder and the manifest: failures leave the published checkpoint as it was


def _counting():
    calls = []

    def evaluate_fn(model: keras.Model) -> dict:
        calls.append(model)
        return _same(model)

    return calls, evaluate_fn


def test_a_failed_manifest_write_leaves_the_old_checkpoint_loading(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from keras_cifar_zoo.errors import PublishError

    old = _publish(trained, tmp_path, evaluate_fn=_same, dtype="float32")
    manifest = tmp_path / "weights_manifest.json"
    before = manifest.read_bytes()
    replace = os.replace

    def busy(src, dst, *args, **kwargs):  # what replacing a read-only bind mount answers
        if Path(dst) == manifest:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(dst))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", busy)
    with pytest.raises(
        PublishError,
        match=rf"^Cannot replace the weights manifest {re.escape(str(manifest))} \(Device or "
        r"resource busy\); a read-only or bind-mounted file cannot be replaced\. Make it a "
        r"writable file in a writable folder, then publish again\. .*resnet20_v1-article and "
        r"the manifest were left as they were: the checkpoint the manifest lists there still "
        r"loads\. Received: manifest=",
    ):
        _publish(trained, tmp_path, evaluate_fn=_same, dtype="float16")
    monkeypatch.undo()
    assert manifest.read_bytes() == before
    assert load_manifest(manifest).find(NAME) == old.entry
    hub.fetch_repo_files(REPO, old.entry.files, hub_dir=tmp_path / "hub")  # the hashes hold
    # Nothing staged is left beside the folder, nor a temporary manifest beside the manifest.
    assert os.listdir(tmp_path / "hub" / "keras-cifar-zoo") == [f"{NAME}-article"]
    assert sorted(p.name for p in tmp_path.glob(".*")) == []


@pytest.mark.parametrize(
    ("in_the_way", "message"),
    [
        (
            "hub",
            r"hub is a file, where publish needs a folder: the repository goes into "
            rf"hub/{REPO}/ under the root\. Move the file away or publish into another root\.",
        ),
        (
            "hub/keras-cifar-zoo",
            r"hub/keras-cifar-zoo is a file, where publish needs a folder",
        ),
        (
            f"hub/{REPO}",
            rf"hub/{REPO} is a file, where publish needs a folder",
        ),
    ],
    ids=["hub", "owner", "repository"],
)
def test_a_file_in_the_way_is_refused_before_measuring(
    trained, tmp_path: Path, in_the_way: str, message: str
):
    from keras_cifar_zoo.errors import PublishError

    path = tmp_path / in_the_way
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    calls, evaluate_fn = _counting()
    with pytest.raises(PublishError, match=rf"^{re.escape(str(tmp_path))}/{message}"):
        _publish(trained, tmp_path, evaluate_fn=evaluate_fn)
    assert calls == []
    assert not (tmp_path / "weights_manifest.json").exists()


def test_a_manifest_that_cannot_be_written_is_refused_before_measuring(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from keras_cifar_zoo.errors import PublishError

    manifest = tmp_path / "weights_manifest.json"
    manifest.mkdir()
    calls, evaluate_fn = _counting()
    with pytest.raises(
        PublishError,
        match=rf"^{re.escape(str(manifest))} is not a file: publish writes the weights manifest "
        r"there\. Move it away or publish into another root\. Received: root=",
    ):
        _publish(trained, tmp_path, evaluate_fn=evaluate_fn)
    manifest.rmdir()
    manifest.write_text("{}")
    # A read-only file (root may write anything, so the check is imitated here).
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == manifest else access(p, mode)
    )
    with pytest.raises(
        PublishError,
        match=rf"^The weights manifest {re.escape(str(manifest))} is read-only, and publish "
        r"replaces it\. Make it writable \(chmod u\+w; a read-only mount cannot be\), or "
        r"publish into another root\.",
    ):
        _publish(trained, tmp_path, evaluate_fn=evaluate_fn)
    assert calls == []
    assert manifest.read_text() == "{}" and not (tmp_path / "hub").exists()


# Provenance: how much of the training set a run used


LOSSLESS_TRAIN = (
    "CIFAR-10 training set (50,000 images), lossless copy: official pixels, split and order "
    "(77 of the 50,000 images filled in from a JPEG q75 copy)"
)


def test_a_run_on_part_of_the_training_set_is_published_as_such(trained, tmp_path: Path):
    run = RUN | {"training_data": LOSSLESS_TRAIN, "train_images": 64}  # a plan's smoke job
    result = _publish(trained, tmp_path, evaluate_fn=_same, run_info=run, dtype="float32")
    expected = (
        "CIFAR-10 training set, its first 64 of 50,000 images (lossless copy: official pixels, "
        "split and order (77 of the 50,000 images filled in from a JPEG q75 copy))"
    )
    assert result.entry.metrics.training_data == expected
    assert load_manifest(result.manifest_path).find(NAME).metrics.training_data == expected
    card = (result.folder / "README.md").read_text()
    assert f"Trained on the {expected}: 1 epochs" in card


@pytest.mark.parametrize(
    ("training_data", "train_images", "expected"),
    [
        (LOSSLESS_TRAIN, 50_000, LOSSLESS_TRAIN),  # the whole set
        (LOSSLESS_TRAIN, None, LOSSLESS_TRAIN),  # not said: the whole set, as before
        ("CIFAR-10 training set", 640, "CIFAR-10 training set, its first 640 of 50,000 images"),
        ("synthetic training images", 64, "synthetic training images (64 images)"),
    ],
)
def test_the_training_data_names_how_much_of_the_set_was_used(
    training_data: str, train_images: int | None, expected: str
):
    from keras_cifar_zoo import publish as publish_module

    run = RUN | {"training_data": training_data, "train_images": train_images}
    assert publish_module._run_info(run)["training_data"] == expected


@pytest.mark.parametrize(
    ("train_images", "message"),
    [
        (
            60_000,
            r"run_info train_images=60,000 exceeds the 50,000 images of the training set that "
            r"training_data names\.",
        ),
        (0, r"run_info train_images must be the number of training images the run used"),
        ("64", r"run_info train_images must be .* Received: train_images='64'"),
    ],
    ids=["too_many", "zero", "string"],
)
def test_a_bad_train_images_is_refused_before_measuring(
    trained, tmp_path: Path, train_images, message: str
):
    calls, evaluate_fn = _counting()
    run = RUN | {"training_data": LOSSLESS_TRAIN, "train_images": train_images}
    with pytest.raises(InvalidArgumentError, match=message):
        _publish(trained, tmp_path, evaluate_fn=evaluate_fn, run_info=run)
    assert calls == []


def test_the_cli_refuses_a_root_it_cannot_write_before_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import publish as publish_module
    from keras_cifar_zoo.cli import main

    calls, evaluate_fn = _counting()
    monkeypatch.setattr(publish_module, "_default_evaluator", lambda *args: evaluate_fn)
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "run.json").write_text(json.dumps(RUN | {"recipe": "improved_sgd"}))
    (tmp_path / "hub").write_text("")
    args = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--root"]
    args += [str(tmp_path), "--run-info", str(tmp_path / "run.json"), "--data-name", "synthetic"]
    assert main(args) == 1
    assert capsys.readouterr().err == (
        f"keras-cifar-zoo: error: {tmp_path}/hub is a file, where publish needs a folder: the "
        f"repository goes into hub/{REPO}/ under the root. Move the file away or publish into "
        f"another root. Received: --root {str(tmp_path)!r}\n"
    )
    assert calls == []


# ------------------------------------------------------------------------- other seeds


def _seed_record(folder: Path, seed: int = 1, **changes) -> Path:
    """A finished train-plan job's metrics.json for another seed of the published run."""
    record = RUN | {"model": NAME, "recipe": "improved_sgd", "seed": seed, "dataset": "cifar10"}
    record |= {"accuracy": round(0.4 + seed / 100, 2), "loss": 1.5, "num_images": 10} | changes
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(record))
    return folder / "metrics.json"


def test_other_seeds_are_listed_after_the_published_one(trained, tmp_path: Path):
    runs = [_seed_record(tmp_path / "s2", 2), (tmp_path / "s1")]  # a file, and a job's folder
    _seed_record(tmp_path / "s1", 1)
    result = _publish(
        trained,
        tmp_path,
        evaluate_fn=_same,
        run_info=RUN | {"seed": 0, "recipe": "improved_sgd"},
        seed_runs=runs,
    )
    seeds = [(r.seed, r.accuracy, r.loss) for r in result.entry.metrics.seed_runs]
    assert seeds == [(0, 0.5, 1.0), (1, 0.41, 1.5), (2, 0.42, 1.5)]
    text = (result.folder / "README.md").read_text()
    assert "Over 3 seeds (0, 1, 2): 44.33 ± 4.93 %" in text and "| 2 | 42.00 % | 1.5000 |" in text
    assert (
        load_manifest(tmp_path / "weights_manifest.json").find(NAME).metrics.seed_runs[0].seed == 0
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"recipe": "improved_sgd_crops"},
         "recipe 'improved_sgd_crops' (this run: 'improved_sgd')"),
        ({"epochs": 2}, "epochs 2 (this run: 1)"),
        ({"model": "resnet56_v1"}, "model 'resnet56_v1' (this run: 'resnet20_v1')"),
        ({"seed": 0}, "seed 0, which is not another seed"),
        ({"test_accuracy_pending": True}, "no test-set accuracy and loss"),
    ],
)  # fmt: skip
def test_a_seed_run_of_another_run_is_refused_before_measuring(
    trained, tmp_path: Path, changes, problem
):
    path = _seed_record(tmp_path / "other", **changes)
    with pytest.raises(InvalidArgumentError) as caught:
        _publish(
            trained,
            tmp_path,
            evaluate_fn=_must_not_measure,
            run_info=RUN | {"seed": 0, "recipe": "improved_sgd"},
            seed_runs=[path],
        )
    assert str(caught.value) == (
        f"seed_runs= must name other seeds of the same run, but {path} has {problem}. "
        f"Received: seed_runs={[str(path)]}"
    )
    assert not (tmp_path / "weights_manifest.json").exists()


def _must_not_measure(model):
    raise AssertionError("measured before the seed runs were checked")


def test_seed_runs_need_the_run_s_own_seed_and_one_source(trained, tmp_path: Path):
    path = _seed_record(tmp_path / "s1", 1)
    with pytest.raises(InvalidArgumentError, match=re.escape(
        "seed_runs= names the other seeds of this run, so the run needs its own seed: add seed "
        "to run_info=. Received: run_info seed=None"
    )):  # fmt: skip
        _publish(trained, tmp_path, evaluate_fn=_must_not_measure, seed_runs=[path])
    both = RUN | {"seed": 0, "seed_runs": [{"seed": 1, "accuracy": 0.5, "loss": 1.0}]}
    with pytest.raises(InvalidArgumentError, match=re.escape(
        "Give the other seeds either as seed_runs= or as the seed_runs key of run_info=, not "
        "both. Received: 1 seed_runs and run_info['seed_runs']"
    )):  # fmt: skip
        _publish(trained, tmp_path, evaluate_fn=_must_not_measure, run_info=both, seed_runs=[path])
    missing = tmp_path / "nothing"
    with pytest.raises(InvalidArgumentError, match=re.escape(
        f"seed_runs names {missing}, which holds no metrics.json of a finished run. "
        f"Received: seed_runs entry {str(missing)!r}"
    )):  # fmt: skip
        _publish(
            trained, tmp_path, evaluate_fn=_must_not_measure,
            run_info=RUN | {"seed": 0}, seed_runs=[missing],
        )  # fmt: skip


def _publish_seed_checkpoint(trained, root: Path, seed: int, accuracy: float) -> str:
    """Publish ``seed`` of the run under its own tag, measuring ``accuracy``; returns the tag."""
    tag = f"improved-seed{seed}"
    measured = {"accuracy": accuracy, "loss": 1.25, "num_images": 10}
    run = RUN | {"seed": seed, "recipe": "improved_sgd"}
    _publish(trained, root, evaluate_fn=lambda model: measured, run_info=run, tag=tag)
    return tag


def test_published_seed_checkpoints_are_listed_with_the_numbers_their_entries_hold(
    trained, tmp_path: Path
):
    tags = [_publish_seed_checkpoint(trained, tmp_path, s, a) for s, a in ((2, 0.3), (1, 0.7))]
    result = _publish(
        trained,
        tmp_path,
        evaluate_fn=_same,
        run_info=RUN | {"seed": 0, "recipe": "improved_sgd"},
        tag="improved",
        seed_checkpoints=tags,
    )
    runs = load_manifest(tmp_path / "weights_manifest.json").find(NAME, "improved").metrics
    assert [(r.seed, r.accuracy, r.loss, r.checkpoint) for r in runs.seed_runs] == [
        (0, 0.5, 1.0, None),
        (1, 0.7, 1.25, "cifar10:improved-seed1"),
        (2, 0.3, 1.25, "cifar10:improved-seed2"),
    ]
    text = (result.folder / "README.md").read_text()
    assert "Over 3 seeds (0, 1, 2): 50.00 ± 20.00 %" in text
    assert "| seed | accuracy | loss | weights |" in text
    assert "| 0 | 50.00 % | 1.0000 | this checkpoint |" in text
    assert '| 1 | 70.00 % | 1.2500 | `weights="cifar10:improved-seed1"` |' in text


def test_a_seed_checkpoint_must_be_published_and_of_the_same_run(trained, tmp_path: Path):
    tag = _publish_seed_checkpoint(trained, tmp_path, 1, 0.7)
    before = (tmp_path / "weights_manifest.json").read_text()
    run = RUN | {"seed": 0, "recipe": "improved_sgd"}
    with pytest.raises(InvalidArgumentError) as caught:
        _publish(
            trained, tmp_path, evaluate_fn=_must_not_measure, run_info=run, tag="improved",
            seed_checkpoints=["improved-seed3"],
        )  # fmt: skip
    assert str(caught.value) == (
        "seed_checkpoints= names cifar10:improved-seed3, which "
        f"{tmp_path / 'weights_manifest.json'} does not list for {NAME}: publish that seed "
        "first (with its own tag), or leave it out. "
        f"Published tags of {NAME} on cifar10: ['{tag}']. "
        "Received: seed_checkpoints=['improved-seed3']"
    )
    with pytest.raises(InvalidArgumentError) as caught:
        _publish(
            trained, tmp_path, evaluate_fn=_must_not_measure, run_info=run | {"epochs": 2},
            tag="improved", seed_checkpoints=tag,
        )  # fmt: skip
    assert str(caught.value) == (
        "seed_checkpoints= must name other seeds of the same run, but the published checkpoint "
        "cifar10:improved-seed1 has epochs 1 (this run: 2). "
        "Received: seed_runs=['cifar10:improved-seed1']"
    )
    assert (tmp_path / "weights_manifest.json").read_text() == before


def test_the_cli_takes_other_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import publish as publish_module
    from keras_cifar_zoo.cli import main

    monkeypatch.setattr(publish_module, "_default_evaluator", lambda *args: _same)
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "run.json").write_text(json.dumps(RUN | {"recipe": "improved_sgd", "seed": 0}))
    args = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--root"]
    args += [str(tmp_path), "--run-info", str(tmp_path / "run.json"), "--data-name", "synthetic"]
    for seed in (1, 2):
        args += ["--seed-run", str(_seed_record(tmp_path / f"s{seed}", seed))]
    assert main(args) == 0, capsys.readouterr().err
    entry = load_manifest(tmp_path / "weights_manifest.json").find(NAME)
    assert [r.seed for r in entry.metrics.seed_runs] == [0, 1, 2]
    seed3 = ["--tag", "improved-seed3", "--run-info", str(_seed_record(tmp_path / "s3", 3))]
    assert main([*args[:6], *seed3, "--data-name", "synthetic"]) == 0, capsys.readouterr().err
    assert main([*args, "--seed-checkpoint", "improved-seed3"]) == 0, capsys.readouterr().err
    entry = load_manifest(tmp_path / "weights_manifest.json").find(NAME)
    checkpoints = [r.checkpoint for r in entry.metrics.seed_runs]
    assert checkpoints == [None, None, None, "cifar10:improved-seed3"]
    assert main([*args, "--seed-checkpoint", "none"]) == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith("keras-cifar-zoo: error: --seed-checkpoint names cifar10:none, which ")
    )
    bad = _seed_record(tmp_path / "s9", 0)
    assert main([*args[:-2], "--seed-run", str(bad)]) == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith(
            f"keras-cifar-zoo: error: --seed-run must name other seeds of the same run, but {bad} "
            "has seed 0, which is not another seed."
        )
    )
