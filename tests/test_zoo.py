"""``load_model`` resolves ``weights=`` once, into a typed source, and builds from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from keras_cifar_zoo import InvalidArgumentError, InvalidTypeError, load_model, zoo
from keras_cifar_zoo.weights import (
    CheckpointSource,
    FileSource,
    HubOptions,
    ImageNetOptions,
    resolve_weights,
)
from keras_cifar_zoo.weights import source as source_module

HUB = Path(__file__).resolve().parent.parent / "hub"


def test_weights_are_resolved_once_and_the_manifest_read_once(monkeypatch: pytest.MonkeyPatch):
    calls = {"resolve": 0, "manifest": 0}
    real_resolve, real_manifest = zoo.resolve_weights, source_module.load_manifest

    def counting_resolve(*args, **kwargs):
        calls["resolve"] += 1
        return real_resolve(*args, **kwargs)

    def counting_manifest(*args, **kwargs):
        calls["manifest"] += 1
        return real_manifest(*args, **kwargs)

    monkeypatch.setattr(zoo, "resolve_weights", counting_resolve)
    monkeypatch.setattr(source_module, "load_manifest", counting_manifest)
    model = load_model("resnet20_v1", weights="cifar10", hub_dir=HUB)
    assert calls == {"resolve": 1, "manifest": 1}
    assert model.get_layer("preprocessing").scale == pytest.approx(1 / 255)


def test_a_checkpoint_resolves_into_a_frozen_typed_record():
    source = resolve_weights("resnet20_v1", "cifar10:improved", hub_dir=HUB, revision="main")
    assert isinstance(source, CheckpointSource)
    assert source.entry.identifier == "cifar10:improved"
    assert source.options == HubOptions(hub_dir=HUB, revision="main")
    assert source.preprocessing.name == "rescale_0_1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.model = "vgg16_bn"  # type: ignore[misc]


def test_imagenet_and_file_sources(tmp_path: Path):
    imagenet = resolve_weights("vgg16_bn", "imagenet", local_files_only=True)
    assert imagenet.network == "vgg16"
    assert imagenet.options == ImageNetOptions(local_files_only=True)
    assert imagenet.preprocessing.name == "imagenet_mean_rgb"
    path = tmp_path / "m.weights.h5"
    load_model("simple_cnn").save_weights(path)
    assert resolve_weights("simple_cnn", path) == FileSource(path=path, preprocessing=None)
    assert resolve_weights("simple_cnn", None) is None


def test_options_are_typed_where_they_are_declared():
    with pytest.raises(InvalidTypeError, match=r"Unknown weights option\(s\) hub; accepted: "):
        resolve_weights("resnet20_v1", "cifar10", hub="x")
    with pytest.raises(InvalidArgumentError, match=r"weights='imagenet' takes only cache_dir"):
        resolve_weights("vgg16_bn", "imagenet", revision="main")
    with pytest.raises(InvalidTypeError, match=r"local_files_only must be True, False or None"):
        HubOptions(local_files_only="yes")


def test_pretrained_weights_load_with_logits_and_with_pooling(uint8_images):
    import keras

    probabilities = load_model("resnet20_v1", weights="cifar10", hub_dir=HUB)
    logits = load_model("resnet20_v1", weights="cifar10", hub_dir=HUB, classifier_activation=None)
    expected = keras.ops.convert_to_numpy(probabilities(uint8_images, training=False))
    got = keras.ops.convert_to_numpy(keras.ops.softmax(logits(uint8_images, training=False)))
    assert abs(got - expected).max() < 1e-6
    features = load_model(
        "resnet20_v1", weights="cifar10", hub_dir=HUB, include_top=False, pooling="avg"
    )
    assert features.output_shape == (None, 64)
