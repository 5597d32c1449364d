"""The weights manifest: its schema, the repository's copy, and agreement with the registry."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from keras_cifar_zoo import load_model, model_info
from keras_cifar_zoo.errors import InvalidArgumentError, ManifestError, WeightsNotAvailableError
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE, IMAGENET_MEAN_RGB, RESCALE_0_1
from keras_cifar_zoo.weights import available_weights, hub
from keras_cifar_zoo.weights import manifest as manifest_module
from keras_cifar_zoo.weights.manifest import (
    MANIFEST_VERSION,
    SCHEMA,
    CheckpointEntry,
    FileRecord,
    Manifest,
    Metrics,
    RecipeRecord,
    SeedRun,
    check_against_registry,
    dumps,
    empty_document,
    fields_of,
    find_manifest,
    load_manifest,
    parse_entry,
    parse_manifest,
    schema_of,
    source_tree_manifest,
    write_manifest,
)

REPO_MANIFEST = Path(__file__).resolve().parent.parent / "weights_manifest.json"


def make_entry(model: str = "resnet20_v1", tag: str = "article", **changes: Any) -> dict:
    """A schema-valid entry (its numbers are placeholders for schema tests only)."""
    entry = {
        "model": model,
        "tag": tag,
        "default": True,
        "repo_id": f"keras-cifar-zoo/{model}-{tag}",
        "revision": "main",
        "files": [{"name": "model.weights.h5", "sha256": "a" * 64, "size": 10}],
        "dtype": "float16",
        "num_params": model_info(model).num_params,
        "num_classes": 10,
        "input_shape": [32, 32, 3],
        "preprocessing": model_info(model).preprocessing.to_config(),
        "recipe": {"name": "article_001", "settings": {"epochs": 60}},
        "metrics": {
            "accuracy": 0.5,
            "loss": 1.0,
            "data": "placeholder data",
            "training_data": "placeholder training data",
            "num_images": 10,
            "epochs": 1,
            "wall_time_s": 1.0,
            "hardware": "placeholder",
            "backend": "tensorflow",
            "keras_version": "3.15.1",
            "date": "2026-11-23",
        },
    }
    entry.update(changes)
    return entry


def document(*entries: dict) -> dict:
    doc = empty_document()
    doc["checkpoints"] = list(entries)
    return doc


@pytest.fixture
def manifest_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Writes a manifest and points KERAS_CIFAR_ZOO_MANIFEST at it."""

    def write(*entries: dict) -> Path:
        path = tmp_path / "weights_manifest.json"
        path.write_text(dumps(document(*entries)))
        monkeypatch.setenv("KERAS_CIFAR_ZOO_MANIFEST", str(path))
        return path

    return write


# The repository's manifest


def test_repository_manifest_validates_against_schema_and_registry():
    manifest = load_manifest(REPO_MANIFEST)
    check_against_registry(manifest)
    raw = json.loads(REPO_MANIFEST.read_text())
    assert raw["manifest_version"] == MANIFEST_VERSION
    # The documentation in the file is what the code enforces; after changing SCHEMA, rewrite
    # the file with manifest.write_manifest(load_manifest(path).entries, path).
    assert raw["schema"] == SCHEMA
    assert REPO_MANIFEST.read_text() == dumps(raw)  # committed in the canonical formatting


def test_every_repository_entry_matches_its_files_in_hub():
    # Checks each published checkpoint (none until issue 5's training lands).
    for entry in load_manifest(REPO_MANIFEST).entries:
        folder = REPO_MANIFEST.parent / "hub" / entry.repo_id
        for f in entry.files:
            assert (folder / f.name).stat().st_size == f.size, f"{entry.identifier} {f.name}"
            assert hub.file_hash(folder / f.name) == f.sha256, f"{entry.identifier} {f.name}"


def test_schema_documents_every_field():
    fields = [f.name for f in dataclasses.fields(CheckpointEntry)]
    assert list(SCHEMA["entry"]) == fields
    assert list(SCHEMA["entry"]["metrics"]) == [f.name for f in dataclasses.fields(Metrics)]


