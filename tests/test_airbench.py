"""airbench94: its exact size, the reference's layers and initialisation, the whitening filters,
the BatchNorm bias rate built into the model, and its recipe's numbers."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from keras_cifar_zoo import WeightAveraging, fit_cifar10, get_recipe, load_model, model_info
from keras_cifar_zoo.models.airbench import AirbenchConfig, init_whitening, whitening_kernel
from keras_cifar_zoo.preprocessing import CIFAR10_CHANNEL_ZSCORE

CONFIG = AirbenchConfig()
BLOCKS = ((24, 64), (64, 256), (256, 256))  # (in, out) channels of each block's first conv
NORMS = [f"block{b}_norm{n}" for b in (1, 2, 3) for n in (1, 2)]


def to_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return load_model("airbench94")


def test_parameter_count_is_the_reference_networks(model):
    convs = sum(9 * i * o for i, o in BLOCKS) + sum(9 * o * o for _, o in BLOCKS)
    whitening = 2 * 2 * 3 * 24 + 24  # 24 filters of 2x2x3 and their biases
    classifier = 256 * 10  # no bias
    channels = sum(o for _, o in BLOCKS) * 2  # two BatchNorms per block
    assert convs == 1_967_616 and channels == 1_152
    # PyTorch counts the reference's parameters (BatchNorm scale and bias, not its running
    # statistics): 1,972,792. Keras counts the running mean and variance too.
    reference = convs + whitening + classifier + 2 * channels
    assert reference == 1_972_792
    assert model.count_params() == reference + 2 * channels == 1_975_096
    assert model_info("airbench94").num_params == 1_975_096
    # trained: what the reference's optimizer gets (no whitening kernel, no BatchNorm scale)
    trained = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trained == reference - 2 * 2 * 3 * 24 - channels == 1_971_352


def test_layers_follow_the_reference(model):
    shapes = {
        "whitening": (None, 31, 31, 24),
        "block1_norm2_gelu": (None, 15, 15, 64),
        "block2_norm2_gelu": (None, 7, 7, 256),
        "block3_norm2_gelu": (None, 3, 3, 256),
        "global_pool": (None, 256),
        "predictions": (None, 10),
    }
    for name, shape in shapes.items():
        assert model.get_layer(name).output.shape == shape, name
    whitening = model.get_layer("whitening")
    assert (whitening.kernel_size, whitening.padding, whitening.use_bias) == ((2, 2), "valid", True)
    assert model.get_layer("whitening_gelu").get_config()["activation"] == "gelu"
    for b in (1, 2, 3):
        conv1, conv2 = model.get_layer(f"block{b}_conv1"), model.get_layer(f"block{b}_conv2")
        assert conv1.padding == conv2.padding == "same"
        assert not conv1.use_bias and not conv2.use_bias
        # conv - pool - BatchNorm - GELU - conv - BatchNorm - GELU
        order = [layer.name for layer in model.layers if layer.name.startswith(f"block{b}_")]
        assert order == [
            f"block{b}_conv1", f"block{b}_pool", f"block{b}_norm1_bn",
            f"block{b}_norm1_bias_gain", f"block{b}_norm1_gelu", f"block{b}_conv2",
            f"block{b}_norm2_bn", f"block{b}_norm2_bias_gain", f"block{b}_norm2_gelu",
        ]  # fmt: skip
    assert isinstance(model.get_layer("global_pool"), keras.layers.GlobalMaxPooling2D)
    assert model.get_layer("logit_scale").scale == pytest.approx(1 / 9)
    assert not model.get_layer("predictions").use_bias
    # GELU: the exact (erf) form, as PyTorch's nn.GELU
    x = np.linspace(-3, 3, 7, dtype="float32")
    exact = to_numpy(keras.activations.gelu(x, approximate=False))
    np.testing.assert_allclose(to_numpy(model.get_layer("block1_norm1_gelu")(x)), exact)


def test_batchnorm_is_the_references_with_a_frozen_scale(model):
    for name in NORMS:
        norm = model.get_layer(f"{name}_bn")
        # PyTorch momentum 0.4 (1 - 0.6), eps 1e-12
        assert (norm.momentum, norm.epsilon) == (0.6, 1e-12)
        assert not norm.gamma.trainable and norm.beta.trainable
        np.testing.assert_array_equal(to_numpy(norm.gamma), np.full(norm.gamma.shape, 0.125))
        assert model.get_layer(f"{name}_bias_gain").scale == 8.0


def test_the_bias_gain_trains_the_bias_64_times_faster():
    """One SGD step: BatchNorm (frozen scale 1/8) + Rescaling(8) at rate r moves the output
    as a plain bias-only BatchNorm at rate 64 r does, and computes the same outputs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 4, 3)).astype("float32")
    target = rng.normal(size=(16, 4, 4, 3)).astype("float32")

    def build(composite: bool) -> keras.Model:
        inputs = keras.Input((4, 4, 3))
        if composite:
            norm = keras.layers.BatchNormalization(
                gamma_initializer=keras.initializers.Constant(0.125), name="bn"
            )
            out = keras.layers.Rescaling(8.0)(norm(inputs))
            norm.gamma.trainable = False
        else:
            out = keras.layers.BatchNormalization(scale=False, name="bn")(inputs)
        return keras.Model(inputs, out)

    composite, plain = build(True), build(False)
    np.testing.assert_allclose(
        to_numpy(composite(x, training=True)), to_numpy(plain(x, training=True)), atol=1e-5
    )
    composite.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    plain.compile(optimizer=keras.optimizers.SGD(0.64), loss="mse")
    composite.train_on_batch(x, target)
    plain.train_on_batch(x, target)
    moved = 8 * to_numpy(composite.get_layer("bn").beta)
    assert np.abs(moved).max() > 1e-3
    np.testing.assert_allclose(moved, to_numpy(plain.get_layer("bn").beta), rtol=1e-5)
    np.testing.assert_array_equal(to_numpy(composite.get_layer("bn").gamma), [0.125] * 3)


