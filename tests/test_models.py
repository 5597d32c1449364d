"""Every registered model: exact size, forward pass, serialization, variants, names, errors.

Tests parametrized over ``list_models()`` cover a new model without a new test; the tables
below are copied from issue 2 so that a typo in the registry cannot pass unnoticed.
"""

from __future__ import annotations

import dataclasses
import re

import keras
import numpy as np
import pytest

from keras_cifar_zoo import (
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    ModelInfo,
    Preprocessing,
    UnknownModelError,
    ZooError,
    list_models,
    load_model,
    model_info,
)

# model.count_params() of the default build.
EXPECTED_PARAMS = {
    "simple_cnn": 1_626_442,
    "cnn_bn": 11_916_810,
    "resnet20_v1": 274_442,
    "resnet20_v1_dropout": 274_442,
    "resnet50_v1": 763_882,
    "resnet50_v1_dropout": 763_882,
    "resnet56_v1": 861_770,
    "vgg16_bn_plainhead": 33_655_114,
    "vgg11_bn": 28_187_826,
    "vgg13_bn": 28_373_106,
    "vgg16c_bn": 28_969_330,
    "vgg16_bn": 33_687_922,
    "vgg19_bn": 39_002_738,
    "vgg19_bn_pretrain": 39_002_738,
    "elu_cnn": 309_290,
    "vgg_lite": 1_186_378,
    # Issue 6's fast model: convs 1,728 + 73,728 + 2 x 147,456 + 294,912 + 1,179,648 +
    # 2 x 2,359,296, classifier 5,120 (no biases), 4 x 2,240 BatchNorm values.
    "resnet9": 6_577_600,
    # airbench94 (test_airbench.py derives it): whitening 312, convs 1,967,616, classifier
    # 2,560, 6 BatchNorms of 1,152 channels in all x 4 (frozen scale, bias, mean, variance).
    "airbench94": 1_975_096,
}

# Issue 2: the seed article of each model and the preprocessing that article documents.
EXPECTED_ARTICLE_AND_PREPROCESSING = {
    "simple_cnn": ("001", "rescale_0_1"),
    "cnn_bn": ("001", "rescale_0_1"),
    "resnet20_v1": ("001", "rescale_0_1"),
    "resnet20_v1_dropout": ("001", "rescale_0_1"),
    "resnet50_v1": ("001", "rescale_0_1"),
    "resnet50_v1_dropout": ("001", "rescale_0_1"),
    "resnet56_v1": ("001", "rescale_0_1"),
    "vgg16_bn_plainhead": ("000", "rescale_0_1"),
    "vgg11_bn": ("002", "imagenet_mean_rgb"),
    "vgg13_bn": ("002", "imagenet_mean_rgb"),
    "vgg16c_bn": ("002", "imagenet_mean_rgb"),
    "vgg16_bn": ("002", "imagenet_mean_rgb"),
    "vgg19_bn": ("002", "imagenet_mean_rgb"),
    "vgg19_bn_pretrain": ("002", "imagenet_mean_rgb"),
    "elu_cnn": ("003", "cifar10_zscore"),
    "vgg_lite": ("004", "rescale_0_1"),
    "resnet9": ("zoo", "cifar10_zscore"),
    "airbench94": ("zoo", "cifar10_channel_zscore"),
}

# Output shape of include_top=False at 32x32, worked out from each architecture by hand.
EXPECTED_BASE_SHAPES = {
    "simple_cnn": (None, 14, 14, 64),
    "cnn_bn": (None, 4, 4, 512),
    "resnet20_v1": (None, 8, 8, 64),
    "resnet20_v1_dropout": (None, 8, 8, 64),
    "resnet50_v1": (None, 8, 8, 64),
    "resnet50_v1_dropout": (None, 8, 8, 64),
    "resnet56_v1": (None, 8, 8, 64),
    "vgg16_bn_plainhead": (None, 1, 1, 512),
    "vgg11_bn": (None, 1, 1, 512),
    "vgg13_bn": (None, 1, 1, 512),
    "vgg16c_bn": (None, 1, 1, 512),
    "vgg16_bn": (None, 1, 1, 512),
    "vgg19_bn": (None, 1, 1, 512),
    "vgg19_bn_pretrain": (None, 1, 1, 512),
    "elu_cnn": (None, 4, 4, 128),
    "vgg_lite": (None, 4, 4, 256),
    "resnet9": (None, 4, 4, 512),
    "airbench94": (None, 3, 3, 256),  # 32 -> 31 (2x2 valid whitening) -> 15 -> 7 -> 3
}

