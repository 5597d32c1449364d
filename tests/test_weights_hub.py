"""Verified downloads through a local Hub stand-in over real HTTP (no internet needed)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import hub_stand_in
from helpers.hub_stand_in import HubStandIn, add_file, blob_files, cached_files, repo_commit

from keras_cifar_zoo.errors import (
    HubError,
    IntegrityError,
    InvalidArgumentError,
    InvalidTypeError,
    ZooError,
)
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.manifest import FileRecord

REPO = "zoo-test/tiny"
NAME = "model.weights.h5"
ROOT = Path(__file__).resolve().parent.parent

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server


@pytest.fixture
def served(hub_server: HubStandIn) -> FileRecord:
    """A 200 kB file published in the stand-in."""
    content = os.urandom(200_000)
    sha, size = add_file(hub_server.root, REPO, NAME, content)
    return FileRecord(NAME, sha, size)


def test_download_verifies_and_caches(hub_server: HubStandIn, served: FileRecord, hub_env: Path):
    path = hub.download_file(REPO, served)
    assert hub.file_hash(path) == served.sha256
    assert path.is_relative_to(hub_env)  # HF_HUB_CACHE read at call time
    assert repo_commit(REPO) in path.parts  # a snapshot of the commit the server named
    assert hub_server.count("GET", NAME) == 1


def test_cache_hit_makes_no_request_offline(
    hub_server: HubStandIn, served: FileRecord, monkeypatch: pytest.MonkeyPatch
):
    first = hub.download_file(REPO, served)
    before = len(hub_server.requests)
    assert hub.download_file(REPO, served, local_files_only=True) == first
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read at call time, not import
    assert hub.download_file(REPO, served) == first
    assert len(hub_server.requests) == before


def test_cache_hit_online_downloads_nothing_again(hub_server: HubStandIn, served: FileRecord):
    hub.download_file(REPO, served)
    hub.download_file(REPO, served)
    assert hub_server.count("GET", NAME) == 1


def test_offline_without_cache_says_how_to_fix(hub_server: HubStandIn, served: FileRecord):
    with pytest.raises(
        HubError, match=r"not in the cache .* downloads are off .*keras-cifar-zoo download"
    ):
        hub.download_file(REPO, served, local_files_only=True)
    assert hub_server.requests == []


def test_repository_not_found(hub_server: HubStandIn, served: FileRecord):
    with pytest.raises(HubError, match=r"repository zoo-test/missing does not exist at http://127"):
        hub.download_file("zoo-test/missing", served)


def test_file_not_found(hub_server: HubStandIn, served: FileRecord):
    missing = FileRecord("other.weights.h5", served.sha256, served.size)
    with pytest.raises(HubError, match=r"has no file 'other.weights.h5' at revision 'main'"):
        hub.download_file(REPO, missing)


def test_revision_not_found(hub_server: HubStandIn, served: FileRecord):
    with pytest.raises(HubError, match=r"revision 'v9' of zoo-test/tiny does not exist"):
        hub.download_file(REPO, served, revision="v9")


def test_hub_errors_are_os_errors(hub_server: HubStandIn, served: FileRecord):
    with pytest.raises(OSError) as info:
        hub.download_file("zoo-test/missing", served)
    assert isinstance(info.value, ZooError)


def test_truncated_body_fails_and_leaves_no_file(
    hub_server: HubStandIn, served: FileRecord, hub_env: Path
):
    hub_server.faults[NAME] = "truncate"
    with pytest.raises(HubError, match=r"Downloading zoo-test/tiny/model.weights.h5@main failed"):
        hub.download_file(REPO, served)
    assert blob_files(hub_env) == []
    assert not [p for p in cached_files(hub_env) if p.name == NAME]


def test_truncated_once_resumes_to_a_verified_file(hub_server: HubStandIn, served: FileRecord):
    hub_server.faults[NAME] = "truncate_once"
    path = hub.download_file(REPO, served)
    assert hub.file_hash(path) == served.sha256
    assert hub_server.count("GET", NAME) >= 2


def test_tampered_download_raises_and_cleans_the_cache(
    hub_server: HubStandIn, served: FileRecord, hub_env: Path
):
    hub_server.faults[NAME] = "tamper"
    with pytest.raises(IntegrityError) as info:
        hub.download_file(REPO, served)
    served_bytes = bytearray((hub_server.root / REPO / NAME).read_bytes())
    served_bytes[0] ^= 0xFF  # what the tampering server sent
    message = str(info.value)
    assert "zoo-test/tiny/model.weights.h5" in message
    assert f"expected sha256 {served.sha256}" in message
    assert f"got {hashlib.sha256(served_bytes).hexdigest()}" in message
    assert "removed from the cache" in message
    assert blob_files(hub_env) == []
    assert not [p for p in cached_files(hub_env) if p.name == NAME]
    # Fixed on the server: the next load downloads a good copy.
    hub_server.faults.clear()
    assert hub.file_hash(hub.download_file(REPO, served)) == served.sha256


def test_corrupted_cache_hit_raises_and_is_removed(
    hub_server: HubStandIn, served: FileRecord, hub_env: Path
):
    path = hub.download_file(REPO, served)
    blob = Path(os.path.realpath(path))
    blob.write_bytes(b"\0" * served.size)  # same size, wrong content
    with pytest.raises(IntegrityError, match=rf"expected sha256 {served.sha256}, got "):
        hub.download_file(REPO, served, local_files_only=True)
    assert not blob.exists() and not path.is_symlink() and not path.exists()


def test_bad_cache_link_to_a_file_outside_the_cache_keeps_that_file(
    hub_server: HubStandIn, served: FileRecord, hub_env: Path, tmp_path: Path
):
    path = hub.download_file(REPO, served)
    blob = Path(os.path.realpath(path))
    mine = tmp_path / "my-own.weights.h5"
    mine.write_bytes(b"\1" * served.size)  # a user's file, linked into the cache by hand
    path.unlink()
    path.symlink_to(mine)
    with pytest.raises(IntegrityError) as info:
        hub.download_file(REPO, served, local_files_only=True)
    assert mine.read_bytes() == b"\1" * served.size
    assert not path.is_symlink() and not path.exists()  # the cache's own entry is gone
    assert blob.is_file()  # the blob the link no longer named is not touched either
    assert (
        f"The bad file was removed from the cache; the next load downloads it again. The cache "
        f"entry was a link to {mine}, outside the cache, which was left in place. "
        f"Received: path={str(path)!r}"
    ) in str(info.value)
    assert hub.file_hash(hub.download_file(REPO, served)) == served.sha256


def test_bad_keras_cache_link_to_a_file_outside_the_cache_keeps_that_file(
    hub_env: Path, tmp_path: Path
):
    mine = tmp_path / "vgg16.h5"
    mine.write_bytes(b"not the Keras file")
    target = tmp_path / "keras-home" / "models" / "vgg16.h5"
    target.parent.mkdir(parents=True)
    target.symlink_to(mine)
    with pytest.raises(IntegrityError, match=r"outside the cache, which was left in place"):
        hub.fetch_keras_file("vgg16.h5", "http://127.0.0.1:1/vgg16.h5", "0" * 32)
    assert mine.read_bytes() == b"not the Keras file"
    assert not target.is_symlink()


def test_manifest_hash_mismatch_is_an_integrity_error(hub_server: HubStandIn, served: FileRecord):
    wrong = FileRecord(NAME, "0" * 64, served.size)
    with pytest.raises(IntegrityError, match=r"expected sha256 0{64}, got [0-9a-f]{64}"):
        hub.download_file(REPO, wrong)


def test_two_processes_download_at_once(hub_server: HubStandIn, served: FileRecord, hub_env: Path):
    hub_server.hold_gets_until = 2  # no GET is answered before both processes asked
    script = textwrap.dedent(
        f"""
        from keras_cifar_zoo.weights import hub
        from keras_cifar_zoo.weights.manifest import FileRecord
        path = hub.download_file({REPO!r}, FileRecord({NAME!r}, {served.sha256!r}, {served.size}))
        print(path)
        """
    )
    env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    paths = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(paths) == 1
    assert hub.file_hash(paths.pop()) == served.sha256
    assert hub_server.count("HEAD", NAME) == 2
    assert hub_server.count("GET", NAME) == 1  # huggingface_hub's per-file lock
    assert len(blob_files(hub_env)) == 1
    assert not [p for p in cached_files(hub_env) if p.name.endswith(".incomplete")]


def test_mirror_is_used_without_network(tmp_path: Path, hub_env: Path):
    content = os.urandom(1000)
    sha, size = add_file(tmp_path / "mirror", REPO, NAME, content)
    folder = hub.fetch_repo_files(REPO, [FileRecord(NAME, sha, size)], hub_dir=tmp_path / "mirror")
    assert folder == tmp_path / "mirror" / REPO
    assert cached_files(hub_env) == []


def test_mirror_from_environment(tmp_path: Path, hub_env: Path, monkeypatch: pytest.MonkeyPatch):
    sha, size = add_file(tmp_path / "mirror", REPO, NAME, b"weights")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(tmp_path / "mirror"))
    assert hub.fetch_repo_files(REPO, [FileRecord(NAME, sha, size)]) == tmp_path / "mirror" / REPO


def test_tampered_mirror_file_is_reported_not_deleted(tmp_path: Path, hub_env: Path):
    sha, size = add_file(tmp_path / "mirror", REPO, NAME, b"weights")
    (tmp_path / "mirror" / REPO / NAME).write_bytes(b"weightz")
    with pytest.raises(
        IntegrityError, match=r"in the hub mirror .* expected sha256 .* left in place"
    ):
        hub.fetch_repo_files(REPO, [FileRecord(NAME, sha, size)], hub_dir=tmp_path / "mirror")
    assert (tmp_path / "mirror" / REPO / NAME).exists()


def test_mirror_without_the_repo_falls_back_to_the_hub(
    tmp_path: Path, hub_server: HubStandIn, served: FileRecord
):
    (tmp_path / "empty-mirror").mkdir()
    folder = hub.fetch_repo_files(REPO, [served], hub_dir=tmp_path / "empty-mirror")
    assert hub.file_hash(folder / NAME) == served.sha256
    assert hub_server.count("GET", NAME) == 1


def test_missing_mirror_folder(tmp_path: Path, hub_env: Path):
    with pytest.raises(InvalidArgumentError, match=r"hub mirror folder .* does not exist"):
        hub.fetch_repo_files(REPO, [FileRecord(NAME, "0" * 64, 1)], hub_dir=tmp_path / "nope")


def test_settings_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub.hub_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert hub.hub_endpoint() == "http://127.0.0.1:9"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.offline_mode() is True
    assert hub.offline_mode(False) is False
    with pytest.raises(InvalidArgumentError, match=r"local_files_only must be True, False or None"):
        hub.offline_mode("yes")


def test_hf_hub_offline_means_what_huggingface_hub_says(monkeypatch: pytest.MonkeyPatch):
    """Downloads are off exactly when huggingface_hub would call the variable true."""
    from huggingface_hub.constants import _is_true

    values = ["1", "ON", "yes", "True", " 1", "1 ", "0", "", "auto", "off"]
    seen = {}
    for value in values:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        seen[value] = hub.offline_mode()
    assert seen == {value: _is_true(value) for value in values}
    assert [value for value in values if seen[value]] == ["1", "ON", "yes", "True"]


class _FakeApi:
    calls: ClassVar[list[tuple[str, dict]]] = []

    def __init__(self, **kwargs):
        self.calls.append(("init", kwargs))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))

        class Info:
            oid = "c" * 40
            commit_url = "https://example.invalid/commit"

        return Info()


def test_push_dry_run_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub

    _FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README.md").write_text("card")
    (tmp_path / "repo" / NAME).write_bytes(b"w")
    result = hub.push_folder(tmp_path / "repo", REPO, dry_run=True, endpoint="http://127.0.0.1:1")
    assert result.dry_run and result.files == ("README.md", NAME) and result.commit is None
    assert _FakeApi.calls == []


def test_push_calls_upload_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub

    _FakeApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", _FakeApi)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / NAME).write_bytes(b"w")
    result = hub.push_folder(tmp_path / "repo", REPO, endpoint="http://127.0.0.1:1", token="t")
    assert result.commit == "c" * 40
    kinds = [c[0] for c in _FakeApi.calls]
    assert kinds == ["init", "create_repo", "upload_folder"]
    assert _FakeApi.calls[0][1] == {"endpoint": "http://127.0.0.1:1", "token": "t"}
    upload = _FakeApi.calls[2][1]
    assert upload["repo_id"] == REPO and upload["folder_path"] == str(tmp_path / "repo")


def test_push_wraps_hub_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub

    class Refusing(_FakeApi):
        def create_repo(self, repo_id, **kwargs):
            raise OSError("401 Unauthorized")

    monkeypatch.setattr(huggingface_hub, "HfApi", Refusing)
    (tmp_path / "repo").mkdir()
    with pytest.raises(HubError, match=r"Pushing .* failed: 401 Unauthorized. Check the token"):
        hub.push_folder(tmp_path / "repo", REPO, endpoint="http://127.0.0.1:1")


# --- failing fast, and saying the right thing ------------------------------------------------

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def closed_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    """A local URL nothing listens on (connections are refused), reached without a proxy."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_hub_fails_at_once(hub_env: Path, closed_endpoint: str):
    record = FileRecord(NAME, "0" * 64, 1)
    start = time.monotonic()
    with pytest.raises(
        HubError,
        match=re.escape(
            f"Could not download {REPO}/{NAME}@main and it is not in the cache ({hub_env}): "
            f"{closed_endpoint} cannot be reached ([Errno 111] Connection refused; set "
            "HF_HUB_OFFLINE=1 to use only the cache). Check the network or HF_ENDPOINT, or use "
            "a local mirror (hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH). Received: "
        ),
    ):
        hub.download_file(REPO, record, endpoint=closed_endpoint)
    assert time.monotonic() - start < 2.0  # huggingface_hub's own retries take about 23 s


