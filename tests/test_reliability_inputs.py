"""Bad inputs, each tried through every public function it can reach, end in a typed error.

A value can arrive wrong in the same way at several doors: a path of the wrong type, an
environment variable naming a file or nothing, a folder named like a weights file, a NumPy
integer where an ``int`` is expected, a cache that is missing or offline. Each case here runs
against every public function that takes it and checks the exception type and the message,
which says what is allowed and how to fix it.
"""

from __future__ import annotations

import logging
import pickle
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import hub_stand_in
from helpers.run_records import RUN, same_result

from keras_cifar_zoo import (
    CorruptDatasetError,
    DatasetNotFoundError,
    HubError,
    InvalidArgumentError,
    InvalidNumClassesError,
    InvalidTypeError,
    download_weights,
    evaluate,
    load_cifar10,
    load_model,
    load_weights,
)
from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES
from keras_cifar_zoo.publish import publish
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights.manifest import load_manifest

hub_env = hub_stand_in.hub_env  # fixture: fresh caches, no mirror, no manifest override

NAME = "resnet20_v1"


@pytest.fixture
def published(tmp_path: Path, hub_env: Path) -> dict:
    """One resnet20_v1 checkpoint in ``repo/hub`` (a mirror) and ``repo/weights_manifest.json``."""
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    publish(
        NAME,
        tmp_path / "w.weights.h5",
        root=tmp_path / "repo",
        run_info=RUN,
        recipe="improved_sgd",
        data_name="placeholder",
        evaluate_fn=same_result,
    )
    manifest = tmp_path / "repo" / "weights_manifest.json"
    entry = load_manifest(manifest).find(NAME)
    return {
        "hub": tmp_path / "repo" / "hub",
        "manifest": manifest,
        "missing": f"{entry.repo_id}/{entry.weights_file}",
    }


def _closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- paths of the wrong type ---------------------------------------------------------------

WHAT = {
    "hub_dir": "a local hub mirror folder",
    "cache_dir": "a cache folder",
    "manifest": "a weights_manifest.json file",
    "imagenet_weights": "a Keras Applications VGG file or a folder holding one",
}
CHECKPOINT_CALLS = {
    "load_model": lambda **options: load_model(NAME, weights="cifar10", **options),
    "load_weights": lambda **options: load_weights(build_model(NAME), "cifar10", **options),
    "download_weights": lambda **options: download_weights(NAME, **options),
}
IMAGENET_CALLS = {
    "load_model": lambda **options: load_model("vgg16_bn", weights="imagenet", **options),
    "download_weights": lambda **options: download_weights("vgg16_bn", "imagenet", **options),
}


def _type_error(option: str, value: object) -> str:
    return re.escape(
        f"{option} must be the path of {WHAT[option]} (a str or os.PathLike), or None. "
        f"Received: {option}={value!r}"
    )


@pytest.mark.parametrize("call", sorted(CHECKPOINT_CALLS))
@pytest.mark.parametrize("option", ["hub_dir", "cache_dir", "manifest"])
@pytest.mark.parametrize("value", [123, b"/tmp/mirror"])
def test_checkpoint_path_options_of_the_wrong_type(hub_env, call, option, value):
    with pytest.raises(InvalidTypeError, match=_type_error(option, value)):
        CHECKPOINT_CALLS[call](**{option: value})


@pytest.mark.parametrize("call", sorted(IMAGENET_CALLS))
@pytest.mark.parametrize("option", ["imagenet_weights", "cache_dir"])
def test_imagenet_path_options_of_the_wrong_type(hub_env, call, option):
    with pytest.raises(InvalidTypeError, match=_type_error(option, 123)):
        IMAGENET_CALLS[call](**{option: 123})


def test_data_dir_of_the_wrong_type_in_every_function_that_reads_cifar10():
    message = re.escape(
        "data_dir must be the path (a str or os.PathLike) of a folder holding "
        "cifar-10-batches-py/ or cifar-10-python.tar.gz, or None. Received: data_dir=123"
    )
    with pytest.raises(InvalidTypeError, match=message):
        load_cifar10(123)
    with pytest.raises(InvalidTypeError, match=message):
        evaluate(build_model("simple_cnn"), data_dir=123)


