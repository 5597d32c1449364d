"""Command line: ``keras-cifar-zoo <command>``, also ``python -m keras_cifar_zoo <command>``.

Each command lives in its own module listed in :data:`COMMAND_MODULES`. A command module
exposes ``register(subparsers)``, which adds its sub-parsers and gives each a handler with
``parser.set_defaults(handler=func)``; ``func(args: argparse.Namespace) -> int`` returns the
exit status. Adding a command module is one line in :data:`COMMAND_MODULES`.

User errors (any :class:`~keras_cifar_zoo.ZooError`, an ``OSError`` from a file a command
writes or reads, a Keras backend that cannot start, bad arguments) print one line to stderr
and exit non-zero, the same for every command; a traceback means a bug. A parser may also
set ``flags``, the keyword arguments its command exposes mapped to their flags
(``{"hub_dir": "--hub-dir PATH"}``), so that error messages name ``--hub-dir`` rather than
``hub_dir=``.

The command modules import Keras only inside their handlers: ``--help`` and a malformed
command line never start TensorFlow, and a command imports it once, with TensorFlow's C++
start-up log lines filtered out (``-v`` shows them).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import NoReturn

from keras_cifar_zoo import __version__
from keras_cifar_zoo.cli._args import LIBRARY_SETTINGS
from keras_cifar_zoo.errors import ZooError, write_failure_fix

PROG = "keras-cifar-zoo"

COMMAND_MODULES: tuple[str, ...] = (
    "keras_cifar_zoo.cli.zoo",
    "keras_cifar_zoo.cli.training",
    "keras_cifar_zoo.cli.plan",
    "keras_cifar_zoo.cli.weights",
    "keras_cifar_zoo.cli.export",
    "keras_cifar_zoo.cli.demo",
)
"""Modules whose ``register(subparsers)`` adds the commands, in ``--help`` order."""

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line argparse rejected (unknown command, missing or malformed argument)."""


