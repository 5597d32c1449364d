"""The published checkpoints: hub/ against the manifest, and every number measured again.

The slow test serves the repository's ``hub/`` through the local Hub stand-in, loads every
manifest entry with ``load_model(name, weights="cifar10:<tag>")`` through the real download
path (huggingface_hub, its cache, the sha256 checks) and measures it on the real 10,000 test
images; it fails if an accuracy moves by more than 0.1 point from the manifest. The default
suite measures the smallest CIFAR-10 checkpoint of each model family; the others carry the
``extended`` marker and run as their own step (``python -m pytest -q -m extended``, which
``.ci/run`` runs after the default suite), so every published number is proved on every run of
``.ci/run`` while the default suite stays short.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import hub_stand_in
from helpers.hub_stand_in import HubStandIn

from keras_cifar_zoo import (
    evaluate,
    list_models,
    load_cifar10,
    load_cifar100,
    load_model,
    model_info,
)
from keras_cifar_zoo.data import describe_copy
from keras_cifar_zoo.weights.hub import file_hash
from keras_cifar_zoo.weights.manifest import check_against_registry, load_manifest

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "weights_manifest.json"
HUB = ROOT / "hub"
MANIFEST = load_manifest(MANIFEST_PATH)
UNTRAINED = json.loads((ROOT / "docs" / "untrained.json").read_text(encoding="utf-8"))
HUB_BUDGET = 600_000_000  # bytes: the whole hub/ stays within 600 MB
TOLERANCE = 0.001  # 0.1 point
LOSSLESS_TEST = (
    "CIFAR-10 test set (10,000 images), lossless copy: official pixels, split and order (20 of "
    "the 10,000 images filled in from a JPEG q75 copy)"
)
LOSSLESS_TRAIN = (
    "CIFAR-10 training set (50,000 images), lossless copy: official pixels, split and order "
    "(77 of the 50,000 images filled in from a JPEG q75 copy)"
)
JPEG_TRAIN = (
    "CIFAR-10 training set (50,000 images), JPEG q75 copy (every pixel differs slightly from "
    "the official release)"
)
LOSSLESS_TEST_100 = (
    "CIFAR-100 test set (10,000 images), lossless copy: official pixels, split and order"
)
EVAL_BATCH = 256  # 1000 measured no faster on a 2-core CPU

needs_hub = pytest.mark.skipif(not HUB.is_dir(), reason="hub/ is not in this checkout")


def _smallest_per_family(entries) -> set[str]:
    """Identifiers ``model:tag`` of the smallest CIFAR-10 checkpoint of each model family."""
    smallest: dict[str, object] = {}
    for entry in entries:
        if entry.dataset != "cifar10":
            continue
        family = model_info(entry.model).family
        if family not in smallest or entry.num_params < smallest[family].num_params:
            smallest[family] = entry
    return {f"{e.model}:{e.tag}" for e in smallest.values()}


FAST_PROOFS = _smallest_per_family(MANIFEST.entries)


def _proof_params():
    """Every entry; those beyond the fast per-family proofs carry the ``extended`` marker."""
    for entry in MANIFEST.entries:
        name = f"{entry.model}:{entry.tag}"
        if entry.dataset != "cifar10":
            name += f":{entry.dataset}"
        marks = () if name in FAST_PROOFS else (pytest.mark.extended,)
        yield pytest.param(entry, id=name, marks=marks)


def test_every_registry_model_has_a_checkpoint_or_a_reason():
    published = set(MANIFEST.models())
    reasons = set(UNTRAINED["models"])
    assert not published & reasons, "a model with a checkpoint is listed as not trained"
    assert published | reasons == set(list_models())
    assert all(reason for reason in UNTRAINED["models"].values())
    for run in UNTRAINED["runs"]:
        assert run["model"] in published and run["reason"]


def test_manifest_entries_agree_with_the_registry_and_the_tag_policy():
    """One tag per recipe kind ("improved"; "reference" for a fast model's own recipe after
    its reference; "article"); another seed of a published run is "<tag>-seed<N>", and the
    run's entry lists it among its seeds."""
    assert MANIFEST.entries, "no published checkpoint"
    check_against_registry(MANIFEST)
    listed = {
        (entry.model, run.checkpoint)
        for entry in MANIFEST.entries
        for run in entry.metrics.seed_runs
        if run.checkpoint
    }
    for entry in MANIFEST.entries:
        m = entry.metrics
        assert m.jpeg_copy_accuracy is None  # every number is a lossless-copy one
        assert entry.dtype == "float16"
        if entry.dataset == "cifar100":
            assert m.num_images == 10_000 and m.data == LOSSLESS_TEST_100
            assert m.training_data.startswith("CIFAR-100 training set")
            assert entry.recipe.settings["initial_weights"] == "cifar10"
            assert (entry.tag, entry.num_classes) == ("finetune", 100)
            assert entry.repo_id == f"keras-cifar-zoo/{entry.model}-cifar100-{entry.tag}"
            continue
        assert m.num_images == 10_000 and m.data == LOSSLESS_TEST
        assert m.training_data in (LOSSLESS_TRAIN, JPEG_TRAIN)
        info = model_info(entry.model)
        if entry.recipe.name.startswith("improved_"):
            kind = "improved"
        elif info.article == "zoo" and entry.recipe.name == info.default_recipe:
            kind = "reference"
        else:
            kind = "article"
        if entry.tag != kind:
            assert entry.tag == f"{kind}-seed{m.seed}" and not entry.default
            assert (entry.model, f"{entry.dataset}:{entry.tag}") in listed
        assert entry.repo_id == f"keras-cifar-zoo/{entry.model}-{entry.tag}"
        if m.seed_runs:
            assert m.seed_runs[0].seed == m.seed and m.seed_runs[0].accuracy == m.accuracy


