"""ImageNet VGG weights from files in the legacy Keras Applications layout, built here."""

from __future__ import annotations

import hashlib
import inspect
import logging
import re
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers import hub_stand_in

from keras_cifar_zoo import load_model
from keras_cifar_zoo.errors import (
    HubError,
    IntegrityError,
    InvalidArgumentError,
    InvalidTypeError,
    WeightsMismatchError,
    WeightsNotAvailableError,
)
from keras_cifar_zoo.preprocessing import IMAGENET_MEAN_RGB, Preprocessing
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights import imagenet, load_weights

hub_env = hub_stand_in.hub_env  # fixture: fresh KERAS_HOME, no KERAS_CIFAR_ZOO_IMAGENET

# The real Keras Applications layer shapes; the classifier input of fc1 is 7 * 7 * 512.
_FC = {"fc1": (25088, 4096), "fc2": (4096, 4096), "predictions": (4096, 1000)}


def _conv_shapes(network: str) -> dict[str, tuple[int, ...]]:
    shapes, channels = {}, 3
    for b, count in enumerate(imagenet.CONVS_PER_BLOCK[network], start=1):
        filters = (64, 128, 256, 512, 512)[b - 1]
        for c in range(1, count + 1):
            shapes[f"block{b}_conv{c}"] = (3, 3, channels, filters)
            channels = filters
    return shapes


def write_legacy_vgg(
    path: Path, network: str, *, include_top: bool = True, with_data: frozenset = frozenset()
) -> Path:
    """Writes a legacy-layout VGG weights file with the real layer names and shapes.

    Layers named in ``with_data`` get random float32 values; the others are declared with
    their shape but never written (HDF5 allocates nothing; they read as zeros), which keeps a
    real-sized layout cheap. Weight names are chosen so that sorting them by name would swap
    kernel and bias: the loader must follow ``weight_names`` order.
    """
    rng = np.random.default_rng(0)
    layers = dict(_conv_shapes(network))
    if include_top:
        layers |= _FC
    names = ["input_1"]
    with h5py.File(path, "w") as f:
        for name, kernel_shape in layers.items():
            block = name.split("_")[0]
            if name.endswith("_conv1") and block != "block1":
                names.append(f"block{int(block[5:]) - 1}_pool")
            if name == "fc1":
                names += ["block5_pool", "flatten"]
            names.append(name)
            group = f.create_group(name)
            weight_names = [f"{name}/z_kernel:0", f"{name}/a_bias:0"]
            group.attrs["weight_names"] = np.array([w.encode() for w in weight_names])
            for wname, shape in zip(weight_names, (kernel_shape, kernel_shape[-1:]), strict=True):
                if name in with_data:
                    group.create_dataset(wname, data=rng.standard_normal(shape, dtype=np.float32))
                else:
                    group.create_dataset(wname, shape=shape, dtype=np.float32)
        if not include_top:
            names.append("block5_pool")
        for name in names:
            if name not in f:
                f.create_group(name).attrs["weight_names"] = []
        f.attrs["layer_names"] = np.array([n.encode() for n in names])  # as Keras 2 wrote it
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
    return path


@pytest.fixture(scope="session")
def vgg16_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VGG16 file (with top) whose convs, fc2 and predictions hold random values (~140 MB)."""
    folder = tmp_path_factory.mktemp("imagenet")
    data = frozenset([*_conv_shapes("vgg16"), "fc2", "predictions"])
    return write_legacy_vgg(
        folder / imagenet.KERAS_FILES[("vgg16", True)].fname, "vgg16", with_data=data
    )


@pytest.fixture(scope="session")
def vgg19_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VGG19 file (with top) with the real layout and no data (reads as zeros)."""
    folder = tmp_path_factory.mktemp("imagenet19")
    return write_legacy_vgg(folder / imagenet.KERAS_FILES[("vgg19", True)].fname, "vgg19")


@pytest.fixture(scope="module")
def loaded_vgg16(vgg16_file: Path):
    model = build_model("vgg16_bn")
    report = load_weights(model, "imagenet", imagenet_weights=vgg16_file)
    return model, report


def _file_arrays(path: Path, layer: str) -> list[np.ndarray]:
    with h5py.File(path) as f:
        names = [imagenet._text(n) for n in f[layer].attrs["weight_names"]]
        return [f[layer][n][()] for n in names]