def test_repository_manifest_round_trips_byte_for_byte(tmp_path: Path):
    text = REPO_MANIFEST.read_text(encoding="utf-8")
    manifest = parse_manifest(json.loads(text))
    document = empty_document()
    document["checkpoints"] = [e.to_dict() for e in manifest.entries]
    assert dumps(document) == text
    written = write_manifest(manifest.entries, tmp_path / "weights_manifest.json")
    assert written.read_bytes() == REPO_MANIFEST.read_bytes()


def test_schema_block_is_generated_from_the_field_table():
    # Only metrics is described field by field; every other field has its own line.
    nested = {f.key for f in fields_of(CheckpointEntry) if f.doc is None}
    assert nested == {"metrics"}
    entry = {f.key: f.doc for f in fields_of(CheckpointEntry) if f.doc is not None}
    entry["metrics"] = {f.key: f.doc for f in fields_of(Metrics)}
    assert SCHEMA["entry"] == schema_of(CheckpointEntry) == entry
    assert list(SCHEMA["entry"]) == [f.name for f in dataclasses.fields(CheckpointEntry)]
    assert empty_document()["schema"] is SCHEMA


def test_optional_fields_say_so_and_have_defaults():
    for record in (CheckpointEntry, Metrics, FileRecord, SeedRun, RecipeRecord):
        for f in fields_of(record):
            if not f.required:
                assert f.default is not dataclasses.MISSING, f"{record.__name__}.{f.key}"
                assert (f.doc or "").startswith("Optional"), f"{record.__name__}.{f.key}"
    optional = {f.key for f in fields_of(Metrics) if not f.required}
    assert optional == {"seed", "seed_runs", "jpeg_copy_accuracy"}
    # Required in the file, with a default only for code that builds records.
    (training_data,) = [f for f in fields_of(Metrics) if f.key == "training_data"]
    assert training_data.required and training_data.default == ""


def test_one_annotated_line_adds_a_field():
    """A record built from the module's kinds parses, writes and documents a new field."""
    spec, kinds = manifest_module._spec, manifest_module

    @dataclasses.dataclass(frozen=True)
    class Run(manifest_module._Record):
        seed: int = dataclasses.field(metadata=spec(kinds._INT, "Seed."))
        speed: float = dataclasses.field(default=None, metadata=spec(kinds._POSITIVE, "Optional."))

    problems = manifest_module._Problems()
    run = manifest_module._parse_record(Run, {"seed": 3, "speed": 2}, "run", problems)
    assert (run, problems.items) == (Run(seed=3, speed=2.0), [])
    assert run.to_dict() == {"seed": 3, "speed": 2.0}
    assert Run(seed=3).to_dict() == {"seed": 3}
    assert schema_of(Run) == {"seed": "Seed.", "speed": "Optional."}
    manifest_module._parse_record(Run, {"seed": 3, "speed": 0, "x": 1}, "run", problems)
    assert problems.items == [
        "run: unknown keys ['x'] (allowed: ['seed', 'speed'])",
        "run.speed: must be > 0, got 0",
    ]


