"""Progress a person sees: a tqdm bar on a terminal, discrete lines in a log file or a pipe.

Every long step (simulating a dataset, preprocessing faces, rendering into the cache, folds,
epochs) goes through :func:`progress_bar`. On a terminal it is a tqdm bar on stderr. Off a
terminal (``mer4d run ... 2> log``, CI, a pipe) a bar would write carriage-return frames that
pile up into one unreadable line, so it logs ``simulating 4DME (quick): 13/132 clips (10%), 4 s``
lines instead: one per ~10 % of the work, at least every :data:`LINE_SECONDS` seconds of a slow
step, and at the end. :func:`set_enabled` (the CLI's ``--no-progress``) silences both, process-wide,
including steps whose caller passes no flag (the simulator writers inside the cache).

A pseudo-terminal whose window size was never set (``script -qc ... /dev/null``, ``docker exec -t``
before a resize, some CI runners and IDE consoles) reports 0 x 0; tqdm then takes ``rows - 1 = -1``
screen rows, treats even the first bar (position 0) as below the screen and prints nothing, and
0 columns would trim every frame to nothing too. Such a terminal gets a fixed size (``COLUMNS``
or 100 wide, 24 rows).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

LINE_SECONDS = 30.0
_state = {"enabled": os.environ.get("MER4D_NO_PROGRESS", "") in ("", "0")}


def set_enabled(enabled: bool) -> None:
    """Turn every progress bar and progress line of this process on or off."""
    _state["enabled"] = bool(enabled)


def enabled() -> bool:
    return _state["enabled"]


def _on_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_shape(stream) -> dict[str, int]:
    """{} when the terminal reports its size (tqdm reads it itself); a fixed ncols/nrows when it says 0 x 0."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return {}
    shape = {}
    if size.columns <= 0:
        try:
            shape["ncols"] = int(os.environ.get("COLUMNS", "")) or 100
        except ValueError:
            shape["ncols"] = 100
    if size.lines <= 0:  # tqdm would take rows - 1 = -1 and hide every bar as "below the screen"
        shape["nrows"] = 24
    return shape


def progress_bar(iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it", disable: bool = False,
                 leave: bool = True, **kwargs: Any):
    """A tqdm-like progress over ``iterable`` (or ``total`` steps of :meth:`update`): iterate it,
    ``update(n)``, ``set_postfix(...)``, ``close()`` or use it as a context manager."""
    from tqdm.std import tqdm

    stream = sys.stderr
    if disable or not enabled():
        return tqdm(iterable, total=total, disable=True)
    if _on_terminal(stream):
        return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, file=stream, **{**_terminal_shape(stream), **kwargs})
    return LineProgress(iterable, desc=desc, total=total, unit=unit, stream=stream)


class LineProgress:
    """The off-terminal progress: a line per ~10 % (or per :data:`LINE_SECONDS`), never a carriage return."""

    def __init__(self, iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it", stream=None,
                 steps: int = 10, seconds: float = LINE_SECONDS):
        self.iterable = iterable
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.desc, self.total, self.unit, self.stream = desc, total, unit, stream if stream is not None else sys.stderr
        self.n, self.postfix, self.closed = 0, "", False
        self.start = self._last_time = time.monotonic()
        self._every = max(1, -(-total // steps)) if total else None
        self._next = self._every
        self.seconds = seconds
        self._last_n = -1

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("LineProgress without an iterable: call update()")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total or 0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        due = self._next is not None and self.n >= self._next
        if due or now - self._last_time >= self.seconds:
            if self._every is not None:
                while self._next is not None and self.n >= self._next:
                    self._next += self._every
            self._line(now)

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        pass

    def write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.n != self._last_n and self.n > 0:
            self._line(time.monotonic())

    def _line(self, now: float) -> None:
        self._last_time, self._last_n = now, self.n
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        elapsed = now - self.start
        left = f", ~{elapsed / self.n * (self.total - self.n):.0f} s left" if self.total and 0 < self.n < self.total else ""
        postfix = f" [{self.postfix}]" if self.postfix else ""
        label = f"{self.desc}: " if self.desc else ""
        unit = "" if self.unit in self.desc or self.unit == "it" else f" {_plural(self.unit)}"  # "folds: 2/6", "simulating ...: 10/132 clips"
        print(f"{label}{count}{unit}{share}, {elapsed:.0f} s{left}{postfix}", file=self.stream, flush=True)


def _plural(unit: str) -> str:
    return unit + ("es" if unit.endswith(("tch", "sh", "s", "x")) else "s")
