"""A small flat registry: name -> factory, filled by explicit imports, with did-you-mean misses."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from mer4d.core.errors import UnknownNameError

T = TypeVar("T")


def suggest(name: str, choices: list[str] | tuple[str, ...] | set[str], n: int = 3) -> list[str]:
    """Close matches of ``name`` among ``choices`` (case-insensitive), best first."""
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: object, choices: Iterable[str], n: int = 1) -> str:
    """``"; did you mean 'a'?"`` (``'a' or 'b'`` for ``n`` > 1) naming the choices closest to ``name``,
    or ``""`` when none is close: the tail of an unknown-name message."""
    close = suggest(str(name), [str(c) for c in choices], n=n)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class Registry(Generic[T]):
    """Maps names to objects (usually factory functions) of one kind.

    Args:
        kind: what the registry holds, used in messages ("model", "dataset").
        list_command: the CLI command that lists entries, named in miss messages.

    Example:
        >>> MODELS = Registry("model", list_command="mer4d models list")
        >>> @MODELS.register("tiny")
        ... def tiny(num_classes: int = 3): return num_classes
        >>> MODELS.get("tiny")(num_classes=5)
        5
    """

    def __init__(self, kind: str, list_command: str | None = None):
        self.kind = kind
        self.list_command = list_command
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a duplicate name is an error."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice ({self._entries[name]!r} and {obj!r})")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry called ``name``; a miss raises :class:`UnknownNameError` with suggestions."""
        try:
            return self._entries[name]
        except KeyError:
            pass
        hint = did_you_mean(name, self._entries, n=3)
        known = ", ".join(sorted(self._entries)) or "none registered"
        listing = f" Run '{self.list_command}' to see them all." if self.list_command else ""
        raise UnknownNameError(f"unknown {self.kind} '{name}'{hint} Known: {known}.{listing}")

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
