"""The records pages through Flask's test client, on the real pathway: administrators review the cases due under
the retention schedule and erase one together; a child's whole record is exported as PDF and JSON, audited."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import time_machine
from flask import g
from pypdf import PdfReader
from sqlalchemy import func, select

from app.web.auth import limiter
from processes.engine import runtime
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace import cases, meetings, retention
from processes.mace.demo import ANSWERS, PATHWAY_FOLDERS
from processes.mace.models import Case, RetentionReview
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import MONDAY, Child, deploy_pathway, walk
from tests.support.tasks import swept
from tests.support.web import csrf_token, signed_in_client

CHILD = "Riley Recorded"
CONCERN = "Seen with an unknown adult at the bus station"
SCREENING = json.loads((PATHWAY_FOLDERS[1] / "screening.schema.json").read_text())


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, usernames=lambda role: role.replace("_", "-"),
                       second_admin=person("admin", areas=BOTH_AREAS, username="second-admin"))


@pytest.fixture
def signed_in(app, people):
    limiter.reset()

    def sign_in(who: str):
        for cached in ("_login_user", "csrf_token"):  # kept in the test's app context from the last sign-in
            g.pop(cached, None)
        return signed_in_client(app, people[who].username)

    return sign_in


@pytest.fixture
def closed_child(people):
    """A child screened, then withdrawn; the clock held at the day their record falls due for review."""
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        case = cases.create(people["referrer"], "north", CHILD)
        runtime.start(people["referrer"], case.id, "mace")
        walk(Child(case, people, clock), ["screen"], screen={"concern": CONCERN})
        runtime.cancel(people["admin"], meetings.running_main(case.id).id, "Referral withdrawn")
        clock.move_to(db.session.get(RetentionReview, case.id).due_on + timedelta(days=1))
        for case_id in swept()["retention"]:
            retention.list_due(case_id)
        yield case.id


def _audited(action: str, case_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action, AuditEvent.case_id == case_id))


def _decide(client, case_id: int, decision: str):
    page = client.get("/records")
    return client.post(f"/records/{case_id}/{decision}", data={"csrf_token": csrf_token(page)})


def test_two_administrators_erase_a_record_from_the_records_page(signed_in, closed_child):
    first = signed_in("admin")
    page = first.get("/records")
    assert page.status_code == 200 and CHILD in page.get_data(as_text=True)
    assert _audited("retention.list", closed_child) == 1, "each child the list shows is audited"
    assert _decide(first, closed_child, "propose").status_code == 302
    refused = _decide(first, closed_child, "approve")
    assert refused.status_code == 403 and "Another administrator" in refused.get_data(as_text=True)
    assert "You proposed it" in first.get("/records").get_data(as_text=True)

    second = signed_in("second_admin")
    assert _decide(second, closed_child, "approve").status_code == 302
    follow = second.get("/records")
    assert "The record is erased" in follow.get_data(as_text=True) and CHILD not in follow.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, closed_child).child_name == retention.ERASED_NAME


def test_only_administrators_see_the_records_page_or_export(signed_in, closed_child):
    manager = signed_in("team_manager")
    assert manager.get("/records").status_code == 403
    assert manager.get(f"/cases/{closed_child}/subject-access.json").status_code == 403
    assert "Records" not in manager.get("/tasks").get_data(as_text=True)
    page = manager.get("/records")
    assert manager.post(f"/records/{closed_child}/propose", data={"csrf_token": csrf_token(manager.get("/tasks"))}
                        ).status_code == 403
    assert page.status_code == 403
    assert db.session.get(RetentionReview, closed_child).status == "due"


def test_a_subject_access_export_holds_the_whole_record_and_is_audited(signed_in, closed_child):
    admin = signed_in("admin")
    case_page = admin.get(f"/cases/{closed_child}").get_data(as_text=True)
    assert "subject-access.pdf" in case_page and "subject-access.json" in case_page

    exported = admin.get(f"/cases/{closed_child}/subject-access.json")
    assert exported.status_code == 200
    assert CHILD not in exported.headers["Content-Disposition"], "file names name no child"
    record = exported.get_json()
    assert record["child"]["name"] == CHILD
    screening = next(a for a in record["answers"] if any(f["answer"] == CONCERN for f in a["fields"]))
    assert screening["completed_by"]
    assert any(entry["action"] == "instance.cancel" for entry in record["timeline"])
    assert any(entry["username"] == "admin" for entry in record["looked_at_by"])

    pdf = admin.get(f"/cases/{closed_child}/subject-access.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    agency = SCREENING["properties"]["referrer_agency"]
    label = next(o["title"] for o in agency["oneOf"] if o["const"] == ANSWERS["screen"]["referrer_agency"])
    for expected in (CHILD, CONCERN, "Who looked at this record", agency["title"], label):
        assert " ".join(expected.split()) in " ".join(text.split()), f"{expected!r} is not in the PDF"
    assert _audited("case.subject_access", closed_child) == 2
