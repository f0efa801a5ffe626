"""Oversight on the real pathway: overdue dashboard, export, weekly trend, bottlenecks and quarterly trends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from processes.engine.db import db
from processes.engine.errors import Forbidden, InvalidInput
from processes.engine.models import AuditEvent
from processes.mace import oversight
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, child_on_pathway, deploy_pathway, start_child, uk, walk, with_timescales

HUB_DECISION = (1, "working_days")  # the timescale the dashboard's counts below rest on


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, south_manager=person("team_manager", areas=("south",)))


@pytest.fixture
def three_children(people):
    """Three referrals waiting for the hub: opened on Mon 4, Wed 6 and Fri 15 January 2027; the clock stays
    held (at the last of them) until the test ends. The hub has the working day these tests count on, whatever
    the shipped timescales.json says."""
    deploy_pathway(with_timescales(hub_decision=HUB_DECISION))
    with time_machine.travel(MONDAY, tick=False) as clock:
        children = []
        for opened in (MONDAY, uk(2027, 1, 6, 9, 0), uk(2027, 1, 15, 9, 0)):
            clock.move_to(opened)
            child = start_child(people, clock)
            child.complete("screen")
            children.append(child)
        yield children


def test_the_dashboard_sorts_open_steps_into_overdue_due_this_week_and_on_time(people, three_children):
    three_children[-1].clock.move_to(uk(2027, 1, 14, 12, 0))  # Thursday
    board = oversight.dashboard(people["team_manager"])
    first, second, third = (c.case.id for c in three_children)
    assert board.counts == {"referral": {"overdue": 2, "due_this_week": 0, "on_time": 1}}
    assert board.by_area == {"north": {"overdue": 2, "due_this_week": 0, "on_time": 1}}
    assert [(r.task.case_id, r.days_overdue) for r in board.rows] == [(first, 9), (second, 7), (third, 0)], \
        "oldest first, with days overdue"
    assert board.total == 3 and board.rows[0].child_name == "Casey Fictional"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "dashboard.view"))


def test_the_dashboard_filters_by_due_state_stage_and_area_and_keeps_to_the_managers_areas(people, three_children):
    three_children[-1].clock.move_to(uk(2027, 1, 14, 12, 0))
    overdue = oversight.dashboard(people["mace_chair"], oversight.Filters(due_state="overdue"))
    assert [r.days_overdue for r in overdue.rows] == [9, 7]
    assert oversight.dashboard(people["mace_chair"], oversight.Filters(stage="mace1")).rows == []
    assert oversight.dashboard(people["south_manager"]).total == 0
    with pytest.raises(InvalidInput):
        oversight.dashboard(people["south_manager"], oversight.Filters(area="north"))
    with pytest.raises(Forbidden):
        oversight.dashboard(people["allocated_worker"])


def test_the_export_holds_the_same_rows(people, three_children):
    three_children[-1].clock.move_to(uk(2027, 1, 14, 12, 0))
    lines = oversight.export(people["business_support"])
    assert lines[0][:3] == ["task_id", "case_id", "child"]
    assert [(line[1], line[8], line[9]) for line in lines[1:]] == [
        (str(c.case.id), days, state) for c, days, state in
        zip(three_children, ("9", "7", "0"), ("overdue", "overdue", "on_time"), strict=True)]


def test_the_weekly_trend_counts_steps_overdue_at_each_week_end(people, three_children):
    first = three_children[0]
    first.clock.move_to(uk(2027, 1, 14, 9, 0))  # the oldest is decided on Thursday 14 January
    first.complete("hub_decision")
    first.clock.move_to(uk(2027, 2, 3, 9, 0))
    trend = oversight.weekly_trend(people["team_manager"])
    assert len(trend) == 12 and trend[0][0] == date(2026, 11, 23)
    by_week = dict(trend)
    assert by_week[date(2027, 1, 4)] == 0
    assert by_week[date(2027, 1, 11)] == 2, "end of Sunday 10 January: the first two were overdue"
    assert by_week[date(2027, 1, 18)] == 1, "the first was decided; the third is due on the Monday"
    assert by_week[date(2027, 1, 25)] == 2
    assert trend[-1] == (date(2027, 2, 3), 3), "this week so far: the first child's RIC Record is late too"


def test_bottlenecks_compare_time_spent_with_the_target_and_name_the_cases_over_it(people, three_children):
    on_time, late, _ = three_children
    on_time.clock.move_to(MONDAY + timedelta(hours=20))
    on_time.complete("hub_decision")
    late.clock.move_to(uk(2027, 1, 11, 9, 0))
    late.complete("hub_decision")
    late.clock.move_to(uk(2027, 1, 16, 9, 0))
    [hub] = [s for s in oversight.bottlenecks(people["mace_chair"]) if s.element_id == "hub_decision"]
    assert hub.target_days == pytest.approx(HUB_DECISION[0]) and hub.count == 3
    assert hub.cases_over_target == [late.case.id] and hub.over_target == 1
    assert hub.median_days == pytest.approx(1.0), "the median of 0.83, 5 and 1 (still open) days"


def test_quarterly_trends_count_cases_and_the_places_of_concern_that_recur(people):
    deploy_pathway()
    for area, place in (("north", "Underpass by the retail park"), ("south", "underpass by the retail park"),
                        ("north", "Bus station")):
        with child_on_pathway(people, uk(2027, 2, 1, 9, 0), area=area) as child:
            walk(child, ["screen", "hub_decision"])
            child.complete("ric_record", risk_level="Medium" if place == "Bus station" else "High")
    trends = oversight.quarterly(people["mace_chair"], 2027, 1)
    assert trends.by_exploitation_type == {"criminal": 3}
    assert trends.by_risk_level == {"High": 2, "Medium": 1}
    assert trends.by_area == {"north": 2, "south": 1}
    assert [(v.lower(), n, areas) for v, n, areas in trends.recurring_locations] == \
        [("underpass by the retail park", 3, ["north", "south"])]
    assert [(n, areas) for _, n, areas in trends.recurring_persons] == [(3, ["north", "south"])]
    assert oversight.quarterly(people["mace_chair"], 2027, 2).by_area == {}
    south_only = oversight.quarterly(people["south_manager"], 2027, 1)
    assert south_only.recurring_locations == [], "another area's children are not counted for a south manager"


def test_the_sweep_keeps_each_ended_weeks_count_once_and_the_trend_reads_it(people, three_children):
    from processes.engine import scheduler
    from processes.mace.models import OverdueWeek
    from tests.support.tasks import swept
    clock = three_children[0].clock
    clock.move_to(uk(2027, 1, 20, 9, 0))
    live = oversight.weekly_trend(people["team_manager"])
    assert swept()["upkeep"] == [1], "a week has ended uncounted"
    assert scheduler.run("upkeep", 1).done >= 12 * 2, "twelve weeks for each of the two areas"
    assert swept()["upkeep"] == [], "nothing more to do until the next week ends"
    kept = {(w.area_code, w.week_end): w.overdue for w in db.session.scalars(select(OverdueWeek))}
    assert kept[("north", date(2027, 1, 11))] == 2 and kept[("south", date(2027, 1, 11))] == 0
    assert oversight.weekly_trend(people["team_manager"]) == live, "stored counts agree with counting afresh"
    three_children[0].complete("hub_decision")  # done later: the week that ended keeps what it was
    assert oversight.weekly_trend(people["team_manager"])[-2] == (date(2027, 1, 18), 2)