# Convolutions per VGG block (issue 2 / the VGG paper's configurations A-E and article 004).
VGG_BLOCKS = {
    "vgg11_bn": (1, 1, 2, 2, 2),
    "vgg13_bn": (2, 2, 2, 2, 2),
    "vgg16c_bn": (2, 2, 3, 3, 3),
    "vgg16_bn": (2, 2, 3, 3, 3),
    "vgg16_bn_plainhead": (2, 2, 3, 3, 3),
    "vgg19_bn": (2, 2, 4, 4, 4),
    "vgg19_bn_pretrain": (2, 2, 4, 4, 4),
    "vgg_lite": (2, 2, 2),
}

MODEL_NAMES = list_models()
# A .keras round trip, a pooled base or a logits head of a 28-39M parameter VGG or a
# 50-layer ResNet takes seconds. Models built by the same builder with the same layer types
# and head differ only in depth or width, which the parameter counts and base shapes of every
# model check, so one of each stands for the rest in those tests: vgg19_bn_pretrain for
# article 002's VGGs, resnet20_v1 and resnet20_v1_dropout for the ResNets.
REPRESENTATIVES = [
    name
    for name in MODEL_NAMES
    if name not in ("vgg11_bn", "vgg13_bn", "vgg16c_bn", "vgg16_bn", "vgg19_bn")
    and name not in ("resnet50_v1", "resnet50_v1_dropout", "resnet56_v1")
]


def to_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def model(name: str) -> keras.Model:
    """The default build of ``name``, shared by the read-only tests of this module.

    Module scope with a parametrized ``name`` makes pytest run all tests of one model
    together, so only one model is alive at a time.
    """
    return load_model(name)


def _weight_shapes(m: keras.Model) -> dict[str, list[tuple[int, ...]]]:
    return {layer.name: [tuple(w.shape) for w in layer.weights] for layer in m.layers}


def _auto_name(class_name: str) -> str:
    # The name Keras gives an unnamed layer (keras.src.utils.naming.to_snake_case).
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# --- the registry ----------------------------------------------------------------------


def test_registry_holds_exactly_the_issue_models():
    assert sorted(EXPECTED_PARAMS) == MODEL_NAMES


def test_list_models_is_sorted_and_filters_with_fnmatch():
    assert list_models() == sorted(list_models())
    assert list_models("vgg*") == [
        "vgg11_bn",
        "vgg13_bn",
        "vgg16_bn",
        "vgg16_bn_plainhead",
        "vgg16c_bn",
        "vgg19_bn",
        "vgg19_bn_pretrain",
        "vgg_lite",
    ]
    assert list_models("*dropout") == ["resnet20_v1_dropout", "resnet50_v1_dropout"]
    assert list_models("resnet?0_v1") == ["resnet20_v1", "resnet50_v1"]
    assert list_models("simple_cnn") == ["simple_cnn"]
    assert list_models("VGG*") == []  # case-sensitive, like the names
    assert list_models("no_such_model*") == []


def test_list_models_rejects_a_non_string_pattern():
    with pytest.raises(InvalidTypeError, match=r"pattern must be a string .*Received: pattern=3"):
        list_models(3)


def test_model_info_record(name: str):
    info = model_info(name)
    article, preset = EXPECTED_ARTICLE_AND_PREPROCESSING[name]
    assert isinstance(info, ModelInfo)
    assert info.name == name
    assert info.article == article
    assert info.num_params == EXPECTED_PARAMS[name]
    assert info.input_shape == (32, 32, 3)
    assert 1 <= info.min_input_size <= 32
    assert isinstance(info.preprocessing, Preprocessing)
    assert info.preprocessing.name == preset
    assert info.family in {"cnn", "resnet_v1", "vgg", "resnet9", "airbench"}
    assert info.description and info.default_recipe
    assert isinstance(info.weights, tuple) and all(isinstance(w, str) for w in info.weights)
    assert info.imagenet_network in {None, "vgg16", "vgg19"}
    assert model_info(name) == info