def test_unreachable_hub_still_serves_a_cached_file(
    hub_server: HubStandIn, served: FileRecord, closed_endpoint: str
):
    first = hub.download_file(REPO, served, endpoint=hub_server.endpoint)
    start = time.monotonic()
    assert hub.download_file(REPO, served, revision=repo_commit(REPO)) == first
    assert hub.download_file(REPO, served, endpoint=closed_endpoint) == first
    assert time.monotonic() - start < 5.0


@pytest.mark.parametrize("how", ["local_files_only", "HF_HUB_OFFLINE"])
def test_offline_miss_fails_at_once(
    hub_env: Path, closed_endpoint: str, monkeypatch: pytest.MonkeyPatch, how: str
):
    options = {"local_files_only": True} if how == "local_files_only" else {}
    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(HubError, match=r"is not in the cache .* and downloads are off"):
        hub.download_file(REPO, FileRecord(NAME, "0" * 64, 1), endpoint=closed_endpoint, **options)
    assert time.monotonic() - start < 2.0


def test_a_proxy_decides_reachability(closed_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    assert isinstance(hub._unreachable(closed_endpoint), ConnectionRefusedError)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    assert hub._unreachable(closed_endpoint) is None  # the proxy, not the host, answers


def test_mirror_lacking_a_file_says_so_instead_of_suggesting_a_mirror(
    tmp_path: Path, hub_env: Path, monkeypatch: pytest.MonkeyPatch
):
    sha, size = add_file(tmp_path / "mirror", REPO, "other.weights.h5", b"w")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(tmp_path / "mirror"))
    with pytest.raises(
        HubError,
        match=re.escape(
            f"The hub mirror at {tmp_path / 'mirror'} lacks {REPO}/{NAME}, and it is not in the "
            f"cache ({hub_env}) either while downloads are off (local_files_only=True or "
            f"HF_HUB_OFFLINE=1). Update the mirror (copy {REPO}/ into it from a hub/ folder "
            "written by `keras-cifar-zoo publish`), or unset KERAS_CIFAR_ZOO_HUB and download it "
            "once with network access (`keras-cifar-zoo download MODEL`). Received: "
        ),
    ):
        hub.fetch_repo_files(REPO, [FileRecord(NAME, sha, size)], local_files_only=True)


