"""``weights=`` resolved once into a typed source: what to build the model with, and how to load.

:func:`resolve_weights` turns the user's ``weights`` and options into one frozen record,
:class:`CheckpointSource`, :class:`ImageNetSource` or :class:`FileSource`, checking every
option before anything is read. The record carries the preprocessing the model must be built
with and loads itself into the built model; nothing parses ``weights`` a second time.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import keras

from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    ManifestError,
    WeightsNotAvailableError,
    shown,
)
from keras_cifar_zoo.preprocessing import IMAGENET_MEAN_RGB, Preprocessing
from keras_cifar_zoo.registry import get_info, list_models
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.imagenet import load_imagenet_weights, resolve_file
from keras_cifar_zoo.weights.loading import (
    LoadReport,
    check_path,
    config_preprocessing,
    load_checkpoint,
    open_checkpoint,
)
from keras_cifar_zoo.weights.manifest import (
    DATASETS,
    MANIFEST_ENV,
    MANIFEST_FILE,
    CheckpointEntry,
    check_num_classes,
    find_manifest,
    load_manifest,
)

logger = logging.getLogger(__name__)

IMAGENET = "imagenet"
FORMS = (
    "None, 'imagenet', 'cifar10', 'cifar10:<tag>', 'cifar100', 'cifar100:<tag>' or a path to a "
    ".weights.h5, .weights.json or .keras file"
)
CHECKPOINT = "checkpoint"


def _check_path_option(value: Any, option: str, what: str) -> None:
    hub.check_path_option(value, option, what)


@dataclasses.dataclass(frozen=True)
class HubOptions:
    """Where a published checkpoint comes from; every field has an environment default.

    Attributes:
        hub_dir: A local hub mirror folder (default ``KERAS_CIFAR_ZOO_HUB``, else the ``hub/``
            of the source checkout the package runs from, see
            :meth:`CheckpointSource.checkout`). An empty string: no mirror, the Hub.
        cache_dir: huggingface_hub's cache folder.
        local_files_only: Never download (default ``HF_HUB_OFFLINE``).
        endpoint: Hub URL (default ``HF_ENDPOINT``).
        revision: Branch or commit; default: the manifest entry's.
        token: A Hugging Face token, True (the saved login), False or None.
        manifest: A ``weights_manifest.json`` to read instead of the packaged one.
    """

    hub_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    local_files_only: bool | None = None
    endpoint: str | None = None
    revision: str | None = None
    token: str | bool | None = None
    manifest: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        _check_path_option(self.hub_dir, "hub_dir", "a local hub mirror folder")
        _check_path_option(self.cache_dir, "cache_dir", "a cache folder")
        _check_path_option(self.manifest, "manifest", "a weights_manifest.json file")
        hub.offline_mode(self.local_files_only)
        for option in ("endpoint", "revision"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, str) or not value):
                example = "'https://huggingface.co'" if option == "endpoint" else "'main'"
                raise InvalidTypeError(
                    f"{option} must be a non-empty string such as {example}, or None. "
                    f"Received: {option}={value!r}"
                )
        if self.endpoint is not None and not self.endpoint.startswith(("http://", "https://")):
            raise InvalidArgumentError(
                "endpoint must be an http:// or https:// URL such as 'https://huggingface.co'. "
                f"Received: endpoint={self.endpoint!r}"
            )
        if self.token is not None and not isinstance(self.token, (str, bool)):
            raise InvalidTypeError(
                "token must be a Hugging Face token string, True (the saved login), False or "
                f"None. Received: token of type {type(self.token).__name__}"
            )


@dataclasses.dataclass(frozen=True)
class ImageNetOptions:
    """Where the Keras Applications VGG file comes from.

    Attributes:
        imagenet_weights: A local file, or a folder holding the Keras file names (default
            ``KERAS_CIFAR_ZOO_IMAGENET``).
        cache_dir: Keras's cache folder.
        local_files_only: Never download.
    """

    imagenet_weights: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    local_files_only: bool | None = None

    def __post_init__(self) -> None:
        _check_path_option(
            self.imagenet_weights,
            "imagenet_weights",
            "a Keras Applications VGG file or a folder holding one",
        )
        _check_path_option(self.cache_dir, "cache_dir", "a cache folder")
        hub.offline_mode(self.local_files_only)


RECORD_FILES = ("keras_cifar_zoo.json", "config.json")
"""What a published repository records about its weights besides the manifest: the zoo's
record and Keras's model config (absent for sharded weights)."""


