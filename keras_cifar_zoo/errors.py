"""Exception types raised at the package's public boundary.

Every error subclasses :class:`ZooError` and a built-in exception, so callers can catch
either ``keras_cifar_zoo.ZooError`` or the built-in they already expect.
"""


class ZooError(Exception):
    """Base class of every error raised by keras-cifar-zoo."""


class UnknownModelError(ZooError, LookupError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(ZooError, ValueError):
    """An argument with a value the function cannot use."""


class InvalidTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type (also a ``ValueError`` and a ``TypeError``)."""


class InvalidInputShapeError(InvalidArgumentError):
    """An ``input_shape`` the architecture cannot take."""


class InvalidNumClassesError(InvalidArgumentError):
    """A ``num_classes`` that is not an integer of at least 2."""


class WeightsNotAvailableError(ZooError, LookupError):
    """Weights that cannot be provided for the requested model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(ZooError, FileNotFoundError):
    """CIFAR-10 is not on disk and could not be downloaded."""


class CorruptDatasetError(ZooError, ValueError):
    """A dataset file that is truncated, malformed or holds impossible values."""


class TrainingDivergedError(ZooError, ArithmeticError):
    """Training produced a NaN or infinite loss."""


class UnknownRecipeError(ZooError, LookupError):
    """A recipe name that is not registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class HubError(ZooError, OSError):
    """A weights file that could not be fetched from (or pushed to) the hub or a local cache."""


class IntegrityError(ZooError, OSError):
    """A downloaded or cached file whose hash differs from the one recorded for it."""


class WeightsMismatchError(InvalidArgumentError):
    """Weights whose layers or shapes do not fit the model they are loaded into."""


class ManifestError(ZooError, ValueError):
    """A weights manifest that breaks its schema or disagrees with the model registry."""


class PlanError(InvalidArgumentError):
    """A training plan that is invalid, or an output folder that holds another plan."""


class PixelRangeError(InvalidArgumentError):
    """Float images already scaled to [0, 1], given where raw 0-255 pixels are expected."""


class ModelOutputError(InvalidArgumentError):
    """A model that does not output one row of class probabilities per image."""


class CheckpointWriteError(ZooError, OSError):
    """A checkpoint file that could not be written (disk full, read-only folder)."""


class CheckpointBusyError(ZooError, BlockingIOError):
    """A checkpoint or plan folder another training run is writing to right now."""


class PublishError(ZooError, OSError):
    """A hub folder or weights manifest that publish cannot write (read-only, a file in the way)."""


class CorruptCheckpointError(ZooError, ValueError):
    """A checkpoint folder whose state file or weights are missing, truncated or malformed."""


class MissingExportPackageError(ZooError, ImportError):
    """A package the export format needs is not installed (the message names the install)."""


class OutputExistsError(ZooError, FileExistsError):
    """The export's output path exists already; it is never overwritten."""

    def __str__(self) -> str:  # OSError would format its arguments as (errno, strerror)
        return str(self.args[0]) if self.args else ""


class OutputWriteError(ZooError, OSError):
    """An output that could not be written: a read-only folder, a full disk, a file in the way."""

    def __str__(self) -> str:  # OSError would format its arguments as (errno, strerror)
        return str(self.args[0]) if self.args else ""


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters of a long string.

    A message echoes what it received; a megabyte-long name echoed in full buries the rest.
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}…({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(text):,} characters)"


def write_failure_fix(exc: OSError) -> str:
    """How to fix a failed write, judged by the ``OSError`` behind it (errno or subclass)."""
    import errno

    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only or not yours: choose a folder you can write to"
    if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
        return "a file is in the way where a folder must be: remove it or choose another path"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full: free some space or choose a folder on another disk"
    return "choose another path"