def test_mirror_lacking_one_of_several_files_names_them(tmp_path: Path, hub_env: Path):
    sha, size = add_file(tmp_path / "mirror", REPO, "a.weights.h5", b"w")
    files = [FileRecord("a.weights.h5", sha, size), FileRecord("b.weights.h5", sha, size)]
    with pytest.raises(HubError, match=rf"lacks {REPO}/b\.weights\.h5, and .* leave out hub_dir="):
        hub.fetch_repo_files(REPO, files, hub_dir=tmp_path / "mirror", local_files_only=True)


def test_mirror_errors_name_the_keyword_not_a_flag(tmp_path: Path, hub_env: Path):
    """The library spells its own arguments; the command line translates them (see
    ``keras_cifar_zoo.cli.command_line_message``)."""
    assert not hasattr(hub, "command_line_flags")
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            "pass such a folder, or leave out hub_dir= to use the Hugging Face Hub. "
            f"Received: hub_dir={str(tmp_path / 'nope')!r}"
        ),
    ):
        hub.fetch_repo_files(REPO, [FileRecord(NAME, "0" * 64, 1)], hub_dir=tmp_path / "nope")


def test_cache_folder_that_is_a_file(tmp_path: Path, hub_env: Path):
    (tmp_path / "cache").write_text("x")
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            f"The huggingface_hub cache {tmp_path / 'cache'} is a file, not a folder. Point "
            f"cache_dir=PATH or HF_HUB_CACHE=PATH at a folder. Received: cache_dir="
            f"{str(tmp_path / 'cache')!r}"
        ),
    ):
        hub.download_file(REPO, FileRecord(NAME, "0" * 64, 1), cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("function", "option"),
    [
        (hub.mirror_dir, "hub_dir"),
        (hub.hub_cache_dir, "cache_dir"),
        (hub.keras_cache_dir, "cache_dir"),
    ],
)
def test_path_settings_of_the_wrong_type(function, option: str):
    with pytest.raises(
        InvalidTypeError, match=rf"^{option} must be the path of .* or None\. Received: {option}=7$"
    ):
        function(7)


