"""load_cifar100: both label modes, the CIFAR-10 search rules, and every way a copy on disk can
be broken; identify_copy and describe_copy on a CIFAR-100 folder.

Fast tests use small folders in the official layout (expected image counts patched down to
theirs); slow ones read the real copy named by ``KERAS_CIFAR_ZOO_CIFAR100``.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from keras_cifar_zoo import (
    CIFAR100_COARSE_NAMES,
    CIFAR100_FINE_NAMES,
    CLASS_NAMES,
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidArgumentError,
    InvalidTypeError,
    load_cifar10,
    load_cifar100,
)
from keras_cifar_zoo import data as data_module
from keras_cifar_zoo.data import describe_copy, identify_copy

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
TRAIN, TEST = 6, 4  # images in the small copies


def _write(path: Path, images: np.ndarray, fine: list[int], coarse: list[int]) -> None:
    batch = {
        b"filenames": [f"{i:05d}.png".encode() for i in range(len(images))],
        b"batch_label": b"training batch 1 of 1",
        b"fine_labels": fine,
        b"coarse_labels": coarse,
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
    }
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=4)


@pytest.fixture
def small_counts(monkeypatch):
    """Lets the loader accept the small copies: only the expected image counts change."""
    small = dataclasses.replace(data_module._CIFAR100, counts={"train": TRAIN, "test": TEST})
    monkeypatch.setattr(data_module, "_CIFAR100", small)
    monkeypatch.setitem(data_module._DATASETS, "cifar100", small)


@pytest.fixture
def tiny_cifar100(tmp_path, small_counts):
    """``tmp_path/cifar-100-python/`` with train, test and meta: known pixels and labels."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    images = rng.integers(0, 256, (TRAIN + TEST, 32, 32, 3), dtype=np.uint8)
    fine = np.array([0, 99, 17, 42, 5, 63, 99, 0, 71, 30])
    coarse = np.array([4, 19, 0, 7, 11, 3, 19, 4, 18, 10])
    _write(folder / "train", images[:TRAIN], fine[:TRAIN].tolist(), coarse[:TRAIN].tolist())
    _write(folder / "test", images[TRAIN:], fine[TRAIN:].tolist(), coarse[TRAIN:].tolist())
    meta = {
        b"fine_label_names": [n.encode() for n in CIFAR100_FINE_NAMES],
        b"coarse_label_names": [n.encode() for n in CIFAR100_COARSE_NAMES],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=4))
    return tmp_path, images, fine, coarse


def test_class_names_official_order():
    assert len(CIFAR100_FINE_NAMES) == len(set(CIFAR100_FINE_NAMES)) == 100
    assert len(CIFAR100_COARSE_NAMES) == len(set(CIFAR100_COARSE_NAMES)) == 20
    assert CIFAR100_FINE_NAMES[:3] == ("apple", "aquarium_fish", "baby")
    assert CIFAR100_FINE_NAMES[-1] == "worm" and CIFAR100_COARSE_NAMES[-1] == "vehicles_2"
    assert CLASS_NAMES[0] == "airplane" and len(CLASS_NAMES) == 10  # CIFAR-10's unchanged


@pytest.mark.parametrize("mode", ["fine", "coarse"])
def test_reads_folder_layout_exactly(tiny_cifar100, mode):
    root, images, fine, coarse = tiny_cifar100
    labels = fine if mode == "fine" else coarse
    (x_train, y_train), (x_test, y_test) = load_cifar100(root, mode, download=False)
    assert x_train.dtype == np.uint8 and x_train.shape == (TRAIN, 32, 32, 3)
    assert y_train.dtype == np.int64 and y_test.shape == (TEST,)
    np.testing.assert_array_equal(x_train, images[:TRAIN])
    np.testing.assert_array_equal(x_test, images[TRAIN:])
    np.testing.assert_array_equal(y_train, labels[:TRAIN])
    np.testing.assert_array_equal(y_test, labels[TRAIN:])


def test_fine_is_the_default_and_the_folder_itself_works(tiny_cifar100):
    root, _, fine, _ = tiny_cifar100
    _, (_, y_test) = load_cifar100(root / "cifar-100-python", download=False)
    np.testing.assert_array_equal(y_test, fine[TRAIN:])