@needs_hub
def test_hub_holds_exactly_the_manifest_files_within_the_budget():
    expected = {}
    for entry in MANIFEST.entries:
        for f in entry.files:
            expected[f"{entry.repo_id}/{f.name}"] = f
    weights = {
        p.relative_to(HUB).as_posix(): p
        for p in HUB.rglob("*")
        if p.name.endswith((".weights.h5", ".weights.json"))
    }
    assert sorted(weights) == sorted(expected)
    for name, record in expected.items():
        assert weights[name].stat().st_size == record.size, name
        assert file_hash(weights[name]) == record.sha256, name
    total = sum(p.stat().st_size for p in HUB.rglob("*") if p.is_file())
    assert total <= HUB_BUDGET, f"hub/ holds {total:,} bytes"


@pytest.fixture(scope="module")
def test_sets(request: pytest.FixtureRequest) -> dict:
    """Each dataset's real test set, loaded when a test first asks for it."""
    loaded: dict = {}

    def get(dataset: str):
        if dataset not in loaded:
            if dataset == "cifar100":
                folder = request.getfixturevalue("cifar100_dir")
                assert describe_copy(folder, dataset="cifar100") == LOSSLESS_TEST_100
                _, loaded[dataset] = load_cifar100(folder)
            else:
                folder = request.getfixturevalue("cifar10_dir")
                assert describe_copy(folder) == LOSSLESS_TEST, "numbers are lossless-copy ones"
                _, loaded[dataset] = load_cifar10(folder)
        return loaded[dataset]

    return get


@pytest.mark.slow
@needs_hub
@pytest.mark.parametrize("entry", list(_proof_params()))
def test_published_accuracy_through_the_download_path(entry, hub_server: HubStandIn, test_sets):
    test_set = test_sets(entry.dataset)
    hub_server.root = HUB
    model = load_model(entry.model, weights=entry.identifier, manifest=MANIFEST_PATH)
    downloads = sum(hub_server.count("GET", f.name) for f in entry.files)
    assert downloads == len(entry.files)  # downloaded, not read from a mirror
    assert model.output_shape == (None, entry.num_classes)
    result = evaluate(model, data=test_set, batch_size=EVAL_BATCH)
    assert result["num_images"] == entry.metrics.num_images
    assert abs(result["accuracy"] - entry.metrics.accuracy) <= TOLERANCE, (
        f"{entry.model} {entry.identifier}: measured {result['accuracy']:.4f}, the manifest "
        f"says {entry.metrics.accuracy:.4f}"
    )


def test_ci_proves_every_published_number():
    """The default suite plus ``.ci/run``'s ``-m extended`` step cover every manifest entry."""
    steps = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_command = 'python -m pip install -e ".[test,docs]" && python -m pytest -q'
    assert f"\n{test_command}\n" in readme
    assert steps.index(test_command) < steps.index("python -m pytest -q -m extended")
    params = list(_proof_params())
    assert len(params) == len(MANIFEST.entries)
    marked = [p.id for p in params if p.marks]
    assert sorted(set(p.id for p in params) - set(marked)) == sorted(FAST_PROOFS)