def _recorded(name: str, path: Path) -> Preprocessing | None:
    """The preprocessing a repository file records, or None if it records none readably."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if name == "config.json":
            return config_preprocessing(data)
        return Preprocessing.from_config(data["preprocessing"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.debug("No preprocessing read from %s: %s", path, exc)
        return None


def _numbers(prep: Preprocessing) -> str:
    return f"scale={prep.scale!r}, mean={list(prep.mean)}, std={list(prep.std)}"


def check_repo_preprocessing(
    entry: CheckpointEntry,
    records: Mapping[str, Path],
    *,
    manifest: Path | None = None,
    refetch: str = "download the repository again",
) -> None:
    """Refuses a manifest entry whose preprocessing its repository's own files contradict.

    The entry's preprocessing builds the model's input layer; weights fed inputs scaled
    another way load without any error and measure near chance. The repository records it
    twice, written with the weights: ``keras_cifar_zoo.json`` and the ``preprocessing``
    ``Rescaling`` layer of Keras's ``config.json``.

    Args:
        entry: The manifest entry.
        records: File name -> path, as :func:`~keras_cifar_zoo.weights.hub.fetch_repo_records`
            returns them.
        manifest: The manifest file the entry came from, for the message.
        refetch: How to get the repository's files again, for the message.

    Raises:
        ManifestError: Naming both preprocessings and the fix.
    """
    ours = entry.preprocessing
    for name in RECORD_FILES:
        theirs = _recorded(name, records[name]) if name in records else None
        if theirs is None or theirs.computes_like(ours):
            continue
        where = f"The weights manifest {manifest}" if manifest else "The weights manifest"
        raise ManifestError(
            f"{where} says {entry.model} {entry.identifier!r} was trained with preprocessing "
            f"{_short(ours)}, but its repository {entry.repo_id} records {_short(theirs)} in "
            f"{name}: loaded with the manifest's, the weights would see wrongly scaled inputs. "
            "If the repository is right, correct the entry's 'preprocessing' in the manifest "
            f"to {json.dumps(theirs.to_config())}; if the manifest is right, {refetch}. "
            f"Received: manifest {_numbers(ours)}; {name} {_numbers(theirs)}"
        )


def _short(prep: Preprocessing) -> str:
    """``rescale_0_1 (x/255)``: the name and formula, without the description."""
    return str(prep).partition(": ")[0]


@dataclasses.dataclass(frozen=True)
class CheckpointSource:
    """A published checkpoint from the weights manifest."""

    model: str
    entry: CheckpointEntry
    options: HubOptions

    @property
    def preprocessing(self) -> Preprocessing:
        """The preprocessing the checkpoint was trained with."""
        return self.entry.preprocessing

    @property
    def num_classes(self) -> int:
        """The size of the checkpoint's classifier."""
        return self.entry.num_classes

    @property
    def revision(self) -> str:
        return self.options.revision or self.entry.revision

    @property
    def checkout(self) -> bool:
        """Whether the source checkout's ``hub/`` may serve the files.

        True when the package runs from a checkout (``hub/`` and ``weights_manifest.json`` in
        the folder above it) and the entry comes from that checkout's manifest, found by
        default: ``hub/`` was written with that manifest. A manifest named by ``manifest=`` or
        ``KERAS_CIFAR_ZOO_MANIFEST`` lists checkpoints of its own, which come from the Hub.
        """
        if self.options.manifest is not None or os.environ.get(MANIFEST_ENV):
            return False
        root = hub.checkout_root()
        found = find_manifest()
        return (
            root is not None
            and found is not None
            and found.resolve() == (root / MANIFEST_FILE).resolve()
        )

    def mirror(self) -> hub.Mirror | None:
        """The local mirror :meth:`fetch` looks in first (see :func:`hub.find_mirror`)."""
        return hub.find_mirror(self.options.hub_dir, checkout=self.checkout)

    def where(self, folder: Path | None = None) -> str:
        """Where the files come from: the mirror holding them, else the Hub.

        Args:
            folder: What :meth:`fetch` returned; default: where it would look now.
        """
        mirror = self.mirror()
        if mirror is not None:
            inside = mirror.folder / self.entry.repo_id
            holds = all((inside / f.name).is_file() for f in self.entry.files)
            if (folder is None and holds) or (folder is not None and folder == inside):
                return mirror.label()
        return f"{hub.hub_endpoint(self.options.endpoint)} via the huggingface_hub cache"

    def fetch(self) -> Path:
        """Downloads (or finds in the mirror or cache) and verifies the files; their folder.

        Raises:
            ManifestError: If the repository records another preprocessing than the entry
                (see :func:`check_repo_preprocessing`).
        """
        options = {
            "revision": self.revision,
            "cache_dir": self.options.cache_dir,
            "local_files_only": self.options.local_files_only,
            "endpoint": self.options.endpoint,
            "token": self.options.token,
        }
        folder = hub.fetch_repo_files(
            self.entry.repo_id,
            self.entry.files,
            hub_dir=self.options.hub_dir,
            checkout=self.checkout,
            **options,
        )
        records = hub.fetch_repo_records(self.entry.repo_id, RECORD_FILES, folder, **options)
        if hub.is_in_cache(folder, self.options.cache_dir):
            refetch = f"delete {folder} from the huggingface_hub cache and load again"
        elif self.where(folder).startswith("the checkout's"):
            refetch = f"restore {folder} in the checkout (git restore hub/)"
        else:
            refetch = (
                f"update {folder} in the hub mirror from a hub/ folder written by "
                "`keras-cifar-zoo publish`"
            )
        check_repo_preprocessing(
            self.entry, records, manifest=find_manifest(self.options.manifest), refetch=refetch
        )
        return folder

    def load_into(self, model: keras.Model) -> LoadReport:
        folder = self.fetch()
        check_num_classes(self.entry, folder / self.entry.weights_file)
        return load_checkpoint(
            model,
            folder / self.entry.weights_file,
            source=f"{self.entry.identifier} ({self.entry.repo_id}@{self.revision}, "
            f"{self.entry.dtype}, from {self.where(folder)})",
            preprocessing=self.entry.preprocessing,
        )


