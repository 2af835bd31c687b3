"""Break the no-leakage promise on purpose, one way at a time, and check the guard tests notice.

Copies ``mer4d/``, ``tests/`` and ``pyproject.toml`` into a scratch folder, runs the guard tests
(``tests/train/test_leakage_guard.py``) once on the unbroken copy (they must pass), then applies each
deliberate break of :data:`BREAKS` alone, by an exact textual replacement in the copy, and runs the
guard tests again with ``PYTHONPATH`` set to the copy. A break must make a guard *assertion* fail; a
break that survives, one whose first failure is an error other than an assertion (the break itself
is broken), or an anchor that is no longer in the source fails the check (exit status 1).

Usage:
    python tools/check_leakage_mutations.py [--only WORD ...] [--every] [--keep] [--list]

``.ci/run`` runs it after the test suite; it takes about a minute on two CPU cores.
When a refactor moves the code a break points at, the check stops with "anchor not found in
<file>: update the mutation to the code's new shape": rewrite that break's anchor and replacement
for the new code (the same deliberate leak), never delete it. ``tests/tools/test_mutation_anchors.py``
makes the normal test suite fail the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUARD = "tests/train/test_leakage_guard.py"
COPIED = ("mer4d", "tests", "pyproject.toml")


@dataclass(frozen=True)
class Break:
    """One deliberate leak: replace ``anchor`` (exactly once in ``file``) by ``replacement``."""

    name: str
    file: str  # relative to the repository root
    anchor: str
    replacement: str
    caught_by: str  # the guard test expected to fail first (function name, no parameters)


BREAKS: tuple[Break, ...] = (
    Break(
        "early stopping on the test fold",
        "mer4d/train/runner.py",
        "val_set=None if val_pos is None else ClipSet(corpus, val_pos, fit_targets, au_targets),",
        "val_set=None if val_pos is None else ClipSet(corpus, fold.test, fit_targets, au_targets),",
        "test_deep_fold_stages_touch_only_their_clips",
    ),
    Break(
        "validation split carved from every subject",
        "mer4d/train/runner.py",
        "inner_validation_split(corpus.index, fold.train, recipe.train.val_fraction, seed)",
        "inner_validation_split(corpus.index, np.arange(len(corpus.index)), recipe.train.val_fraction, seed)",
        "test_deep_fold_stages_touch_only_their_clips",
    ),
    Break(
        "training on the test clips too",
        "mer4d/train/runner.py",
        "ClipSet(corpus, train_pos, fit_targets, au_targets),",
        "ClipSet(corpus, np.concatenate([train_pos, fold.test]), fit_targets, au_targets),",
        "test_deep_fold_stages_touch_only_their_clips",
    ),
    Break(
        "augmented copies of test clips join training",
        "mer4d/train/runner.py",
        "extra = copies[np.isin(source[copies], train)]",
        "extra = copies",
        "test_augmented_copies_of_test_clips_never_train",
    ),
    Break(
        "class weights from the whole Index",
        "mer4d/train/engine.py",
        "    targets = train_set.targets\n",
        "    from mer4d.train.targets import encode_targets\n"
        "    targets = encode_targets(train_set.corpus.index, 'emotion', train_set.corpus.classes)\n",
        "test_class_weights_see_training_labels_only",
    ),
    Break(
        "AU co-occurrence from all folds",
        "mer4d/train/runner.py",
        "model.set_au_cooccurrence(au_targets[train_pos])",
        "model.set_au_cooccurrence(au_targets)",
        "test_au_cooccurrence_sees_training_clips_only",
    ),
    Break(
        "classic scaler fitted on all clips",
        "mer4d/train/classic.py",
        "    model.fit(rows(train), targets[train])\n    return np.asarray(model.predict_scores(rows(test)), dtype=np.float64)\n",
        "    every = rows(np.arange(len(targets)))\n"
        "    mean, scale = every.mean(axis=0), every.std(axis=0) + 1e-12\n"
        "    model.fit((rows(train) - mean) / scale, targets[train])\n"
        "    return np.asarray(model.predict_scores((rows(test) - mean) / scale), dtype=np.float64)\n",
        "test_classic_model_is_fitted_on_training_rows_only",
    ),
    Break(
        "classic model fitted on every row",
        "mer4d/train/classic.py",
        "    model.fit(rows(train), targets[train])\n",
        "    model.fit(rows(np.arange(len(targets))), targets)\n",
        "test_classic_model_is_fitted_on_training_rows_only",
    ),
    Break(
        "resampling weights from all clips",
        "mer4d/train/engine.py",
        "        counts = np.bincount(data.targets)\n",
        "        from mer4d.train.targets import encode_targets\n"
        "        counts = np.bincount(encode_targets(data.corpus.index, 'emotion', data.corpus.classes), minlength=len(data.corpus.classes))\n",
        "test_a_fold_trains_the_same_whatever_its_test_clips_hold",
    ),
)


def anchor_problem(root: Path, brk: Break) -> str | None:
    """Why ``brk`` cannot be applied to the tree at ``root`` (None when its anchor is there exactly once)."""
    path = root / brk.file
    if not path.is_file():
        return f"anchor not found in {brk.file} (the file is gone): update the mutation to the code's new shape"
    count = path.read_text().count(brk.anchor)
    if count == 0:
        return f"anchor not found in {brk.file}: update the mutation to the code's new shape"
    if count > 1:
        return f"anchor found {count} times in {brk.file}: make it unique so the break hits one place"
    return None


def apply(root: Path, brk: Break) -> str:
    """Apply ``brk`` in place under ``root``; return the file's original text (to restore it)."""
    path = root / brk.file
    original = path.read_text()
    path.write_text(original.replace(brk.anchor, brk.replacement, 1))
    return original


