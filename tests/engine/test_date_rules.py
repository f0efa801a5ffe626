"""Dates that make sense: a form's `x-date` rule is checked at deploy, and on submit against today on UK clocks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from processes.engine import repository, runtime
from processes.engine.errors import BundleInvalid, InvalidInput
from tests.support.factories import bundle, person, start_case
from tests.support.tasks import open_task, snapshot

FORM = "return_interview.schema.json"
# 23:30 UTC on 30 June is 00:30 on 1 July in the UK (BST): "today" is the 1st.
LATE_EVENING = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)


def with_rules(**rules: object) -> dict[str, str]:
    """The screening bundle whose return interview form has a next contact date and dated notes, with these
    `x-date` rules by field name."""
    files = bundle("screening")
    schema = json.loads(files[FORM])
    fields = schema["properties"]
    fields["next_contact_on"] = {"type": "string", "format": "date", "title": "Next contact date"}
    fields["notes"] = {"type": "array", "items": {"type": "object", "properties": {
        "seen_on": {"type": "string", "format": "date", "title": "Date seen"}}}}
    rows = fields["notes"]["items"]["properties"]
    for field, rule in rules.items():
        (rows if field in rows else fields)[field]["x-date"] = rule
    files[FORM] = json.dumps(schema)
    return files


@pytest.fixture
def people(make_people):
    return make_people(referrer=person("referrer"), missing=person("missing_coordinator"))


@pytest.fixture
def interview(people):
    """An open return interview under rules: offered in the past, next contact in the future, rows seen in the past."""
    repository.deploy(None, "screening", with_rules(offered_on="past", next_contact_on="future", seen_on="past"))
    with time_machine.travel(LATE_EVENING, tick=False):
        case, instance = start_case(people["referrer"], "screening", "Date Child")
        runtime.deliver_message(people["missing"], case.id, "missing_episode", {"returned_on": "2027-06-30"})
        yield open_task(case.id, "return_interview"), instance


@pytest.mark.parametrize("rule", ["yesterday", True, "PAST"])
def test_an_unknown_rule_is_refused_at_deploy_naming_the_file_and_field(rule):
    with pytest.raises(BundleInvalid) as refused:
        repository.deploy(None, "screening", with_rules(offered_on=rule))
    [(file, field, message)] = [(p.file, p.element_id, p.message) for p in refused.value.problems]
    assert (file, field) == (FORM, "offered_on")
    assert '"past"' in message and '"future"' in message
    assert repository.count() == 0


def test_a_rule_on_a_field_that_is_not_a_date_is_refused_at_deploy():
    files = with_rules()
    schema = json.loads(files[FORM])
    schema["properties"]["notes"]["items"]["properties"]["seen_on"] = {"type": "string", "x-date": "past"}
    files[FORM] = json.dumps(schema)
    with pytest.raises(BundleInvalid) as refused:
        repository.deploy(None, "screening", files)
    [problem] = refused.value.problems
    assert (problem.file, problem.element_id) == (FORM, "notes.*.seen_on")
    assert "not a date" in problem.message


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({"offered_on": "2027-07-02"}, "offered_on", "Date the interview was offered must be today or in the past"),
    ({"offered_on": "2027-07-01", "next_contact_on": "2027-06-30"}, "next_contact_on",
     "Next contact date must be today or in the future"),
    ({"offered_on": "2027-07-01", "notes": [{"seen_on": "2027-06-30"}, {"seen_on": "2028-01-01"}]},
     "notes.1.seen_on", "Date seen must be today or in the past"),
])
def test_a_date_on_the_wrong_side_of_today_is_refused_naming_the_field_and_changes_nothing(
        people, interview, answers, field, message):
    task, instance = interview
    before = snapshot(instance.id)
    with time_machine.travel(LATE_EVENING, tick=False), pytest.raises(InvalidInput) as refused:
        runtime.complete_task(people["missing"], task.id, answers)
    assert refused.value.errors == {field: [message]}
    assert snapshot(instance.id) == before


def test_today_on_uk_clocks_is_both_past_and_future_enough(people, interview):
    task, _ = interview
    with time_machine.travel(LATE_EVENING, tick=False):  # still 30 June in UTC
        runtime.complete_task(people["missing"], task.id, {"offered_on": "2027-07-01", "next_contact_on": "2027-07-01",
                                                          "notes": [{"seen_on": "2027-07-01"}]})


def test_a_malformed_date_keeps_its_one_format_message(people, interview):
    task, _ = interview
    with time_machine.travel(LATE_EVENING, tick=False), pytest.raises(InvalidInput) as refused:
        runtime.complete_task(people["missing"], task.id, {"offered_on": "2999-01-01"})
    [message] = refused.value.errors["offered_on"]
    assert "Enter a real date" in message
