"""Every diagram passes bpmnlint's recommended rules, the check process owners' own modellers apply."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.services import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
BPMNLINT = ROOT / "node_modules" / ".bin" / "bpmnlint"
DIAGRAMS = sorted([*ROOT.glob("bpmn/**/*.bpmn"), *ROOT.glob("tests/bundles/**/*.bpmn")])


def test_there_are_diagrams_to_check():
    assert any(path.parts[-2] == "bpmn" for path in DIAGRAMS), "the pathway's own diagrams are checked too"


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_diagram_passes_bpmnlint_recommended(diagram):
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("bpmnlint is not installed: install Node.js 18 or newer, then `make setup` runs npm ci")
    result = subprocess.run([str(BPMNLINT), str(diagram.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, f"bpmnlint ({ROOT / '.bpmnlintrc'}):\n{result.stdout}{result.stderr}"
