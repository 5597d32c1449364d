"""CPU rehearsal of scripts/gpu_plan_run.py: the whole GPU window with a tiny plan.

The device calls that ``stage`` prints are replayed here as the device would see them: a
folder that receives each call's carried paths, this script's invocations parsed out of each
printed command and run in it, ``$OUT`` a fresh folder per call. hub/ is untracked and
restored only in temporary git repositories, never in this checkout.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import pickle
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from keras_cifar_zoo.data import describe_copy
from keras_cifar_zoo.errors import InvalidArgumentError
from keras_cifar_zoo.training import plan as plan_module
from keras_cifar_zoo.training.run_record import RunRecord, StandInMeasurement

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_PATH = ROOT / "scripts" / "gpu_plan_run.py"
TINY = {"model": "simple_cnn", "recipe": "article_001", "batch_size": 32}
PLAN = [
    TINY | {"id": "a", "seed": 0, "epochs": 1, "train_images": 64},  # done
    TINY | {"id": "b", "seed": 1, "epochs": 2, "train_images": 32},  # partial: out of time
    TINY | {"id": "c", "seed": 2, "epochs": 1, "train_images": 64},  # pending
]
LOSSLESS_SOURCE = "CIFAR-10, official train/test split and order: a stand-in for the tests\n"


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_plan_run", SCRIPT_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gpr = _load_script()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A temporary git repository with a committed hub/ (never the real checkout)."""
    root = tmp_path / "repo"
    (root / "hub" / "m-article").mkdir(parents=True)
    (root / "hub" / "m-article" / "model.weights.h5").write_bytes(b"\0" * 4096)
    (root / "hub" / "m-article" / "README.md").write_text("card\n")
    (root / "README.md").write_text("repo\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    """Synthetic CIFAR-10 in the official layout: 5 x 20 training and 40 test images."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        count = 40 if name == "test_batch" else 20
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        data = images.transpose(0, 3, 1, 2).reshape(count, -1)
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": list(rng.integers(0, 10, count))}, f, 4)
    (folder / "SOURCE.txt").write_text(LOSSLESS_SOURCE)
    return folder.parent


def _script_steps(command: str) -> list[list[str]]:
    """The invocations of this script inside a printed device command, as argv lists."""
    steps = []
    for chunk in command.replace("&&", ";").split(";"):
        argv = shlex.split(chunk)
        if argv[:2] == ["python3", gpr.SCRIPT]:
            steps.append(argv)
    return steps


def _replay(call: dict, repo: Path, device: Path, out: Path, extra: tuple[str, ...] = ()) -> int:
    """Runs one device call as the device would: carried paths replace theirs, then each of
    this script's invocations runs in the device folder with $OUT set."""
    for path in call["carry"]:
        source, target = repo / path, device / path
        if target.exists():
            shutil.rmtree(target)
        if source.exists():  # .whl is absent here: the device would remove it too
            shutil.copytree(source, target)
    out.mkdir()
    steps = _script_steps(call["command"])
    assert [list(a) for a in call["script_argv"]] == steps  # what the rehearsal runs is printed
    code = 0
    for argv in steps:
        assert (ROOT / argv[1]).is_file()  # the script travels with the working tree
        code = code or gpr.main([str(out) if a == "$OUT" else a for a in argv[2:]] + list(extra))
    return code


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_image_filter_is_lossless():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    x[0], x[1] = 0, 255
    residuals = gpr.encode_images(x)
    assert residuals.shape == (9, 3, 32, 32) and residuals.dtype == np.uint8
    assert np.array_equal(gpr.decode_images(residuals), x)
    with pytest.raises(gpr.StageError, match=r"uint8 of shape \(N, H, W, 3\)"):
        gpr.encode_images(x.astype(np.float32))


@pytest.mark.extended  # the whole GPU window on the CPU, in tiny
def test_rehearsal_of_the_gpu_window(
    tmp_path: Path, repo: Path, cifar_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    stage_args = ["stage", "--data-dir", str(cifar_dir), "--plan", str(plan)]
    stage_args += ["--stage", str(repo / ".gpu"), "--repo", str(repo), "--time-budget", "100"]

    # Here: a stage folder git does not ignore would travel with every call.
    assert gpr.main(stage_args) == 2
    assert "is not ignored by git" in capsys.readouterr().err
    assert gpr.main([*stage_args, "--exclude"]) == 0
    printed = capsys.readouterr().out
    assert "/.gpu/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    calls = json.loads((repo / ".gpu" / "meta" / "calls.json").read_text())
    assert [c["carry"] for c in calls["calls"]] == [
        [".gpu/meta", ".gpu/part1"],
        [".gpu/meta", ".gpu/part2", ".whl"],
    ]
    for call in calls["calls"]:
        assert call["command"] in printed
        assert len(call["command"]) <= 2000 and len(call["carry"]) <= 8
        assert call["timeout_s"] <= 600 and call["travel_mib"] < 62
    assert calls["calls"][1]["timeout_s"] == 160 + 45  # hard limit: budget + 60 s
    assert [p["images"] for p in calls["parts"]] == [50, 50]
    assert "hub/ (" in calls["warnings"][0]  # still tracked in this repo: untrack-hub first

    # Device, call 1: part 1 arrives and is checked; training now would lack part 2.
    device = tmp_path / "device"
    device.mkdir()
    monkeypatch.chdir(device)  # the device runs the commands in its copy of the repository
    assert _replay(calls["calls"][0], repo, device, tmp_path / "out1") == 0
    train_argv = _script_steps(calls["calls"][1]["command"])[0]
    assert gpr.main([a for a in train_argv[2:] if a not in ("--copy-to", "$OUT")]) == 2
    err = capsys.readouterr().err
    assert "missing 1 of 2 training-set parts: part 2 (.gpu/part2/train-2-of-2.npz)" in err

    # Device, call 2: the plan trains on a fake clock (60 s an epoch, 100 s budget), so the
    # three jobs end done, partial and pending; small packed parts make two batches.
    out2 = tmp_path / "out2"
    with monkeypatch.context() as m:
        clock = {"now": 0.0}
        m.setattr(plan_module.time, "monotonic", lambda: clock["now"])
        epoch_end = plan_module._Deadline.on_epoch_end

        def slow_epoch(self, epoch, logs=None):
            clock["now"] += 60.0
            epoch_end(self, epoch, logs)

        m.setattr(plan_module._Deadline, "on_epoch_end", slow_epoch)
        extra = ("--part-mib", "0.4", "--verbose", "0")
        assert _replay(calls["calls"][1], repo, device, out2, extra) == 0
    printed = capsys.readouterr().out
    assert "STAND-IN" in printed and "NEXT CALL" in printed
    runs_there = device / ".gpu" / "runs"
    summary = json.loads((runs_there / "summary.json").read_text())
    assert summary["counts"] == {"done": 1, "partial": 1, "pending": 1, "failed": 0}
    device_metrics = json.loads((runs_there / "a" / "metrics.json").read_text())
    device_record = RunRecord.from_dict(device_metrics)
    assert type(device_record.measurement) is StandInMeasurement  # training images, not test
    assert device_record.training_data == describe_copy(cifar_dir, "train")
    assert device_metrics["device_check"]["num_images"] == 100  # stand-in: training images
    returned = sorted(p.name for p in out2.iterdir())
    assert len(returned) <= 8 and all(p.stat().st_size <= 16 << 20 for p in out2.iterdir())
    manifest = json.loads((out2 / "packed.json").read_text())
    assert len(manifest["batches"]) == 2 and returned == sorted(
        [*manifest["batches"][0], "packed.json"]
    )
    assert "b/checkpoint/state.json" in manifest["files"]
    assert not any(name.startswith("c/") for name in manifest["files"])

    # Device, follow-up call: batch 2, exactly as device-train printed it.
    follow = gpr.copy_call(".gpu/packed", 2).to_dict()
    assert follow["command"] in printed
    assert _replay(follow, repo, device, tmp_path / "out3") == 0
    monkeypatch.chdir(tmp_path)

    # Here: the returned parts refuse to unpack incomplete or twice over.
    runs = tmp_path / "runs"
    with pytest.raises(gpr.MissingPartsError, match=r"missing \d+ of \d+ parts: .*batches \[2\]"):
        gpr.unpack([out2], runs)
    with pytest.raises(gpr.DuplicatePartsError, match=r"parts given twice"):
        gpr.unpack([out2, tmp_path / "out3", out2], runs)
    assert not runs.exists()
    returned_dirs = [str(out2), str(tmp_path / "out3")]
    assert gpr.main(["unpack", "--parts", *returned_dirs, "--dest", str(runs)]) == 0
    packed_there = {n: h for n, h in _files(runs_there).items() if n in manifest["files"]}
    assert _files(runs) == packed_there  # byte-identical, weights included
    weights = _files(runs)["a/model.weights.h5"]

    from keras_cifar_zoo.publish import _run_info

    with pytest.raises(InvalidArgumentError, match=r"run_info holds a stand-in measurement"):
        _run_info(json.loads((runs / "a" / "metrics.json").read_text()))

    # Here: the real (synthetic) test set measures the finished job.
    assert gpr.main(["evaluate", "--runs", str(runs), "--data-dir", str(cifar_dir)]) == 0
    printed = capsys.readouterr().out
    assert f"--run-info {runs / 'a' / 'metrics.json'}" in printed
    metrics = json.loads((runs / "a" / "metrics.json").read_text())
    assert metrics["num_images"] == 40 and "test_accuracy_pending" not in metrics
    assert metrics["data"] == describe_copy(cifar_dir)
    assert metrics["training_data"] == describe_copy(cifar_dir, "train")
    assert metrics["device_check"] == device_metrics["device_check"]
    _run_info(metrics)  # what publish --run-info needs is there

    from keras_cifar_zoo import evaluate
    from keras_cifar_zoo.data import load_cifar10
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.weights.loading import load_checkpoint

    model = build_model("simple_cnn")
    load_checkpoint(model, runs / "a" / "model.weights.h5")
    assert evaluate(model, data=load_cifar10(cifar_dir)[1])["accuracy"] == metrics["accuracy"]
    summary = json.loads((runs / "summary.json").read_text())
    assert summary["counts"] == {"done": 1, "partial": 1, "pending": 1, "failed": 0}
    assert summary["jobs"][0]["accuracy"] == metrics["accuracy"]
    assert _files(runs)["a/model.weights.h5"] == weights


def test_evaluate_refuses_another_training_set(tmp_path: Path, cifar_dir: Path):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    (runs / "plan.json").write_text(json.dumps([PLAN[0]]))
    metrics = {"accuracy": 0.1, "epochs": 1, "training_data_sha256": "0" * 64}
    (runs / "a" / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(gpr.IntegrityError, match=r"trained on another training set"):
        gpr.evaluate_runs(runs, cifar_dir)


def _fake_packed(folder: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    data = buffer.getvalue()
    folder.mkdir()
    name = "runs.tar.001-of-001"
    (folder / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    part = {"name": name, "bytes": len(data), "sha256": digest}
    manifest = {"tar_sha256": digest, "tar_bytes": len(data), "parts": [part]}
    (folder / "packed.json").write_text(json.dumps(manifest | {"batches": [[name]]}))


def _member(name: str, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("../evil.txt", tarfile.REGTYPE, r"climbs out of the destination"),
        ("a/../../evil.txt", tarfile.REGTYPE, r"climbs out of the destination"),
        ("/tmp/evil.txt", tarfile.REGTYPE, r"is an absolute path"),
        ("a/link", tarfile.SYMTYPE, r"is not a plain file or folder"),
    ],
)
def test_unpack_refuses_unsafe_archives(tmp_path: Path, name: str, kind: bytes, message: str):
    parts = tmp_path / "returned"
    _fake_packed(parts, [(_member("a/ok.txt"), b"fine"), (_member(name, kind), b"evil")])
    dest = tmp_path / "dest" / "runs"
    with pytest.raises(gpr.UnsafeArchiveError, match=message):
        gpr.unpack([parts], dest)
    assert not dest.exists() and not (tmp_path / "dest" / "evil.txt").exists()


def test_damaged_or_stray_parts_are_refused(tmp_path: Path):
    parts = tmp_path / "returned"
    _fake_packed(parts, [(_member("a/ok.txt"), b"fine")])
    (parts / "runs.tar.002-of-002").write_bytes(b"x")
    with pytest.raises(gpr.IntegrityError, match=r"does not list"):
        gpr.unpack([parts], tmp_path / "runs")
    (parts / "runs.tar.002-of-002").unlink()
    with (parts / "runs.tar.001-of-001").open("ab") as f:
        f.write(b"!")
    with pytest.raises(gpr.IntegrityError, match=r"is damaged \(SHA-256 differs\)"):
        gpr.unpack([parts], tmp_path / "runs")


def test_hub_untrack_restore_and_check_on_a_temporary_repo(repo: Path, capsys):
    card = repo / "hub" / "m-article" / "README.md"
    card.write_text("edited, not staged\n")
    before = _git(repo, "ls-files", "-s", "hub")
    assert gpr.main(["check-hub", "--repo", str(repo)]) == 0

    assert gpr.main(["untrack-hub", "--repo", str(repo)]) == 0
    assert _git(repo, "ls-files", "hub") == ""
    assert "/hub/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    status = _git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert not [line for line in status if not line.startswith("D  hub/")]  # and ignored
    assert gpr.travel_bytes(repo) == (len("repo\n"), 0)
    capsys.readouterr()
    assert gpr.main(["check-hub", "--repo", str(repo)]) == 1
    assert "hub/ is not tracked and /hub/ is in info/exclude" in capsys.readouterr().err
    assert gpr.main(["untrack-hub", "--repo", str(repo)]) == 0
    assert "already untracked" in capsys.readouterr().out

    assert gpr.main(["restore-hub", "--repo", str(repo)]) == 0
    assert _git(repo, "ls-files", "-s", "hub") == before
    assert "/hub/" not in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    assert _git(repo, "diff", "--cached", "--name-only") == ""  # the edit stays unstaged
    assert _git(repo, "diff", "--name-only") == "hub/m-article/README.md\n"
    assert gpr.main(["check-hub", "--repo", str(repo)]) == 0

    # Untracked by hand (no saved entries): restore falls back to `git add hub`.
    _git(repo, "rm", "-r", "-q", "--cached", "hub")
    gpr.add_exclude_line(repo, "/hub/")
    assert gpr.main(["check-hub", "--repo", str(repo)]) == 1
    assert gpr.main(["restore-hub", "--repo", str(repo)]) == 0
    assert "git add hub" in capsys.readouterr().out
    assert gpr.main(["check-hub", "--repo", str(repo)]) == 0


def test_stage_refuses_what_cannot_travel(tmp_path: Path, repo: Path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([PLAN[0]]))
    x = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    train = (x, np.arange(40) % 10)
    gpr.add_exclude_line(repo, "/.gpu/")
    with pytest.raises(gpr.StageError, match=r"must be inside the repository"):
        gpr.stage(train, plan=plan, stage_dir=tmp_path / "elsewhere", repo=repo)
    with pytest.raises(gpr.StageError, match=r"over the 0\.1 MiB a call takes.*--parts 3"):
        gpr.stage(train, plan=plan, stage_dir=repo / ".gpu", repo=repo, limit_bytes=100_000)
    with pytest.raises(gpr.StageError, match=r"hard_limit <= 555 s"):
        gpr.stage(train, plan=plan, stage_dir=repo / ".gpu", repo=repo, time_budget=550)


def test_hard_limit_still_packs(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([PLAN[0]]))
    x = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    gpr.add_exclude_line(repo, "/.gpu/")
    gpr.stage((x, np.arange(40) % 10), plan=plan, stage_dir=repo / ".gpu", repo=repo, parts=1)

    def endless(jobs, out, **kwargs):  # a job that would outrun the command's limit
        plan_module._claim_folder(jobs, Path(out))
        time.sleep(30)

    monkeypatch.setattr(plan_module, "run_plan", endless)
    started = time.perf_counter()
    result = gpr.device_train(
        repo / ".gpu", repo / ".gpu" / "runs", time_budget=0.1, hard_limit=0.5, copy_to=tmp_path
    )
    assert time.perf_counter() - started < 20
    assert result["hard_stop"] and [r["state"] for r in result["summary"]] == ["pending"]
    assert (tmp_path / "packed.json").is_file() and result["packed"]["files"] == [
        "summary.json",
        "plan.json",
    ]


def test_budget_counts_flops_per_job(tmp_path: Path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN[:2]))
    rows = gpr.estimate_budget(
        plan_module.load_plan(plan), tflops=1e-3, seconds=1.0, train_images=50_000
    )
    from keras_cifar_zoo.profiling import count_flops
    from keras_cifar_zoo.registry import build_model

    per_image = count_flops(build_model("simple_cnn")).training_step
    assert rows[0]["seconds"] == round(per_image * 64 * 1 / 1e9, 1)
    assert rows[1]["cumulative_s"] == round(per_image * (64 + 32 * 2) / 1e9, 1)
    assert [r["fits"] for r in rows] == [False, False]
    slow = gpr.estimate_budget(plan_module.load_plan(plan), tflops=1e3, seconds=1.0, step_ms=100)
    assert [r["seconds"] for r in slow] == [0.2, 0.2]  # a: 2 steps x 1 epoch, b: 1 step x 2 epochs
    assert [r["fits"] for r in slow] == [True, True]
    assert gpr.main(["budget", "--plan", str(plan), "--tflops", "1e-3", "--seconds", "1"]) == 0
    assert "scale its epochs by" in capsys.readouterr().out