def test_convolutions_start_as_partial_identities(model):
    for b, (channels_in, channels_out) in enumerate(BLOCKS, start=1):
        kernel = to_numpy(model.get_layer(f"block{b}_conv1").kernel)
        identity = np.zeros((3, 3, channels_in, channels_in), "float32")
        identity[1, 1, np.arange(channels_in), np.arange(channels_in)] = 1
        np.testing.assert_array_equal(kernel[..., :channels_in], identity)
        if channels_out > channels_in:  # the others: PyTorch's default, within 1/sqrt(fan_in)
            rest = kernel[..., channels_in:]
            bound = 1 / np.sqrt(9 * channels_in)
            assert rest.std() > bound / 3 and np.abs(rest).max() <= bound
        # in == out: the second conv starts as the identity
        second = to_numpy(model.get_layer(f"block{b}_conv2").kernel)
        identity = np.zeros((3, 3, channels_out, channels_out), "float32")
        identity[1, 1, np.arange(channels_out), np.arange(channels_out)] = 1
        np.testing.assert_array_equal(second, identity)


def test_weight_decay_is_the_references_coupled_decay(model):
    half = 0.0153 / 11.5 / 2  # L2 of half the decay: the gradient gains decay * w
    decayed = {
        **{f"block{b}_conv{c}": "kernel" for b in (1, 2, 3) for c in (1, 2)},
        **{f"{name}_bn": "beta" for name in NORMS},
        "predictions": "kernel",
        "whitening": "bias",
    }
    for name, attribute in decayed.items():
        regularizer = getattr(model.get_layer(name), f"{attribute}_regularizer")
        assert regularizer.get_config() == {"l2": pytest.approx(half)}, name
    assert model.get_layer("whitening").kernel_regularizer is None  # frozen: nothing to decay
    assert model.get_layer("block1_norm1_bn").gamma_regularizer is None


def test_preprocessing_is_airbenchs_per_channel_normalization(model, uint8_images):
    expected = (uint8_images / 255 - np.array([0.4914, 0.4822, 0.4465])) / np.array(
        [0.2470, 0.2435, 0.2616]
    )
    got = to_numpy(model.get_layer("preprocessing")(uint8_images))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert model_info("airbench94").preprocessing == CIFAR10_CHANNEL_ZSCORE


def _patches(images: np.ndarray) -> np.ndarray:
    """Every 2x2 patch, flattened in (row, column, channel) order, by explicit loops."""
    rows = []
    for r in range(images.shape[1] - 1):
        for c in range(images.shape[2] - 1):
            rows.append(images[:, r : r + 2, c : c + 2, :].reshape(len(images), -1))
    return np.concatenate(rows).astype(np.float64)


def test_whitening_filters_whiten_the_2x2_patches():
    rng = np.random.default_rng(3)
    mixing = rng.normal(size=(3, 3))
    images = rng.normal(size=(40, 8, 8, 3)) @ mixing  # correlated channels
    images[:, 1:] += 0.5 * images[:, :-1]  # and neighbouring pixels
    kernel = whitening_kernel(images, 2, 5e-4)
    assert kernel.shape == (2, 2, 3, 24) and kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel[..., 12:], -kernel[..., :12])
    patches = _patches(images)
    eigenvalues = np.sort(np.linalg.eigvalsh(patches.T @ patches / len(patches)))[::-1]
    features = patches @ kernel[..., :12].reshape(12, 12).astype(np.float64)
    # uncorrelated, each of variance eigenvalue / (eigenvalue + eps), largest first
    np.testing.assert_allclose(
        features.T @ features / len(features),
        np.diag(eigenvalues / (eigenvalues + 5e-4)),
        atol=2e-5,
    )
    # a Keras Conv2D with this kernel computes those features (the kernel layout is right)
    conv = keras.layers.Conv2D(24, 2, use_bias=False)
    conv.build((None, 8, 8, 3))
    conv.kernel.assign(kernel)
    out = to_numpy(conv(images.astype("float32")))  # (40, 7, 7, 24)
    by_position = out[..., :12].transpose(1, 2, 0, 3).reshape(-1, 12)
    np.testing.assert_allclose(by_position, features, rtol=1e-3, atol=1e-3)


