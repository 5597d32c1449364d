"""Publishing from several processes at once, and publishes killed half-way (real SIGKILL).

The publishing processes run Keras on its NumPy backend with TensorFlow hidden: they only
save and hash weights, and start in seconds instead of importing TensorFlow each.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.run_records import RUN, same_result

from keras_cifar_zoo import load_model
from keras_cifar_zoo.publish import publish
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.manifest import load_manifest

NAME = "resnet20_v1"
REPO = f"keras-cifar-zoo/{NAME}-article"
OPTIONS = {"run_info": RUN, "recipe": "improved_sgd", "data_name": "synthetic"}

# One publish in a fresh interpreter. ``kill_at`` names a function of keras_cifar_zoo.publish
# that kills the process (SIGKILL) instead of running; ``slow`` delays writing the record and
# card, which lies between reading the manifest and writing it; ``barrier`` holds every
# process back until ``parties`` of them are ready, so that they publish at the same time.
CHILD = """
import json, os, signal, sys, time
from pathlib import Path

sys.modules["tensorflow"] = None  # Keras probes for it when saving; no process needs it
import keras_cifar_zoo.publish as publish_module

job = json.loads(sys.argv[1])
if job["kill_at"]:
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    setattr(publish_module, job["kill_at"], die)
if job["slow"]:
    write = publish_module._write_record_and_card
    def slowly(*args, **kwargs):
        time.sleep(job["slow"])
        return write(*args, **kwargs)
    publish_module._write_record_and_card = slowly
if job["barrier"]:
    barrier = Path(job["barrier"])
    barrier.mkdir(exist_ok=True)
    (barrier / job["tag"]).touch()
    deadline = time.monotonic() + 120
    while len(list(barrier.iterdir())) < job["parties"] and time.monotonic() < deadline:
        time.sleep(0.01)
