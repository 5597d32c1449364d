"""``load_model`` resolves ``weights=`` once, into a typed source, and builds from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from keras_cifar_zoo import (
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidTypeError,
    load_model,
    zoo,
)
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


def test_a_classifier_that_cannot_take_another_size_is_refused_before_any_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uint8_images
):
    import keras
    from helpers.run_records import RUN, same_result

    from keras_cifar_zoo.publish import publish

    # What still works: the pretrained convolutional base at any size...
    base = load_model(
        "vgg_lite",
        weights="cifar10",
        hub_dir=HUB,
        input_shape=(64, 64, 3),
        include_top=False,
        pooling="avg",
    )
    small = load_model("vgg_lite", weights="cifar10", hub_dir=HUB)
    for layer in (layer for layer in base.layers if layer.weights):
        for got, want in zip(layer.weights, small.get_layer(layer.name).weights, strict=True):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), want.numpy())
    assert base.output_shape == (None, 256)
    # ... and a classifier after global pooling (airbench94's), whose weights fit any size.
    load_model("airbench94").save_weights(tmp_path / "w.weights.h5")
    publish(
        "airbench94",
        tmp_path / "w.weights.h5",
        root=tmp_path / "repo",
        run_info=RUN,
        recipe="airbench94",
        data_name="placeholder",
        evaluate_fn=same_result,
        dtype="float32",
    )
    with monkeypatch.context() as env:
        env.setenv("KERAS_CIFAR_ZOO_MANIFEST", str(tmp_path / "repo" / "weights_manifest.json"))
        big = load_model(
            "airbench94",
            weights="cifar10",
            hub_dir=tmp_path / "repo" / "hub",
            input_shape=(64, 64, 3),
        )
    assert big.predict(np.repeat(np.repeat(uint8_images, 2, 1), 2, 2), verbose=0).shape == (4, 10)

    def refuse(self):
        raise AssertionError("the checkpoint was fetched")

    monkeypatch.setattr(CheckpointSource, "fetch", refuse)
    with pytest.raises(InvalidInputShapeError) as caught:
        load_model("vgg_lite", weights="cifar10", input_shape=(64, 64, 3))
    assert str(caught.value) == (
        "vgg_lite's classifier cannot take the weights 'cifar10' at 64x64: they were trained on "
        "32x32 images, and its layer 'predictions' has weights [(4096, 10), (10,)] there but "
        "[(16384, 10), (10,)] at 64x64 (it reads the flattened feature map, which grows with "
        "the image). Pass include_top=False (with pooling='avg' for one feature vector per "
        "image) to use the pretrained convolutional base at this size, or input_shape=(32, 32, "
        "3) to keep the classifier. Received: input_shape=(64, 64, 3), weights='cifar10', "
        "include_top=True"
    )
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidInputShapeError, match=r"its layer 'predictions' has weights "):
        load_model("resnet20_v1", weights="cifar10", input_shape=(64, 64, 3), num_classes=100)