def test_manifest_is_found_in_the_package_or_source_tree(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("KERAS_CIFAR_ZOO_MANIFEST", raising=False)
    found = find_manifest()
    assert found is not None and found.name == "weights_manifest.json"
    assert found.read_text() == source_tree_manifest().read_text()


def test_every_seed_checkpoint_holds_the_numbers_its_entry_lists():
    entries = load_manifest(REPO_MANIFEST).entries
    published = {(e.model, f"{e.dataset}:{e.tag}"): e.metrics for e in entries}
    for entry in entries:
        for run in entry.metrics.seed_runs:
            if run.checkpoint is None:
                continue
            seed = published[entry.model, run.checkpoint]  # a published entry of the same model
            assert (seed.seed, seed.accuracy, seed.loss, seed.epochs) == (
                run.seed, run.accuracy, run.loss, entry.metrics.epochs
            ), f"{entry.identifier} {run.checkpoint}"  # fmt: skip


def test_manifest_path_from_environment_must_exist(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_MANIFEST", str(tmp_path / "none.json"))
    with pytest.raises(InvalidArgumentError, match=r"manifest .*none.json does not exist"):
        load_manifest()


# Schema validation


def test_valid_entry_round_trips():
    raw = make_entry(notes="target missed")
    raw["metrics"]["seed_runs"] = [
        {"seed": 1, "accuracy": 0.5, "loss": 1.0},
        {"seed": 2, "accuracy": 0.4, "loss": 1.1, "checkpoint": "cifar10:improved-seed2"},
    ]
    raw["metrics"]["seed"] = 1
    raw["metrics"]["jpeg_copy_accuracy"] = 0.49
    assert parse_entry(raw).to_dict() == raw


def _broken(path: str, value: Any) -> dict:
    raw = make_entry()
    *parents, last = path.split(".")
    target = raw
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("repo_id", KeyError, r"entry: missing keys \['repo_id'\]"),
        ("colour", "red", r"unknown keys \['colour'\]"),
        ("files.0.sha256", "abc", r"files\[0\].sha256: must be 64 lower-case hex digits"),
        ("files.0.size", 0, r"files\[0\].size: must be a positive int"),
        ("files.0.name", "model.h5", r"files: every file must end with"),
        ("metrics.accuracy", 1.5, r"metrics.accuracy: must be in \[0, 1\], got 1.5"),
        ("metrics.date", "23/11/2026", r"metrics.date: must be YYYY-MM-DD"),
        ("metrics.hardware", "", r"metrics.hardware: must be a non-empty string"),
        ("metrics.wall_time_s", KeyError, r"metrics: missing keys \['wall_time_s'\]"),
        ("metrics.training_data", KeyError, r"metrics: missing keys \['training_data'\]"),
        ("metrics.jpeg_copy_accuracy", 2, r"metrics.jpeg_copy_accuracy: must be in \[0, 1\]"),
        ("tag", "Best Run", r"tag: must match"),
        ("dtype", "int8", r"dtype: must be one of \('float16', 'float32'\)"),
        ("input_shape", [32, 32, 1], r"input_shape: must be \[height, width, 3\]"),
        ("preprocessing", {"name": "x"}, r"preprocessing: is not a Preprocessing config"),
        ("default", "yes", r"default: must be true or false"),
        ("repo_id", "no-slash", r"repo_id: must look like 'owner/name'"),
        (
            "metrics.seed_runs",
            [{"seed": 1, "accuracy": 0.5, "loss": 1.0, "checkpoint": "seed1"}],
            r"seed_runs\[0\].checkpoint: must be '<dataset>:<tag>', got 'seed1'",
        ),
    ],
)
def test_schema_violations_are_reported(path: str, value: Any, message: str):
    with pytest.raises(ManifestError, match=message):
        parse_entry(_broken(path, value))


PREFIX = "The weights manifest breaks its schema (version 1): "
SUFFIX = ". Fix the entry or re-run `keras-cifar-zoo publish`. Received: manifest=entry"


def _unknown_key(raw: dict) -> None:
    raw["colour"] = "red"


def _missing_key(raw: dict) -> None:
    del raw["repo_id"]


def _wrong_type(raw: dict) -> None:
    raw["metrics"]["epochs"] = "60"


def _nested_keys(raw: dict) -> None:
    del raw["metrics"]["date"]
    raw["metrics"]["extra"] = 1


def _bad_files(raw: dict) -> None:
    raw["files"][0]["size"] = True
    raw["files"].append({"name": "b.weights.h5"})


def _not_an_object(raw: dict) -> None:
    raw["metrics"] = []


def _not_a_list(raw: dict) -> None:
    raw["files"] = {}


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (
            _unknown_key,
            "entry: unknown keys ['colour'] (allowed: ['dataset', 'default', 'dtype', 'files', "
            "'input_shape', 'metrics', 'model', 'notes', 'num_classes', 'num_params', "
            "'preprocessing', 'recipe', 'repo_id', 'revision', 'tag'])",
        ),
        (_missing_key, "entry: missing keys ['repo_id']"),
        (_wrong_type, "entry.metrics.epochs: must be a positive int, got '60'"),
        (
            _nested_keys,
            "entry.metrics: missing keys ['date']; entry.metrics: unknown keys ['extra'] "
            "(allowed: ['accuracy', 'backend', 'data', 'date', 'epochs', 'hardware', "
            "'jpeg_copy_accuracy', 'keras_version', 'loss', 'num_images', 'seed', 'seed_runs', "
            "'training_data', 'wall_time_s'])",
        ),
        (
            _bad_files,
            "entry.files[0].size: must be a positive int, got True; "
            "entry.files[1]: missing keys ['sha256', 'size']",
        ),
        (_not_an_object, "entry.metrics: must be an object, got list"),
        (_not_a_list, "entry.files: must be a non-empty list of {name, sha256, size}"),
    ],
)
def test_schema_error_messages_are_exact(change, problems: str):
    raw = make_entry()
    change(raw)
    with pytest.raises(ManifestError) as info:
        parse_entry(raw)
    assert str(info.value) == PREFIX + problems + SUFFIX