@dataclasses.dataclass(frozen=True)
class ImageNetSource:
    """The Keras Applications VGG16/VGG19 ImageNet weights, copied by layer name."""

    model: str
    network: str
    options: ImageNetOptions

    @property
    def preprocessing(self) -> Preprocessing:
        """ImageNet means in RGB order; the files' BGR order goes into ``block1_conv1``."""
        return IMAGENET_MEAN_RGB

    def fetch(self) -> Path:
        path, _ = resolve_file(self.network, wants_top=True, **dataclasses.asdict(self.options))
        return path

    def load_into(self, model: keras.Model) -> LoadReport:
        return load_imagenet_weights(model, self.network, **dataclasses.asdict(self.options))


@dataclasses.dataclass(frozen=True)
class FileSource:
    """A local ``.weights.h5``, ``.weights.json`` or ``.keras`` file.

    Attributes:
        path: The checked file.
        preprocessing: The one stored in a ``.keras`` file; None keeps the model's own.
    """

    path: Path
    preprocessing: Preprocessing | None

    def load_into(self, model: keras.Model) -> LoadReport:
        return load_checkpoint(model, self.path, preprocessing=self.preprocessing)


WeightsSource = Union[CheckpointSource, ImageNetSource, FileSource]  # noqa: UP007 (runtime alias)


