"""The shipped bpmn/timescales.json holds the defaults of PATHWAY.md's timescales table (the one test of numbers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.pathway import SHIPPED

SPEC = Path(__file__).resolve().parents[3] / "shared" / "PATHWAY.md"  # ../shared beside the clone, as in CI
# Each row of the table, by its step, to the timescale of timescales.json that carries its default.
TIMESCALE_OF_ROW = {
    "hub decision on a referral": "hub_decision",
    "RIC meeting after case discussion": "ric_meeting",
    "review after MACE 1": "review_after_mace1",
    "return home interview": "return_home_interview",
    "parents updated after MACE 1": "parents_update",
}
PLAN_ROW, CADENCE_ROW = "RIC plan ready before MACE 1", "MACE 1 cadence"
AMOUNT = re.compile(r"(\d+) (working day|day|week|month|hour)s?\b")


def timescales_table() -> dict[str, str]:
    """PATHWAY.md's section "Timescales": step -> default, as written."""
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there: the domain spec lives in ../shared beside the clone (CI has it)")
    section = SPEC.read_text(encoding="utf-8").split("## Timescales", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|")]
    assert rows and rows[0][:2] == ["step", "default"], "PATHWAY.md's timescales table has changed its shape"
    return {step: default for step, default, *_ in rows[2:]}


def amount_and_unit(default: str) -> tuple[int, str]:
    match = AMOUNT.search(default)
    assert match, f"no amount in {default!r}"
    return int(match.group(1)), match.group(2).replace(" ", "_") + "s"


def test_every_row_of_the_table_is_pinned_here():
    assert set(timescales_table()) == {*TIMESCALE_OF_ROW, PLAN_ROW, CADENCE_ROW}, \
        "a row was added to or renamed in PATHWAY.md: pin it here"


@pytest.mark.parametrize("row", sorted(TIMESCALE_OF_ROW))
def test_each_step_timescale_ships_with_its_default(row):
    entry = SHIPPED.config["timescales"][TIMESCALE_OF_ROW[row]]
    assert (entry["amount"], entry["unit"]) == amount_and_unit(timescales_table()[row])


def test_the_plan_is_ready_its_days_before_mace1_extendable_in_holiday_periods():
    default = timescales_table()[PLAN_ROW]
    assert amount_and_unit(default) == (SHIPPED.config["mace1"]["plan_ready_days_before"], "days")
    assert "holiday" in default and SHIPPED.config["mace1"]["holiday_periods"], "holiday periods are configured"


def test_mace1_meets_monthly_by_default_and_weekly_on_tuesdays_where_configured():
    default = timescales_table()[CADENCE_ROW]
    meetings = SHIPPED.config["mace1"]["meetings"]
    assert "monthly" in default and meetings["default"]["frequency"] == "monthly"
    assert "weekly on Tuesdays" in default
    assert any((c["frequency"], c["weekday"]) == ("weekly", "tuesday") for c in meetings.get("by_area", {}).values())