def test_download_flag_of_load_cifar10_must_be_a_bool():
    with pytest.raises(
        InvalidTypeError, match=r"^download must be True or False\. Received: download='no'$"
    ):
        load_cifar10(download="no")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"local_files_only": "yes"},
            InvalidTypeError,
            "local_files_only must be True, False or None. Received: local_files_only='yes'",
        ),
        (
            {"endpoint": 8080},
            InvalidTypeError,
            "endpoint must be a non-empty string such as 'https://huggingface.co', or None. "
            "Received: endpoint=8080",
        ),
        (
            {"endpoint": "huggingface.co"},
            InvalidArgumentError,
            "endpoint must be an http:// or https:// URL such as 'https://huggingface.co'. "
            "Received: endpoint='huggingface.co'",
        ),
        (
            {"revision": ""},
            InvalidTypeError,
            "revision must be a non-empty string such as 'main', or None. Received: revision=''",
        ),
        (
            {"token": 42},
            InvalidTypeError,
            "token must be a Hugging Face token string, True (the saved login), False or None. "
            "Received: token of type int",
        ),
    ],
)
@pytest.mark.parametrize("call", sorted(CHECKPOINT_CALLS))
def test_other_hub_options_of_the_wrong_type_or_value(hub_env, call, options, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        CHECKPOINT_CALLS[call](**options)


# --- the model argument ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["notamodel", None, "cifar10"])
def test_load_weights_needs_a_keras_model_first(model):
    with pytest.raises(
        InvalidTypeError,
        match=re.escape(
            "load_weights takes the model first: a keras.Model built by load_model() or "
            f"build_model(), such as load_model('resnet20_v1'). Received: model={model!r}"
        ),
    ):
        load_weights(model, "cifar10")


def test_load_weights_with_its_arguments_swapped():
    model = build_model("simple_cnn")
    with pytest.raises(InvalidTypeError, match=r"load_weights takes the model first"):
        load_weights("cifar10", model)


# --- NumPy integers ---------------------------------------------------------------------------


@pytest.mark.parametrize("integer", [np.int64, np.int32, np.uint8, np.intp])
def test_numpy_integers_are_accepted_for_num_classes(integer):
    for build in (load_model, build_model):
        model = build("simple_cnn", num_classes=integer(100))
        assert model.output_shape == (None, 100)
        assert isinstance(model.get_layer("predictions").units, int)


def test_numpy_integers_are_accepted_for_input_shape():
    shape = tuple(np.array([40, 48, 3]))  # np.int64 items, as from an image array's shape
    assert load_model("simple_cnn", input_shape=shape).input_shape == (None, 40, 48, 3)


def test_numpy_num_classes_with_weights_transfers_the_backbone(tmp_path: Path):
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    model = load_model(NAME, weights=tmp_path / "w.weights.h5", num_classes=np.int64(100))
    assert model.output_shape == (None, 100)


@pytest.mark.parametrize("bad", [np.float64(10.0), np.bool_(True), np.array([10])])
def test_numpy_values_that_are_not_integers_are_refused(bad):
    with pytest.raises(
        InvalidNumClassesError,
        match=re.escape("num_classes must be an integer of at least 2. Received: num_classes="),
    ):
        load_model("simple_cnn", num_classes=bad)


def test_numpy_integer_below_two_is_refused():
    with pytest.raises(
        InvalidNumClassesError,
        match=re.escape("num_classes must be at least 2 (softmax over one class is constant)."),
    ):
        load_model("simple_cnn", num_classes=np.int64(1))


# --- a folder named like a weights file -------------------------------------------------------


@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.json", ".keras", ""])
@pytest.mark.parametrize("call", ["load_model", "load_weights"])
def test_folder_named_like_a_checkpoint(tmp_path: Path, suffix: str, call: str):
    folder = tmp_path / f"run{suffix}"
    folder.mkdir()
    build_model("simple_cnn").save_weights(folder / "model.weights.h5")
    expected = re.escape(
        f"{folder} is a folder, not a checkpoint file: weights=PATH takes a file ending in "
        ".weights.h5, .weights.json, .keras. It holds model.weights.h5: pass one of those. "
        f"Received: weights={str(folder)!r}"
    )
    with pytest.raises(InvalidArgumentError, match=expected):
        if call == "load_model":
            load_model("simple_cnn", weights=str(folder))
        else:
            load_weights(build_model("simple_cnn"), folder)


def test_empty_folder_named_like_a_checkpoint(tmp_path: Path):
    (tmp_path / "x.weights.h5").mkdir()
    with pytest.raises(
        InvalidArgumentError, match=r"is a folder, not a checkpoint file: .*\.keras\. Received: "
    ):
        load_model("simple_cnn", weights=tmp_path / "x.weights.h5")


# --- environment variables naming a file or nothing ------------------------------------------


@pytest.mark.parametrize("kind", ["file", "missing"])
@pytest.mark.parametrize("call", ["load_model", "download_weights"])
def test_hub_mirror_variable_naming_a_file_or_nothing(
    tmp_path: Path, published: dict, monkeypatch: pytest.MonkeyPatch, kind: str, call: str
):
    target = tmp_path / "mirror"
    if kind == "file":
        target.write_text("not a folder")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(target))
    state = "is a file, not a folder" if kind == "file" else "does not exist"
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"The hub mirror folder {target} {state}; a mirror holds <repo_id>/<file> folders "
            "as written by `keras-cifar-zoo publish`: point KERAS_CIFAR_ZOO_HUB at such a "
            "folder, or unset it to use the Hugging Face Hub. "
            f"Received: KERAS_CIFAR_ZOO_HUB={str(target)!r}"
        ),
    ):
        if call == "load_model":
            load_model(NAME, weights="cifar10", manifest=published["manifest"])
        else:
            download_weights(NAME, manifest=published["manifest"])


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_hub_dir_naming_a_file_or_nothing(tmp_path: Path, published: dict, kind: str):
    target = tmp_path / "mirror"
    if kind == "file":
        target.write_text("not a folder")
    state = "is a file, not a folder" if kind == "file" else "does not exist"
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"The hub mirror folder {target} {state}; a mirror holds <repo_id>/<file> folders "
            "as written by `keras-cifar-zoo publish`: pass such a folder, or leave out "
            f"hub_dir= to use the Hugging Face Hub. Received: hub_dir={str(target)!r}"
        ),
    ):
        download_weights(NAME, hub_dir=target, manifest=published["manifest"])


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_data_variable_naming_a_file_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
):
    target = tmp_path / "cifar"
    if kind == "file":
        target.write_text("not a folder")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(target))
    state = "is a file, not a folder" if kind == "file" else "does not exist"
    message = re.escape(
        f"No CIFAR-10 in {target}: the path {state}. KERAS_CIFAR_ZOO_DATA must name a folder "
        "holding cifar-10-batches-py/ (data_batch_1..5, test_batch) or cifar-10-python.tar.gz; "
        f"point it at one or unset KERAS_CIFAR_ZOO_DATA. Received: KERAS_CIFAR_ZOO_DATA="
        f"{str(target)!r}"
    )
    with pytest.raises(DatasetNotFoundError, match=message):
        load_cifar10(download=False)
    with pytest.raises(DatasetNotFoundError, match=message):
        evaluate(build_model("simple_cnn"))


