"""benchmarks/throughput.py on a tiny setting, and the docs table built from its results."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "throughput.py"
RESULTS = ROOT / "benchmarks" / "results"
# simple_cnn by hand: conv 3->32 (3x3 valid, 30x30 out), conv 32->64 (28x28 out), pool to
# 14x14x64 = 12,544, Dense 12,544->128, Dense 128->10; 2 FLOPs per multiply-add, 1 per bias.
SIMPLE_CNN_FORWARD = (
    2 * 9 * 3 * 32 * 30 * 30 + 32 * 30 * 30
    + 2 * 9 * 32 * 64 * 28 * 28 + 64 * 28 * 28
    + 2 * 12_544 * 128 + 128
    + 2 * 128 * 10 + 10
)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny run: two models, float32, a small matmul peak; returns (stdout, JSON)."""
    out = tmp_path_factory.mktemp("bench") / "run.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "simple_cnn", "vgg_lite", "--images", "64",
         "--epochs", "2", "--precision", "float32", "--peak-sizes", "128", "--peak-trials", "2",
         "--peak-seconds", "0.05", "--inference-repeats", "1", "--json", str(out),
         "--note", "test run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


@pytest.mark.extended  # one tiny throughput run of two models: about 13 s
def test_json_holds_environment_peak_and_consistent_records(run):
    _, report = run
    env = report["environment"]
    assert env["backend"] in ("jax", "tensorflow", "torch")
    assert env["versions"]["keras"] and env["python"] and env["date"] and env["note"] == "test run"
    assert env["device"] and env["cpu_count"] >= 1 and "throughput.py" in env["command"]
    assert report["settings"]["models"] == ["simple_cnn", "vgg_lite"]
    assert set(report["peak"]) == {"float32", "bfloat16"}
    for peak in report["peak"].values():
        assert peak["tflops"] == max(t["tflops"] for t in peak["trials"]) > 0
        assert len(peak["trials"]) == 2 and peak["size"] == 128

    simple, lite = report["results"]
    assert (simple["model"], simple["precision"], lite["model"]) == (
        "simple_cnn",
        "float32",
        "vgg_lite",
    )
    # 64 images round up to one whole batch of the recipe's batch size
    assert (simple["batch_size"], simple["images_per_epoch"]) == (128, 128)
    assert (lite["batch_size"], lite["images_per_epoch"]) == (64, 64)
    for r in (simple, lite):
        assert len(r["epoch_s"]) == 2 and r["first_epoch_s"] == r["epoch_s"][0]
        assert r["steady_epoch_s"] == r["epoch_s"][1] > 0
        assert r["train_images_per_s"] == pytest.approx(r["images_per_epoch"] / r["epoch_s"][1])
        assert r["seconds_per_50k_epoch"] == pytest.approx(50_000 / r["train_images_per_s"])
        assert r["inference_images_per_s"] > 0 and len(r["inference_s"]) == 1
        assert r["train_gflops_per_image"] == pytest.approx(3 * r["forward_gflops_per_image"])
        assert r["achieved_tflops"] == pytest.approx(
            r["train_images_per_s"] * r["train_gflops_per_image"] / 1000
        )
        assert r["peak_tflops"] == report["peak"]["float32"]["tflops"]
        assert r["percent_of_peak"] == pytest.approx(100 * r["achieved_tflops"] / r["peak_tflops"])
    assert simple["forward_gflops_per_image"] == pytest.approx(SIMPLE_CNN_FORWARD / 1e9)
    assert simple["speedup_vs_article"] is None and simple["recipe_changes"] == []
    # article 004 printed 16 s per epoch; its recipe's test-set validation is switched off
    assert lite["article_seconds_per_epoch"] == 16.0
    assert lite["speedup_vs_article"] == pytest.approx(16.0 / lite["seconds_per_50k_epoch"])
    assert any(c.startswith("validation_is_test_set=True") for c in lite["recipe_changes"])