def make_copy(scratch: Path) -> Path:
    copy = scratch / "repo"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy2(source, copy / name)
    return copy


def copy_env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # the copy, and only it: never the checkout the script lives in
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a restored file must not be shadowed by a stale .pyc
    return env


@dataclass(frozen=True)
class Outcome:
    passed: bool
    first_failure: str | None  # test id of the first failure
    failures: tuple[str, ...]  # every failing test id (one with -x)
    reason: str  # its exception type and where it was raised ("AssertionError at tests/...py:480")
    seconds: float
    output: str


_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)
# pytest ends a failure's traceback with "<file>:<line>: <exception type>" at the raising line
_CRASH = re.compile(r"^(\S+?:\d+): ([A-Za-z_][\w.]*)$", re.MULTILINE)


def run_guard(copy: Path, first_only: bool = True) -> Outcome:
    command = [sys.executable, "-m", "pytest", "-q", *(["-x"] if first_only else []), "-p", "no:cacheprovider", "-rfE", str(copy / GUARD)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=copy, env=copy_env(copy), capture_output=True, text=True)
    return parse_outcome(done.returncode, done.stdout + done.stderr, time.perf_counter() - start)


def parse_outcome(returncode: int, output: str, seconds: float) -> Outcome:
    """Read pytest's ``-q -rfE`` output: which tests failed, and how the first one failed."""
    if returncode == 0:
        return Outcome(True, None, (), "", seconds, output)
    failures = tuple(m.group(2) for m in _SUMMARY.finditer(output))
    # the first failure's section: from the start up to the second failure's header (or the summary)
    first = re.split(r"^_{3,} test_", output.split("short test summary info")[0], flags=re.MULTILINE)
    crashes = _CRASH.findall("".join(first[:2]))
    reason = f"{crashes[-1][1]} at {crashes[-1][0]}" if crashes else f"pytest exit status {returncode}"
    return Outcome(False, failures[0] if failures else None, failures, reason, seconds, output)


def test_name(test_id: str | None) -> str:
    """``path::test_x[param]`` -> ``test_x``."""
    return "" if not test_id else test_id.split("::")[-1].split("[")[0]


def is_assertion(reason: str) -> bool:
    """A guard assertion failed (not an exception raised by the broken code or by the test's own plumbing)."""
    return reason.startswith("AssertionError at ")


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("break", "caught by", "result", "seconds")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def judge(brk: Break, outcome: Outcome) -> str:
    """``caught`` (maybe by another guard test than expected), ``SURVIVED`` or ``ERROR (...)``."""
    if outcome.passed:
        return "SURVIVED"
    if not is_assertion(outcome.reason):
        return f"ERROR ({outcome.reason[:60]})"
    name = test_name(outcome.first_failure)
    return "caught" if name == brk.caught_by else f"caught, expected {brk.caught_by}"


def check(breaks: list[Break], copy: Path, every: bool = False) -> int:
    """Run the baseline and every break on ``copy``; print the table; 0 when every break is caught.
    ``every``: run each broken copy's whole guard file (no -x) and list every test that fails."""
    imported = subprocess.run([sys.executable, "-c", "import mer4d; print(mer4d.__file__)"], cwd=copy, env=copy_env(copy), capture_output=True, text=True)
    if not imported.stdout.strip().startswith(str(copy)):
        print(f"the copy's python imports mer4d from {imported.stdout.strip() or imported.stderr.strip()}, not from {copy}", file=sys.stderr)
        return 1
    baseline = run_guard(copy)
    rows = [("(none: the unbroken code)", "-", "pass" if baseline.passed else f"FAIL {test_name(baseline.first_failure)}", f"{baseline.seconds:.1f}")]
    if not baseline.passed:
        print(_table(rows))
        print(f"\nthe guard tests fail on the unbroken code, so no break can be judged:\n{baseline.output[-4000:]}", file=sys.stderr)
        return 1
    failed = []
    for brk in breaks:
        original = apply(copy, brk)
        try:
            outcome = run_guard(copy, first_only=not every)
        finally:
            (copy / brk.file).write_text(original)
        result = judge(brk, outcome)
        if not result.startswith("caught"):
            failed.append((brk, outcome))
        caught_by = ", ".join(f.split("::")[-1] for f in outcome.failures) or "-"
        rows.append((brk.name, caught_by, result, f"{outcome.seconds:.1f}"))
    print(_table(rows))
    print(f"\n{len(breaks) - len(failed)} of {len(breaks)} deliberate breaks caught")
    for brk, outcome in failed:
        print(f"\n--- {brk.name} ({brk.file}) ---\n{outcome.output[-3000:]}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="WORD", help="run only the breaks whose name contains one of these words")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and print where it is")
    parser.add_argument("--list", action="store_true", help="list the breaks and exit")
    parser.add_argument("--every", action="store_true", help="list every guard test each break fails (slower: no -x)")
    args = parser.parse_args(argv)
    breaks = [b for b in BREAKS if not args.only or any(word in b.name for word in args.only)]
    if args.list:
        for b in breaks:
            print(f"{b.name}: {b.file}, caught by {b.caught_by}")
        return 0
    problems = [p for p in (anchor_problem(REPO, b) for b in breaks) if p]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="mer4d-mutations-"))
    start = time.perf_counter()
    try:
        return check(breaks, make_copy(scratch), every=args.every)
    finally:
        print(f"mutation check: {time.perf_counter() - start:.0f} s")
        if args.keep:
            print(f"scratch copy kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
