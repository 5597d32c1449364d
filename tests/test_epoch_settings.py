"""benchmarks/epoch_settings.py: its grid, its step timing, and the docs table of its results."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "epoch_settings.py"
RESULTS = ROOT / "benchmarks" / "results"


@pytest.fixture(scope="module")
def settings():
    return load_script("epoch_settings_under_test", "benchmarks/epoch_settings.py")


@pytest.fixture(scope="module")
def gen_tables():
    return load_script("gen_tables_for_epoch_settings", "docs/gen_tables.py")


def test_threads_are_read_as_intra_comma_inter(settings):
    assert settings._threads("2,1") == (2, 1)
    assert settings._threads("0,0") == (0, 0)
    with pytest.raises(
        argparse.ArgumentTypeError, match=r"threads are INTRA,INTER, e.g. 2,1; got '2'"
    ):
        settings._threads("2")
    with pytest.raises(
        argparse.ArgumentTypeError, match=r"thread counts are 0 \(default\) or more; got .-1,2."
    ):
        settings._threads("-1,2")


@pytest.mark.parametrize(
    "flag", ["--batch-sizes", "--warmup-steps", "--timed-steps", "--predict-images"]
)
def test_counts_below_one_are_refused_before_anything_runs(settings, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        settings.main(["--models", "simple_cnn", "--json", "unused.json", flag, "0"])
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be 1 or more; got 0" in capsys.readouterr().err
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a whole number; got '2.5'"):
        settings._positive("2.5")


def test_the_fastest_setting_skips_failures(settings):
    rows = [
        {"model": "a", "seconds_per_50k_epoch": 30.0, "batch_size": 128},
        {"model": "a", "seconds_per_50k_epoch": 20.0, "batch_size": 256},
        {"model": "a", "error": "no result within 900 s", "batch_size": 512},
        {"model": "b", "error": "boom", "batch_size": 128},
    ]
    assert settings.fastest(rows) == {"a": rows[1]}


def test_models_and_json_are_required(settings):
    with pytest.raises(SystemExit, match=r"--models and --json are required\."):
        settings.main(["--models", "simple_cnn"])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """simple_cnn at two thread settings, then a setting that fails, appended to one JSON."""
    out = tmp_path_factory.mktemp("settings") / "run.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    common = ["--warmup-steps", "1", "--timed-steps", "2", "--predict-images", "64",
              "--predict-batch-size", "32", "--batch-sizes", "32", "--json", str(out)]  # fmt: skip
    first = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "simple_cnn", "--threads", "0,0", "1,1",
         "--precision", "float32", "--note", "test run", *common],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    failing = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "simple_cnn", "--recipe", "no_such_recipe",
         "--append", *common],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return first.stdout, failing, json.loads(out.read_text())


@pytest.mark.extended  # three tiny training runs in fresh processes: about 30 s
def test_each_setting_is_timed_per_step_in_its_own_process(tiny_run):
    stdout, _, report = tiny_run
    assert len(report["runs"]) == 2 and report["runs"][0]["note"] == "test run"
    assert set(report["peak"]) == {"float32", "bfloat16"}
    default, single = report["results"][:2]
    assert (default["intra_op_threads"], default["inter_op_threads"]) == (0, 0)
    assert (single["intra_op_threads"], single["inter_op_threads"]) == (1, 1)
    for row in (default, single):
        assert row["model"] == "simple_cnn" and row["batch_size"] == 32
        assert len(row["step_s"]) == 3  # one warm-up step, two timed
        assert row["median_step_s"] == statistics.median(row["step_s"][1:])
        assert row["seconds_per_50k_epoch"] == pytest.approx(50_000 * row["median_step_s"] / 32)
        assert row["train_images_per_s"] == pytest.approx(32 / row["median_step_s"])
        assert row["achieved_tflops"] == pytest.approx(
            row["train_images_per_s"] * row["train_gflops_per_image"] / 1e3
        )
        assert row["validation_s_per_epoch"] == pytest.approx(10_000 / row["predict_images_per_s"])
    fast = min((default, single), key=lambda r: r["seconds_per_50k_epoch"])
    starred = [line for line in stdout.splitlines() if line.endswith(" *")]
    assert (
        len(starred) == 1 and f"{fast['intra_op_threads']},{fast['inter_op_threads']}" in starred[0]
    )


@pytest.mark.extended  # three tiny training runs in fresh processes: about 30 s
def test_a_failing_setting_is_recorded_and_the_exit_status_says_so(tiny_run):
    _, failing, report = tiny_run
    assert failing.returncode == 1
    row = report["results"][2]
    assert row["recipe"] == "no_such_recipe" and "no_such_recipe" in row["error"]
    assert "failed:" in failing.stdout


def test_docs_table_rows_are_the_committed_json_numbers(gen_tables):
    files = sorted(RESULTS.glob("epoch-settings-*.json"))
    assert files, "benchmarks/results/ should hold an epoch_settings run"
    text = gen_tables.epoch_settings_table()
    for path in files:
        report = json.loads(path.read_text(encoding="utf-8"))
        section = text.split(f"`benchmarks/results/{path.name}`")[1].split("\n### ")[0]
        peaks = {"float32": report["peak"]["float32"]["tflops"],
                 "mixed_bfloat16": report["peak"]["bfloat16"]["tflops"]}  # fmt: skip
        best = {}
        for r in report["results"]:
            if r["model"] not in best or r["seconds_per_50k_epoch"] < best[r["model"]]:
                best[r["model"]] = r["seconds_per_50k_epoch"]
        for r in report["results"]:
            seconds = f"{r['seconds_per_50k_epoch']:,.1f}"
            cell = f"**{seconds}**" if r["seconds_per_50k_epoch"] == best[r["model"]] else seconds
            share = 100 * r["achieved_tflops"] / peaks[r["precision"]]
            assert f"| {cell} | {r['train_images_per_s']:,.0f} | {share:.1f} |" in section
        assert section.count("**") == 2 * len(best)


def test_committed_settings_run_is_complete():
    for path in sorted(RESULTS.glob("epoch-settings-*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        assert not [r for r in report["results"] if "error" in r], path.name
        for run in report["runs"]:  # every invocation wrote this very file
            assert run["note"] and f"--json benchmarks/results/{path.name}" in run["command"]


def test_benchmarks_page_has_the_settings_table():
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "<!-- epoch-settings-table:start -->" in page
    assert "python benchmarks/epoch_settings.py --models" in page
