"""Publishing: save -> publish -> load through the local hub gives the same model."""

from __future__ import annotations

import json
from pathlib import Path

import hub_stand_in
import huggingface_hub
import keras
import numpy as np
import pytest
import yaml
from hub_stand_in import HubStandIn
from run_records import RUN  # placeholders: only temporary manifests hold them

from keras_cifar_zoo import load_model
from keras_cifar_zoo.errors import InvalidArgumentError, WeightsMismatchError
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.training import evaluate
from keras_cifar_zoo.weights import hub, load_weights
from keras_cifar_zoo.weights.manifest import check_against_registry, load_manifest
from keras_cifar_zoo.weights.publish import cast_weights_file, publish

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server

NAME = "resnet20_v1"


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
    hub_server.root = tmp_path / "hub"  # serve what publish wrote
    manifest = tmp_path / "weights_manifest.json"
    loaded = load_model(NAME, weights="cifar10:article", manifest=manifest)
    assert hub_server.count("GET") == len(result.entry.files)
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


def test_model_card_and_config(trained, tmp_path: Path):
    result = _publish(trained, tmp_path, evaluate_fn=_same, notes="A test checkpoint.")
    text = (result.folder / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["library_name"] == "keras"
    assert front["datasets"] == ["cifar10"]
    assert {"keras-cifar-zoo", "cifar10", "image-classification"} <= set(front["tags"])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {"type": "accuracy", "value": 0.5} in metrics
    assert "A test checkpoint." in text and "improved_sgd" in text
    assert result.entry.files[0].sha256 in text
    config = json.loads((result.folder / "config.json").read_text())
    assert config["weights"] == "cifar10:article" and config["dtype"] == "float16"
    assert config["preprocessing"]["name"] == "rescale_0_1"
    assert result.entry.files[0].sha256 == hub.file_hash(result.folder / "model.weights.h5")


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
        "epochs": 200,  # the planned schedule; early stopping ended it after 40
        "epochs_run": 40,
        "wall_time_s": 612.5,
        "device": "NVIDIA H100 80GB HBM3",
        "backend": "jax",
        "keras": "3.15.1",
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
    assert dry.push.dry_run and set(dry.push.files) == {
        "README.md",
        "config.json",
        "model.weights.h5",
    }
    assert calls == [] and dry.entry.revision == "main"
    pushed = _publish(
        trained, tmp_path, evaluate_fn=_same, push=True, endpoint="http://127.0.0.1:1"
    )
    repo = f"keras-cifar-zoo/{NAME}-article"
    assert calls == [("create_repo", repo), ("upload_folder", repo)]
    assert pushed.entry.revision == "d" * 40  # the manifest is pinned to the uploaded commit
    assert load_manifest(tmp_path / "weights_manifest.json").find(NAME).revision == "d" * 40


def test_publish_keeps_imagenet_preprocessing(tmp_path: Path):
    model = build_model("vgg19_bn_pretrain")  # Caffe BGR preprocessing
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
    assert result.entry.preprocessing.name == "caffe_bgr"
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