class CommandError(ZooError):
    """A command that cannot do what was asked (for example a pattern matching nothing)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block and exits; one line is easier to read.
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser with every command of :data:`COMMAND_MODULES` registered."""
    parser = _Parser(
        prog=PROG,
        description="Keras 3 models for CIFAR-10 from five articles: list, inspect, build.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print debug messages (and TensorFlow's own log lines)",
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="print warnings and errors only"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


@contextlib.contextmanager
def _log_to_stderr(args: argparse.Namespace) -> Iterator[None]:
    """Shows the package's log messages on stderr for the duration of one command."""
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logger = logging.getLogger("keras_cifar_zoo")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


# Lines TensorFlow's C++ libraries write while they load, before absl::InitializeLog() (so
# TF_CPP_MIN_LOG_LEVEL cannot silence them): "WARNING: All log messages before ...",
# "I0000 00:00:1796085994.857490 6350 port.cc:153] oneDNN custom operations are on ..." and the
# second line of the CPU-instructions note.
_BACKEND_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def _import_backend(verbose: bool) -> None:
    """Imports Keras (and its backend) before a command runs, without TensorFlow's log lines.

    ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set) silences TensorFlow once it runs; the lines
    it writes while loading are caught on file descriptor 2 and dropped, and anything else
    written there (a Python warning, say) is passed on. Library users keep TensorFlow's
    defaults: only the command line does this.
    """
    if "keras" in sys.modules:
        return
    if verbose:
        _import_keras()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to catch
        _import_keras()
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            _import_keras()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode(errors="replace").splitlines()
            kept = [line for line in lines if not _BACKEND_NOISE.match(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


BACKENDS = ("tensorflow", "jax", "torch", "numpy")


def _import_keras() -> None:
    """Imports Keras; a backend it cannot start is a user error, not a traceback.

    Keras picks its backend when imported (``KERAS_BACKEND``, else ``~/.keras/keras.json``,
    else TensorFlow) and raises ``ValueError`` for a name it does not know or
    ``ImportError`` for a backend that is not installed.
    """
    try:
        importlib.import_module("keras")
    except Exception as exc:  # whatever the backend raised while starting
        for name in [m for m in sys.modules if m == "keras" or m.startswith("keras.")]:
            del sys.modules[name]  # half-imported: a later import must not find it
        installed = [b for b in BACKENDS if b == "numpy" or importlib.util.find_spec(b)]
        here = f"{', '.join(installed[:-1])} or {installed[-1]}" if len(installed) > 1 else "numpy"
        chosen = os.environ.get("KERAS_BACKEND")
        if chosen and chosen not in BACKENDS:
            fix = f"KERAS_BACKEND must name a Keras backend installed here: {here}"
        elif chosen and chosen not in installed:
            fix = f"Install it (pip install {chosen}), or set KERAS_BACKEND to one of {here}"
        elif chosen:
            fix = f"Reinstall {chosen}, or set KERAS_BACKEND to another of {here}"
        else:
            fix = (
                f"Set KERAS_BACKEND to a backend installed here: {here} (unset, Keras reads "
                "~/.keras/keras.json, else uses tensorflow)"
            )
        reason = " ".join(str(exc).split()) or type(exc).__name__
        shown = f"KERAS_BACKEND={chosen!r}" if chosen else "KERAS_BACKEND unset"
        raise CommandError(
            f"Keras cannot start its backend: {reason}. {fix}. Received: {shown}"
        ) from exc


def command_line_message(message: str, args: argparse.Namespace) -> str:
    """A library message spelled for this command line: the library names its keyword
    arguments, the user typed flags.

    ``args.flags`` maps each keyword the command exposes to its flag. ``hub_dir=PATH or
    KERAS_CIFAR_ZOO_HUB=PATH`` becomes ``--hub-dir PATH or KERAS_CIFAR_ZOO_HUB=PATH``, or only
    the variable where the command has no such flag (``LIBRARY_SETTINGS`` in ``_args``);
    ``leave out hub_dir=`` becomes ``leave out --hub-dir``. In the
    ``Received:`` tail, ``hub_dir='x'`` becomes ``--hub-dir 'x'`` only where ``'x'`` is what was
    given on the command line: the library shows values of its own under the same names (the
    ``path`` of a cached file, while ``export`` calls its ``path`` ``--out``).
    """
    message = " ".join(message.split())
    flags: dict[str, str] = getattr(args, "flags", None) or {}
    for keyword, spelling in LIBRARY_SETTINGS.items():
        said = rf"(?<![\w.]){re.escape(spelling)}"
        if keyword in flags:
            message = re.sub(said, lambda _, k=keyword: flags[k], message)
        else:
            message = re.sub(rf"{said} or (?=[A-Z][A-Z_]*=)", "", message)
    head, sep, tail = message.rpartition(" Received: ")
    if not sep:
        head, tail = message, ""
    for keyword, spelling in flags.items():
        flag = spelling.split()[0]
        said = rf"(?<![\w.]){keyword}="
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if isinstance(value, (str, os.PathLike)):
            given = repr(str(value))
            tail = re.sub(said + re.escape(given), lambda _, f=flag, g=given: f"{f} {g}", tail)
        head = re.sub(rf"{said}(?=['\"])", f"{flag} ", head)  # choose format='onnx'
        if flag == spelling:  # a switch: publish with default=True
            head = re.sub(rf"{said}True(?!\w)", flag, head)
        head = re.sub(rf"{said}(?=[\s.,;:)]|$)", flag, head)  # leave out hub_dir=
    return head + sep + tail


def _error(message: object) -> None:
    text = " ".join(str(message).split())  # one line, whatever the message holds
    print(f"{PROG}: error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns its exit status.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        0 on success, 1 for a user error reported by the package (or an ``OSError`` the
        system raised), 2 for a bad command line, 130 if interrupted.

    Example:
        >>> main(["info", "resnet20_v1"])  # doctest: +SKIP
        0
    """
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        _error(exc)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR if exc.code else 0
    try:
        _import_backend(args.verbose)
        with _log_to_stderr(args):
            return int(args.handler(args) or 0)
    except ZooError as exc:
        _error(command_line_message(str(exc), args))
        return EXIT_ERROR
    except UsageError as exc:  # a handler that checks its own arguments
        _error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`keras-cifar-zoo list | head -1`): stop quietly.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:  # a file a command writes or reads: the system said no
        _error(_os_error(exc))
        return EXIT_ERROR


def _os_error(exc: OSError) -> str:
    """``Cannot write '/x': No space left on device; the disk is full: ...``, for any command."""
    names = [repr(str(n)) for n in (exc.filename, exc.filename2) if n is not None]
    target = f" {' -> '.join(names)}" if names else ""
    return f"Cannot write or read{target}: {exc.strerror or exc}; {write_failure_fix(exc)}."
