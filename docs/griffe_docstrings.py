"""Griffe extension: reads the package's docstrings the way the API reference shows them.

The docstrings are Google style, with two habits from Sphinx that Markdown does not know:

- roles such as ``:func:`load_model``` or ``:class:`~keras_cifar_zoo.weights.HubOptions```
  become a link to the object when the API reference documents it, and plain code when it
  does not (an ``optional`` autoref, the kind mkdocstrings writes for signatures, so an
  undocumented target never fails ``mkdocs build --strict``);
- a section titled ``Example:`` is read as ``Examples:``, the title griffe parses into doctest
  blocks (``>>>`` lines would otherwise render as nested quotes);
- a ``Raises:`` section that only refers to another function (``As :func:`load_weights`.``)
  becomes a sentence, since it names no exception to list.

The modules are not changed; only what mkdocstrings reads from them. mkdocs.yml loads this
file through the mkdocstrings ``extensions`` option.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?P<role>func|meth|class|exc|data|attr|mod|obj|const):`(?P<tilde>~?)(?P<target>[^`<>]+)`"
)
_EXAMPLE_TITLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_RAISES_AS = re.compile(r"^(?P<indent>[ \t]*)Raises:[ \t]*\n[ \t]+As (?P<other>.+)$", re.MULTILINE)


def _canonical(obj: griffe.Object, target: str) -> str:
    """The documented path of ``target`` as written in ``obj``'s docstring, resolved in its
    scope (``evaluate`` inside ``keras_cifar_zoo.training.evaluation`` -> that module's
    function); an unresolvable name is returned as written."""
    head, _, rest = target.partition(".")
    try:
        path = obj.resolve(head)
    except (griffe.NameResolutionError, AttributeError):
        path = head
    path = f"{path}.{rest}" if rest else path
    try:
        found = obj.modules_collection.get_member(path)
        return found.final_target.path if isinstance(found, griffe.Alias) else found.path
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return path


def rewrite(obj: griffe.Object, text: str) -> str:
    """Returns docstring ``text`` rewritten as the module docstring says."""

    def role(match: re.Match[str]) -> str:
        target = match["target"].strip()
        shown = target.rpartition(".")[2] if match["tilde"] else target
        identifier = html.escape(_canonical(obj, target), quote=True)
        code = f"<code>{html.escape(shown)}</code>"
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'

    text = _RAISES_AS.sub(r"\g<indent>Raises the same errors as \g<other>", text)
    return _EXAMPLE_TITLE.sub(r"\g<indent>Examples:", _ROLE.sub(role, text))


def _walk(obj: griffe.Object, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if obj.docstring is not None:
        obj.docstring.value = rewrite(obj, obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _walk(member, seen)


class SphinxRolesToAutorefs(griffe.Extension):
    """Rewrites every docstring of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _walk(pkg, set())