def test_convs_and_fc2_are_copied_bit_exactly(loaded_vgg16, vgg16_file: Path):
    model, _ = loaded_vgg16
    for name in [*_conv_shapes("vgg16"), "fc2"]:
        kernel, bias = _file_arrays(vgg16_file, name)
        if name == "block1_conv1":  # the file's BGR input order, folded into the kernel
            kernel = kernel[:, :, ::-1, :]
        layer = model.get_layer(name)
        assert np.array_equal(keras.ops.convert_to_numpy(layer.kernel), kernel), name
        assert np.array_equal(keras.ops.convert_to_numpy(layer.bias), bias), name


def test_batchnorm_keeps_its_initial_values(loaded_vgg16):
    model, _ = loaded_vgg16
    gamma, beta, mean, var = (
        keras.ops.convert_to_numpy(w) for w in model.get_layer("block1_conv1_bn").weights
    )
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()


def test_report_lists_loaded_and_skipped_layers_with_reasons(loaded_vgg16):
    _, report = loaded_vgg16
    assert report.loaded == (*_conv_shapes("vgg16"), "fc2")
    assert (
        report.skipped["fc1"]
        == "shape mismatch: file (25088, 4096), (4096,), model (512, 4096), (4096,)"
    )
    assert report.skipped["predictions"] == (
        "shape mismatch: file (4096, 1000), (1000,), model (4096, 10), (10,)"
    )
    assert report.skipped["block3_conv3_bn"].startswith(
        "BatchNormalization: not in the ImageNet file"
    )
    assert report.skipped["predictions_bn"].startswith("BatchNormalization")
    assert set(report.skipped) == {
        "fc1",
        "predictions",
        *(f"{c}_bn" for c in _conv_shapes("vgg16")),
        "fc1_bn",
        "fc2_bn",
        "predictions_bn",
    }
    assert report.source.startswith("imagenet (VGG16, vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    assert report.notes == (
        "block1_conv1's kernel has its input channels reversed: the file expects BGR images, "
        "the model takes RGB",
    )


def test_head_left_at_its_initialisation_is_a_warning(
    vgg16_file: Path, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        load_weights(build_model("vgg16_bn"), "imagenet", imagenet_weights=vgg16_file)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "vgg16_bn: the classifier layers fc1, predictions, predictions_bn were re-initialised, "
        "not loaded: the ImageNet file has none of their shapes (224x224 inputs, 1000 classes). "
        "Train the new head (fit_cifar10 or model.fit) before using the model's predictions."
    ]