def test_reads_the_official_archive_through_the_env_variable(tiny_cifar100, tmp_path, monkeypatch):
    root, images, _, coarse = tiny_cifar100
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "cifar-100-python.tar.gz", "w:gz") as tar:
        tar.add(root / "cifar-100-python", arcname="cifar-100-python")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(archive_dir))
    (x_train, _), (x_test, y_test) = load_cifar100(label_mode="coarse", download=False)
    np.testing.assert_array_equal(x_train, images[:TRAIN])
    np.testing.assert_array_equal(x_test, images[TRAIN:])
    np.testing.assert_array_equal(y_test, coarse[TRAIN:])


def test_reads_keras_cache_layout(tiny_cifar100, tmp_path, monkeypatch):
    """Where keras.datasets.cifar100 extracts its download, so no second download is needed."""
    root, images, _, _ = tiny_cifar100
    cache = tmp_path / "keras" / "datasets" / "cifar-100-python-target"
    cache.mkdir(parents=True)
    (root / "cifar-100-python").rename(cache / "cifar-100-python")
    monkeypatch.delenv("KERAS_CIFAR_ZOO_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    np.testing.assert_array_equal(load_cifar100(download=False)[1][0], images[TRAIN:])


def test_cifar10_folders_are_not_mistaken_for_cifar100(tiny_cifar100, tmp_path):
    """One folder may hold both datasets; each loader reads its own."""
    root, _, _, _ = tiny_cifar100
    batches = root / "cifar-10-batches-py"
    batches.mkdir()
    flat = np.zeros((1, 3072), np.uint8)
    for name in (*data_module.TRAIN_BATCHES, data_module.TEST_BATCH):
        (batches / name).write_bytes(pickle.dumps({b"data": flat, b"labels": [9]}, protocol=4))
    assert load_cifar100(root, download=False)[1][0].shape == (TEST, 32, 32, 3)
    assert load_cifar10(root, download=False)[1][1].tolist() == [9]
    with pytest.raises(DatasetNotFoundError, match=r"No CIFAR-100 in .*cifar-10-batches-py"):
        load_cifar100(batches, download=False)


@pytest.mark.parametrize("bad", ["Fine", "medium", "", None, 100, ["fine"]])
def test_bad_label_mode(bad):
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "label_mode must be 'fine' (100 classes) or 'coarse' (20 classes). "
            f"Received: label_mode={bad!r}"
        ),
    ):
        load_cifar100(None, bad, download=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data_dir": 3}, r"^data_dir must be the path \(a str or os\.PathLike\) of a folder "
         r"holding cifar-100-python/ or cifar-100-python\.tar\.gz, or None\. Received: data_dir=3"),
        ({"download": "yes"}, r"^download must be True or False\. Received: download='yes'"),
    ],
)  # fmt: skip
def test_argument_types(kwargs, match):
    with pytest.raises(InvalidTypeError, match=match):
        load_cifar100(**kwargs)


def test_missing_everywhere_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DatasetNotFoundError) as caught:
        load_cifar100(download=False)
    message = str(caught.value)
    assert message.startswith(f"CIFAR-100 not found (KERAS_CIFAR_ZOO_DATA={tmp_path}; Keras ")
    assert message.endswith(
        "Set KERAS_CIFAR_ZOO_DATA to a folder holding cifar-100-python/ (train, test, meta) or "
        f"cifar-100-python.tar.gz, or pass data_dir=. Download the official archive ({URL}) "
        "into such a folder."
    )
    assert "make_cifar100" not in message


def test_explicit_data_dir_without_data(tmp_path):
    with pytest.raises(
        DatasetNotFoundError,
        match=re.escape(
            f"No CIFAR-100 in {tmp_path}: expected {tmp_path}/cifar-100-python/ (train, test, "
            f"meta) or {tmp_path}/cifar-100-python.tar.gz. Download the official archive ({URL}) "
            f"into such a folder. Received: data_dir={str(tmp_path)!r}"
        ),
    ):
        load_cifar100(tmp_path)


