"""From image files to class names in Python: ``load_images``, ``decode_predictions``, and
``list_models(pretrained=...)`` to find the models with weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keras_cifar_zoo
from keras_cifar_zoo import (
    CIFAR100_FINE_NAMES,
    CLASS_NAMES,
    InvalidArgumentError,
    InvalidTypeError,
    decode_predictions,
    list_models,
    load_images,
    load_model,
    predict,
)
from keras_cifar_zoo.cli.demo import load_embedded
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = load_manifest(ROOT / "weights_manifest.json")


def predict_command_reads(paths: list[Path], size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """What ``keras-cifar-zoo predict`` feeds the model: RGB, bicubic to (height, width)."""
    return np.stack(
        [
            np.asarray(
                Image.open(p).convert("RGB").resize((size[1], size[0]), Image.Resampling.BICUBIC)
            )
            for p in paths
        ]
    )


@pytest.fixture
def photos(tmp_path: Path, rng: np.random.Generator) -> list[Path]:
    """Two RGB files of other sizes than a model takes: a PNG and a JPEG."""
    paths = [tmp_path / "wide.png", tmp_path / "tall.jpg"]
    for path, shape in zip(paths, [(40, 70, 3), (90, 50, 3)], strict=True):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return paths


def test_load_images_resizes_as_the_predict_command_does(photos: list[Path]):
    images = load_images(photos)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, predict_command_reads(photos))
    np.testing.assert_array_equal(load_images(photos[1]), images[1:])  # one path
    assert load_images(photos, size=(16, 24)).shape == (2, 16, 24, 3)
    np.testing.assert_array_equal(
        load_images(photos, size=tuple(np.array([20, 30]))),  # NumPy integers too
        predict_command_reads(photos, (20, 30)),
    )


@pytest.mark.parametrize(
    ("paths", "size", "error", "message"),
    [
        (
            "a.png",
            (0, 32),
            InvalidArgumentError,
            "size must be (height, width), two whole numbers of at least 1 such as (32, 32) or "
            "model.input_shape[1:3]. Received: size=(0, 32)",
        ),
        (
            "a.png",
            32,
            InvalidArgumentError,
            "size must be (height, width), two whole numbers of at least 1 such as (32, 32) or "
            "model.input_shape[1:3]. Received: size=32",
        ),
        (
            7,
            (32, 32),
            InvalidTypeError,
            "paths must be an image file (a str or os.PathLike) or a sequence of them. "
            "Received: paths of type int",
        ),
        (
            ["a.png", 3],
            (32, 32),
            InvalidTypeError,
            "paths must hold image files (str or os.PathLike). Received: elements of type int",
        ),
    ],
)
def test_load_images_refuses_bad_arguments(paths, size, error, message):
    with pytest.raises(error) as caught:
        load_images(paths, size)
    assert str(caught.value) == message


def test_decode_predictions_ranks_like_keras_applications():
    preds = np.zeros((2, 10))
    preds[0, [1, 2, 0]] = [0.5, 0.3, 0.2]
    preds[1, [9, 4, 7]] = [0.6, 0.2, 0.2]  # a tie: the lower index first
    assert decode_predictions(preds, top=3) == [
        [(1, "automobile", 0.5), (2, "bird", 0.3), (0, "airplane", 0.2)],
        [(9, "truck", 0.6), (4, "deer", 0.2), (7, "horse", 0.2)],
    ]
    decoded = decode_predictions(preds)
    assert [len(row) for row in decoded] == [5, 5]  # keras.applications' default top=5
    assert all(isinstance(s, float) and isinstance(i, int) for row in decoded for i, _, s in row)
    assert len(decode_predictions(preds, top=50)[0]) == 10  # every class, no more
    hundred = np.eye(100, dtype=np.float32)[[42, 99]]
    assert decode_predictions(hundred, top=1) == [[(42, "leopard", 1.0)], [(99, "worm", 1.0)]]
    assert decode_predictions([[0.1, 0.9]], top=1, class_names=("no", "yes")) == [[(1, "yes", 0.9)]]


@pytest.mark.parametrize(
    ("preds", "kwargs", "message"),
    [
        (
            np.zeros(10),
            {},
            "preds must be a 2D array of class scores, (images, classes), such as "
            "model.predict(images). Received: preds.shape=(10,), dtype=float64",
        ),
        (
            np.zeros((1, 10)),
            {"top": 0},
            "top must be a whole number of at least 1. Received: top=0",
        ),
        (
            np.zeros((1, 7)),
            {},
            "preds has 7 classes, which have no default names (CIFAR-10's 10, CIFAR-100's 100 "
            "fine or 20 coarse classes): pass class_names= with one name per class. "
            "Received: preds.shape=(1, 7)",
        ),
        (
            np.zeros((1, 10)),
            {"class_names": ("a", "b")},
            "class_names holds 2 names but preds (10 columns) has 10 classes; pass one name per "
            "class. Received: len(class_names)=2",
        ),
    ],
)
def test_decode_predictions_refuses_what_it_cannot_name(preds, kwargs, message):
    with pytest.raises(InvalidArgumentError) as caught:
        decode_predictions(preds, **kwargs)
    assert str(caught.value) == message


def test_image_files_to_labels_with_a_published_checkpoint(tmp_path: Path):
    """The whole path on real weights and real CIFAR-10 test images saved as PNG files."""
    sample = load_embedded()
    picked = [0, 20, 40, 60, 80, 100, 120, 140, 160, 180]  # one image of each class
    paths = []
    for index in picked:
        paths.append(tmp_path / f"{index}.png")
        Image.fromarray(sample.images[index]).save(paths[-1])
    model = load_model("resnet20_v1", weights="cifar10")  # from the checkout's hub/
    images = load_images(paths, size=model.input_shape[1:3])
    np.testing.assert_array_equal(images, sample.images[picked])  # PNG is lossless
    decoded = decode_predictions(model.predict(images, verbose=0), top=2)
    expected = predict(model, sample.images[picked])
    assert [row[0][:2] for row in decoded] == [
        (int(i), name) for i, name in zip(expected.class_indices, expected.class_names, strict=True)
    ]
    assert decode_predictions(expected, top=2) == decoded  # a Predictions record is accepted
    assert [CLASS_NAMES[sample.labels[i]] for i in picked] == list(CLASS_NAMES)
    assert [row[0][1] for row in decoded] == list(CLASS_NAMES)  # the checkpoint gets all ten


def test_list_models_pretrained_lists_the_manifest_models():
    assert list_models(pretrained=True) == MANIFEST.models()
    assert list_models(pretrained="cifar100") == sorted(
        {e.model for e in MANIFEST.entries if e.dataset == "cifar100"}
    )
    assert list_models(pretrained="cifar100") == ["elu_cnn", "resnet20_v1"]
    assert list_models("vgg16*", pretrained="cifar10") == ["vgg16_bn", "vgg16_bn_plainhead"]
    assert list_models(pretrained="imagenet") == [
        "vgg16_bn",
        "vgg16_bn_plainhead",
        "vgg19_bn",
        "vgg19_bn_pretrain",
    ]
    assert list_models(pretrained=False) == list_models() and len(list_models()) == 18
    with pytest.raises(InvalidArgumentError) as caught:
        list_models(pretrained="cifar")
    assert str(caught.value) == (
        "pretrained must be False (every model), True (a published checkpoint) or one of "
        "'cifar10', 'cifar100', 'imagenet'. Received: pretrained='cifar'"
    )


def test_the_package_root_exports_them():
    assert {"load_images", "decode_predictions", "list_models"} <= set(keras_cifar_zoo.__all__)
    assert keras_cifar_zoo.load_images.__module__ == "keras_cifar_zoo.data"
    assert keras_cifar_zoo.decode_predictions.__module__ == "keras_cifar_zoo.data"
    assert keras_cifar_zoo.list_models.__module__ == "keras_cifar_zoo.zoo"
    assert CIFAR100_FINE_NAMES[42] == "leopard"