def test_convolutional_base_alone_logs_no_warning(
    vgg16_file: Path, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        load_weights(
            build_model("vgg16_bn", include_top=False), "imagenet", imagenet_weights=vgg16_file
        )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_rgb_model_computes_what_the_file_computes_on_caffe_inputs(
    loaded_vgg16, vgg16_file: Path, uint8_images: np.ndarray
):
    model, _ = loaded_vgg16
    assert Preprocessing.from_layer(model.get_layer("preprocessing")) == IMAGENET_MEAN_RGB
    probe = keras.Model(model.input, model.get_layer("block1_conv1").output)
    # keras.applications "caffe" mode: RGB->BGR, BGR means subtracted, then the file's conv.
    caffe = uint8_images[..., ::-1].astype(np.float32) - np.array(
        [103.939, 116.779, 123.68], np.float32
    )
    kernel, bias = _file_arrays(vgg16_file, "block1_conv1")
    reference = keras.layers.Conv2D(64, 3, padding="same")
    reference.build((None, 32, 32, 3))
    reference.set_weights([kernel, bias])
    np.testing.assert_allclose(
        probe.predict(uint8_images, verbose=0),
        keras.ops.convert_to_numpy(reference(caffe)),
        rtol=1e-4,
        atol=1e-3,
    )


def test_load_model_with_imagenet_weights(vgg16_file: Path):
    model = load_model("vgg16_bn_plainhead", weights="imagenet", imagenet_weights=vgg16_file)
    kernel, _ = _file_arrays(vgg16_file, "fc2")
    assert np.array_equal(keras.ops.convert_to_numpy(model.get_layer("fc2").kernel), kernel)
    assert Preprocessing.from_layer(model.get_layer("preprocessing")) == IMAGENET_MEAN_RGB


def test_loading_into_a_built_model_switches_its_preprocessing(vgg16_file: Path):
    model = build_model("vgg16_bn_plainhead")  # rescale_0_1 by default
    report = load_weights(model, "imagenet", imagenet_weights=vgg16_file)
    assert report.notes[-1] == (
        "preprocessing switched from rescale_0_1 to imagenet_mean_rgb: the ImageNet VGG weights "
        "expect the ImageNet means subtracted"
    )
    assert Preprocessing.from_layer(model.get_layer("preprocessing")) == IMAGENET_MEAN_RGB


def test_folder_from_environment_and_include_top_false(
    vgg16_file: Path, hub_env, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_IMAGENET", str(vgg16_file.parent))
    model = build_model("vgg16_bn", include_top=False)
    report = load_weights(model, "imagenet")
    assert report.loaded == tuple(_conv_shapes("vgg16"))
    assert "layers of the file not in the model: fc1, fc2, predictions" in report.notes
    assert "local folder (KERAS_CIFAR_ZOO_IMAGENET)" in report.source


def test_model_without_preprocessing_layer_is_told_what_to_feed(vgg16_file: Path):
    model = build_model("vgg16_bn", include_preprocessing=False)
    report = load_weights(model, "imagenet", imagenet_weights=vgg16_file)
    assert (
        "the model has no preprocessing layer: feed it inputs preprocessed as imagenet_mean_rgb"
        in (report.notes[-1])
    )


def test_vgg19_model_takes_the_vgg19_file(vgg19_file: Path):
    model = build_model("vgg19_bn_pretrain")  # already imagenet_mean_rgb: nothing to switch
    report = load_weights(model, "imagenet", imagenet_weights=vgg19_file)
    assert report.loaded == (*_conv_shapes("vgg19"), "fc2")
    assert not any("preprocessing switched" in note for note in report.notes)


def test_wrong_network_is_rejected_naming_what_it_looks_like(vgg16_file: Path, vgg19_file: Path):
    with pytest.raises(WeightsMismatchError, match=r"looks like VGG19, but vgg16_bn matches VGG16"):
        load_model("vgg16_bn", weights="imagenet", imagenet_weights=vgg19_file)
    model = build_model("vgg19_bn")
    with pytest.raises(WeightsMismatchError, match=r"looks like VGG16, but vgg19_bn matches VGG19"):
        load_weights(model, "imagenet", imagenet_weights=vgg16_file)
    assert Preprocessing.from_layer(model.get_layer("preprocessing")) == IMAGENET_MEAN_RGB


def test_file_of_no_vgg_is_rejected(tmp_path: Path):
    path = tmp_path / "resnet.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv1", b"dense_1"]
        f.create_group("conv1").attrs["weight_names"] = [b"conv1/kernel:0"]
        f["conv1"].create_dataset("conv1/kernel:0", shape=(3, 3, 3, 8), dtype="float32")
        f.create_group("dense_1").attrs["weight_names"] = []
    with pytest.raises(WeightsMismatchError, match=r"looks like no VGG \(its layers: conv1\)"):
        load_model("vgg16_bn", weights="imagenet", imagenet_weights=path)


def test_keras3_file_is_not_a_legacy_file(tmp_path: Path):
    model = build_model("vgg_lite")
    model.save_weights(tmp_path / "x.weights.h5")
    with pytest.raises(WeightsMismatchError, match=r"not a legacy Keras weights file"):
        load_model("vgg16_bn", weights="imagenet", imagenet_weights=tmp_path / "x.weights.h5")


def test_local_folder_without_the_file(tmp_path: Path):
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"No ImageNet VGG16 weights at {tmp_path} (the folder lacks both): point "
            "imagenet_weights at the file, or at a folder holding "
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5 or "
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5. "
            f"Received: imagenet_weights={str(tmp_path)!r}"
        ),
    ):
        load_model("vgg16_bn", weights="imagenet", imagenet_weights=tmp_path)


def test_local_file_that_does_not_exist(tmp_path: Path):
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"No ImageNet VGG16 weights at {tmp_path / 'vgg16.h5'} (the path does not exist)"
        ),
    ):
        load_model("vgg16_bn", weights="imagenet", imagenet_weights=tmp_path / "vgg16.h5")