def test_explicit_data_dir_that_does_not_exist_or_is_a_file(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    with pytest.raises(
        DatasetNotFoundError,
        match=re.escape(
            f"No CIFAR-100 in {root / 'nope'}: the path does not exist. data_dir= must name a "
            "folder holding cifar-100-python/ (train, test, meta) or cifar-100-python.tar.gz; "
            f"point it at one. Download the official archive ({URL}) into such a folder. "
        ),
    ):
        load_cifar100(root / "nope")
    with pytest.raises(DatasetNotFoundError, match=r"the path is a file, not a folder\. "):
        load_cifar100(root / "cifar-100-python" / "test")


def test_env_variable_naming_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError, match=r"does not exist\. KERAS_CIFAR_ZOO_DATA must"):
        load_cifar100(download=False)


def test_truncated_file(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    path = root / "cifar-100-python" / "train"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(
        CorruptDatasetError, match=r"Cannot read CIFAR-100 batch .*train.*truncated"
    ):
        load_cifar100(root)


def test_missing_train_file(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    (root / "cifar-100-python" / "train").unlink()
    with pytest.raises(
        CorruptDatasetError, match=r"is missing train; a CIFAR-100 folder holds train and test\."
    ):
        load_cifar100(root)


def test_refuses_arbitrary_pickled_objects(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    with (root / "cifar-100-python" / "test").open("wb") as f:
        pickle.dump({b"data": Path("x"), b"fine_labels": [0]}, f, protocol=4)
    with pytest.raises(CorruptDatasetError, match="refusing to load pathlib"):
        load_cifar100(root)


@pytest.mark.parametrize(
    ("mode", "fine", "coarse", "match"),
    [
        ("fine", [0, 1, 2, 100], [0, 1, 2, 3], r"has fine_labels outside 0-99\. .*max=100"),
        ("fine", [0, -1, 2, 3], [0, 1, 2, 3], r"has fine_labels outside 0-99\. .*min=-1"),
        ("coarse", [0, 1, 2, 3], [0, 1, 2, 20], r"has coarse_labels outside 0-19\. .*max=20"),
    ],
)
def test_labels_out_of_range(tiny_cifar100, mode, fine, coarse, match):
    root, images, _, _ = tiny_cifar100
    _write(root / "cifar-100-python" / "test", images[:TEST], fine, coarse)
    with pytest.raises(CorruptDatasetError, match=r"CIFAR-100 batch .*test " + match):
        load_cifar100(root, mode)


def test_labels_of_the_other_mode_are_not_needed(tiny_cifar100):
    """Coarse labels out of range do not stop a fine load: only the asked-for key is read."""
    root, images, _, _ = tiny_cifar100
    _write(root / "cifar-100-python" / "test", images[:TEST], [1, 2, 3, 4], [0, 0, 0, 99])
    assert load_cifar100(root)[1][1].tolist() == [1, 2, 3, 4]


def test_a_cifar10_batch_in_its_place_lacks_the_label_key(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    flat = np.zeros((TEST, 3072), np.uint8)
    path = root / "cifar-100-python" / "test"
    path.write_bytes(pickle.dumps({b"data": flat, b"labels": [0] * TEST}, protocol=4))
    with pytest.raises(CorruptDatasetError, match=r"lacks 'data' or 'coarse_labels'\. Received "):
        load_cifar100(root, "coarse")


def test_wrong_pixel_shape(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    path = root / "cifar-100-python" / "train"
    path.write_bytes(
        pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]}, protocol=4)
    )
    with pytest.raises(CorruptDatasetError, match=r"shape \(N, 3072\).*shape=\(2, 100\)"):
        load_cifar100(root)


def test_image_counts_are_checked(tmp_path):
    """The real expected counts (50,000 and 10,000): a small copy is refused as incomplete."""
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    images = np.zeros((3, 32, 32, 3), np.uint8)
    for name in ("train", "test"):
        _write(folder / name, images, [0, 1, 2], [0, 1, 2])
    with pytest.raises(
        CorruptDatasetError,
        match=re.escape(
            f"CIFAR-100 in {folder} holds 3 images in its training set, but the official release "
            "has 50,000: the file is incomplete or from another dataset; delete it and fetch the "
            "dataset again. Received: train images=3"
        ),
    ):
        load_cifar100(tmp_path)


def test_archive_lacking_a_file_or_truncated(tiny_cifar100, tmp_path):
    root, _, _, _ = tiny_cifar100
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    archive = archive_dir / "cifar-100-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "cifar-100-python" / "test", arcname="cifar-100-python/test")
    with pytest.raises(CorruptDatasetError, match=r"cifar-100-python\.tar\.gz lacks train\."):
        load_cifar100(archive_dir)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "cifar-100-python", arcname="cifar-100-python")
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(CorruptDatasetError, match=r"truncated or corrupt; delete it"):
        load_cifar100(archive_dir)


# ------------------------------------------------------------------ which copy, how it is named

SOURCE = (
    "CIFAR-100, official train/test split and order, all 60,000 images bit-exact official pixels.\n"
)


def test_the_lossless_copy_is_named_by_its_source_file(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    (root / "cifar-100-python" / "SOURCE.txt").write_text(SOURCE)
    assert identify_copy(root) == identify_copy(root / "cifar-100-python") == "cifar100_lossless"
    assert describe_copy(root) == (
        "CIFAR-100 test set (10,000 images), lossless copy: official pixels, split and order"
    )
    assert describe_copy(root, "train") == (
        "CIFAR-100 training set (50,000 images), lossless copy: official pixels, split and order"
    )


def test_without_source_file_or_as_archive_it_is_unlabelled(tiny_cifar100, tmp_path):
    root, _, _, _ = tiny_cifar100
    assert identify_copy(root) == "cifar100_unlabelled"
    assert describe_copy(root) == (
        "CIFAR-100 test set (10,000 images), from a folder without SOURCE.txt, as the official "
        "release is"
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "cifar-100-python.tar.gz").write_bytes(b"")
    assert identify_copy(tmp_path / "a") == "cifar100_unlabelled"


def test_a_folder_with_both_names_its_cifar10_copy_unless_asked(tiny_cifar100):
    root, _, _, _ = tiny_cifar100
    (root / "cifar-100-python" / "SOURCE.txt").write_text(SOURCE)
    (root / "cifar-10-batches-py").mkdir()
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
    assert identify_copy(root) == "unlabelled"
    assert identify_copy(root, dataset="cifar100") == "cifar100_lossless"
    assert describe_copy(root, dataset="cifar100").startswith("CIFAR-100 test set")
    with pytest.raises(InvalidArgumentError, match=r"dataset must be 'cifar10', 'cifar100' or"):
        identify_copy(root, dataset="cifar-100")
    with pytest.raises(DatasetNotFoundError, match=r"No CIFAR-100 in .*cifar-100-python/"):
        identify_copy(root / "cifar-10-batches-py", dataset="cifar100")


def test_a_folder_with_neither_names_both_layouts(tmp_path):
    with pytest.raises(
        DatasetNotFoundError,
        match=r"No CIFAR-10 in .*: expected .*cifar-10-batches-py/.* \(nor CIFAR-100: "
        r".*cifar-100-python/ \(train, test, meta\) or .*cifar-100-python\.tar\.gz\)",
    ):
        identify_copy(tmp_path)


# ------------------------------------------------------------------------------ the real copy


@pytest.mark.slow
def test_real_dataset_shapes_and_balance(cifar100_dir):
    (x_train, y_train), (x_test, y_test) = load_cifar100(cifar100_dir, download=False)
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert x_train.dtype == np.uint8
    assert np.bincount(y_train, minlength=100).tolist() == [500] * 100
    assert np.bincount(y_test, minlength=100).tolist() == [100] * 100
    (_, c_train), (_, c_test) = load_cifar100(cifar100_dir, "coarse", download=False)
    assert np.bincount(c_train, minlength=20).tolist() == [2500] * 20
    assert np.bincount(c_test, minlength=20).tolist() == [500] * 20
    # each fine class lies in exactly one superclass, five fine classes per superclass
    pairs = set(zip(y_train.tolist(), c_train.tolist(), strict=True))
    assert len(pairs) == 100 and np.bincount([c for _, c in pairs]).tolist() == [5] * 20


@pytest.mark.slow
def test_real_class_names_equal_the_meta_file(cifar100_dir):
    with (cifar100_dir / "cifar-100-python" / "meta").open("rb") as f:
        meta = pickle.load(f, encoding="bytes")  # the copy under test, made by our own tool
    assert tuple(n.decode() for n in meta[b"fine_label_names"]) == CIFAR100_FINE_NAMES
    assert tuple(n.decode() for n in meta[b"coarse_label_names"]) == CIFAR100_COARSE_NAMES
