"""load_cifar10: search order, both layouts, and every way a copy on disk can be broken."""

from __future__ import annotations

import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from helpers.cifar_files import write_batch

from keras_cifar_zoo import (
    CLASS_NAMES,
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidTypeError,
    load_cifar10,
)
from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES


@pytest.fixture
def tiny_cifar(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 6-batch dataset in the official layout: 2 images per batch, known pixels and labels."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(12) % 10
    for i, name in enumerate((*TRAIN_BATCHES, TEST_BATCH)):
        write_batch(folder / name, images[2 * i : 2 * i + 2], labels[2 * i : 2 * i + 2].tolist())
    return tmp_path, images, labels


def test_class_names_canonical_order():
    assert CLASS_NAMES[0] == "airplane" and CLASS_NAMES[3] == "cat" and CLASS_NAMES[9] == "truck"
    assert len(set(CLASS_NAMES)) == 10


def test_reads_folder_layout_exactly(tiny_cifar):
    root, images, labels = tiny_cifar
    (x_train, y_train), (x_test, y_test) = load_cifar10(root)
    assert x_train.dtype == np.uint8 and x_train.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(x_train, images[:10])
    np.testing.assert_array_equal(y_train, labels[:10])
    np.testing.assert_array_equal(x_test, images[10:])
    np.testing.assert_array_equal(y_test, labels[10:])


def test_reads_archive_and_env_variable(tiny_cifar, tmp_path, monkeypatch):
    root, images, _ = tiny_cifar
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(archive_dir))
    _, (x_test, _) = load_cifar10()
    np.testing.assert_array_equal(x_test, images[10:])


def test_data_dir_wins_over_env(tiny_cifar, tmp_path, monkeypatch):
    root, _, _ = tiny_cifar
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path / "nowhere"))
    assert load_cifar10(root)[1][0].shape == (2, 32, 32, 3)


def test_missing_everywhere_names_variable_and_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(
        DatasetNotFoundError,
        match="Set KERAS_CIFAR_ZOO_DATA to a folder holding cifar-10-batches-py/",
    ):
        load_cifar10(download=False)


def test_explicit_data_dir_without_data(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"No CIFAR-10 in .*Received: data_dir="):
        load_cifar10(tmp_path)


def test_explicit_data_dir_that_does_not_exist(tmp_path):
    with pytest.raises(
        DatasetNotFoundError,
        match=re.escape(
            f"No CIFAR-10 in {tmp_path / 'nope'}: the path does not exist. data_dir= must name a "
            "folder holding cifar-10-batches-py/ (data_batch_1..5, test_batch) or "
            "cifar-10-python.tar.gz; point it at one. "
            f"Received: data_dir={str(tmp_path / 'nope')!r}"
        ),
    ):
        load_cifar10(tmp_path / "nope")


def test_explicit_data_dir_that_is_a_batch_file(tiny_cifar):
    root, _, _ = tiny_cifar
    batch = root / "cifar-10-batches-py" / TEST_BATCH
    with pytest.raises(
        DatasetNotFoundError,
        match=re.escape(f"No CIFAR-10 in {batch}: the path is a file, not a folder. data_dir= "),
    ):
        load_cifar10(batch)


def test_env_variable_is_checked_only_when_it_is_used(tiny_cifar, tmp_path, monkeypatch):
    root, _, _ = tiny_cifar
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path / "nowhere"))
    assert load_cifar10(root)[1][0].shape == (2, 32, 32, 3)  # data_dir wins, env unused
    with pytest.raises(DatasetNotFoundError, match=r"the path does not exist\. KERAS_CIFAR_ZOO"):
        load_cifar10(download=False)


@pytest.mark.parametrize("bad", [1, None, "yes"])
def test_download_must_be_a_bool(bad):
    with pytest.raises(InvalidTypeError, match=r"download must be True or False\. Received: "):
        load_cifar10(download=bad)


@pytest.mark.parametrize("bad", [0, 3.5, b"/data", ["/data"]])
def test_data_dir_must_be_a_path(bad):
    with pytest.raises(InvalidTypeError, match=r"^data_dir must be the path \(a str or os\.Path"):
        load_cifar10(bad)


def test_truncated_batch(tiny_cifar):
    root, _, _ = tiny_cifar
    path = root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CorruptDatasetError, match=r"data_batch_3.*truncated"):
        load_cifar10(root)


def test_missing_batch(tiny_cifar):
    root, _, _ = tiny_cifar
    (root / "cifar-10-batches-py" / "data_batch_5").unlink()
    with pytest.raises(CorruptDatasetError, match="missing data_batch_5"):
        load_cifar10(root)


def test_labels_out_of_range(tiny_cifar):
    root, images, _ = tiny_cifar
    write_batch(root / "cifar-10-batches-py" / TEST_BATCH, images[:2], [3, 10])
    with pytest.raises(CorruptDatasetError, match=r"labels outside 0-9.*max=10"):
        load_cifar10(root)


def test_wrong_shape(tiny_cifar):
    root, _, _ = tiny_cifar
    with (root / "cifar-10-batches-py" / "data_batch_1").open("wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(CorruptDatasetError, match=r"shape \(N, 3072\).*shape=\(2, 100\)"):
        load_cifar10(root)


def test_refuses_arbitrary_pickled_objects(tiny_cifar):
    root, _, _ = tiny_cifar
    with (root / "cifar-10-batches-py" / "data_batch_1").open("wb") as f:
        pickle.dump({b"data": Path("x"), b"labels": [0]}, f)
    with pytest.raises(CorruptDatasetError, match="refusing to load pathlib"):
        load_cifar10(root)


@pytest.mark.slow
def test_real_dataset_shapes_and_balance(cifar10_dir):
    (x_train, y_train), (x_test, y_test) = load_cifar10(cifar10_dir)
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert np.bincount(y_train).tolist() == [5000] * 10