def _without_write_access(script: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs a Python script that cannot write where the permission bits say it cannot.

    root ignores permission bits, so as root the script runs without CAP_DAC_OVERRIDE.
    """
    command = [sys.executable, "-c", textwrap.dedent(script)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("as root, a read-only folder needs setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=str(ROOT))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_read_only_cache_says_to_use_another(
    tmp_path: Path, hub_server: HubStandIn, served: FileRecord, hub_env: Path
):
    hub_env.mkdir(parents=True)
    hub_env.chmod(0o555)
    try:
        done = _without_write_access(
            f"""
            from keras_cifar_zoo.weights import hub
            from keras_cifar_zoo.weights.manifest import FileRecord
            try:
                hub.download_file({REPO!r}, FileRecord({NAME!r}, {served.sha256!r}, {served.size}))
            except hub.HubError as exc:
                print(type(exc).__name__, exc)
            """,
            tmp_path,
        )
    finally:
        hub_env.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"HubError Cannot write {REPO}/{NAME}@main into the huggingface_hub cache {hub_env} "
        f"([Errno 13] Permission denied: '{hub_env}/models--zoo-test--tiny'): the folder is "
        "read-only or not yours. Use a writable cache: cache_dir=PATH or HF_HUB_CACHE=PATH. "
        "Received: "
    ), done.stdout


def test_bad_file_in_a_read_only_cache_is_not_said_to_be_removed(
    tmp_path: Path, hub_server: HubStandIn, served: FileRecord
):
    path = hub.download_file(REPO, served)
    blob = Path(os.path.realpath(path))
    blob.write_bytes(b"\0" * served.size)
    folders = (blob.parent, path.parent)
    for folder in folders:
        folder.chmod(0o555)
    try:
        done = _without_write_access(
            f"""
            from keras_cifar_zoo.weights import hub
            from keras_cifar_zoo.weights.manifest import FileRecord
            record = FileRecord({NAME!r}, {served.sha256!r}, {served.size})
            try:
                hub.download_file({REPO!r}, record, local_files_only=True)
            except hub.IntegrityError as exc:
                print(exc)
            """,
            tmp_path,
        )
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert "was removed" not in message, message
    assert (
        f"It could not be removed from the cache ({blob} (Permission denied); {path} "
        "(Permission denied)): delete it yourself, then load again to download a good copy. "
        f"Received: path={str(path)!r}"
    ) in message, message
    assert blob.exists() and path.is_symlink()


def test_unreachable_hub_from_hf_endpoint_names_the_variable(
    hub_env: Path, closed_endpoint: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint)
    with pytest.raises(
        HubError,
        match=re.escape(
            f"{closed_endpoint} (set by HF_ENDPOINT) cannot be reached ([Errno 111] Connection "
            "refused; set HF_HUB_OFFLINE=1 to use only the cache). Check the network, or fix "
            "HF_ENDPOINT (unset, https://huggingface.co is used), or use a local mirror "
            "(hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH). Received: repo_id='zoo-test/tiny', "
            f"filename='model.weights.h5', HF_ENDPOINT={closed_endpoint!r}"
        ),
    ):
        hub.download_file(REPO, FileRecord(NAME, "0" * 64, 1))


@pytest.mark.parametrize("value", ["huggingface.co", "http//127.0.0.1:1", "ftp://example.org"])
def test_malformed_hf_endpoint_is_named_even_for_a_cached_file(
    hub_server: HubStandIn, served: FileRecord, monkeypatch: pytest.MonkeyPatch, value: str
):
    cached = hub.download_file(REPO, served)
    monkeypatch.setenv("HF_ENDPOINT", value)
    message = re.escape(
        f"The Hub URL {value!r} is not an http:// or https:// URL such as "
        "'https://huggingface.co': fix HF_ENDPOINT, or unset it to use https://huggingface.co "
        f"(HF_HUB_OFFLINE=1 uses only the cache). Received: HF_ENDPOINT={value!r}"
    )
    for record in (served, FileRecord("other.weights.h5", served.sha256, served.size)):
        with pytest.raises(InvalidArgumentError, match=f"^{message}$"):
            hub.download_file(REPO, record)
    assert hub.download_file(REPO, served, local_files_only=True) == cached  # offline: no URL


def test_malformed_endpoint_argument_names_the_option(hub_env: Path):
    with pytest.raises(
        InvalidArgumentError,
        match=re.escape(
            ": pass such a URL as endpoint= (HF_HUB_OFFLINE=1 uses only the cache). "
            "Received: endpoint='localhost:8080'"
        ),
    ):
        hub.download_file(REPO, FileRecord(NAME, "0" * 64, 1), endpoint="localhost:8080")