def test_seed_runs_are_checked_field_by_field():
    raw = make_entry()
    raw["metrics"]["seed_runs"] = [{"seed": 1, "accuracy": 1.5, "loss": 1.0}, 3]
    with pytest.raises(ManifestError) as info:
        parse_entry(raw)
    assert str(info.value) == (
        PREFIX + "entry.metrics.seed_runs[0].accuracy: must be in [0, 1], got 1.5; "
        "entry.metrics.seed_runs[1]: must be an object, got int" + SUFFIX
    )


def test_optional_values_at_their_default_are_left_out():
    entry = parse_entry(make_entry())
    assert "notes" not in entry.to_dict()
    assert set(entry.to_dict()["metrics"]).isdisjoint({"seed", "seed_runs", "jpeg_copy_accuracy"})
    given = dataclasses.replace(entry.metrics, seed=0, seed_runs=[SeedRun(0, 0.5, 1.0)])
    out = dataclasses.replace(entry, metrics=given).to_dict()["metrics"]
    assert (out["seed"], out["seed_runs"]) == (0, [{"seed": 0, "accuracy": 0.5, "loss": 1.0}])
    assert "seed_runs" not in dataclasses.replace(entry.metrics, seed_runs=[]).to_dict()


def test_all_problems_are_listed_at_once():
    raw = make_entry(dtype="int8", tag="Bad Tag")
    with pytest.raises(ManifestError, match=r"tag: must match.*dtype: must be one of"):
        parse_entry(raw)


def test_sharded_files_need_one_index():
    files = [
        {"name": "a_00000.weights.h5", "sha256": "a" * 64, "size": 1},
        {"name": "a_00001.weights.h5", "sha256": "b" * 64, "size": 1},
    ]
    with pytest.raises(ManifestError, match=r"expected one .weights.h5, or one .weights.json"):
        parse_entry(make_entry(files=files))
    index = {"name": "a.weights.json", "sha256": "c" * 64, "size": 1}
    assert parse_entry(make_entry(files=[*files, index])).weights_file == "a.weights.json"


def test_one_default_per_model():
    second = make_entry(tag="improved")
    with pytest.raises(
        ManifestError,
        match=r"resnet20_v1: needs exactly one default checkpoint, has \['article', 'improved'\]",
    ):
        parse_manifest(document(make_entry(), second))
    with pytest.raises(ManifestError, match=r"has none"):
        parse_manifest(document(make_entry(default=False)))


def test_duplicate_tags_are_rejected():
    with pytest.raises(ManifestError, match=r"resnet20_v1 tag 'article' appears twice"):
        parse_manifest(document(make_entry(), make_entry(default=False)))


def test_unknown_version_is_rejected():
    doc = document()
    doc["manifest_version"] = 2
    with pytest.raises(
        ManifestError,
        match=r"Unsupported weights manifest version 2: this keras-cifar-zoo reads version 1",
    ):
        parse_manifest(doc)


def test_invalid_json_is_reported(tmp_path: Path):
    path = tmp_path / "m.json"
    path.write_text("{")
    with pytest.raises(ManifestError, match=r"not valid JSON"):
        load_manifest(path)


# Agreement with the registry


def test_registry_check_accepts_a_consistent_entry():
    check_against_registry(parse_manifest(document(make_entry())))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "resnet21"}, r"model 'resnet21' is not registered"),
        ({"num_params": 1}, r"num_params 1 differs from the registry's 274442"),
        (
            {"preprocessing": CIFAR10_ZSCORE.to_config()},
            r"preprocessing 'cifar10_zscore' is not the model's \('rescale_0_1'\)",
        ),
        ({"input_shape": [16, 16, 3], "model": "vgg11_bn"}, r"below the model's minimum size 32"),
    ],
)
def test_registry_disagreements_are_reported(changes: dict, message: str):
    raw = make_entry()
    raw.update(changes)
    with pytest.raises(ManifestError, match=message):
        check_against_registry(parse_manifest(document(raw)))