def test_imagenet_weights_of_the_wrong_type():
    with pytest.raises(
        InvalidTypeError,
        match=re.escape(
            "imagenet_weights must be the path of a Keras Applications VGG file or a folder "
            "holding one (a str or os.PathLike), or None. Received: imagenet_weights=16"
        ),
    ):
        imagenet.resolve_file("vgg16", imagenet_weights=16)


def test_other_models_list_the_supported_ones():
    with pytest.raises(
        WeightsNotAvailableError,
        match=r"resnet20_v1 has no ImageNet weights.*\(vgg16_bn, vgg16_bn_plainhead, vgg19_bn, "
        r"vgg19_bn_pretrain\)",
    ):
        load_model("resnet20_v1", weights="imagenet")


def test_option_of_another_weights_kind_is_refused(vgg16_file: Path):
    with pytest.raises(InvalidArgumentError, match=r"weights='imagenet' takes only cache_dir, "):
        load_model("vgg16_bn", weights="imagenet", hub_dir=vgg16_file.parent)


# Keras's cache, filled through keras.utils.get_file from a file:// origin.


@pytest.fixture
def notop_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_env) -> imagenet.KerasFile:
    """The VGG16 _notop entry pointed at a local file:// origin with its true md5."""
    entry = imagenet.KERAS_FILES[("vgg16", False)]
    source = write_legacy_vgg(tmp_path / "origin.h5", "vgg16", include_top=False)
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    local = imagenet.KerasFile("vgg16", False, entry.fname, source.as_uri(), md5)
    monkeypatch.setitem(imagenet.KERAS_FILES, ("vgg16", False), local)
    return local


def test_download_through_get_file_then_cache_hit(notop_origin, tmp_path: Path):
    model = build_model("vgg16_bn", include_top=False)
    report = load_weights(model, "imagenet")
    cached = tmp_path / "keras-home" / "models" / notop_origin.fname
    assert cached.is_file() and "Keras cache" in report.source
    Path(notop_origin.origin.removeprefix("file://")).unlink()  # no origin any more
    again = load_weights(build_model("vgg16_bn", include_top=False), "imagenet")
    assert again.loaded == report.loaded


def test_offline_without_cached_file(notop_origin):
    with pytest.raises(HubError, match=r"not in the Keras cache .* downloads are off"):
        load_weights(build_model("vgg16_bn", include_top=False), "imagenet", local_files_only=True)


def test_corrupted_cached_file_is_removed(notop_origin, tmp_path: Path):
    load_weights(build_model("vgg16_bn", include_top=False), "imagenet")
    cached = tmp_path / "keras-home" / "models" / notop_origin.fname
    cached.write_bytes(b"truncated")
    with pytest.raises(IntegrityError, match=rf"expected md5 {notop_origin.file_hash}, got "):
        load_weights(build_model("vgg16_bn", include_top=False), "imagenet", local_files_only=True)
    assert not cached.exists()


def test_download_failing_its_hash_leaves_no_file(notop_origin, tmp_path: Path, monkeypatch):
    bad = imagenet.KerasFile("vgg16", False, notop_origin.fname, notop_origin.origin, "0" * 32)
    monkeypatch.setitem(imagenet.KERAS_FILES, ("vgg16", False), bad)
    with pytest.raises(IntegrityError, match=r"expected md5 0{32}, got [0-9a-f]{32}"):
        load_weights(build_model("vgg16_bn", include_top=False), "imagenet")
    assert not (tmp_path / "keras-home" / "models" / notop_origin.fname).exists()


@pytest.mark.parametrize("network", ["vgg16", "vgg19"])
def test_file_table_matches_the_installed_keras_source(network: str):
    module = __import__(f"keras.src.applications.{network}", fromlist=["_"])
    source = inspect.getsource(module)
    top, notop = imagenet.KERAS_FILES[(network, True)], imagenet.KERAS_FILES[(network, False)]
    assert top.origin == module.WEIGHTS_PATH and notop.origin == module.WEIGHTS_PATH_NO_TOP
    for entry in (top, notop):
        assert f'"{entry.fname}"' in source
        assert f'file_hash="{entry.file_hash}"' in source
        assert entry.cache_subdir == "models" and 'cache_subdir="models"' in source