@pytest.mark.extended  # one tiny throughput run of two models: about 13 s
def test_table_is_printed_last_with_the_json_numbers(run):
    stdout, report = run
    lines = stdout.rstrip("\n").splitlines()
    assert lines[-3].split()[:3] == ["model", "precision", "batch"]
    for line, r in zip(lines[-2:], report["results"], strict=True):
        cells = line.split()
        assert cells[:3] == [r["model"], r["precision"], str(r["batch_size"])]
        assert float(cells[4]) == pytest.approx(r["seconds_per_50k_epoch"], abs=0.051)
        assert float(cells[8]) == pytest.approx(r["achieved_tflops"], abs=0.00051)


def test_recipes_drop_only_what_needs_data_or_downloads():
    bench = load_script("throughput_under_test", "benchmarks/throughput.py")
    from keras_cifar_zoo import get_recipe

    recipe, changes = bench._train_recipe("vgg19_bn_pretrain")
    assert recipe == dataclasses.replace(get_recipe("article_002_pretrain"), initial_weights=None)
    assert changes == ["initial_weights='imagenet' -> None"]
    recipe, changes = bench._train_recipe("vgg_lite")
    assert recipe == dataclasses.replace(
        get_recipe("article_004"), validation_is_test_set=False, early_stopping_patience=None
    )
    assert len(changes) == 2
    recipe, changes = bench._train_recipe("resnet20_v1")
    assert recipe == get_recipe("article_001") and changes == []


@pytest.fixture(scope="module")
def gen_tables():
    return load_script("gen_tables_for_benchmarks", "docs/gen_tables.py")


def _number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("x"))


def test_docs_table_rows_are_the_committed_json_numbers(gen_tables):
    files = sorted(RESULTS.glob("throughput-*.json"))
    assert files, "benchmarks/results/ should hold at least one run"
    text = gen_tables.benchmarks_table()
    for path in files:
        report = json.loads(path.read_text(encoding="utf-8"))
        env = report["environment"]
        assert f"`benchmarks/results/{path.name}`" in text
        assert env["date"] in text and f"`{env['backend']}`" in text
        assert f"Keras {env['versions']['keras']}" in text
        section = text.split(f"`benchmarks/results/{path.name}`")[1].split("\n### ")[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert len(rows) == len(report["results"])
        for row, r in zip(rows, report["results"], strict=True):
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert cells[:3] == [f"`{r['model']}`", r["precision"], str(r["batch_size"])]
            expected = [
                (r["seconds_per_50k_epoch"], 0.05),
                (r["train_images_per_s"], 0.5),
                (r["inference_images_per_s"], 0.5),
                (r["train_gflops_per_image"], 0.0005),
                (r["achieved_tflops"], 0.0005),
                (r["percent_of_peak"], 0.05),
            ]
            for cell, (value, half_unit) in zip(cells[3:9], expected, strict=True):
                assert _number(cell) == pytest.approx(value, abs=half_unit * 1.001)
            if r["speedup_vs_article"] is None:
                assert cells[9] == "-"
            else:
                assert _number(cells[9]) == pytest.approx(r["speedup_vs_article"], abs=0.005)
    if not any(
        json.loads(p.read_text(encoding="utf-8"))["environment"]["accelerators"] for p in files
    ):
        assert "GPU: not yet measured" in text


def test_committed_runs_are_complete():
    for path in sorted(RESULTS.glob("throughput-*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        settings = report["settings"]
        measured = [(r["model"], r["precision"]) for r in report["results"] if "error" not in r]
        expected = [(m, p) for m in settings["models"] for p in settings["precision"]]
        assert measured == expected, f"{path.name} misses runs or holds failed ones"


def test_benchmarks_page_has_the_table_and_the_time_to_94_section(gen_tables):
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "<!-- benchmarks-table:start -->" in page
    assert "### " in gen_tables.render(page)
    assert re.search(r"\n## Time to 94%\n", page)
    assert "benchmarks/throughput.py --json benchmarks/results/" in page
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "benchmarks.md" in mkdocs
