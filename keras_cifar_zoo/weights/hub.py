"""The one module that touches the network: verified downloads, the local mirror, uploads.

Checkpoint files come from a local hub mirror (``hub_dir=`` or ``KERAS_CIFAR_ZOO_HUB``, laid
out ``<repo_id>/<filename>``; when neither is set, the ``hub/`` folder of the source checkout
the package runs from) or from the Hugging Face Hub through ``huggingface_hub`` and its
cache. Keras Applications files come through ``keras.utils.get_file`` and Keras's cache.
Environment variables (``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``,
``KERAS_HOME``, ``KERAS_CIFAR_ZOO_HUB``) are read when a function runs, not at import.

Every file is hashed after every download and on every cache hit. ``huggingface_hub`` does
not verify content (a corrupted blob of the right size is accepted and cached), so this
module does, and removes a bad file from the cache before raising :class:`IntegrityError`.

A file missing from the cache is only requested once the Hub's host answers a TCP connection:
``huggingface_hub`` retries a refused or unresolvable host for about 23 s before giving up,
which is no use on a machine without network.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import importlib.metadata
import logging
import os
import socket
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.errors import HubError, IntegrityError, InvalidArgumentError, InvalidTypeError

if TYPE_CHECKING:
    from keras_cifar_zoo.weights.manifest import FileRecord

logger = logging.getLogger(__name__)

HUB_ENV = "KERAS_CIFAR_ZOO_HUB"
DEFAULT_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20
_PROBE_TIMEOUT = 5.0
"""Seconds to wait for the Hub's host to accept a connection before calling it unreachable."""


def _received(option: str, value: Any) -> str:
    """``hub_dir='x'``, a path shown as the string it was given."""
    shown = str(value) if isinstance(value, os.PathLike) else value
    return f"{option}={shown!r}"


@functools.cache
def _library_version() -> str:
    """The installed distribution's version, for huggingface_hub's user agent."""
    try:
        return importlib.metadata.version("keras-cifar-zoo")
    except importlib.metadata.PackageNotFoundError:  # a checkout put on sys.path by hand
        return "unknown"


# ---------------------------------------------------------------------------------------------
# Settings, read at call time


def check_path_option(value: Any, option: str, what: str) -> None:
    """Refuses a path option that is neither None, a ``str`` nor an ``os.PathLike``.

    Raises:
        InvalidTypeError: For any other type (``hub_dir=123``, bytes).
    """
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise InvalidTypeError(
            f"{option} must be the path of {what} (a str or os.PathLike), or None. "
            f"Received: {option}={value!r}"
        )


