"""Which copy of CIFAR-10 a folder holds, and how numbers measured on it name their data."""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_cifar_zoo.data import describe_copy, identify_copy
from keras_cifar_zoo.errors import DatasetNotFoundError, InvalidArgumentError

LOSSLESS = (
    "CIFAR-10, official train/test split and order: 59,903 of the 60,000 images bit-exact "
    "official pixels, 97 filled in from a JPEG copy (indices in jpeg_filled.json).\n"
)
JPEG = "CIFAR-10 rebuilt from a JPEG (quality 75) copy of all 60,000 images.\n"


def _folder(root: Path, source: str | None) -> Path:
    batches = root / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "test_batch").write_bytes(b"")
    if source is not None:
        (batches / "SOURCE.txt").write_text(source)
    return root


@pytest.mark.parametrize(
    ("source", "name", "test", "train"),
    [
        (
            LOSSLESS,
            "lossless",
            "CIFAR-10 test set (10,000 images), lossless copy: official pixels, split and order "
            "(20 of the 10,000 images filled in from a JPEG q75 copy)",
            "CIFAR-10 training set (50,000 images), lossless copy: official pixels, split and "
            "order (77 of the 50,000 images filled in from a JPEG q75 copy)",
        ),
        (
            JPEG,
            "jpeg_q75",
            "CIFAR-10 test set (10,000 images), JPEG q75 copy (every pixel differs slightly from "
            "the official release)",
            "CIFAR-10 training set (50,000 images), JPEG q75 copy (every pixel differs slightly "
            "from the official release)",
        ),
        (
            None,
            "unlabelled",
            "CIFAR-10 test set (10,000 images), from a folder without SOURCE.txt, as the "
            "official release is",
            "CIFAR-10 training set (50,000 images), from a folder without SOURCE.txt, as the "
            "official release is",
        ),
    ],
)
def test_copies_are_told_apart_by_their_source_file(
    tmp_path: Path, source: str | None, name: str, test: str, train: str
):
    folder = _folder(tmp_path, source)
    assert identify_copy(folder) == name
    assert identify_copy(folder / "cifar-10-batches-py") == name  # the batches folder itself
    assert describe_copy(folder) == test
    assert describe_copy(folder, "train") == train


def test_the_official_archive_is_unlabelled(tmp_path: Path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    assert identify_copy(tmp_path) == "unlabelled"


def test_a_folder_without_cifar10_is_refused(tmp_path: Path):
    with pytest.raises(DatasetNotFoundError, match=r"No CIFAR-10 in .*: expected .*"):
        identify_copy(tmp_path)
    with pytest.raises(InvalidArgumentError, match=r"split must be 'train' or 'test'"):
        describe_copy(_folder(tmp_path / "x", LOSSLESS), "validation")
