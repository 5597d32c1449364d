"""The one module that touches the network: verified downloads, the local mirror, uploads.

Checkpoint files come from a local hub mirror (``hub_dir=`` or ``KERAS_CIFAR_ZOO_HUB``, laid
out ``<repo_id>/<filename>``) or from the Hugging Face Hub through ``huggingface_hub`` and its
cache. Keras Applications files come through ``keras.utils.get_file`` and Keras's cache.
Environment variables (``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``,
``KERAS_HOME``, ``KERAS_CIFAR_ZOO_HUB``) are read when a function runs, not at import.

Every file is hashed after every download and on every cache hit. ``huggingface_hub`` does
not verify content (a corrupted blob of the right size is accepted and cached), so this
module does, and removes a bad file from the cache before raising :class:`IntegrityError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keras_cifar_zoo.errors import HubError, IntegrityError, InvalidArgumentError
from keras_cifar_zoo.weights.manifest import FileRecord

logger = logging.getLogger(__name__)

HUB_ENV = "KERAS_CIFAR_ZOO_HUB"
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}
_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------------
# Settings, read at call time


def offline_mode(local_files_only: bool | None = None) -> bool:
    """True if downloads are off: ``local_files_only=True``, or ``HF_HUB_OFFLINE`` is set."""
    if local_files_only is not None:
        if not isinstance(local_files_only, bool):
            raise InvalidArgumentError(
                f"local_files_only must be True, False or None. "
                f"Received: local_files_only={local_files_only!r}"
            )
        return local_files_only
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub URL: ``endpoint``, else ``HF_ENDPOINT``, else ``https://huggingface.co``."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The ``huggingface_hub`` cache: ``cache_dir``, ``HF_HUB_CACHE``, ``HF_HOME/hub``, or
    ``~/.cache/huggingface/hub`` (``XDG_CACHE_HOME`` honoured), as huggingface_hub resolves it."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def keras_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Keras's cache: ``cache_dir``, else ``KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras``
    when the home folder is read-only), as ``keras.utils.get_file`` resolves it."""
    if cache_dir is not None:
        base = Path(cache_dir).expanduser()
    elif os.environ.get("KERAS_HOME"):
        base = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"  # get_file falls back the same way
    return base


def mirror_dir(hub_dir: str | os.PathLike | None = None) -> Path | None:
    """The local hub mirror: ``hub_dir``, else ``KERAS_CIFAR_ZOO_HUB``, else None.

    Raises:
        InvalidArgumentError: If the folder does not exist.
    """
    origin, value = (
        ("hub_dir", hub_dir) if hub_dir is not None else (HUB_ENV, os.environ.get(HUB_ENV))
    )
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise InvalidArgumentError(
            f"The hub mirror folder {folder} does not exist; it must hold <repo_id>/<file> "
            f"folders as written by `keras-cifar-zoo publish`. Received: {origin}={str(value)!r}"
        )
    return folder


# ---------------------------------------------------------------------------------------------
# Hashing


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_cached(path: Path) -> None:
    """Removes a cached file: the snapshot link and the blob it points to."""
    real = Path(os.path.realpath(path))
    for p in (real, path):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # leave a note; the integrity error still surfaces
            logger.warning("Could not remove %s from the cache: %s", p, exc)


def _verify(path: Path, expected: str, *, label: str, algorithm: str, in_cache: bool) -> None:
    actual = file_hash(path, algorithm)
    if actual == expected:
        return
    if in_cache:
        _remove_cached(path)
        action = "The bad file was removed from the cache; the next load downloads it again."
    else:
        action = "The file is not in a cache, so it was left in place; replace it."
    raise IntegrityError(
        f"Integrity check failed for {label}: expected {algorithm} {expected}, got {actual}. "
        f"{action} Received: path={str(path)!r}"
    )


# ---------------------------------------------------------------------------------------------
# Checkpoint files (local mirror or Hugging Face Hub)


