"""The allocated worker owns the case's steps, their own manager hears when one is overdue, and each agency's
core members get only their agency's steps: on the real pathway with a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from processes.engine import access, runtime, scheduler, tasks
from processes.engine.actors import Actor
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.errors import Forbidden, InvalidInput, NotFound
from processes.identity import users as identity
from processes.identity.models import User
from processes.mace import allocation, meetings
from processes.mace.demo import ANSWERS
from processes.mace.models import Booking, Case, Meeting, Notification
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, SHIPPED, TO_MACE1, child_on_pathway, walk


@pytest.fixture
def people(make_people):
    made = make_people(every_role=BOTH_AREAS, other_worker=person("allocated_worker"),
                       south_worker=person("allocated_worker", areas=("south",)),
                       other_manager=person("team_manager"))
    identity.create_team("Team One", "north", made["team_manager"].username)
    for key in ("allocated_worker", "other_worker"):
        identity.set_team_and_agency(made[key].username, team="Team One")
    SHIPPED.deploy()
    return made


def _ids(found) -> list[int]:
    return [t.id for t in found.tasks]


def test_the_hub_names_a_worker_of_the_area_whose_steps_go_straight_to_them_and_move_with_the_case(people):
    with child_on_pathway(people, MONDAY) as child:
        child.complete("screen")
        hub = child.step("hub_decision")
        offered = tasks.get_task(people["hub_practitioner"], hub.id).form_schema["properties"]["allocated_worker"]
        usernames = [option["const"] for option in offered["oneOf"]]
        assert people["other_worker"].username in usernames
        assert people["south_worker"].username not in usernames, "only the case's area's workers"
        with pytest.raises(InvalidInput) as refused:
            child.complete("hub_decision", allocated_worker=people["south_worker"].username)
        assert list(refused.value.errors) == ["allocated_worker"]
        assert child.open_steps() == ["hub_decision"], "nothing changed"

        child.complete("hub_decision", allocated_worker=people["other_worker"].username)
        record = child.step("ric_record")
        assert record.assignee_id == people["other_worker"].id
        assert db.session.get(Case, child.case.id).allocated_worker_id == people["other_worker"].id
        assert _ids(tasks.inbox(people["other_worker"], mine_only=True)) == [record.id]
        assert not access.can_claim(people["allocated_worker"], record), "not in the role's pool to claim"

        with pytest.raises(InvalidInput) as foreign:
            allocation.change_worker(people["team_manager"], child.case.id, people["south_worker"].username)
        assert list(foreign.value.errors) == ["worker"]
        with pytest.raises(Forbidden):
            allocation.change_worker(people["other_worker"], child.case.id, people["allocated_worker"].username)
        allocation.change_worker(people["team_manager"], child.case.id, people["allocated_worker"].username)
        db.session.expire_all()
        assert child.step("ric_record").assignee_id == people["allocated_worker"].id
        assert record.id not in _ids(tasks.inbox(people["other_worker"], mine_only=True))


def test_an_overdue_step_is_told_to_its_workers_own_manager_only(people):
    with child_on_pathway(people, MONDAY) as child:
        walk(child, ["screen", "hub_decision"])
        record = child.step("ric_record")
        child.clock.move_to(aware(record.due_at) + timedelta(hours=1))
        scheduler.sweep_here()
        told = set(db.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                      .where(Notification.kind == "overdue")))
        assert told == {people["allocated_worker"].username, people["team_manager"].username}


def test_an_overdue_step_of_a_worker_without_a_team_goes_to_the_areas_managers(people):
    identity.create_user("loner", "Loner", ["allocated_worker"], ["north"])
    with child_on_pathway(people, MONDAY) as child:
        walk(child, ["screen"])
        child.complete("hub_decision", allocated_worker="loner")
        child.clock.move_to(aware(child.step("ric_record").due_at) + timedelta(hours=1))
        scheduler.sweep_here()
        told = set(db.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                                      .where(Notification.kind == "overdue")))
        assert {people["team_manager"].username, people["other_manager"].username} <= told


def test_a_core_member_sees_and_claims_only_their_agencys_update(people):
    identity.create_user("police-member", "Police Member", ["core_member"], ["north"], agency="police")
    police = Actor.of(identity.get_user("police-member"))
    with child_on_pathway(people, MONDAY) as child:
        walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
        updates = {t.group_code: t for t in child.steps("agency_update")}
        assert {"police", "health"} <= set(updates)
        assert "Police" in updates["police"].name
        assert [t.id for t in tasks.inbox(police).tasks] == [updates["police"].id]
        with pytest.raises(NotFound):  # another agency's step is not even seen
            tasks.claim(police, updates["health"].id)
        tasks.claim(police, updates["police"].id)


def test_an_agency_must_be_a_configured_core_agency(people):
    with pytest.raises(InvalidInput) as refused:
        identity.create_user("nobody", "Nobody", ["core_member"], ["north"], agency="not_an_agency")
    assert list(refused.value.errors) == ["agency"]


def test_the_attendance_register_is_prefilled_from_the_agency_updates(people):
    with child_on_pathway(people, MONDAY) as child:
        walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
        updates = {t.group_code: t for t in child.steps("agency_update")}
        police, health = child.actor_for(updates["police"]), child.actor_for(updates["health"])
        runtime.complete_task(police, updates["police"].id, {**ANSWERS["agency_update"], "attendance": "deputy",
                                                             "attendee": "Dee Deputy", "deputy_briefed": True})
        runtime.complete_task(health, updates["health"].id, {**ANSWERS["agency_update"], "attendance": "attending"})
        [booking] = db.session.scalars(select(Booking).where(Booking.case_id == child.case.id))
        meeting = db.session.scalar(select(Meeting).where(Meeting.starts_at == booking.meeting_at,
                                                          Meeting.area_code == booking.area_code))
        register = meetings.register(people["business_support"], meeting.id)
        lines = {e.agency: (e.status, e.attendee, e.deputy_named_by, e.deputy_briefed) for e in register.entries}
        assert lines == {"police": ("deputy", "Dee Deputy", identity.display_name(police.id), True),
                         "health": ("present", identity.display_name(health.id), None, None)}


def test_a_deputy_must_be_named(people):
    with child_on_pathway(people, MONDAY) as child:
        walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
        update = child.steps("agency_update")[0]
        answers = {k: v for k, v in ANSWERS["agency_update"].items() if k != "attendee"}
        with pytest.raises(InvalidInput) as refused:
            runtime.complete_task(child.actor_for(update), update.id, answers)
        assert list(refused.value.errors) == ["attendee"]