print(f"{time.time():.3f} {job['tag']}: publishing", flush=True)
result = publish_module.publish(
    job["name"], job["checkpoint"], root=job["root"], tag=job["tag"], dtype=job["dtype"],
    evaluate_fn=lambda model: {"accuracy": 0.5, "loss": 1.0, "num_images": 10},
    **job["options"],
)
print(f"{time.time():.3f} {job['tag']}: published {result.entry.identifier}", flush=True)
"""


def _start(
    tmp_path: Path,
    checkpoint: Path,
    *,
    tag: str = "article",
    dtype: str = "float16",
    kill_at: str | None = None,
    slow: float = 0.0,
    parties: int = 0,
) -> subprocess.Popen:
    script = tmp_path / "publish_child.py"
    if not script.exists():  # rewriting it would truncate it under a child still reading it
        script.write_text(CHILD)
    job = {
        "name": NAME,
        "checkpoint": str(checkpoint),
        "root": str(tmp_path / "root"),
        "tag": tag,
        "dtype": dtype,
        "kill_at": kill_at,
        "slow": slow,
        "barrier": str(tmp_path / "barrier") if parties else None,
        "parties": parties,
        "options": OPTIONS,
    }
    env = os.environ | {"KERAS_BACKEND": "numpy", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(job)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[int, str]:
    out, _ = process.communicate(timeout=180)
    return process.returncode, out


def _checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "model.weights.h5"
    build_model(NAME).save_weights(path)
    return path


def _folders(root: Path) -> list[str]:
    """Every folder (hidden ones too) under hub/<owner>/, as ``owner/name``."""
    return sorted(p.relative_to(root / "hub").as_posix() for p in (root / "hub").glob("*/*"))


def _verifies(root: Path, entry) -> None:
    """The entry's files in hub/ have the manifest's hashes, and the checkpoint loads."""
    hub.fetch_repo_files(entry.repo_id, entry.files, hub_dir=root / "hub")
    load_model(
        NAME,
        weights=entry.identifier,
        hub_dir=root / "hub",
        manifest=root / "weights_manifest.json",
    )


@pytest.mark.slow
@pytest.mark.extended  # four publishing processes: about 10 s
def test_concurrent_publishes_into_one_root_each_keep_their_entry(tmp_path: Path):
    checkpoint = _checkpoint(tmp_path)
    tags = ["run0", "run1", "run2", "run3"]
    processes = [_start(tmp_path, checkpoint, tag=t, slow=0.5, parties=4) for t in tags]
    results = [_finish(p) for p in processes]
    assert [rc for rc, _ in results] == [0, 0, 0, 0], [out[-2000:] for _, out in results]
    root = tmp_path / "root"
    manifest = load_manifest(root / "weights_manifest.json")
    assert sorted(e.tag for e in manifest.entries) == tags, [out for _, out in results]
    assert sum(e.default for e in manifest.entries) == 1
    # Every folder is a listed repository: none orphaned, nothing staged left behind.
    assert _folders(root) == sorted(e.repo_id for e in manifest.entries)
    for entry in manifest.entries:
        hub.fetch_repo_files(entry.repo_id, entry.files, hub_dir=root / "hub")


@pytest.mark.slow
def test_a_publish_killed_before_writing_the_manifest_leaves_the_old_checkpoint(
    tmp_path: Path,
):
    checkpoint = _checkpoint(tmp_path)
    root = tmp_path / "root"
    old = publish(NAME, checkpoint, root=root, dtype="float32", evaluate_fn=same_result, **OPTIONS)
    # The new float16 files are complete beside the old ones when the process dies.
    rc, out = _finish(_start(tmp_path, checkpoint, dtype="float16", kill_at="write_manifest"))
    assert rc == -signal.SIGKILL, out[-2000:]
    assert load_manifest(root / "weights_manifest.json").find(NAME) == old.entry
    _verifies(root, old.entry)
    # The next publish removes what the killed one left; the old checkpoint is untouched.
    assert len(_folders(root)) == 2
    publish(NAME, checkpoint, root=root, tag="other", evaluate_fn=same_result, **OPTIONS)
    assert _folders(root) == [REPO, f"keras-cifar-zoo/{NAME}-other"]
    assert load_manifest(root / "weights_manifest.json").find(NAME, "article") == old.entry
    _verifies(root, old.entry)


@pytest.mark.slow
def test_a_publish_killed_after_writing_the_manifest_is_finished_by_the_next(tmp_path: Path):
    checkpoint = _checkpoint(tmp_path)
    root = tmp_path / "root"
    old = publish(NAME, checkpoint, root=root, dtype="float32", evaluate_fn=same_result, **OPTIONS)
    # Killed once the manifest lists the new files, before they are moved into place.
    rc, out = _finish(_start(tmp_path, checkpoint, dtype="float16", kill_at="_switch"))
    assert rc == -signal.SIGKILL, out[-2000:]
    new = load_manifest(root / "weights_manifest.json").find(NAME)
    assert new.dtype == "float16" and new.files != old.entry.files
    publish(NAME, checkpoint, root=root, tag="other", evaluate_fn=same_result, **OPTIONS)
    assert _folders(root) == [REPO, f"keras-cifar-zoo/{NAME}-other"]
    assert load_manifest(root / "weights_manifest.json").find(NAME, "article") == new
    _verifies(root, new)
    card = (root / "hub" / REPO / "README.md").read_text(encoding="utf-8")
    assert new.files[0].sha256 in card


def test_a_killed_lock_holder_releases_the_manifest_lock(tmp_path: Path):
    from keras_cifar_zoo.errors import PublishError
    from keras_cifar_zoo.weights.manifest import lock_path, manifest_lock

    manifest = tmp_path / "weights_manifest.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, filelock\n"
            "lock = filelock.FileLock(sys.argv[1]); lock.acquire()\n"
            "print('held', flush=True); time.sleep(60)",
            str(lock_path(manifest)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with (
            pytest.raises(
                PublishError,
                match=r"Another writer has held the weights manifest's lock "
                r".*weights_manifest\.json\.lock for over 0\.2 s\. Wait for that publish",
            ),
            manifest_lock(manifest, timeout=0.2),
        ):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        start = time.monotonic()
        with manifest_lock(manifest, timeout=5):
            assert time.monotonic() - start < 1  # the kernel released it with the process
    finally:
        holder.kill()
        holder.wait()


def test_a_manifest_written_by_a_writer_that_ignored_the_lock_is_not_overwritten(
    tmp_path: Path, monkeypatch
):
    """If another writer replaces the manifest while a publish holds the lock (a copy of the
    root on a file system without locks), the publish refuses to write over its entry."""
    import keras_cifar_zoo.publish as publish_module
    from keras_cifar_zoo.errors import PublishError
    from keras_cifar_zoo.weights.manifest import write_manifest

    checkpoint = _checkpoint(tmp_path)
    root = tmp_path / "root"
    first = publish(NAME, checkpoint, root=root, tag="run0", evaluate_fn=same_result, **OPTIONS)
    manifest_path = root / "weights_manifest.json"
    other = dataclasses.replace(first.entry, tag="run1", default=False)
    write_card = publish_module._write_record_and_card

    def meanwhile(*args, **kwargs):
        write_manifest([first.entry, other], manifest_path)  # without the lock
        return write_card(*args, **kwargs)

    monkeypatch.setattr(publish_module, "_write_record_and_card", meanwhile)
    with pytest.raises(
        PublishError,
        match=r"changed while this publish held its lock .*"
        r"Nothing was replaced: publish again",
    ):
        publish(NAME, checkpoint, root=root, tag="run2", evaluate_fn=same_result, **OPTIONS)
    kept = load_manifest(manifest_path)
    assert sorted(e.tag for e in kept.entries) == ["run0", "run1"]
    assert _folders(root) == [f"keras-cifar-zoo/{NAME}-run0"]  # nothing of run2 staged
    _verifies(root, kept.find(NAME, "run0"))