def offline_mode(local_files_only: bool | None = None) -> bool:
    """True if downloads are off: ``local_files_only=True``, or ``HF_HUB_OFFLINE`` is set."""
    if local_files_only is not None:
        if not isinstance(local_files_only, bool):
            raise InvalidTypeError(
                f"local_files_only must be True, False or None. "
                f"Received: local_files_only={local_files_only!r}"
            )
        return local_files_only
    from huggingface_hub.constants import ENV_VARS_TRUE_VALUES

    # huggingface_hub.constants.HF_HUB_OFFLINE is read once, at import: read it now, its way
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ENV_VARS_TRUE_VALUES


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub URL: ``endpoint``, else ``HF_ENDPOINT``, else ``https://huggingface.co``."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    """The Hub URL and where it was set, so that a message about it names its origin."""

    url: str
    from_env: bool  # set by HF_ENDPOINT, not by the caller

    @classmethod
    def of(cls, endpoint: str | None) -> _Endpoint:
        return cls(hub_endpoint(endpoint), endpoint is None and bool(os.environ.get("HF_ENDPOINT")))

    def shown(self) -> str:
        """``HF_ENDPOINT='…'`` or ``endpoint='…'``, for ``Received:``."""
        return f"HF_ENDPOINT={self.url!r}" if self.from_env else f"endpoint={self.url!r}"

    def named(self) -> str:
        """The URL, saying where it came from if that was ``HF_ENDPOINT``."""
        return f"{self.url} (set by HF_ENDPOINT)" if self.from_env else self.url

    def check(self) -> str:
        """What to check about the endpoint when the Hub cannot be reached."""
        if self.from_env:
            return "check the network, or fix HF_ENDPOINT (unset, https://huggingface.co is used)"
        return "check the network or HF_ENDPOINT"

    def refuse_malformed(self) -> None:
        """Raises InvalidArgumentError unless the URL is http(s)://host."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return
        if self.from_env:
            fix = "fix HF_ENDPOINT, or unset it to use https://huggingface.co"
        else:
            fix = "pass such a URL as endpoint="
        raise InvalidArgumentError(
            f"The Hub URL {self.url!r} is not an http:// or https:// URL such as "
            f"'https://huggingface.co': {fix} (HF_HUB_OFFLINE=1 uses only the cache). "
            f"Received: {self.shown()}"
        )


def _hub_cache(cache_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """The huggingface_hub cache folder and where it was set, for messages."""
    check_path_option(cache_dir, "cache_dir", "a cache folder")
    if cache_dir is not None:
        return Path(cache_dir).expanduser(), _received("cache_dir", cache_dir)
    # huggingface_hub.constants resolves these once, at import; the rules are its own, read now
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser(), f"{var}={os.environ[var]!r}"
    if os.environ.get("HF_HOME"):
        home = os.environ["HF_HOME"]
        return Path(home).expanduser() / "hub", f"HF_HOME={home!r}"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub", "the default cache"


def hub_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The ``huggingface_hub`` cache: ``cache_dir``, ``HF_HUB_CACHE``, ``HF_HOME/hub``, or
    ``~/.cache/huggingface/hub`` (``XDG_CACHE_HOME`` honoured), as huggingface_hub resolves it."""
    return _hub_cache(cache_dir)[0]


def _usable_cache(cache_dir: str | os.PathLike | None) -> Path:
    """:func:`hub_cache_dir`, refusing a path that exists but is not a folder."""
    cache, origin = _hub_cache(cache_dir)
    if cache.exists() and not cache.is_dir():
        raise InvalidArgumentError(
            f"The huggingface_hub cache {cache} is a file, not a folder. Point "
            f"cache_dir=PATH or HF_HUB_CACHE=PATH at a folder. Received: {origin}"
        )
    return cache


def keras_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Keras's cache: ``cache_dir``, else ``KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras``
    when the home folder is read-only), as ``keras.utils.get_file`` resolves it.

    Raises:
        InvalidArgumentError: If the folder named is a file.
    """
    check_path_option(cache_dir, "cache_dir", "a cache folder")
    if cache_dir is not None:
        base, origin = Path(cache_dir).expanduser(), _received("cache_dir", cache_dir)
    elif os.environ.get("KERAS_HOME"):
        base = Path(os.environ["KERAS_HOME"]).expanduser()
        origin = f"KERAS_HOME={os.environ['KERAS_HOME']!r}"
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
        origin = "the default cache"
    if base.exists() and not base.is_dir():
        raise InvalidArgumentError(
            f"The Keras cache {base} is a file, not a folder. Point "
            f"cache_dir=PATH or KERAS_HOME=PATH at a folder. Received: {origin}"
        )
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"  # get_file falls back the same way
    return base


CHECKOUT = "checkout"
"""The origin of a source checkout's own ``hub/`` mirror (beside ``hub_dir`` and
``KERAS_CIFAR_ZOO_HUB``)."""


def checkout_root(package_dir: str | os.PathLike | None = None) -> Path | None:
    """The source checkout the package runs from, or None when it runs from a wheel.

    A checkout (a clone on ``sys.path``, an editable install) keeps the published repositories
    in ``hub/`` beside ``weights_manifest.json``, in the folder above the package; an installed
    wheel has neither there, and downloads from the Hub.

    Args:
        package_dir: The package folder to look above; default: this package's.
    """
    package = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parents[1]
    root = package.parent
    if (root / "hub").is_dir() and (root / "weights_manifest.json").is_file():
        return root
    return None


@dataclasses.dataclass(frozen=True)
class Mirror:
    """A local hub mirror and where it was set.

    Attributes:
        folder: The folder holding ``<repo_id>/<file>``.
        origin: ``"hub_dir"``, ``"KERAS_CIFAR_ZOO_HUB"`` or :data:`CHECKOUT`.
    """

    folder: Path
    origin: str

    def label(self) -> str:
        """``the checkout's hub/ mirror /repo/hub``, or ``the hub mirror /x``."""
        if self.origin == CHECKOUT:
            return f"the checkout's hub/ mirror {self.folder}"
        return f"the hub mirror {self.folder}"


