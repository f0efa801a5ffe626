"""Retention and erasure: a closed case is placed on the schedule the pathway carries, listed for review when due,
and erased everywhere on the decision of two administrators, leaving ids and who decided but no name."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import MetaData, select

from processes.engine import bundle as bundles
from processes.engine import bundle_files, repository, runtime
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.errors import BundleInvalid, Conflict, Forbidden, NotFound
from processes.engine.models import AuditEvent
from processes.mace import cases, meetings, retention
from processes.mace.demo import ANSWERS, PATHWAY_FOLDERS
from processes.mace.models import Case, RetentionReview
from processes.mace.working_days import UK
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, Child, deploy_pathway, walk
from tests.support.tasks import swept

ERASED_CHILD = "Taylor Erasable"
KEPT_CHILD = "Morgan Keepable"


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, second_admin=person("admin", areas=BOTH_AREAS),
                       south_admin=person("admin", areas=("south",)))


def _deployed_schedule(definition) -> retention.Schedule:
    return bundles.for_definition(definition).configs[retention.FILE_NAME]


def _child(people, clock, name: str, marker: str, born: date | None = None) -> Child:
    """A child referred with answers of their own (persons and locations of concern named after `marker`)."""
    case = cases.create(people["referrer"], "north", name, born)
    runtime.start(people["referrer"], case.id, "mace")
    child = Child(case, people, clock)
    walk(child, ["screen", "hub_decision"], screen={
        "concern": f"Seen with {marker} after school",
        "persons_of_concern": [{"description": f"Older youth known as {marker}", "link": "associate"}],
        "locations_of_concern": [{"place": f"The {marker} underpass", "location_type": "open_space"}]})
    return child


def _close(people, child: Child, reason: str) -> None:
    runtime.cancel(people["admin"], meetings.running_main(child.case.id).id, reason)


def _review(case_id: int) -> RetentionReview:
    db.session.expire_all()
    return db.session.get(RetentionReview, case_id)


def _list_when_due(clock, case_id: int) -> None:
    clock.move_to(_review(case_id).due_on + timedelta(days=1))
    due = swept()["retention"]
    assert case_id in due
    for listed in due:
        retention.list_due(listed)


def test_a_closed_case_is_kept_for_the_time_its_schedule_says(people):
    definition = deploy_pathway()
    rules = _deployed_schedule(definition)
    born = date(2012, 5, 1)
    with time_machine.travel(MONDAY, tick=False) as clock:
        child = _child(people, clock, ERASED_CHILD, "marker-one", born)
        assert _review(child.case.id) is None, "a case with a pathway running is not on the schedule"
        _close(people, child, "Referral withdrawn")
    review = _review(child.case.id)
    closed = MONDAY.astimezone(UK).date()
    assert review.status == "kept" and review.outcome is None
    assert review.due_on == rules.due_on(closed, None, born)
    assert review.due_on >= closed.replace(year=closed.year + rules.default_years)
    if rules.keep_until_age is not None:
        assert review.due_on >= born.replace(year=born.year + rules.keep_until_age)


def test_the_rule_counts_years_by_outcome_and_never_before_the_age_set():
    config = json.loads((PATHWAY_FOLDERS[0] / retention.FILE_NAME).read_text())
    config["years_after_closure"]["by_outcome"] = {"close": 2, "escalate": 9}
    config["keep_until_age"] = 25
    rules = retention.RetentionFile().parse(json.dumps(config))
    closed = date(2030, 3, 1)
    assert rules.due_on(closed, "close", None) == date(2032, 3, 1)
    assert rules.due_on(closed, "escalate", None) == date(2039, 3, 1)
    assert rules.due_on(closed, "unlisted", None) == date(2030 + rules.default_years, 3, 1)
    assert rules.due_on(closed, "close", date(2020, 1, 1)) == date(2045, 1, 1), "kept until the 25th birthday"


def test_a_schedule_that_breaks_its_rules_is_refused_at_deploy_naming_the_file_and_place():
    files = bundle_files.read_folder(*PATHWAY_FOLDERS)
    files[retention.FILE_NAME] = json.dumps({"years_after_closure": {"default": -1}})
    with pytest.raises(BundleInvalid) as refused:
        repository.deploy(None, "mace", files)
    text = json.dumps(refused.value.to_dict())
    assert retention.FILE_NAME in text and "years_after_closure/default" in text


def test_the_sweep_lists_a_case_once_due_and_a_case_started_again_comes_off(people):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        listed = _child(people, clock, ERASED_CHILD, "marker-one")
        reopened = _child(people, clock, KEPT_CHILD, "marker-two")
        _close(people, listed, "Referral withdrawn")
        _close(people, reopened, "Referral withdrawn")
        assert swept()["retention"] == [], "nothing is due the day it closed"
        runtime.start(people["referrer"], reopened.case.id, "mace")
        _list_when_due(clock, listed.case.id)
        assert _review(listed.case.id).status == "due"
        assert _review(reopened.case.id) is None, "a case running again is off the schedule until it closes"
        assert swept()["retention"] == [], "listed once"
        assert [r.case.id for r in retention.reviews(people["admin"])] == [listed.case.id]
        assert retention.reviews(people["south_admin"]) == [], "another area's cases are not shown"
        with pytest.raises(Forbidden):
            retention.reviews(people["team_manager"])


def _every_value_in_the_database() -> str:
    """Every row of every table, as text: what an erasure must leave no trace in."""
    tables = MetaData()
    tables.reflect(bind=db.engine)
    db.session.commit()
    return "\n".join(repr(tuple(row)) for table in tables.sorted_tables
                     for row in db.session.execute(select(table)))


def test_erasure_needs_two_administrators_and_leaves_no_trace_of_the_child(people):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        erased = _child(people, clock, ERASED_CHILD, "marker-one", date(2011, 2, 3))
        kept = _child(people, clock, KEPT_CHILD, "marker-two")
        runtime.complete_task(people["allocated_worker"], erased.step("ric_record").id,
                              {**ANSWERS["ric_record"], "threats": "marker-one threats"})
        _close(people, erased, f"Withdrawn: {ERASED_CHILD} moved away")
        _list_when_due(clock, erased.case.id)
        case_id = erased.case.id
        before = _every_value_in_the_database()
        assert ERASED_CHILD in before and "marker-one" in before, "the scan must be able to find them"

        with pytest.raises(Forbidden):
            retention.propose_erasure(people["team_manager"], case_id)
        with pytest.raises(NotFound):
            retention.propose_erasure(people["south_admin"], case_id)
        with pytest.raises(Conflict):
            retention.approve_erasure(people["second_admin"], case_id)  # nobody proposed it yet
        retention.propose_erasure(people["admin"], case_id)
        with pytest.raises(Forbidden):
            retention.approve_erasure(people["admin"], case_id)
        assert _every_value_in_the_database().count(ERASED_CHILD) == before.count(ERASED_CHILD), \
            "nothing is erased on one administrator's say"
        retention.approve_erasure(people["second_admin"], case_id)

    after = _every_value_in_the_database()
    for trace in (ERASED_CHILD, "marker-one", "2011-02-03"):
        assert trace not in after, f"{trace!r} survived the erasure"
    for kept_trace in (KEPT_CHILD, "marker-two"):
        assert kept_trace in after, "another child's record was touched"
    review = _review(case_id)
    assert (review.status, review.proposed_by_id, review.approved_by_id) == \
        ("erased", people["admin"].id, people["second_admin"].id)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id)).all()
    assert {"task.complete", "instance.cancel", "retention.erasure_proposed", "retention.erased"} <= set(actions)
    assert db.session.get(Case, case_id).child_name == retention.ERASED_NAME
    with pytest.raises(Conflict):
        retention.approve_erasure(people["second_admin"], case_id)
    assert kept.open_steps(), "the other child's pathway runs on"


def test_keeping_a_record_longer_brings_it_back_for_review_later(people):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        child = _child(people, clock, ERASED_CHILD, "marker-one")
        _close(people, child, "Referral withdrawn")
        _list_when_due(clock, child.case.id)
        retention.propose_erasure(people["admin"], child.case.id)
        retention.keep_longer(people["second_admin"], child.case.id)
        review = _review(child.case.id)
        assert review.status == "kept" and review.proposed_by_id is None
        assert review.due_on > now().astimezone(UK).date()
        assert swept()["retention"] == []
        _list_when_due(clock, child.case.id)
        assert _review(child.case.id).status == "due"
