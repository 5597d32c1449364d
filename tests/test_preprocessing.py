"""The preprocessing presets: their numbers against NumPy, the Rescaling layer, configs."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

from keras_cifar_zoo import ImagePreprocessing, InvalidArgumentError, Preprocessing
from keras_cifar_zoo.preprocessing import (
    CIFAR10_CHANNEL_ZSCORE,
    CIFAR10_ZSCORE,
    IMAGENET_MEAN_RGB,
    PRESETS,
    RESCALE_0_1,
)

# Each preset written out independently of the package, with the articles' numbers.
REFERENCE = {
    "rescale_0_1": lambda x: x / 255.0,  # articles 000, 001, 004
    # Article 002: x[..., 0] - 123.680, x[..., 1] - 116.779, x[..., 2] - 103.939 (RGB order).
    "imagenet_mean_rgb": lambda x: x - np.array([123.68, 116.779, 103.939]),
    # Article 003: (x - mean) / (std + 1e-7) with the training set's scalar mean and std.
    "cifar10_zscore": lambda x: (x - 120.70754290364583) / (64.14971725258323 + 1e-7),
    # airbench94: x / 255, then per-channel (x - mean) / std.
    "cifar10_channel_zscore": lambda x: (
        (x / 255.0 - np.array([0.4914, 0.4822, 0.4465])) / np.array([0.2470, 0.2435, 0.2616])
    ),
}


def to_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(params=sorted(PRESETS))
def preset(request) -> Preprocessing:
    return PRESETS[request.param]


def test_the_four_presets_exist():
    assert sorted(PRESETS) == sorted(REFERENCE)
    presets = [RESCALE_0_1, IMAGENET_MEAN_RGB, CIFAR10_ZSCORE, CIFAR10_CHANNEL_ZSCORE]
    assert [p.name for p in presets] == [
        "rescale_0_1",
        "imagenet_mean_rgb",
        "cifar10_zscore",
        "cifar10_channel_zscore",
    ]


def test_layer_matches_numpy_reference(preset: Preprocessing, uint8_images: np.ndarray):
    expected = REFERENCE[preset.name](uint8_images.astype(np.float64))
    out = to_numpy(preset.layer()(uint8_images))
    assert out.dtype == np.float32
    assert out.shape == uint8_images.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-4)


def test_apply_matches_the_layer(preset: Preprocessing, uint8_images: np.ndarray):
    out = preset.apply(uint8_images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, to_numpy(preset.layer()(uint8_images)), rtol=1e-6, atol=1e-6)


def test_uint8_and_float_inputs_give_the_same_result(
    preset: Preprocessing, uint8_images: np.ndarray
):
    layer = preset.layer()
    from_uint8 = to_numpy(layer(uint8_images))
    for dtype in ("float32", "float64"):
        np.testing.assert_array_equal(to_numpy(layer(uint8_images.astype(dtype))), from_uint8)


def test_layer_is_weightless_and_named_preprocessing(preset: Preprocessing):
    layer = preset.layer()
    layer.build((None, 32, 32, 3))
    assert layer.name == "preprocessing"
    assert layer.weights == []
    assert layer.compute_output_shape((None, 32, 32, 3)) == (None, 32, 32, 3)


def test_layer_takes_any_image_size(preset: Preprocessing, rng: np.random.Generator):
    images = rng.integers(0, 256, size=(2, 8, 12, 3), dtype=np.uint8)
    expected = REFERENCE[preset.name](images.astype(np.float64))
    np.testing.assert_allclose(to_numpy(preset.layer()(images)), expected, rtol=1e-6, atol=1e-4)


def test_layer_is_a_builtin_rescaling(preset: Preprocessing):
    layer = preset.layer()
    assert type(layer) is keras.layers.Rescaling
    assert layer.dtype_policy.name == "float32"
    assert Preprocessing.from_layer(layer) == preset


def test_rescaling_arguments_are_exact():
    assert RESCALE_0_1.rescaling() == (1 / 255, 0.0)
    assert IMAGENET_MEAN_RGB.rescaling() == ([1.0, 1.0, 1.0], [-123.68, -116.779, -103.939])
    std = 64.14971725258323 + 1e-7
    assert CIFAR10_ZSCORE.rescaling() == (1 / std, -120.70754290364583 / std)


def test_rgb_order_is_kept():
    pixel = np.zeros((1, 1, 1, 3), dtype=np.uint8)
    pixel[..., :] = (10, 20, 30)  # R, G, B
    out = to_numpy(IMAGENET_MEAN_RGB.layer()(pixel))[0, 0, 0]
    np.testing.assert_allclose(out, [10 - 123.68, 20 - 116.779, 30 - 103.939], rtol=1e-6)


def test_record_config_round_trip_through_json(preset: Preprocessing):
    config = json.loads(json.dumps(preset.to_config()))
    assert Preprocessing.from_config(config) == preset
    assert set(config) == {"name", "description", "scale", "mean", "std"}


def test_records_written_with_a_channel_order():
    config = RESCALE_0_1.to_config() | {"channel_order": "rgb"}
    assert Preprocessing.from_config(config) == RESCALE_0_1
    with pytest.raises(InvalidArgumentError, match=r"folded into the first convolution"):
        Preprocessing.from_config(config | {"channel_order": "bgr"})


def test_layer_config_round_trip(preset: Preprocessing, uint8_images: np.ndarray):
    layer = preset.layer()
    config = layer.get_config()
    assert config["name"] == "preprocessing"
    rebuilt = keras.layers.Rescaling.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(to_numpy(rebuilt(uint8_images)), to_numpy(layer(uint8_images)))
    assert Preprocessing.from_layer(rebuilt) == preset


def test_unknown_values_read_back_as_a_custom_record():
    layer = keras.layers.Rescaling([0.5, 0.25, 0.125], [1.0, 2.0, 3.0], name="preprocessing")
    found = Preprocessing.from_layer(layer)
    assert found.name == "custom"
    assert found.std == (2.0, 4.0, 8.0) and found.mean == (-2.0, -8.0, -24.0)
    np.testing.assert_allclose(found.rescaling(), ([0.5, 0.25, 0.125], [1.0, 2.0, 3.0]))
    assert Preprocessing.from_layer(keras.layers.Dense(2)) is None


def test_legacy_layer_still_deserializes_and_describes_itself(uint8_images: np.ndarray):
    legacy = ImagePreprocessing(channel_order="bgr", mean=(103.939, 116.779, 123.68))
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(legacy)))
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, ImagePreprocessing)
    np.testing.assert_allclose(
        to_numpy(restored(uint8_images)),
        uint8_images[..., ::-1] - np.array([103.939, 116.779, 123.68]),
        rtol=1e-6,
        atol=1e-4,
    )
    described = Preprocessing.from_layer(restored)
    assert described.name == "custom" and described.description.startswith("Legacy layer: RGB->BGR")


def test_str_shows_the_formula():
    assert str(RESCALE_0_1).startswith("rescale_0_1 (x/255): ")
    assert str(IMAGENET_MEAN_RGB).startswith("imagenet_mean_rgb (-(123.68, 116.779, 103.939)): ")
    assert str(CIFAR10_ZSCORE).startswith("cifar10_zscore (-120.708, /64.1497): ")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean": (1.0, 2.0)}, r"mean must hold 1 or 3 finite numbers\. Received: mean="),
        ({"std": (math.nan,)}, r"std must hold 1 or 3 finite numbers\. Received: std=\(nan,\)"),
        (
            {"std": (0.0,)},
            r"scale and std must be finite and non-zero\. Received: scale=1.0, std=\(0.0,\)",
        ),
        ({"scale": 0.0}, r"scale and std must be finite and non-zero\. Received: scale=0.0"),
    ],
)
def test_invalid_records_are_refused(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Preprocessing(name="bad", description="", **kwargs)


@pytest.mark.slow
def test_zscore_constants_are_the_training_set_statistics(cifar10_dir):
    from keras_cifar_zoo import load_cifar10

    (x_train, _), _ = load_cifar10(cifar10_dir, download=False)
    assert x_train.shape == (50_000, 32, 32, 3)
    pixels = x_train.astype(np.float64)
    assert CIFAR10_ZSCORE.mean[0] == pytest.approx(pixels.mean(), abs=1e-6)
    assert CIFAR10_ZSCORE.std[0] == pytest.approx(pixels.std() + 1e-7, abs=1e-6)