def find_mirror(
    hub_dir: str | os.PathLike | None = None, *, checkout: bool = False
) -> Mirror | None:
    """The local hub mirror to use: ``hub_dir``, else ``KERAS_CIFAR_ZOO_HUB``, else (with
    ``checkout``) the ``hub/`` of the source checkout the package runs from, else None.

    An empty ``hub_dir`` or ``KERAS_CIFAR_ZOO_HUB`` means no mirror at all, the checkout's
    included: the files then come from the Hub.

    Args:
        hub_dir: A mirror folder.
        checkout: Whether the checkout's ``hub/`` may serve; the caller says so when it reads
            the checkout's own manifest, which that folder was written with.

    Raises:
        InvalidTypeError: If ``hub_dir`` is not a path.
        InvalidArgumentError: If the folder named does not exist or is a file.
    """
    check_path_option(hub_dir, "hub_dir", "a local hub mirror folder")
    if hub_dir is not None:
        origin, value = "hub_dir", hub_dir
    elif HUB_ENV in os.environ:
        origin, value = HUB_ENV, os.environ[HUB_ENV]
    else:
        root = checkout_root() if checkout else None
        return None if root is None else Mirror(root / "hub", CHECKOUT)
    if not value:
        return None
    folder = Path(value).expanduser()
    if folder.is_dir():
        return Mirror(folder, origin)
    state = "is a file, not a folder" if folder.exists() else "does not exist"
    if origin == HUB_ENV:
        fix = f"point {HUB_ENV} at such a folder, or unset it to use the Hugging Face Hub"
        shown = f"{HUB_ENV}={str(value)!r}"
    else:
        fix = "pass such a folder, or leave out hub_dir= to use the Hugging Face Hub"
        shown = _received("hub_dir", value)
    raise InvalidArgumentError(
        f"The hub mirror folder {folder} {state}; a mirror holds <repo_id>/<file> folders as "
        f"written by `keras-cifar-zoo publish`: {fix}. Received: {shown}"
    )


def mirror_dir(hub_dir: str | os.PathLike | None = None, *, checkout: bool = False) -> Path | None:
    """The folder of :func:`find_mirror`, or None.

    Raises:
        InvalidTypeError: If ``hub_dir`` is not a path.
        InvalidArgumentError: If the folder does not exist or is a file.
    """
    found = find_mirror(hub_dir, checkout=checkout)
    return None if found is None else found.folder


# ---------------------------------------------------------------------------------------------
# Hashing


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_cached(path: Path, blobs: Path | None) -> tuple[list[str], Path | None]:
    """Removes a bad file from a cache: the cache's own entries, never a path outside it.

    ``path`` itself goes (a snapshot link, or a plain file); the file a link points to goes
    too only if it is a blob of this cache, lying directly in ``blobs``. A link pointing
    anywhere else (a user's own file, linked into the cache by hand) loses only the link.

    Returns:
        What could not be removed (path and reason), empty if everything was; and the target
        of a link that was left alone because it lies outside the cache's blobs.
    """
    entries = [path]
    outside = None
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if blobs is not None and target.parent == Path(os.path.realpath(blobs)):
            entries.insert(0, target)
        else:
            outside = target
    failed = []
    for p in entries:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # read-only cache: the integrity error still surfaces
            logger.warning("Could not remove %s from the cache: %s", p, exc)
            failed.append(f"{p} ({exc.strerror or exc})")
    return failed, outside