@pytest.mark.parametrize("origin", ["data_dir", "KERAS_CIFAR_ZOO_DATA"])
def test_an_empty_test_batch_is_named_not_blamed_on_an_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str
):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        count = 0 if name == TEST_BATCH else 2
        batch = {b"data": np.zeros((count, 3072), np.uint8), b"labels": [0] * count}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    options = {"data_dir": tmp_path} if origin == "data_dir" else {}
    if origin != "data_dir":
        monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(tmp_path))
    message = re.escape(
        f"CIFAR-10 batch {folder / TEST_BATCH} holds no images; every batch of the release "
        "holds thousands. Delete it and fetch the dataset again. Received: data shape=(0, 3072)"
    )
    with pytest.raises(CorruptDatasetError, match=f"^{message}$"):
        evaluate(build_model("simple_cnn"), **options)


def test_data_dir_naming_the_archive_itself(tmp_path: Path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    with pytest.raises(
        DatasetNotFoundError,
        match=re.escape(
            f"No CIFAR-10 in {archive}: the path is a file, not a folder (pass its folder, "
            f"{tmp_path}). data_dir= must name a folder"
        ),
    ):
        load_cifar10(archive)


def test_hub_cache_variable_naming_a_file(
    tmp_path: Path, published: dict, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "cache-file").write_text("x")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache-file"))
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"The huggingface_hub cache {tmp_path / 'cache-file'} is a file, not a folder. Point "
            "cache_dir=PATH or HF_HUB_CACHE=PATH at a folder. Received: HF_HUB_CACHE="
        ),
    ):
        download_weights(NAME, manifest=published["manifest"], local_files_only=True)


def test_keras_home_naming_a_file(tmp_path: Path, hub_env, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "keras-file").write_text("x")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-file"))
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"The Keras cache {tmp_path / 'keras-file'} is a file, not a folder. Point "
            "cache_dir=PATH or KERAS_HOME=PATH at a folder. Received: KERAS_HOME="
        ),
    ):
        download_weights("vgg16_bn", "imagenet")