def test_model_info_record_is_frozen():
    info = model_info("resnet20_v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.num_params = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.preprocessing.scale = 1.0
    hash(info)  # frozen all the way down, so usable as a key


def test_imagenet_networks_are_the_vggs_with_keras_applications_layouts():
    networks = {name: model_info(name).imagenet_network for name in MODEL_NAMES}
    assert {n: v for n, v in networks.items() if v} == {
        "vgg16_bn_plainhead": "vgg16",
        "vgg16_bn": "vgg16",
        "vgg19_bn": "vgg19",
        "vgg19_bn_pretrain": "vgg19",
    }


# --- the default build ------------------------------------------------------------------


def test_param_count(name: str, model: keras.Model):
    assert model.count_params() == model_info(name).num_params == EXPECTED_PARAMS[name]
    assert model.name == name


def test_forward_pass_on_uint8_batch(name: str, model: keras.Model, uint8_images: np.ndarray):
    probs = to_numpy(model(uint8_images, training=False))
    assert probs.shape == (4, 10)
    assert np.isfinite(probs).all() and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # Float pixels in 0-255 are the same input as uint8.
    as_float = to_numpy(model(uint8_images.astype("float32"), training=False))
    np.testing.assert_allclose(as_float, probs, rtol=1e-6, atol=1e-7)


def test_preprocessing_layer_is_first_and_weightless(
    name: str, model: keras.Model, uint8_images: np.ndarray
):
    first = model.layers[1]  # layers[0] is the InputLayer
    assert isinstance(model.layers[0], keras.layers.InputLayer)
    assert type(first) is keras.layers.Rescaling  # built in: loads without this package
    assert first.name == "preprocessing"
    assert first.weights == []
    expected = model_info(name).preprocessing
    np.testing.assert_allclose(
        to_numpy(first(uint8_images)), expected.apply(uint8_images), rtol=1e-6, atol=1e-4
    )


def test_every_weight_bearing_layer_has_an_explicit_name(model: keras.Model):
    weighted = [layer for layer in model.layers if layer.weights]
    assert weighted
    auto = [
        layer.name
        for layer in weighted
        if re.fullmatch(re.escape(_auto_name(type(layer).__name__)) + r"(_\d+)?", layer.name)
    ]
    assert auto == [], f"layers named by Keras, not by the builder: {auto}"


# --- variants ---------------------------------------------------------------------------


def test_include_top_false_returns_the_convolutional_base(name: str, model: keras.Model):
    base = load_model(name, include_top=False)
    assert base.output.shape == EXPECTED_BASE_SHAPES[name]
    names = [layer.name for layer in base.layers]
    assert names[1] == "preprocessing"
    assert "predictions" not in names and "flatten" not in names
    full = _weight_shapes(model)
    for layer, shapes in _weight_shapes(base).items():
        assert full[layer] == shapes, f"{layer} differs between the base and the full model"
    assert base.count_params() < model.count_params()


def test_num_classes_changes_only_the_classifier(name: str, model: keras.Model):
    # Also without preprocessing: one build checks both switches.
    wide = load_model(name, num_classes=100, include_preprocessing=False)
    assert wide.output.shape == (None, 100)
    assert "preprocessing" not in [layer.name for layer in wide.layers]
    default, changed = _weight_shapes(model), _weight_shapes(wide)
    assert default.pop("preprocessing") == []
    assert default.keys() == changed.keys()
    differing = {layer for layer in default if default[layer] != changed[layer]}
    assert "predictions" in differing
    assert differing <= {"predictions", "predictions_bn"}
    for layer in differing:
        for before, after in zip(default[layer], changed[layer], strict=True):
            assert before[:-1] == after[:-1] and (before[-1], after[-1]) == (10, 100)


@pytest.mark.parametrize("name", REPRESENTATIVES, indirect=True)
def test_pooling_gives_one_feature_vector_per_image(
    name: str, model: keras.Model, uint8_images: np.ndarray
):
    base = load_model(name, include_top=False)
    base.set_weights(model.get_weights()[: len(base.get_weights())])
    features = to_numpy(base(uint8_images, training=False))
    channels = EXPECTED_BASE_SHAPES[name][-1]
    for pooling, reduce in (("avg", np.mean), ("max", np.max)):
        pooled = load_model(name, include_top=False, pooling=pooling)
        assert pooled.output.shape == (None, channels)
        pooled.set_weights(base.get_weights())
        np.testing.assert_allclose(
            to_numpy(pooled(uint8_images, training=False)),
            reduce(features, axis=(1, 2)),
            rtol=1e-5,
            atol=1e-5,
        )


@pytest.mark.parametrize("name", REPRESENTATIVES, indirect=True)
def test_classifier_activation_none_gives_the_logits(
    name: str, model: keras.Model, uint8_images: np.ndarray
):
    logits_model = load_model(name, classifier_activation=None)
    assert logits_model.count_params() == model.count_params()
    logits_model.set_weights(model.get_weights())
    logits = logits_model(uint8_images, training=False)
    np.testing.assert_allclose(
        to_numpy(keras.ops.softmax(logits)),
        to_numpy(model(uint8_images, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    assert not np.allclose(to_numpy(logits).sum(axis=1), 1.0)


@pytest.mark.parametrize("name", REPRESENTATIVES, indirect=True)
def test_input_tensor_builds_on_a_given_tensor(name: str):
    size = max(model_info(name).min_input_size, 40)
    images = keras.Input(shape=(size, size, 3), name="my_images")
    m = load_model(name, input_tensor=images)
    assert m.inputs[0] is images
    assert m.input_shape == (None, size, size, 3)
    assert m.output.shape == (None, 10)


def test_input_tensor_may_come_out_of_another_layer():
    raw = keras.Input(shape=(32, 32, 3))
    flipped = keras.layers.RandomFlip("horizontal", name="flip")(raw)
    m = load_model("resnet20_v1", input_tensor=flipped)
    assert m.inputs[0] is raw
    assert [layer.name for layer in m.layers[:3]] == [
        raw._keras_history[0].name,
        "flip",
        "preprocessing",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"pooling": "mean", "include_top": False},
            InvalidArgumentError,
            r"pooling must be None, 'avg' or 'max'\. Received: pooling='mean'",
        ),
        (
            {"pooling": "avg"},
            InvalidArgumentError,
            r"pass include_top=False with it .* Received: pooling='avg', include_top=True",
        ),
        (
            {"classifier_activation": "relu"},
            InvalidArgumentError,
            r"classifier_activation must be 'softmax' \(class probabilities\) or None \(logits\)"
            r"\. Received: classifier_activation='relu'",
        ),
        (
            {"input_tensor": np.zeros((1, 32, 32, 3))},
            InvalidTypeError,
            r"input_tensor must be a Keras tensor, .* Received: input_tensor of type ndarray",
        ),
        (
            {"input_tensor": "x"},
            InvalidTypeError,
            r"Received: input_tensor of type str",
        ),
    ],
)
def test_applications_arguments_are_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_model("resnet20_v1", **kwargs)


def test_input_tensor_shape_is_checked():
    with pytest.raises(InvalidInputShapeError, match=r"needs a fixed \(height, width"):
        load_model("resnet20_v1", input_tensor=keras.Input(shape=(None, None, 3)))
    with pytest.raises(InvalidInputShapeError, match=r"must have 3 channels"):
        load_model("resnet20_v1", input_tensor=keras.Input(shape=(32, 32, 1)))
    with pytest.raises(InvalidInputShapeError, match=r"input_shape and input_tensor disagree"):
        load_model("resnet20_v1", input_shape=(40, 40, 3), input_tensor=keras.Input((48, 48, 3)))


def test_smallest_input_size_builds_and_one_less_is_refused(name: str):
    smallest = model_info(name).min_input_size
    if smallest < 32:
        m = load_model(name, input_shape=(smallest, smallest, 3))
        assert m.output.shape == (None, 10)
    if smallest > 1:
        with pytest.raises(InvalidInputShapeError, match=f"at least {smallest}"):
            load_model(name, input_shape=(smallest - 1, 32, 3))


# --- .keras round trip ------------------------------------------------------------------


def _assert_round_trip(m: keras.Model, path, images: np.ndarray) -> None:
    before = to_numpy(m(images, training=False))
    m.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == m.name
    layer = loaded.get_layer("preprocessing")
    assert type(layer) is keras.layers.Rescaling
    assert layer.get_config() == m.get_layer("preprocessing").get_config()
    assert [x.name for x in loaded.layers] == [x.name for x in m.layers]
    np.testing.assert_allclose(to_numpy(loaded(images, training=False)), before, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", REPRESENTATIVES, indirect=True)
def test_keras_round_trip_keeps_preprocessing_and_predictions(
    name: str, model: keras.Model, tmp_path, uint8_images: np.ndarray
):
    _assert_round_trip(model, tmp_path / f"{name}.keras", uint8_images)


# --- VGG layer names --------------------------------------------------------------------


def _expected_names(name: str) -> tuple[list[str], list[str]]:
    """Conv2D and Dense layer names each family's builder must give, in order."""
    info = model_info(name)
    if info.family == "vgg":
        blocks = VGG_BLOCKS[name]
        convs = [f"block{b}_conv{c}" for b, n in enumerate(blocks, 1) for c in range(1, n + 1)]
        return convs, ["predictions"] if name == "vgg_lite" else ["fc1", "fc2", "predictions"]
    if info.family == "resnet_v1":
        n = (int(name.split("_")[0].removeprefix("resnet")) - 2) // 6
        convs = ["stem_conv"]
        for stage in (1, 2, 3):
            for block in range(1, n + 1):
                convs += [f"stage{stage}_block{block}_conv1", f"stage{stage}_block{block}_conv2"]
                if stage > 1 and block == 1:
                    convs.append(f"stage{stage}_block{block}_shortcut")
        return convs, ["predictions"]
    if info.family == "airbench":
        convs = [f"block{b}_conv{c}" for b in (1, 2, 3) for c in (1, 2)]
        return ["whitening", *convs], ["predictions"]
    if info.family == "resnet9":
        convs = ["stem_conv"]
        for stage in (1, 2, 3):
            convs.append(f"stage{stage}_conv")
            if stage != 2:
                convs += [f"stage{stage}_res1_conv", f"stage{stage}_res2_conv"]
        return convs, ["predictions"]
    convs_per_model = {"simple_cnn": 2, "cnn_bn": 9, "elu_cnn": 6}
    dense = {"simple_cnn": ["fc1"], "cnn_bn": ["fc1"], "elu_cnn": []}[name]
    return [f"conv{i}" for i in range(1, convs_per_model[name] + 1)], [*dense, "predictions"]


def test_layer_names(name: str, model: keras.Model):
    convs, dense = _expected_names(name)
    assert [x.name for x in model.layers if isinstance(x, keras.layers.Conv2D)] == convs
    assert [x.name for x in model.layers if isinstance(x, keras.layers.Dense)] == dense
    if model_info(name).family == "vgg":  # the keras.applications names
        pools = [x.name for x in model.layers if isinstance(x, keras.layers.MaxPooling2D)]
        assert pools == [f"block{b}_pool" for b in range(1, len(VGG_BLOCKS[name]) + 1)]
        assert "flatten" in [x.name for x in model.layers]


IMAGENET_VGGS = [n for n in MODEL_NAMES if model_info(n).imagenet_network is not None]


@pytest.mark.parametrize("name", IMAGENET_VGGS, indirect=True)
def test_imagenet_vgg_convolutions_match_keras_applications(name: str, model: keras.Model):
    # Same names and kernel shapes as keras.applications, so ImageNet weights load by name.
    network = model_info(name).imagenet_network
    application = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[network]
    reference = application(weights=None, include_top=False, input_shape=(32, 32, 3))

    def convs(m):
        return {
            layer.name: [tuple(w.shape) for w in layer.weights]
            for layer in m.layers
            if isinstance(layer, keras.layers.Conv2D)
        }

    assert convs(model) == convs(reference)


# --- invalid arguments ------------------------------------------------------------------


@pytest.mark.parametrize("function", [load_model, model_info])
def test_unknown_name_suggests_close_names(function):
    with pytest.raises(UnknownModelError) as caught:
        function("resnet20")
    message = str(caught.value)
    assert message.startswith("Unknown model 'resnet20'. Did you mean 'resnet20_v1'")
    assert "list_models()" in message and "keras-cifar-zoo list" in message
    assert f"all {len(MODEL_NAMES)} models" in message
    assert message.endswith("Received: name='resnet20'")
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, ZooError)


def test_unknown_name_without_a_close_match_only_says_how_to_list():
    with pytest.raises(UnknownModelError, match=r"^Unknown model 'xyz'\. Call ") as caught:
        load_model("xyz")
    assert "Did you mean" not in str(caught.value)


@pytest.mark.parametrize("bad", [None, 20, ("vgg16_bn",)])
def test_name_must_be_a_string(bad):
    with pytest.raises(InvalidTypeError, match=r"Model name must be a string\. Received: name="):
        load_model(bad)


@pytest.mark.parametrize("bad", [1, 0, -10])
def test_num_classes_too_small(bad):
    with pytest.raises(
        InvalidNumClassesError,
        match=rf"num_classes must be at least 2 .*Received: num_classes={bad}$",
    ):
        load_model("simple_cnn", num_classes=bad)


def test_num_classes_none_means_the_weights_classes_else_10():
    assert load_model("simple_cnn", num_classes=None).output_shape == (None, 10)


@pytest.mark.parametrize("bad", [10.0, "10", True])
def test_num_classes_wrong_type(bad):
    with pytest.raises(
        InvalidNumClassesError,
        match=r"num_classes must be an integer of at least 2\. Received: num_classes=",
    ) as caught:
        load_model("simple_cnn", num_classes=bad)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("integer", [np.int64, np.int32, np.uint16])
def test_numpy_integers_work_like_python_integers(integer):
    model = load_model("simple_cnn", num_classes=integer(100), input_shape=(integer(36), 36, 3))
    assert model.output_shape == (None, 100) and model.input_shape == (None, 36, 36, 3)
    with pytest.raises(InvalidNumClassesError, match=r"Received: num_classes=np\.float32\(10\.0\)"):
        load_model("simple_cnn", num_classes=np.float32(10))


@pytest.mark.parametrize(
    "bad",
    [(32, 32), (32, 32, 3, 1), "32x32x3", (32.0, 32, 3), (32, None, 3), (True, 32, 3), 32],
)
def test_input_shape_must_be_three_integers(bad):
    with pytest.raises(
        InvalidInputShapeError,
        match=r"input_shape must be a tuple of three integers \(height, width, channels\)",
    ) as caught:
        load_model("simple_cnn", input_shape=bad)
    assert str(caught.value).endswith(f"Received: input_shape={bad!r}")


@pytest.mark.parametrize("channels", [1, 4])
def test_input_shape_needs_three_channels(channels):
    with pytest.raises(
        InvalidInputShapeError,
        match=rf"input_shape must have 3 channels: resnet20_v1 takes RGB images .*"
        rf"Received: input_shape=\(32, 32, {channels}\)",
    ):
        load_model("resnet20_v1", input_shape=(32, 32, channels))


@pytest.mark.parametrize(
    ("model_name", "shape", "smallest"),
    [("vgg19_bn", (16, 16, 3), 32), ("resnet56_v1", (28, 64, 3), 29), ("elu_cnn", (0, 0, 3), 8)],
)
def test_input_shape_too_small_for_the_pooling_stages(model_name, shape, smallest):
    with pytest.raises(
        InvalidInputShapeError,
        match=rf"input_shape is too small for {model_name}: .*at least {smallest}\. "
        rf"Received: input_shape=\({shape[0]}, {shape[1]}, 3\)",
    ):
        load_model(model_name, input_shape=shape)


@pytest.mark.parametrize("argument", ["include_top", "include_preprocessing"])
@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_flags_must_be_booleans(argument, bad):
    with pytest.raises(
        InvalidTypeError, match=rf"{argument} must be True or False\. Received: {argument}="
    ):
        load_model("simple_cnn", **{argument: bad})


def test_weights_options_need_weights():
    with pytest.raises(
        InvalidTypeError,
        match=r"Weights options only apply when weights is given\. "
        r"Received: weights=None, cache_dir",
    ):
        load_model("simple_cnn", cache_dir="/tmp/nowhere")


def test_weights_of_the_wrong_type():
    with pytest.raises(InvalidTypeError, match=r"weights must be .*Received: weights=3"):
        load_model("simple_cnn", weights=3)


def test_every_error_is_a_zoo_error_and_a_value_error():
    for error in (InvalidArgumentError, InvalidInputShapeError, InvalidNumClassesError):
        assert issubclass(error, ZooError) and issubclass(error, ValueError)
    assert issubclass(InvalidTypeError, TypeError) and issubclass(InvalidTypeError, ValueError)
