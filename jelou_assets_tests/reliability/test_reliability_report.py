"""docs/RELIABILITY.md: `make reliability` turns pytest's own JUnit XML into its observed tables, and the
committed document lists every test marked `reliability`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jelou_assets.settings import PROJECT_ROOT
from tools.reliability_report import BEGIN, DOC, END, behaviour, main

SAMPLE_TESTS = '''
import pytest

def test_a_day_lands_exactly(record_property):
    record_property("requests", 3)

@pytest.mark.parametrize("fault", ["500 once", "500 forever"])
def test_fault_is_handled(fault, record_property):
    record_property("expected", "lands exactly" if fault == "500 once" else "fails naming 500")
    assert fault == "500 once", "the API answered 500 after 6 attempts"
'''


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real JUnit XML from a real pytest run of three sample tests, one of them failing; the tests only read it."""
    workdir = tmp_path_factory.mktemp("sample_run")
    tests, xml = workdir / "test_sample.py", workdir / "results.xml"
    tests.write_text(SAMPLE_TESTS)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                    f"--junitxml={xml}", str(tests)], cwd=workdir, capture_output=True, timeout=120)
    return xml


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "RELIABILITY.md"
    path.write_text(f"# Hand-written\n\nkept\n\n{BEGIN}\nstale table\n{END}\n\ntail kept\n")
    return path


def test_report_rewrites_only_the_generated_block(junit: Path, doc: Path) -> None:
    assert main([str(junit), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Hand-written\n\nkept\n\n") and text.endswith(f"{END}\n\ntail kept\n")
    assert "stale table" not in text and "2 of 3 passed" in text


def test_report_shows_each_expectation_beside_its_observed_outcome_and_numbers(junit: Path, doc: Path) -> None:
    main([str(junit), "--doc", str(doc)])
    lines = doc.read_text().splitlines()
    single = next(line for line in lines if line.startswith("| a day lands exactly |"))
    assert "| passed |" in single and "requests: 3" in single
    once = next(line for line in lines if line.startswith("| 500 once |"))
    assert "| lands exactly | passed |" in once
    forever = next(line for line in lines if line.startswith("| 500 forever |"))
    assert "| fails naming 500 | **FAILED**: AssertionError: the API answered 500 after 6 attempts" in forever


def test_a_later_run_of_a_test_replaces_its_earlier_row(junit: Path, doc: Path, tmp_path: Path) -> None:
    fixed, rerun = tmp_path / "fixed" / "test_sample.py", tmp_path / "rerun.xml"
    fixed.parent.mkdir()
    fixed.write_text(SAMPLE_TESTS.replace('assert fault == "500 once"', "assert fault"))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                    f"--junitxml={rerun}", f"{fixed}::test_fault_is_handled"], cwd=fixed.parent, capture_output=True,
                   timeout=120)
    assert main([str(junit), str(rerun), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "3 of 3 passed" in text and "FAILED" not in text and text.count("| 500 forever |") == 1


def test_report_refuses_a_document_without_the_generated_block(junit: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.md"
    bare.write_text("# nothing to rewrite\n")
    with pytest.raises(SystemExit, match="no <!-- reliability:results -->"):
        main([str(junit), "--doc", str(bare)])
    assert bare.read_text() == "# nothing to rewrite\n"


def test_docs_reliability_lists_every_reliability_test() -> None:
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "reliability", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    functions = {line.split("::")[-1].partition("[")[0] for line in collected.stdout.splitlines() if "::" in line}
    assert len(functions) > 40, collected.stdout[-2000:] + collected.stderr[-2000:]
    text = DOC.read_text()
    missing = sorted(f for f in functions if behaviour(f) not in text and f not in text)
    assert not missing, f"run `make reliability` to list these in {DOC.name}: {missing}"