def test_a_checkpoint_keeps_the_data_statistics_it_was_trained_with():
    """A z-score checkpoint trained on another copy of the training set keeps its mean and
    std; other presets, and other kinds of change, are still refused."""
    zscore = model_info("elu_cnn").preprocessing
    old = dataclasses.replace(zscore, mean=(120.68823526692708,), std=(63.85622611963612,))
    raw = make_entry(model="elu_cnn", preprocessing=old.to_config())
    check_against_registry(parse_manifest(document(raw)))
    scaled = dataclasses.replace(zscore, scale=0.5)
    raw = make_entry(model="elu_cnn", preprocessing=scaled.to_config())
    with pytest.raises(ManifestError, match=r"preprocessing 'cifar10_zscore' is not the model's"):
        check_against_registry(parse_manifest(document(raw)))
    shifted = dataclasses.replace(model_info("resnet20_v1").preprocessing, mean=(0.5,))
    with pytest.raises(ManifestError, match=r"preprocessing 'rescale_0_1' is not the model's"):
        check_against_registry(
            parse_manifest(document(make_entry(preprocessing=shifted.to_config())))
        )


def test_registry_check_counts_params_for_other_num_classes():
    raw = make_entry(num_classes=100, num_params=274442 + 64 * 90 + 90)
    check_against_registry(parse_manifest(document(raw)))


def test_imagenet_initialised_checkpoint_needs_the_imagenet_means():
    raw = make_entry(model="vgg16_bn_plainhead")  # rescale_0_1 by default
    raw["num_params"] = 33_655_114
    raw["recipe"]["settings"]["initial_weights"] = "imagenet"
    with pytest.raises(
        ManifestError,
        match=r"starts from ImageNet weights, so the preprocessing must be 'imagenet_mean_rgb', "
        r"not 'rescale_0_1'",
    ):
        check_against_registry(parse_manifest(document(raw)))
    raw["preprocessing"] = IMAGENET_MEAN_RGB.to_config()
    check_against_registry(parse_manifest(document(raw)))


# What the manifest offers


def test_available_weights_come_from_the_manifest(manifest_file):
    manifest_file(
        make_entry(),
        make_entry(tag="improved", default=False),
        make_entry(model="vgg16_bn"),
    )
    assert available_weights(model_info("resnet20_v1")) == (
        "cifar10",
        "cifar10:article",
        "cifar10:improved",
    )
    assert model_info("vgg16_bn").weights == ("cifar10", "cifar10:article", "imagenet")
    assert model_info("vgg19_bn").weights == ("imagenet",)
    assert model_info("simple_cnn").weights == ()


def test_model_without_checkpoint_lists_those_with_one(manifest_file):
    manifest_file(make_entry(), make_entry(model="vgg16_bn"))
    with pytest.raises(
        WeightsNotAvailableError,
        match=r"No published CIFAR-10 checkpoint for simple_cnn. Models with one: resnet20_v1, "
        r"vgg16_bn\..*Received: weights='cifar10'",
    ):
        load_model("simple_cnn", weights="cifar10")


def test_unknown_tag_lists_the_tags(manifest_file):
    manifest_file(make_entry())
    with pytest.raises(
        WeightsNotAvailableError,
        match=r"resnet20_v1 has no checkpoint tagged 'best'; it has 'cifar10:article'",
    ):
        load_model("resnet20_v1", weights="cifar10:best")


def test_default_and_tag_lookup():
    manifest = parse_manifest(
        document(make_entry(default=False), make_entry(tag="improved", default=True))
    )
    assert manifest.find("resnet20_v1").tag == "improved"
    assert manifest.find("resnet20_v1", "article").tag == "article"
    assert [e.tag for e in manifest.for_model("resnet20_v1")] == ["improved", "article"]
    assert isinstance(manifest, Manifest) and manifest.models() == ["resnet20_v1"]


def test_entry_preprocessing_is_a_record():
    entry = parse_entry(copy.deepcopy(make_entry()))
    assert entry.preprocessing == RESCALE_0_1


# Reading the file


