"""A local stand-in for the Hugging Face Hub, served over real HTTP on 127.0.0.1.

It answers ``hf_hub_download`` the way the Hub does, with the minimal routes and headers
huggingface_hub's ``file_download.py`` reads: ``HEAD``/``GET /{owner}/{name}/resolve/{rev}/
{path}`` with ``ETag``, ``X-Repo-Commit`` and ``Content-Length``; a 404 carries
``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``). For
``snapshot_download`` (what ``keras.saving.load_model("hf://...")`` calls) it also answers the
two API routes that read a repository: ``GET /api/models/{owner}/{name}/revision/{rev}`` (its
commit and files) and ``GET /api/models/{owner}/{name}/tree/{rev}`` (the file listing). It
serves a folder laid out ``<owner>/<name>/<file>``, the layout ``publish`` writes under
``hub/``.

Faults for tests: ``truncate`` (announce the full length, send half, close, every time),
``truncate_once`` (only the first GET; the client then resumes), ``tamper``
(same length, one byte changed), a delay per GET, and holding GETs back until several clients
have asked, so that concurrent downloads really overlap.

Test modules import the fixtures directly: ``from helpers.hub_stand_in import hub_env, hub_server``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV_TO_CLEAR = (
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "HF_TOKEN",
    "KERAS_CIFAR_ZOO_HUB",
    "KERAS_CIFAR_ZOO_IMAGENET",
    "KERAS_CIFAR_ZOO_MANIFEST",
)


def repo_commit(repo_id: str) -> str:
    """The 40-hex commit the stand-in reports for a repository."""
    return hashlib.sha1(repo_id.encode()).hexdigest()


class HubStandIn:
    """Serves ``root`` like the Hub; records every request.

    Attributes:
        root: Folder holding ``<owner>/<name>/<file>``.
        requests: ``(method, path)`` of every request, in arrival order.
        faults: File name -> ``"truncate"``, ``"truncate_once"`` or ``"tamper"``.
        get_delay: Seconds to wait before answering each GET.
        hold_gets_until: Hold every GET until this many HEADs arrived (at most 20 s).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []
        self.faults: dict[str, str] = {}
        self.get_delay = 0.0
        self.hold_gets_until = 0
        self._cond = threading.Condition()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, method: str, filename: str | None = None) -> int:
        """Number of ``method`` requests (for ``filename`` if given) so far."""
        return sum(
            1
            for m, p in self.requests
            if m == method and (filename is None or p.endswith("/" + filename))
        )

    def start(self) -> HubStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, method: str, path: str) -> None:
        with self._cond:
            self.requests.append((method, path))
            self._cond.notify_all()

    def _wait_for_heads(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.count("HEAD") >= self.hold_gets_until, timeout=20)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self._answer(send_body=False)

            def do_GET(self) -> None:
                self._answer(send_body=True)

            def _error(self, code: str) -> None:
                self.send_response(404)
                if code:
                    self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _api(self, parts: list[str], send_body: bool) -> None:
                owner, name, route, revision = parts[:4]
                repo_id = f"{owner}/{name}"
                folder = stand_in.root / owner / name
                if not folder.is_dir() or route not in ("revision", "tree"):
                    self._error("RepoNotFound")
                    return
                if revision not in ("main", repo_commit(repo_id)):
                    self._error("RevisionNotFound")
                    return
                files = sorted(
                    p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                )
                names = [p.relative_to(folder).as_posix() for p in files]
                if route == "revision":
                    record: object = {
                        "id": repo_id,
                        "sha": repo_commit(repo_id),
                        "siblings": [{"rfilename": n} for n in names],
                    }
                else:
                    record = [
                        {
                            "type": "file",
                            "path": n,
                            "size": p.stat().st_size,
                            "oid": hashlib.sha1(p.read_bytes()).hexdigest(),
                        }
                        for n, p in zip(names, files, strict=True)
                    ]
                body = json.dumps(record).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

            def _answer(self, send_body: bool) -> None:
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                stand_in._record(self.command, path)
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 6:
                    self._api(parts[2:], send_body)
                    return
                if len(parts) < 5 or parts[2] != "resolve":
                    self._error("")  # telemetry and API calls: not served
                    return
                owner, name, _, revision = parts[:4]
                filename = "/".join(parts[4:])
                repo_id = f"{owner}/{name}"
                folder = stand_in.root / owner / name
                if not folder.is_dir():
                    self._error("RepoNotFound")
                    return
                if revision not in ("main", repo_commit(repo_id)):
                    self._error("RevisionNotFound")
                    return
                file = folder / filename
                if not file.is_file():
                    self._error("EntryNotFound")
                    return
                body = file.read_bytes()
                etag = hashlib.sha256(body).hexdigest()
                fault = stand_in.faults.get(filename)
                if fault == "truncate_once" and send_body:
                    stand_in.faults[filename] = ""
                    fault = "truncate"
                if fault == "tamper":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Repo-Commit", repo_commit(repo_id))
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                if send_body and fault == "truncate":
                    self.send_header("Connection", "close")
                self.end_headers()
                if not send_body:
                    return
                if stand_in.hold_gets_until:
                    stand_in._wait_for_heads()
                if stand_in.get_delay:
                    time.sleep(stand_in.get_delay)
                if fault == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: fresh huggingface_hub and Keras caches, no mirror, online.

    Returns:
        The huggingface_hub cache folder of this test.
    """
    for var in ENV_TO_CLEAR:
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return cache


@pytest.fixture
def hub_server(
    tmp_path: Path, hub_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HubStandIn]:
    """A running stand-in serving ``tmp_path/served``; ``HF_ENDPOINT`` points at it."""
    root = tmp_path / "served"
    root.mkdir()
    server = HubStandIn(root).start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    try:
        yield server
    finally:
        server.stop()


def add_file(server_root: Path, repo_id: str, name: str, content: bytes) -> tuple[str, int]:
    """Writes a file into a served repository; returns its (sha256, size)."""
    folder = server_root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return hashlib.sha256(content).hexdigest(), len(content)


def cached_files(cache: Path) -> list[Path]:
    """Every regular file and link under a huggingface_hub cache, except lock files."""
    if not cache.exists():
        return []
    return sorted(
        p for p in cache.rglob("*") if (p.is_file() or p.is_symlink()) and ".locks" not in p.parts
    )


def blob_files(cache: Path) -> list[Path]:
    """The blobs (downloaded contents) of a huggingface_hub cache."""
    return [p for p in cached_files(cache) if p.parent.name == "blobs"]


os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
