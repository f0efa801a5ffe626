"""Timescales and the MACE 1 calendar from timescales.json: counting, meeting days, plan deadlines, bad config."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime

import pytest
import time_machine

from processes.engine import bundle_files, repository, runtime
from processes.engine.clock import aware
from processes.engine.errors import BundleInvalid
from processes.mace import cases
from processes.mace.demo import PATHWAY_FOLDERS, ROOT
from processes.mace.timescales import FILE_NAME, Timescales, UnknownTimescale
from processes.mace.working_days import UK, add_working_days
from tests.support.tasks import open_task

CONFIG = json.loads((ROOT / "bpmn" / FILE_NAME).read_text(encoding="utf-8"))
# The arithmetic below is checked against these values, set here rather than read from the shipped file, so that a
# process owner changing bpmn/timescales.json breaks none of it (test_shipped_defaults pins the shipped defaults).
KNOWN_STEPS = {"hub_decision": (1, "working_days"), "circulate_plan": (5, "working_days"),
               "return_home_interview": (72, "hours"), "review_after_mace1": (3, "months")}
KNOWN_MACE1 = {
    "plan_ready_days_before": 28,
    "holiday_periods": [{"name": "Christmas and New Year", "from": "12-20", "to": "01-04", "extend_by_days": 14},
                        {"name": "Summer holidays", "from": "07-24", "to": "08-31", "extend_by_days": 14}],
    "meetings": {"default": {"frequency": "monthly", "weekday": "tuesday", "week_of_month": 2, "time": "10:00"},
                 "by_area": {"south": {"frequency": "weekly", "weekday": "tuesday", "time": "10:00"}}},
}


@pytest.fixture
def scales() -> Timescales:
    """The shipped file's shape with the known values above."""
    config = copy.deepcopy(CONFIG)
    for name, (amount, unit) in KNOWN_STEPS.items():
        config["timescales"][name] = {"amount": amount, "unit": unit}
    config["mace1"].update(copy.deepcopy(KNOWN_MACE1))
    return Timescales(config)


def test_working_days_skip_weekends_and_bank_holidays_on_uk_clocks(scales):
    # 10:00 on the Thursday before Easter 2027 -> 10:00 BST on the Tuesday after Easter Monday.
    start = datetime(2027, 3, 25, 10, tzinfo=UK)
    assert scales.after("hub_decision", start) == datetime(2027, 3, 30, 10, tzinfo=UK)
    # 5 working days before Thursday 1 April: Easter Monday, the weekend and Good Friday do not count.
    assert scales.before("circulate_plan", datetime(2027, 4, 1, 10, tzinfo=UK)) == datetime(2027, 3, 23, 10,
                                                                                               tzinfo=UK)


def test_hours_are_elapsed_time_and_months_are_calendar_months(scales):
    returned = datetime(2027, 3, 27, 23, 0, tzinfo=UTC)  # the clocks go forward on the 28th
    assert scales.after("return_home_interview", returned) == datetime(2027, 3, 30, 23, 0, tzinfo=UTC)
    assert scales.after("review_after_mace1", "2027-11-30T10:00:00+00:00") == \
        datetime(2028, 2, 29, 10, tzinfo=UTC), "end of month clamps, leap year"


def test_an_unknown_timescale_names_itself(scales):
    with pytest.raises(UnknownTimescale, match=r"no timescale 'hub_decison' in timescales\.json"):
        scales.after("hub_decison")


def test_monthly_meetings_on_the_second_tuesday_and_weekly_on_tuesdays(scales):
    north = [m.starts_at for m in scales.meetings("north", date(2027, 1, 1), 3)]
    assert north == [datetime(2027, m, d, 10, tzinfo=UK) for m, d in ((1, 12), (2, 9), (3, 9))]
    south = [m.starts_at.astimezone(UK).date() for m in scales.meetings("south", date(2027, 1, 1), 3)]
    assert south == [date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19)]


def test_a_meeting_on_a_bank_holiday_moves_to_the_next_working_day(scales):
    # 28 December 2027 is the substitute bank holiday for Christmas Day, a Saturday.
    days = [m.starts_at.astimezone(UK).date() for m in scales.meetings("south", date(2027, 12, 20), 2)]
    assert days == [date(2027, 12, 21), date(2027, 12, 29)]


def test_the_plan_deadline_is_its_days_before_extended_by_holiday_periods(scales):
    assert scales.plan_deadline(date(2027, 3, 9)) == date(2027, 2, 9)
    # The window (15 Dec to 11 Jan) touches the Christmas holiday period, which extends it by 14 days.
    assert scales.plan_deadline(date(2027, 1, 12)) == date(2026, 12, 1)
    assert scales.plan_deadline(date(2027, 8, 10)) == date(2027, 6, 29), "the summer holidays, likewise"
    scales.config["mace1"]["holiday_periods"] = []
    assert scales.plan_deadline(date(2027, 1, 12)) == date(2026, 12, 15)


def test_a_plan_deadline_on_a_weekend_or_bank_holiday_moves_back_to_a_working_day(scales):
    scales.config["mace1"]["holiday_periods"] = []
    scales.config["mace1"]["plan_ready_days_before"] = 30  # from a Tuesday, a Sunday
    assert scales.plan_deadline(date(2027, 3, 9)) == date(2027, 2, 5), "Friday"
    scales.config["mace1"]["plan_ready_days_before"] = 28
    assert scales.plan_deadline(date(2028, 1, 25)) == date(2027, 12, 24), "28 Dec 2027 is a bank holiday"