def _http_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            errors.append(__import__(module).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def download_file(
    repo_id: str,
    file: FileRecord,
    *,
    revision: str = "main",
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> Path:
    """Fetches one file through ``huggingface_hub`` and checks its sha256.

    Args:
        repo_id: Hub repository, ``"owner/name"``.
        file: Name, sha256 and size of the file.
        revision: Branch or commit.
        cache_dir: The ``huggingface_hub`` cache (see :func:`hub_cache_dir`).
        local_files_only: Never touch the network; default: ``HF_HUB_OFFLINE``.
        endpoint: Hub URL (see :func:`hub_endpoint`).
        token: Hub token, or None for huggingface_hub's default.

    Returns:
        The file's path inside the cache (a snapshot link).

    Raises:
        HubError: If the file cannot be fetched (network, missing file, offline and not
            cached).
        IntegrityError: If its sha256 differs from ``file.sha256`` (the bad file is removed).
    """
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    from keras_cifar_zoo import __version__

    offline = offline_mode(local_files_only)
    url = hub_endpoint(endpoint)
    label = f"{repo_id}/{file.name}@{revision}"
    received = f"Received: repo_id={repo_id!r}, filename={file.name!r}, endpoint={url!r}"
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id,
            file.name,
            revision=revision,
            cache_dir=str(hub_cache_dir(cache_dir)),
            local_files_only=offline,
            endpoint=url,
            token=token,
            library_name="keras-cifar-zoo",
            library_version=__version__,
        )
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled) as exc:
        if offline:
            message = (
                f"{label} is not in the cache ({hub_cache_dir(cache_dir)}) and downloads are "
                "off (local_files_only=True or HF_HUB_OFFLINE=1). Download it once with network "
                "access (`keras-cifar-zoo download MODEL`), or pass hub_dir= a local mirror."
            )
        else:
            message = (
                f"Could not download {label} and it is not in the cache: {_one_line(exc)}. "
                "Check the network or HF_ENDPOINT, or pass hub_dir= a local mirror."
            )
        raise HubError(f"{message} {received}") from exc
    except hf_errors.RepositoryNotFoundError as exc:
        raise HubError(
            f"The repository {repo_id} does not exist at {url} (or is private). "
            f"Check repo_id in the weights manifest and HF_ENDPOINT. {received}"
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise HubError(
            f"The revision {revision!r} of {repo_id} does not exist at {url}. {received}"
        ) from exc
    except hf_errors.EntryNotFoundError as exc:
        raise HubError(
            f"{repo_id} at {url} has no file {file.name!r} at revision {revision!r}. {received}"
        ) from exc
    except (OSError, hf_errors.RevisionResolutionError, *_http_errors()) as exc:
        raise HubError(f"Downloading {label} failed: {_one_line(exc)}. {received}") from exc
    path = Path(path)
    _verify(path, file.sha256, label=label, algorithm="sha256", in_cache=True)
    return path


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def fetch_repo_files(
    repo_id: str,
    files: Sequence[FileRecord],
    *,
    revision: str = "main",
    hub_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> Path:
    """Fetches and verifies all files of a checkpoint; returns the folder holding them.

    A local mirror (``hub_dir`` or ``KERAS_CIFAR_ZOO_HUB``) holding ``<repo_id>/`` is used as it
    is, with no network and no cache; otherwise each file goes through :func:`download_file`.

    Raises:
        HubError: If a file cannot be fetched.
        IntegrityError: If a file's sha256 differs from the manifest's.
    """
    if not files:
        raise InvalidArgumentError(f"No files to fetch. Received: repo_id={repo_id!r}, files=[]")
    mirror = mirror_dir(hub_dir)
    if mirror is not None:
        folder = mirror / repo_id
        if all((folder / f.name).is_file() for f in files):
            for f in files:
                _verify(
                    folder / f.name,
                    f.sha256,
                    label=f"{repo_id}/{f.name} in the hub mirror {mirror}",
                    algorithm="sha256",
                    in_cache=False,
                )
            logger.info("Using %s from the hub mirror %s", repo_id, mirror)
            return folder
        logger.info("The hub mirror %s lacks %s; trying the Hub.", mirror, repo_id)
    paths = [
        download_file(
            repo_id,
            f,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            endpoint=endpoint,
            token=token,
        )
        for f in files
    ]
    folders = {p.parent for p in paths}
    if len(folders) != 1:  # the revision moved between two files: shards would not match
        raise HubError(
            f"The files of {repo_id} came from different revisions ({sorted(map(str, folders))}); "
            f"pin the manifest's revision to a commit. Received: revision={revision!r}"
        )
    return folders.pop()


# ---------------------------------------------------------------------------------------------
# Keras Applications files


def fetch_keras_file(
    fname: str,
    origin: str,
    expected_hash: str,
    *,
    cache_subdir: str = "models",
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
) -> Path:
    """Returns a Keras Applications file from Keras's cache, downloading it if needed.

    Uses ``keras.utils.get_file`` with the same file name, cache folder and hash as
    ``keras.applications``, so a file Keras already cached is reused (hash-checked) and never
    downloaded twice.

    Args:
        fname: File name in the cache.
        origin: URL to download from.
        expected_hash: md5 (32 hex digits) or sha256 (64) of the file.
        cache_subdir: Folder under the Keras cache.
        cache_dir: The Keras cache (see :func:`keras_cache_dir`).
        local_files_only: Never download; default: ``HF_HUB_OFFLINE``.

    Raises:
        HubError: If the file is missing and cannot be downloaded.
        IntegrityError: If the cached or downloaded file fails its hash (it is removed).
    """
    algorithm = "md5" if len(expected_hash) == 32 else "sha256"
    base = keras_cache_dir(cache_dir)
    target = base / cache_subdir / fname
    if target.is_file():
        _verify(target, expected_hash, label=fname, algorithm=algorithm, in_cache=True)
        return target
    if offline_mode(local_files_only):
        raise HubError(
            f"{fname} is not in the Keras cache ({target.parent}) and downloads are off "
            "(local_files_only=True or HF_HUB_OFFLINE=1). Download it once with network access "
            "(`keras-cifar-zoo download MODEL --imagenet`), or pass imagenet_weights=PATH or "
            f"set KERAS_CIFAR_ZOO_IMAGENET. Received: origin={origin!r}"
        )
    import keras

    try:  # get_file silently switches to /tmp/.keras when the folder does not exist yet
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HubError(
            f"Cannot create the Keras cache folder {target.parent}: {exc}. Set KERAS_HOME or "
            f"pass cache_dir= a writable folder. Received: cache_dir={cache_dir!r}"
        ) from exc
    logger.info("Downloading %s from %s", fname, origin)
    try:
        path = keras.utils.get_file(
            fname,
            origin,
            cache_subdir=cache_subdir,
            file_hash=expected_hash,
            hash_algorithm=algorithm,
            cache_dir=str(base),
        )
    except Exception as exc:  # get_file raises bare Exception / ValueError
        if target.is_file():  # get_file keeps a file that failed its hash
            _verify(target, expected_hash, label=fname, algorithm=algorithm, in_cache=True)
        raise HubError(
            f"Downloading {fname} failed: {_one_line(exc)}. Check the network, or pass "
            f"imagenet_weights=PATH to a local copy. Received: origin={origin!r}"
        ) from exc
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Uploads


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What :func:`push_folder` did (or would do, for a dry run).

    Attributes:
        repo_id: Target repository.
        endpoint: Hub URL.
        revision: Target branch.
        files: Relative paths of the files uploaded.
        dry_run: True if nothing was sent.
        commit: Commit hash of the upload (None for a dry run).
        url: Commit URL (None for a dry run).
    """

    repo_id: str
    endpoint: str
    revision: str
    files: tuple[str, ...]
    dry_run: bool
    commit: str | None = None
    url: str | None = None


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    revision: str = "main",
    commit_message: str | None = None,
    token: str | bool | None = None,
    endpoint: str | None = None,
    private: bool = False,
    dry_run: bool = False,
) -> PushResult:
    """Uploads a repository folder with ``huggingface_hub.HfApi.upload_folder``.

    A thin wrapper: it creates the repository if needed and uploads every file of ``folder``.
    With ``dry_run=True`` it only lists what it would upload.

    Raises:
        InvalidArgumentError: If ``folder`` is not a folder.
        HubError: If the Hub refuses or cannot be reached.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidArgumentError(
            f"Nothing to push: {folder} is not a folder. Received: folder={str(folder)!r}"
        )
    url = hub_endpoint(endpoint)
    files = tuple(
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    )
    if dry_run:
        logger.info(
            "Dry run: would upload %d files of %s to %s/%s", len(files), folder, url, repo_id
        )
        return PushResult(repo_id, url, revision, files, dry_run=True)
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=token)
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
        info: Any = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type="model",
            revision=revision,
            commit_message=commit_message or f"Upload {repo_id} with keras-cifar-zoo",
        )
    except (OSError, ValueError, *_http_errors()) as exc:
        raise HubError(
            f"Pushing {folder} to {url}/{repo_id} failed: {_one_line(exc)}. Check the token "
            f"(HF_TOKEN or `hf auth login`) and the network. Received: repo_id={repo_id!r}"
        ) from exc
    commit = getattr(info, "oid", None)
    logger.info("Pushed %d files to %s/%s (commit %s)", len(files), url, repo_id, commit)
    return PushResult(
        repo_id,
        url,
        revision,
        files,
        dry_run=False,
        commit=commit,
        url=getattr(info, "commit_url", None),
    )