def test_imagenet_variable_naming_nothing(tmp_path: Path, hub_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_IMAGENET", str(tmp_path / "gone"))
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"No ImageNet VGG16 weights at {tmp_path / 'gone'} (the path does not exist): point "
            "KERAS_CIFAR_ZOO_IMAGENET at the file, or at a folder holding "
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5 or "
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, or unset "
            "KERAS_CIFAR_ZOO_IMAGENET to use Keras's cache."
        ),
    ):
        download_weights("vgg16_bn", "imagenet")


# --- misses: offline, no network, a mirror without the file -----------------------------------


@pytest.mark.parametrize("how", ["local_files_only", "HF_HUB_OFFLINE", "no network"])
def test_a_miss_fails_fast(published: dict, monkeypatch: pytest.MonkeyPatch, how: str):
    options: dict = {"manifest": published["manifest"]}
    if how == "local_files_only":
        options["local_files_only"] = True
    elif how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        options["endpoint"] = f"http://127.0.0.1:{_closed_port()}"
    expected = (
        r"is not in the cache \(.*\) and downloads are off \(local_files_only=True or "
        r"HF_HUB_OFFLINE=1\)\. Download it once with network access \(`keras-cifar-zoo download "
        r"MODEL`\), or use a local mirror \(hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH\)\."
        if how != "no network"
        else r"cannot be reached \(\[Errno 111\] Connection refused; set HF_HUB_OFFLINE=1 to use "
        r"only the cache\)\. Check the network or HF_ENDPOINT, or use a local mirror "
        r"\(hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH\)\."
    )
    start = time.monotonic()
    with pytest.raises(HubError, match=expected):
        download_weights(NAME, **options)
    assert time.monotonic() - start < 2.0  # huggingface_hub alone retries for about 23 s


@pytest.mark.parametrize("origin", ["hub_dir", "KERAS_CIFAR_ZOO_HUB"])
def test_a_mirror_without_the_file_is_named_with_the_fix(
    tmp_path: Path, published: dict, monkeypatch: pytest.MonkeyPatch, origin: str
):
    mirror = tmp_path / "old-mirror"
    mirror.mkdir()
    options = {"manifest": published["manifest"], "local_files_only": True}
    if origin == "hub_dir":
        options["hub_dir"] = mirror
        drop = "leave out hub_dir="
    else:
        monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(mirror))
        drop = "unset KERAS_CIFAR_ZOO_HUB"
    repo = published["missing"].rsplit("/", 1)[0]
    with pytest.raises(HubError) as caught:
        load_model(NAME, weights="cifar10", **options)
    message = str(caught.value)
    assert message.startswith(
        f"The hub mirror at {mirror} lacks {published['missing']}, and it is not in the cache "
    )
    assert (
        f"Update the mirror (copy {repo}/ into it from a hub/ folder written by "
        f"`keras-cifar-zoo publish`), or {drop} and download it once with network access"
    ) in message
    assert "pass hub_dir=" not in message


def test_a_mirror_without_the_file_and_no_network(tmp_path: Path, published: dict):
    (tmp_path / "old-mirror").mkdir()
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(
        HubError,
        match=re.escape(
            f"The hub mirror at {tmp_path / 'old-mirror'} lacks {published['missing']}, and "
            f"downloading it failed: {endpoint} cannot be reached ("
        )
        + r".*\)\. Update the mirror \(copy .*\), or check the network or HF_ENDPOINT\.",
    ):
        download_weights(
            NAME, hub_dir=tmp_path / "old-mirror", manifest=published["manifest"], endpoint=endpoint
        )


# --- a classifier left out is a warning -------------------------------------------------------


def test_transfer_from_a_published_checkpoint_warns_about_the_new_head(
    published: dict, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        model = load_model(
            NAME,
            weights="cifar10",
            num_classes=100,
            hub_dir=published["hub"],
            manifest=published["manifest"],
        )
    assert model.output_shape == (None, 100)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"{NAME}: the classifier layer predictions was re-initialised, not loaded: num_classes "
        "(100) differs from the checkpoint's (10). Train the new head (fit_cifar10 or "
        "model.fit) before using the model's predictions."
    ]


def test_weights_that_fit_log_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        load_model(NAME, weights=tmp_path / "w.weights.h5")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_every_error_here_is_also_the_builtin_callers_expect():
    assert issubclass(InvalidTypeError, TypeError) and issubclass(InvalidTypeError, ValueError)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(HubError, OSError)