def test_booking_takes_the_first_meeting_whose_plan_deadline_is_ahead(scales):
    # On 10 February the 9 March meeting's plan deadline (9 February) has gone: the case goes to April's.
    with time_machine.travel(datetime(2027, 2, 10, 9, tzinfo=UTC), tick=False):
        meeting = scales.book("north")
    assert meeting.as_data() == {"date": "2027-04-13T09:00:00+00:00", "day": "2027-04-13",
                                 "plan_deadline": "2027-03-16"}


def test_a_review_is_booked_into_the_meeting_nearest_its_due_date(scales):
    with time_machine.travel(datetime(2027, 2, 10, 9, tzinfo=UTC), tick=False):
        assert scales.book("north", "2027-05-09").starts_at.astimezone(UK).date() == date(2027, 5, 11)
        assert scales.book("north", "2027-08-11").starts_at.astimezone(UK).date() == date(2027, 8, 10)
        assert scales.book("south", "2027-05-09").starts_at.astimezone(UK).date() == date(2027, 5, 11)


def pathway_with(edit) -> dict[str, str]:
    files = bundle_files.read_folder(*PATHWAY_FOLDERS)
    config = json.loads(files[FILE_NAME])
    edit(config)
    files[FILE_NAME] = json.dumps(config)
    return files


def deploy_problems(files) -> list[tuple[str, str | None, str]]:
    with pytest.raises(BundleInvalid) as raised:
        repository.deploy(None, "mace", files)
    assert repository.count() == 0
    return [(p.file, p.element_id, p.message) for p in raised.value.problems]


def test_bad_timescales_are_refused_at_deploy_naming_where(app):
    files = pathway_with(lambda c: c["timescales"]["hub_decision"].update(unit="fortnights"))
    [(file, element, message)] = deploy_problems(files)
    assert (file, element) == (FILE_NAME, None)
    assert message.startswith("The timescales break their rules at timescales/hub_decision/unit: 'fortnights'")


def test_a_holiday_period_on_a_day_no_year_has_is_refused(app):
    files = pathway_with(lambda c: c["mace1"]["holiday_periods"][0].update({"to": "02-31"}))
    [(_, _, message)] = deploy_problems(files)
    assert "mace1/holiday_periods/0/to: '02-31' is not a day of the year" in message


def test_a_monthly_meeting_needs_its_week_of_the_month(app):
    files = pathway_with(lambda c: c["mace1"]["meetings"]["default"].pop("week_of_month"))
    [(_, _, message)] = deploy_problems(files)
    assert "mace1/meetings/default: 'week_of_month' is a required property" in message


def test_a_diagram_counting_a_timescale_the_file_lacks_is_refused_naming_the_step(app):
    files = pathway_with(lambda c: c["timescales"].pop("ric_meeting"))
    assert deploy_problems(files) == [
        ("ric_meeting.bpmn", "ric_plan", "No timescale 'ric_meeting' in timescales.json.")]


def test_changing_a_timescale_needs_no_python_only_a_redeploy(app, make_actor):
    first, _ = repository.deploy(None, "mace", bundle_files.read_folder(*PATHWAY_FOLDERS))
    longer = CONFIG["timescales"]["hub_decision"]["amount"] + 1
    second, created = repository.deploy(None, "mace", pathway_with(
        lambda c: c["timescales"]["hub_decision"].update(amount=longer, unit="working_days")))
    assert created and second.version == first.version + 1
    referrer = make_actor("referrer")
    with time_machine.travel(datetime(2027, 1, 4, 9, tzinfo=UTC), tick=False):
        case = cases.create(referrer, "north", "Robin Fictional")
        runtime.start(referrer, case.id, "mace")
        runtime.complete_task(referrer, open_task(case.id, "screen").id, {
            "referrer_agency": "health", "exploitation_types": ["online"], "indicators": ["online_contact"],
            "concern": "Messages from an unknown adult", "child_aware": False, "parents_aware": True})
    assert aware(open_task(case.id, "hub_decision").due_at) == add_working_days(
        datetime(2027, 1, 4, 9, tzinfo=UTC), longer)


def test_a_timescale_named_in_documentation_is_not_an_expression_but_a_computed_name_must_be_quoted(app):
    files = bundle_files.read_folder(*PATHWAY_FOLDERS)
    files["mace.bpmn"] = files["mace.bpmn"].replace(
        "<bpmn:documentation>", '<bpmn:documentation>Reviews use due_after("three_months"). ', 1)
    old = """value='due_after("hub_decision")'"""
    assert old in files["referral.bpmn"]
    files["referral.bpmn"] = files["referral.bpmn"].replace(old, """value='due_after(which)'""")
    expected = 'due_after takes the name of a timescale in quotes first, e.g. due_after("hub_decision").'
    found = deploy_problems(files)
    assert ("referral.bpmn", "hub_decision", expected) in found
    # The engine's own check says so too: `which` is a name nothing in the bundle sets.
    assert [(f, e) for f, e, m in found if "'which'" in m] == [("referral.bpmn", "hub_decision")]
    assert len(found) == 2


def test_days_overdue_count_uk_calendar_days():
    from processes.mace.working_days import days_overdue
    due = datetime(2027, 1, 5, 23, 30, tzinfo=UTC)  # 23:30 GMT on Tuesday
    assert days_overdue(due, datetime(2027, 1, 6, 0, 30, tzinfo=UTC)) == 1, "an hour later, but the next day"
    assert days_overdue(due, datetime(2027, 1, 5, 23, 45, tzinfo=UTC)) == 0, "overdue since earlier today"
    assert days_overdue(due, datetime(2027, 1, 5, 9, 0, tzinfo=UTC)) == 0 and days_overdue(None, due) == 0
    summer = datetime(2027, 6, 1, 23, 30, tzinfo=UTC)  # 00:30 BST on 2 June: already the 2nd in the UK
    assert days_overdue(summer, datetime(2027, 6, 2, 22, 0, tzinfo=UTC)) == 0