def test_init_whitening_uses_the_first_5000_preprocessed_training_images(rng):
    images = rng.integers(0, 256, (5010, 32, 32, 3), dtype=np.uint8)
    images[5000:] = 255  # beyond the first 5,000: must not count
    fresh = load_model("airbench94")
    assert not np.any(to_numpy(fresh.get_layer("whitening").kernel))  # zero until set
    assert init_whitening(fresh, images) is True
    expected = whitening_kernel(CIFAR10_CHANNEL_ZSCORE.apply(images[:5000]))
    np.testing.assert_allclose(to_numpy(fresh.get_layer("whitening").kernel), expected, atol=1e-5)
    # set once: loaded or trained filters are kept
    assert init_whitening(fresh, images[:100]) is False
    np.testing.assert_allclose(to_numpy(fresh.get_layer("whitening").kernel), expected, atol=1e-5)
    # a model built without its preprocessing layer gets the caller's preprocessing
    bare = load_model("airbench94", include_preprocessing=False)
    assert init_whitening(bare, images[:200], CIFAR10_CHANNEL_ZSCORE) is True
    np.testing.assert_allclose(
        to_numpy(bare.get_layer("whitening").kernel),
        whitening_kernel(CIFAR10_CHANNEL_ZSCORE.apply(images[:200])),
        atol=1e-5,
    )


def test_init_whitening_leaves_other_models_alone_and_refreezes_after_loading(tmp_path, rng):
    other = load_model("simple_cnn")
    before = [to_numpy(w) for w in other.weights]
    assert init_whitening(other, rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)) is False
    for a, b in zip(before, other.weights, strict=True):
        np.testing.assert_array_equal(a, to_numpy(b))

    load_model("airbench94").save(tmp_path / "airbench94.keras")
    loaded = keras.saving.load_model(tmp_path / "airbench94.keras")
    # a .keras file keeps no per-variable trainable flag
    assert loaded.get_layer("whitening").kernel.trainable
    init_whitening(loaded, rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    assert not loaded.get_layer("whitening").kernel.trainable
    assert not any(loaded.get_layer(f"{n}_bn").gamma.trainable for n in NORMS)


@pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")
def test_fit_sets_the_whitening_filters_and_keeps_them_and_the_scales_frozen(rng, eager_steps):
    images = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(16) % 10
    recipe = dataclasses.replace(get_recipe("airbench94"), epochs=1, batch_size=8)
    history = fit_cifar10("airbench94", recipe=recipe, data=(images, labels), seed=0, verbose=0)
    trained = history.model
    np.testing.assert_allclose(
        to_numpy(trained.get_layer("whitening").kernel),
        whitening_kernel(CIFAR10_CHANNEL_ZSCORE.apply(images)),
        atol=1e-5,
    )
    for name in NORMS:
        norm = trained.get_layer(f"{name}_bn")
        np.testing.assert_array_equal(to_numpy(norm.gamma), np.full(norm.gamma.shape, 0.125))
    assert np.any(to_numpy(trained.get_layer("whitening").bias))  # the bias trains


def test_recipe_is_the_references_in_keras_units():
    recipe = get_recipe("airbench94")
    assert get_recipe("airbench94") is get_recipe(model_info("airbench94").default_recipe)
    assert (recipe.optimizer, recipe.batch_size, recipe.epochs) == ("SGD", 1024, 10)
    # the reference's rate 11.5 per 1024 images of a summed loss, divided by the Nesterov
    # step's growth 1 + 1 / (1 - momentum), is 1.5 for a mean loss
    assert recipe.optimizer_config == {"momentum": 0.85, "nesterov": True}
    peak = 11.5 / (1 + 1 / (1 - 0.85))
    assert peak == pytest.approx(1.5)
    assert (recipe.schedule.kind, recipe.schedule.warmup_fraction) == ("onecycle", 0.23)
    assert recipe.schedule.values == pytest.approx((0.2 * peak, peak, 0.07 * peak))
    assert recipe.schedule.learning_rate(2.3, 10) == pytest.approx(1.5)
    assert recipe.schedule.learning_rate(10, 10) == pytest.approx(0.105)
    assert recipe.label_smoothing == 0.2
    aug = recipe.augmentation
    assert (aug.horizontal_flip, aug.fill_mode, aug.integer_shift) == (True, "reflect", True)
    assert round(aug.shift * 32) == 2 and aug.cutout_size == 0 and aug.rotation_degrees == 0
    assert aug.alternating_flip is True
    assert recipe.weight_averaging == WeightAveraging(every=5, final_decay=0.95**5, power=3.0)
    assert recipe.freeze_after_epochs == {"whitening/bias": 3}
    assert "tta='flip_translate'" in recipe.description
