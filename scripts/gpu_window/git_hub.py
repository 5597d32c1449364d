"""git: ignore checks, the size that travels, and hub/ untracked for the window and restored."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gpu_window.common import HUB, HUB_SNAPSHOT, SCRIPT, STAGE_FILE, GitStateError


def _git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=input, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitStateError("git is not installed; it is needed for this step.") from None
    if check and done.returncode != 0:
        raise GitStateError(
            f"git {' '.join(args[:3])} failed in {repo}: "
            f"{done.stderr.decode(errors='replace').strip()}. Received: repo={str(repo)!r}"
        )
    return done.stdout


def _git_path(repo: Path, name: str) -> Path:
    path = Path(_git(repo, "rev-parse", "--git-path", name).decode().strip())
    return path if path.is_absolute() else repo / path


def _exclude_lines(repo: Path) -> list[str]:
    path = _git_path(repo, "info/exclude")
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def add_exclude_line(repo: Path, line: str) -> bool:
    """Appends ``line`` to the repository's ``info/exclude``; False if it was there already."""
    path = _git_path(repo, "info/exclude")
    lines = _exclude_lines(repo)
    if line in (s.strip() for s in lines):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(f"{text}{line}\n", encoding="utf-8")
    return True


def remove_exclude_line(repo: Path, line: str) -> bool:
    """Removes every ``line`` from ``info/exclude``; False if there was none."""
    path = _git_path(repo, "info/exclude")
    lines = _exclude_lines(repo)
    kept = [s for s in lines if s.strip() != line]
    if len(kept) == len(lines):
        return False
    path.write_text("".join(f"{s}\n" for s in kept), encoding="utf-8")
    return True


def is_ignored(repo: Path, relative: str) -> bool:
    """Whether git ignores ``relative`` (a folder of the repository, e.g. ``.gpu``)."""
    probe = f"{relative.rstrip('/')}/{STAGE_FILE}"  # a file inside: catches folder patterns
    code = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "-q", "--no-index", "--", probe],
        capture_output=True,
        check=False,
    ).returncode
    if code > 1:
        raise GitStateError(f"{repo} is not a git repository. Received: repo={str(repo)!r}")
    return code == 0


def travel_bytes(repo: Path) -> tuple[int, int]:
    """Bytes of what travels with every call (tracked and untracked-not-ignored files), and
    the part of it under a still tracked ``hub/``."""
    listing = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    total = hub = 0
    for name in {n for n in listing.decode().split("\0") if n}:
        path = repo / name
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            if name.startswith(f"{HUB}/"):
                hub += size
    return total, hub


def hub_entries(repo: Path) -> bytes:
    """``git ls-files -s -z -- hub`` (empty when hub/ is not tracked)."""
    return _git(repo, "ls-files", "-s", "-z", "--", HUB)


def untrack_hub(repo: Path) -> str:
    """Untracks ``hub/`` (``git rm -r --cached``) and ignores it (``/hub/`` in info/exclude).

    The index entries are saved first, so :func:`restore_hub` puts back exactly what was
    staged (unstaged edits under hub/ stay unstaged).

    Raises:
        GitStateError: If hub/ is neither tracked nor already untracked by this command.
    """
    snapshot = _git_path(repo, HUB_SNAPSHOT)
    entries = hub_entries(repo)
    if not entries:
        if snapshot.is_file() and f"/{HUB}/" in (s.strip() for s in _exclude_lines(repo)):
            return f"{HUB}/ is already untracked and ignored; restore it with restore-hub."
        raise GitStateError(
            f"{HUB}/ is not tracked in {repo}, so there is nothing to untrack. "
            f"Received: repo={str(repo)!r}"
        )
    snapshot.write_bytes(entries)
    _git(repo, "rm", "-r", "-q", "--cached", "--", HUB)
    add_exclude_line(repo, f"/{HUB}/")
    count = entries.count(b"\0")
    return (
        f"untracked {count} files under {HUB}/ and added /{HUB}/ to info/exclude; "
        f"run restore-hub after the last device call and before any commit."
    )


def restore_hub(repo: Path) -> str:
    """Undoes :func:`untrack_hub`: removes ``/hub/`` from info/exclude and puts the saved
    index entries back (``git add hub`` when no saved entries exist)."""
    snapshot = _git_path(repo, HUB_SNAPSHOT)
    removed = remove_exclude_line(repo, f"/{HUB}/")
    if snapshot.is_file():
        _git(repo, "update-index", "-z", "--add", "--index-info", input=snapshot.read_bytes())
        snapshot.unlink()
        how = "restored the saved index entries"
    elif hub_entries(repo) and not removed:
        return f"{HUB}/ is tracked already; nothing to restore."
    else:
        _git(repo, "add", "--", HUB)
        how = f"git add {HUB}"
    untracked = _git(repo, "ls-files", "-z", "--others", "--exclude-standard", "--", HUB)
    new = [n for n in untracked.decode().split("\0") if n]
    extra = f"; {len(new)} new files under {HUB}/ are untracked (git add them)" if new else ""
    return f"{HUB}/ is tracked again ({how}; /{HUB}/ removed from info/exclude){extra}."


def check_hub(repo: Path) -> tuple[bool, str]:
    """Whether hub/ is tracked and not excluded (what must hold before any commit)."""
    tracked = bool(hub_entries(repo))
    excluded = f"/{HUB}/" in (s.strip() for s in _exclude_lines(repo))
    if tracked and not excluded:
        return True, f"{HUB}/ is tracked."
    problems = ([] if tracked else [f"{HUB}/ is not tracked"]) + (
        [f"/{HUB}/ is in info/exclude"] if excluded else []
    )
    return False, f"{' and '.join(problems)}: run `python {SCRIPT} restore-hub` before committing."