def parse_weights(weights: Any) -> tuple[str, str | None, str | None]:
    """Returns (kind, dataset, tag): ("checkpoint", "cifar10" or "cifar100", tag or None),
    ("imagenet", None, None) or ("path", None, None)."""
    if isinstance(weights, os.PathLike):
        return "path", None, None
    if not isinstance(weights, str):
        raise InvalidTypeError(f"weights must be {FORMS}. Received: weights={shown(weights)}")
    if weights == IMAGENET:
        return IMAGENET, None, None
    dataset, colon, tag = weights.partition(":")
    if dataset in DATASETS:
        if colon and not tag:
            raise InvalidArgumentError(
                f"weights='{dataset}:' needs a tag after the colon, e.g. '{dataset}:article'. "
                f"Received: weights={weights!r}"
            )
        return CHECKPOINT, dataset, tag or None
    looks_like_path = (
        os.sep in weights
        or "/" in weights
        or weights.endswith((".h5", ".json", ".keras"))
        or _exists(weights)
    )
    if looks_like_path:
        return "path", None, None
    close = (
        difflib.get_close_matches(weights.lower(), [*DATASETS, IMAGENET], n=1, cutoff=0.6)
        if len(weights) <= 40  # a longer string is no typo of these names
        else []
    )
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidArgumentError(f"weights must be {FORMS}.{hint} Received: weights={shown(weights)}")


def _exists(text: str) -> bool:
    """``Path(text).exists()``, False for a name the system refuses (too long, a NUL byte)."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


_OPTION_TYPES: dict[str, type | None] = {
    CHECKPOINT: HubOptions,
    IMAGENET: ImageNetOptions,
    "path": None,
}


def _options(kind: str, weights: Any, options: dict[str, Any]) -> Any:
    """The typed options record for ``kind``, refusing options that belong elsewhere."""
    record = _OPTION_TYPES[kind]
    every = sorted({f.name for t in _OPTION_TYPES.values() if t for f in dataclasses.fields(t)})
    unknown = sorted(set(options) - set(every))
    if unknown:
        raise InvalidTypeError(
            f"Unknown weights option(s) {', '.join(unknown)}; accepted: {', '.join(every)}. "
            f"Received: {', '.join(unknown)}"
        )
    allowed = {f.name for f in dataclasses.fields(record)} if record else set()
    wrong = sorted(set(options) - allowed)
    if wrong:
        takes = f"takes only {', '.join(sorted(allowed))}" if allowed else "takes no options"
        raise InvalidArgumentError(
            f"weights={weights!r} {takes}. "
            f"Received: {', '.join(f'{k}={options[k]!r}' for k in wrong)}"
        )
    return record(**options) if record else None


def imagenet_models() -> list[str]:
    """The models whose convolutions match a Keras Applications VGG."""
    return [name for name in list_models() if get_info(name).imagenet_network]


def resolve_weights(name: str, weights: Any, **options: Any) -> WeightsSource | None:
    """Resolves ``weights=`` for model ``name`` into its source (None for ``weights=None``).

    Args:
        name: A registered model name.
        weights: ``None``, ``"cifar10"``, ``"cifar10:<tag>"``, ``"cifar100"``,
            ``"cifar100:<tag>"``, ``"imagenet"`` or a path.
        **options: The fields of :class:`HubOptions` (a published checkpoint) or
            :class:`ImageNetOptions` (``"imagenet"``); a path takes none.

    Raises:
        UnknownModelError: If ``name`` is not registered.
        InvalidTypeError, InvalidArgumentError: For a malformed ``weights`` or option.
        WeightsNotAvailableError: If the model has no such weights.
        ManifestError: If the weights manifest breaks its schema.
    """
    info = get_info(name)
    if weights is None:
        if options:
            raise InvalidTypeError(
                "Weights options only apply when weights is given. "
                f"Received: weights=None, {', '.join(sorted(options))}"
            )
        return None
    kind, dataset, tag = parse_weights(weights)
    typed = _options(kind, weights, options)
    if kind == IMAGENET:
        if info.imagenet_network is None:
            raise WeightsNotAvailableError(
                f"{name} has no ImageNet weights: only the VGGs whose convolutions match a Keras "
                f"Applications network take weights='imagenet' ({', '.join(imagenet_models())}). "
                f"Use weights='cifar10', a path or None. Received: weights='imagenet'"
            )
        return ImageNetSource(model=name, network=info.imagenet_network, options=typed)
    if kind == CHECKPOINT:
        entry = load_manifest(typed.manifest).find(name, tag, dataset)
        return CheckpointSource(model=name, entry=entry, options=typed)
    path = check_path(weights)
    preprocessing = None
    if path.name.endswith(".keras"):
        with open_checkpoint(path) as ckpt:
            preprocessing = ckpt.preprocessing
    return FileSource(path=path, preprocessing=preprocessing)