def _verify(
    path: Path,
    expected: str,
    *,
    label: str,
    algorithm: str,
    in_cache: bool,
    blobs: Path | None = None,
    size: int | None = None,
) -> None:
    """Raises :class:`IntegrityError` if ``path`` fails its hash, first removing it from the
    cache when ``in_cache`` (``blobs``: the cache's blobs folder, for a snapshot link). With the
    recorded ``size``, a file of another size fails at once, unhashed (a large wrong file would
    otherwise hash for seconds)."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        actual = f"a file of {actual_size:,} bytes where {size:,} are recorded (not hashed)"
    else:
        actual = file_hash(path, algorithm)
        if actual == expected:
            return
    if not in_cache:
        action = "The file is not in a cache, so it was left in place; replace it."
    else:
        failed, outside = _remove_cached(path, blobs)
        if failed:
            action = (
                f"It could not be removed from the cache ({'; '.join(failed)}): delete it "
                "yourself, then load again to download a good copy."
            )
        else:
            action = "The bad file was removed from the cache; the next load downloads it again."
        if outside is not None:
            action += (
                f" The cache entry was a link to {outside}, outside the cache, which was left "
                "in place."
            )
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


def _unreachable(url: str) -> OSError | None:
    """Why the host of ``url`` refuses a TCP connection, or None if it accepts one.

    None as well when a proxy serves the URL: the proxy, not the host, has to answer then.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return None
    proxies = urllib.request.getproxies()
    if (proxies.get(parts.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(
        parts.hostname
    ):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=_PROBE_TIMEOUT):
            return None
    except OSError as exc:
        return exc


def _not_writable(exc: BaseException) -> OSError | None:
    """The permission or read-only-filesystem error behind ``exc``, if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and (
            isinstance(seen, PermissionError) or seen.errno in (errno.EROFS, errno.EACCES)
        ):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclasses.dataclass(frozen=True)
class _Gap:
    """A hub mirror that lacks a file, so the file was looked for on the Hub instead."""

    folder: Path
    origin: str
    missing: str

    def lacks(self) -> str:
        where = "The checkout's hub/ mirror" if self.origin == CHECKOUT else "The hub mirror"
        return f"{where} at {self.folder} lacks {self.missing}"

    def update(self) -> str:
        repo = self.missing.rsplit("/", 1)[0]
        if self.origin == CHECKOUT:
            return f"restore {repo}/ in the checkout (git restore hub/)"
        return (
            f"update the mirror (copy {repo}/ into it from a hub/ folder written by "
            "`keras-cifar-zoo publish`)"
        )

    def drop(self) -> str:
        if self.origin == HUB_ENV:
            return f"unset {HUB_ENV}"
        if self.origin == CHECKOUT:
            return f"set {HUB_ENV} to an empty string (no mirror)"
        return "leave out hub_dir="


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


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
            cached, a cache that cannot be written). A missing file fails at once when the
            Hub's host cannot be reached, instead of after huggingface_hub's retries.
        IntegrityError: If its sha256 differs from ``file.sha256`` (the bad file is removed).
        InvalidArgumentError: If the cache folder named is a file.
    """
    return _download(
        repo_id,
        file,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        endpoint=endpoint,
        token=token,
        gap=None,
    )


def _download(
    repo_id: str,
    file: FileRecord,
    *,
    revision: str,
    cache_dir: str | os.PathLike | None,
    local_files_only: bool | None,
    endpoint: str | None,
    token: str | bool | None,
    gap: _Gap | None,
) -> Path:
    import huggingface_hub
    from huggingface_hub import errors as hf_errors
    from huggingface_hub.file_download import repo_folder_name

    offline = offline_mode(local_files_only)
    hub_url = _Endpoint.of(endpoint)
    url = hub_url.url
    cache = _usable_cache(cache_dir)
    label = f"{repo_id}/{file.name}@{revision}"
    received_ = f"Received: repo_id={repo_id!r}, filename={file.name!r}, {hub_url.shown()}"
    off = "local_files_only=True or HF_HUB_OFFLINE=1"
    mirror = f"use a local mirror (hub_dir=PATH or {HUB_ENV}=PATH)"
    gap_note = f" {gap.lacks()}: {gap.update()} or {gap.drop()}." if gap else ""

    def failed(reason: str) -> HubError:
        if gap is not None:
            return HubError(
                f"{gap.lacks()}, and downloading it failed: {reason}. {_sentence(gap.update())}, "
                f"or {hub_url.check()}. {received_}"
            )
        return HubError(
            f"Could not download {label} and it is not in the cache ({cache}): {reason}. "
            f"{_sentence(hub_url.check())}, or {mirror}. {received_}"
        )

    if not offline:
        hub_url.refuse_malformed()  # huggingface_hub fails on it even for a cached file
        cached = huggingface_hub.try_to_load_from_cache(
            repo_id, file.name, cache_dir=str(cache), revision=revision
        )
        if not isinstance(cached, str) and (why := _unreachable(url)) is not None:
            raise failed(
                f"{hub_url.named()} cannot be reached ({_one_line(why)}; set HF_HUB_OFFLINE=1 "
                "to use only the cache)"
            )
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id,
            file.name,
            revision=revision,
            cache_dir=str(cache),
            local_files_only=offline,
            endpoint=url,
            token=token,
            library_name="keras-cifar-zoo",
            library_version=_library_version(),
        )
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled) as exc:
        if not offline:
            raise failed(_one_line(exc)) from exc
        if gap is not None:
            message = (
                f"{gap.lacks()}, and it is not in the cache ({cache}) either while downloads "
                f"are off ({off}). {_sentence(gap.update())}, or {gap.drop()} and download "
                "it once with network access (`keras-cifar-zoo download MODEL`)."
            )
        else:
            message = (
                f"{label} is not in the cache ({cache}) and downloads are off ({off}). "
                "Download it once with network access (`keras-cifar-zoo download MODEL`), "
                f"or {mirror}."
            )
        raise HubError(f"{message} {received_}") from exc
    except hf_errors.RepositoryNotFoundError as exc:
        raise HubError(
            f"The repository {repo_id} does not exist at {hub_url.named()} (or is private). "
            f"Check repo_id in the weights manifest and HF_ENDPOINT.{gap_note} {received_}"
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise HubError(
            f"The revision {revision!r} of {repo_id} does not exist at {hub_url.named()}."
            f"{gap_note} {received_}"
        ) from exc
    except hf_errors.EntryNotFoundError as exc:
        raise HubError(
            f"{repo_id} at {hub_url.named()} has no file {file.name!r} at revision {revision!r}."
            f"{gap_note} {received_}"
        ) from exc
    except (OSError, hf_errors.RevisionResolutionError, *_http_errors()) as exc:
        if (denied := _not_writable(exc)) is not None:
            raise HubError(
                f"Cannot write {label} into the huggingface_hub cache {cache} "
                f"({_one_line(denied)}): the folder is read-only or not yours. Use a writable "
                f"cache: cache_dir=PATH or HF_HUB_CACHE=PATH. {received_}"
            ) from exc
        raise HubError(
            f"Downloading {label} failed: {_one_line(exc)}.{gap_note} {received_}"
        ) from exc
    path = Path(path)
    blobs = cache / repo_folder_name(repo_id=repo_id, repo_type="model") / "blobs"
    _verify(
        path,
        file.sha256,
        label=label,
        algorithm="sha256",
        in_cache=True,
        blobs=blobs,
        size=file.size,
    )
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
    checkout: bool = False,
) -> Path:
    """Fetches and verifies all files of a checkpoint; returns the folder holding them.

    A local mirror (see :func:`find_mirror`: ``hub_dir``, ``KERAS_CIFAR_ZOO_HUB``, or with
    ``checkout`` the source checkout's ``hub/``) holding ``<repo_id>/`` is used as it is, with
    no network and no cache; otherwise each file goes through :func:`download_file`. If the
    mirror lacks a file and the Hub cannot provide it either, the error says which file the
    mirror lacks.

    Raises:
        HubError: If a file cannot be fetched.
        IntegrityError: If a file's sha256 differs from the manifest's.
        InvalidArgumentError: If the mirror folder does not exist or is a file.
    """
    if not files:
        raise InvalidArgumentError(f"No files to fetch. Received: repo_id={repo_id!r}, files=[]")
    mirror = find_mirror(hub_dir, checkout=checkout)
    gap = None
    if mirror is not None:
        folder = mirror.folder / repo_id
        missing = [f.name for f in files if not (folder / f.name).is_file()]
        if not missing:
            for f in files:
                _verify(
                    folder / f.name,
                    f.sha256,
                    label=f"{repo_id}/{f.name} in {mirror.label()}",
                    algorithm="sha256",
                    in_cache=False,
                    size=f.size,
                )
            logger.info("Using %s from %s", repo_id, mirror.label())
            return folder
        shown = missing[0] if len(missing) == 1 else "{" + ", ".join(missing) + "}"
        gap = _Gap(mirror.folder, mirror.origin, f"{repo_id}/{shown}")
        logger.info("%s; trying the Hub.", gap.lacks())
    paths = [
        _download(
            repo_id,
            f,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            endpoint=endpoint,
            token=token,
            gap=gap,
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


def is_in_cache(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> bool:
    """True if ``path`` lies inside the ``huggingface_hub`` cache (see :func:`hub_cache_dir`)."""
    cache = os.path.realpath(hub_cache_dir(cache_dir))
    return Path(os.path.realpath(path)).is_relative_to(cache)


def fetch_repo_records(
    repo_id: str,
    names: Sequence[str],
    folder: Path,
    *,
    revision: str = "main",
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> dict[str, Path]:
    """Fetches small files a repository keeps beside its weights, for cross-checks.

    ``folder`` is what :func:`fetch_repo_files` returned (a mirror folder or a cache snapshot).
    A file already in it is used as it is; one missing from a snapshot is downloaded into it,
    unless downloads are off, the Hub cannot be reached, or the cache remembers the repository
    lacks it. These files are not in the manifest, so they have no hash to check: a file that
    cannot be had is left out, and never makes a load fail.

    Returns:
        File name -> its path in ``folder``, for the files found.
    """
    found = {name: folder / name for name in names if (folder / name).is_file()}
    wanted = [name for name in names if name not in found]
    if not wanted or not is_in_cache(folder, cache_dir):  # a mirror is used as it is
        return found
    cache = hub_cache_dir(cache_dir)
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    offline = offline_mode(local_files_only)
    url = hub_endpoint(endpoint)
    reachable: bool | None = None
    for name in wanted:
        cached = huggingface_hub.try_to_load_from_cache(
            repo_id, name, cache_dir=str(cache), revision=revision
        )
        if isinstance(cached, str):
            path = Path(cached)
        elif cached is not None or offline:  # known to be absent, or no downloads
            continue
        else:
            if reachable is None:
                reachable = _unreachable(url) is None
            if not reachable:
                continue
            try:
                path = Path(
                    huggingface_hub.hf_hub_download(
                        repo_id,
                        name,
                        revision=revision,
                        cache_dir=str(cache),
                        endpoint=url,
                        token=token,
                        library_name="keras-cifar-zoo",
                        library_version=_library_version(),
                    )
                )
            except (
                OSError,
                ValueError,
                hf_errors.EntryNotFoundError,
                hf_errors.RevisionResolutionError,
                *_http_errors(),
            ) as exc:
                logger.debug("%s/%s not fetched: %s", repo_id, name, _one_line(exc))
                continue
        if path.parent == folder:  # the same revision as the weights
            found[name] = path
    return found


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
    local = "imagenet_weights=PATH or KERAS_CIFAR_ZOO_IMAGENET=PATH"
    if offline_mode(local_files_only):
        raise HubError(
            f"{fname} is not in the Keras cache ({target.parent}) and downloads are off "
            f"(local_files_only=True or HF_HUB_OFFLINE=1). Download it once with network "
            "access (load_model(MODEL, weights='imagenet') downloads it), or use a local "
            f"copy ({local}). Received: origin={origin!r}"
        )
    import keras

    try:  # get_file silently switches to /tmp/.keras when the folder does not exist yet
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HubError(
            f"Cannot create the Keras cache folder {target.parent}: {exc}. Point "
            "cache_dir=PATH or KERAS_HOME=PATH at a writable folder. "
            f"Received: {_received('cache_dir', cache_dir)}"
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
            f"Downloading {fname} failed: {_one_line(exc)}. Check the network, or use a local "
            f"copy ({local}). Received: origin={origin!r}"
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
