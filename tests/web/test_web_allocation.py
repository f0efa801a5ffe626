"""The allocated worker on the web: the hub decision offers the area's workers and refuses any other, and a team
manager changes the case's worker from the case page, moving its open steps."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace.models import Case
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, SHIPPED, child_on_pathway, walk
from tests.support.web import csrf_token, errors_listed, signed_in_client


@pytest.fixture
def people(make_people):
    SHIPPED.deploy()
    return make_people(every_role=BOTH_AREAS, usernames=lambda role: role.replace("_", "-"),
                       other_worker=person("allocated_worker", username="other-worker"),
                       south_worker=person("allocated_worker", areas=("south",), username="south-worker"))


def test_the_hub_decision_offers_the_areas_workers_and_names_a_foreign_one_as_the_error(app, people):
    with child_on_pathway(people, MONDAY) as child:
        child.complete("screen")
        hub = child.step("hub_decision")
        client = signed_in_client(app, "hub-practitioner")
        page = client.get(f"/tasks/{hub.id}")
        html = page.get_data(as_text=True)
        assert 'value="other-worker"' in html and 'value="south-worker"' not in html
        refused = client.post(f"/tasks/{hub.id}", data={
            "hub_decision": "allocate", "allocated_worker": "south-worker", "hub_reason": "Indicators",
            "csrf_token": csrf_token(page)})
        assert "allocated_worker" in errors_listed(refused)
        assert child.open_steps() == ["hub_decision"], "nothing was recorded"


def test_a_team_manager_changes_the_worker_on_the_case_page_and_the_open_steps_move(app, people):
    with child_on_pathway(people, MONDAY) as child:
        walk(child, ["screen", "hub_decision"])
        assert child.step("ric_record").assignee_id == people["allocated_worker"].id
        client = signed_in_client(app, "team-manager")
        page = client.get(f"/cases/{child.case.id}")
        assert 'id="change-worker"' in page.get_data(as_text=True)
        foreign = client.post(f"/cases/{child.case.id}/worker", data={"worker": "south-worker",
                                                                      "csrf_token": csrf_token(page)},
                              follow_redirects=True)
        assert "is not an allocated worker of this area" in foreign.get_data(as_text=True)
        assert child.step("ric_record").assignee_id == people["allocated_worker"].id
        moved = client.post(f"/cases/{child.case.id}/worker", data={"worker": "other-worker",
                                                                    "csrf_token": csrf_token(page)},
                            follow_redirects=True)
        assert moved.status_code == 200
        db.session.expire_all()
        assert child.step("ric_record").assignee_id == people["other_worker"].id
        assert db.session.get(Case, child.case.id).allocated_worker_id == people["other_worker"].id
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "case.allocate")) == 1
        no_token = client.post(f"/cases/{child.case.id}/worker", data={"worker": "allocated-worker"})
        assert no_token.status_code == 400