def test_a_manifest_that_is_not_utf8_names_the_file(tmp_path: Path):
    path = tmp_path / "weights_manifest.json"
    path.write_bytes(b'{"manifest_version": 1, "checkpoints": [], "schema": {"x": "\xe9"}}')
    with pytest.raises(
        ManifestError,
        match=rf"^The weights manifest {re.escape(str(path))} is not UTF-8 text \(byte 0xe9 at "
        r"offset 60\): it must be UTF-8 JSON, as `keras-cifar-zoo publish` writes it\. Restore "
        r"the file \(e\.g\. from version control\) or re-encode it as UTF-8\. Received: "
        rf"manifest={re.escape(str(path))}$",
    ):
        load_manifest(path)


def test_an_entry_for_an_unregistered_model_is_refused_on_load(manifest_file):
    path = manifest_file(make_entry(), make_entry() | {"model": "resnet20_v2"})
    with pytest.raises(
        ManifestError,
        match=r"checkpoints\[1\]\.model: model 'resnet20_v2' is not registered \(closest: "
        r"'resnet20_v1', 'resnet50_v1', 'resnet56_v1'\); rename it to a model of "
        r"keras_cifar_zoo\.list_models\(\) or remove the entry \(and its hub/ folder\)\. Fix the "
        rf"entry or re-run `keras-cifar-zoo publish`\. Received: manifest={re.escape(str(path))}$",
    ):
        load_manifest(path)
    with pytest.raises(ManifestError, match=r"model 'resnet20_v2' is not registered"):
        load_model("resnet20_v1", weights="cifar10")


def test_a_cached_manifest_is_reread_when_another_file_replaces_it(tmp_path: Path):
    """Writers replace the file: a same-size rewrite within the clock's resolution is still
    seen (the cache key holds the inode)."""
    path = tmp_path / "weights_manifest.json"
    write_manifest([parse_entry(make_entry(tag="first"))], path)
    stat = path.stat()
    assert [e.tag for e in load_manifest(path).entries] == ["first"]
    write_manifest([parse_entry(make_entry(tag="other"))], path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same timestamp and size
    assert path.stat().st_size == stat.st_size
    assert [e.tag for e in load_manifest(path).entries] == ["other"]


# Checking stored files against their entry


def test_a_file_of_the_wrong_size_fails_before_it_is_hashed(tmp_path: Path):
    from keras_cifar_zoo.errors import IntegrityError
    from keras_cifar_zoo.weights.storage import check_file

    sparse = tmp_path / "model.weights.h5"
    with open(sparse, "wb") as f:
        f.truncate(2 << 30)  # 2 GiB that take no disk: hashing them would take seconds
    record = FileRecord("model.weights.h5", "a" * 64, 1234)
    start = time.monotonic()
    with pytest.raises(
        IntegrityError,
        match=r"^Integrity check failed for the test file: expected 1,234 bytes, the file has "
        r"2,147,483,648 \(model\.weights\.h5 in the manifest\), so it is not the published "
        r"file; it was not hashed\. Replace it with the published file \(or fetch it again\)\.",
    ):
        check_file(sparse, record, label="the test file")
    assert time.monotonic() - start < 0.5
    same_size = tmp_path / "same.weights.h5"
    same_size.write_bytes(b"x" * 1234)
    with pytest.raises(IntegrityError, match=rf"expected sha256 {'a' * 64}, got "):
        check_file(same_size, record, label="the test file")
    good = FileRecord("same.weights.h5", hub.file_hash(same_size), 1234)
    check_file(same_size, good, label="the test file")


def test_an_entry_whose_num_classes_disagrees_with_its_file_is_refused(tmp_path: Path):
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.weights.manifest import check_num_classes

    path = tmp_path / "model.weights.h5"
    build_model("resnet20_v1").save_weights(path)  # 10 classes
    entry = parse_entry(make_entry(num_classes=100, num_params=274442 + 64 * 90 + 90))
    with pytest.raises(
        ManifestError,
        match=r"^resnet20_v1 cifar10:article: the weights manifest records num_classes=100, but "
        r"model\.weights\.h5 holds a 10-class classifier\. The entry and its files disagree: "
        r"re-run `keras-cifar-zoo publish` for this checkpoint, or correct the entry's "
        r"num_classes to 10\. Received: num_classes=100",
    ):
        check_num_classes(entry, path)
    check_num_classes(parse_entry(make_entry()), path)
