"""The mutation check's deliberate breaks still point at real code, and at real guard tests.

A refactor that moves the code a break replaces must fail the normal test suite too, not only
``tools/check_leakage_mutations.py`` in CI: otherwise the check would silently test nothing.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("check_leakage_mutations", REPO / "tools" / "check_leakage_mutations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


SCRIPT = load_script()


def guard_tests() -> set[str]:
    tree = ast.parse((REPO / SCRIPT.GUARD).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("brk", SCRIPT.BREAKS, ids=[b.name for b in SCRIPT.BREAKS])
def test_every_break_anchor_is_in_the_source_once_and_names_a_guard_test(brk):
    assert SCRIPT.anchor_problem(REPO, brk) is None, SCRIPT.anchor_problem(REPO, brk)
    assert brk.replacement != brk.anchor
    assert brk.caught_by in guard_tests(), f"break '{brk.name}' expects {brk.caught_by}, which is not a test in {SCRIPT.GUARD}"


def test_the_breaks_cover_the_promised_leaks():
    names = {b.name for b in SCRIPT.BREAKS}
    for leak in ("early stopping on the test fold", "classic scaler fitted on all clips", "class weights from the whole Index",
                 "AU co-occurrence from all folds", "resampling weights from all clips"):
        assert leak in names
    assert len(names) == len(SCRIPT.BREAKS)


def test_a_lost_anchor_is_reported_with_the_fix(tmp_path):
    brk = SCRIPT.BREAKS[0]
    target = tmp_path / brk.file
    target.parent.mkdir(parents=True)
    target.write_text("# the code moved\n")
    assert SCRIPT.anchor_problem(tmp_path, brk) == f"anchor not found in {brk.file}: update the mutation to the code's new shape"
    target.write_text(brk.anchor + "\n" + brk.anchor)
    assert SCRIPT.anchor_problem(tmp_path, brk) == f"anchor found 2 times in {brk.file}: make it unique so the break hits one place"
    target.write_text("before\n" + brk.anchor + "\nafter\n")
    original = SCRIPT.apply(tmp_path, brk)
    assert original == "before\n" + brk.anchor + "\nafter\n"
    assert target.read_text() == "before\n" + brk.replacement + "\nafter\n"


def test_the_failure_reason_tells_a_guard_assertion_from_a_broken_break():
    assert SCRIPT.is_assertion("AssertionError at tests/train/test_leakage_guard.py:480")
    assert not SCRIPT.is_assertion("NameError at mer4d/train/engine.py:95")
    assert SCRIPT.test_name("tests/train/test_leakage_guard.py::test_x[loso-val0.5]") == "test_x"


PYTEST_OUTPUT = """..F.F
=================================== FAILURES ===================================
_______ test_a[loso] _______

    def test_a():
>       helper()

tests/train/test_leakage_guard.py:10:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def helper():
>       assert 1 == 2, "fold x: leaked"
E       AssertionError: fold x: leaked

tests/train/test_leakage_guard.py:20: AssertionError
_______ test_b _______

>       run()
E       NameError: name 'np' is not defined

mer4d/train/engine.py:95: NameError
=========================== short test summary info ============================
FAILED tests/train/test_leakage_guard.py::test_a[loso] - AssertionError: fold x: leaked
FAILED tests/train/test_leakage_guard.py::test_b - NameError: name 'np' is not defined
2 failed, 3 passed in 1.00s
"""


def test_pytest_output_is_read_as_the_first_failure_and_its_exception_type():
    outcome = SCRIPT.parse_outcome(1, PYTEST_OUTPUT, 1.0)
    assert not outcome.passed
    assert outcome.failures == ("tests/train/test_leakage_guard.py::test_a[loso]", "tests/train/test_leakage_guard.py::test_b")
    assert outcome.first_failure == outcome.failures[0]
    assert outcome.reason == "AssertionError at tests/train/test_leakage_guard.py:20"
    broken = SCRIPT.parse_outcome(1, PYTEST_OUTPUT.split("_______ test_a")[0] + "_______ test_b" + PYTEST_OUTPUT.split("_______ test_b")[1], 1.0)
    assert broken.reason == "NameError at mer4d/train/engine.py:95"
    assert SCRIPT.parse_outcome(0, "3 passed", 1.0).passed
