"""Plan actions and date rules in the web app: the RIC plan's action rows, GOV.UK errors for dates on the wrong
side of today, the actions on the case page and the owners' work list, and marking one done."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from app.web import formkit
from app.web.auth import limiter
from processes.engine import runtime
from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace.demo import ANSWERS, ROOT
from processes.mace.models import PlanAction
from processes.mace.working_days import UK
from tests.support.factories import person, start_case
from tests.support.pathway import KEY, deploy_pathway
from tests.support.tasks import open_task
from tests.support.web import csrf_token, errors_listed, signed_in_client

PLAN_FORM = json.loads((ROOT / "forms" / "ric_plan.schema.json").read_text(encoding="utf-8"))


def posted(schema: dict[str, Any], data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The form fields a browser posts for these answers, named as formkit draws the inputs."""
    form: dict[str, Any] = {}
    for name, value in formkit.raw_from_data(schema, data).items():
        prop, key = schema["properties"][name], f"{prefix}{name}"
        kind = formkit.kind_of(prop, {})
        if kind == "date":
            form |= {f"{key}-{part}": value[part] for part in formkit.DATE_PARTS}
        elif kind == "rows":
            form[f"{key}-rows"] = str(len(data[name]))
            for index, row in enumerate(data[name]):
                form |= posted(formkit.item_schema(prop), row, f"{key}.{index}.")
        else:
            form[key] = value
    return form


def today() -> date:
    return now().astimezone(UK).date()


@pytest.fixture
def plan(app, make_people):
    """A child of the shipped pathway with its RIC plan open, the people of the north, and a south core member."""
    limiter.reset()
    deploy_pathway()
    people = make_people(every_role=("north",), south_member=person("core_member", areas=("south",)))
    case, _ = start_case(people["referrer"], KEY, "Robin Example")
    for step in ("screen", "hub_decision", "ric_record"):
        task = open_task(case.id, step)
        named = {"allocated_worker": people["allocated_worker"].username} if step == "hub_decision" else {}
        runtime.complete_task(people[task.role], task.id, {**ANSWERS[step], **named})
    return case.id, open_task(case.id, "ric_plan").id, people


def client_for(app, people, role: str):
    """Signed in as this person; the last sign-in's user and token are cached in the test's app context."""
    for cached in ("_login_user", "csrf_token"):
        g.pop(cached, None)
    return signed_in_client(app, people[role].username)


def test_a_date_on_the_wrong_side_of_today_is_a_gov_uk_error_naming_the_field_and_keeps_the_answers(app, plan):
    _, task_id, people = plan
    client = client_for(app, people, "ric_senior_practitioner")
    answers = ANSWERS["ric_plan"]
    tomorrow, yesterday = (today() + timedelta(days=1)).isoformat(), (today() - timedelta(days=1)).isoformat()
    wrong = {**answers, "meeting_held_on": tomorrow, "actions": [{**answers["actions"][0], "due_date": yesterday}]}
    form = {"csrf_token": csrf_token(client.get(f"/tasks/{task_id}")), "action": "complete", **posted(PLAN_FORM, wrong)}
    response = client.post(f"/tasks/{task_id}", data=form)
    assert response.status_code == 400
    listed = errors_listed(response)
    assert listed["meeting_held_on-day"] == "Date the RIC meeting was held must be today or in the past"
    assert listed["actions-0-due_date-day"] == "Due date must be today or in the future"
    html = response.get_data(as_text=True)
    assert "govuk-form-group--error" in html and f'value="{yesterday.split("-")[0]}"' in html, "typed answers stay"
    assert db.session.scalar(select(PlanAction.id)) is None, "nothing was kept"


def test_the_plans_actions_show_on_the_case_page_and_the_owners_work_list_and_an_owner_marks_one_done(app, plan):
    case_id, task_id, people = plan
    planner = client_for(app, people, "ric_senior_practitioner")
    form = {"csrf_token": csrf_token(planner.get(f"/tasks/{task_id}")), "action": "complete",
            **posted(PLAN_FORM, ANSWERS["ric_plan"])}
    # Each action is a row of its own fields, added and removed without JavaScript.
    added = planner.post(f"/tasks/{task_id}", data={**form, "action": "add:actions"}).get_data(as_text=True)
    assert 'name="actions.1.action"' in added and 'name="actions.1.due_date-day"' in added
    assert '<select class="govuk-select" id="actions-1-agency" name="actions.1.agency"' in added
    assert planner.post(f"/tasks/{task_id}", data=form).status_code == 302
    [action] = db.session.scalars(select(PlanAction)).all()
    assert "Mark done" not in planner.get(f"/cases/{case_id}").get_data(as_text=True), "only owners mark it done"

    member = client_for(app, people, "core_member")
    listed = member.get("/plan-actions").get_data(as_text=True)
    assert action.text in listed and "Mark done" in listed
    case_page = member.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="plan-actions"' in case_page and "Police" in case_page and "Mark done" in case_page
    forged = member.post(f"/plan-actions/{action.id}/done", data={"back": "case"})
    assert forged.status_code == 400, "the form needs its CSRF token"
    token = csrf_token(member.get(f"/cases/{case_id}"))
    done = member.post(f"/plan-actions/{action.id}/done", data={"csrf_token": token, "back": "case"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{case_id}#plan-actions")
    after = member.get(f"/cases/{case_id}").get_data(as_text=True)
    assert ">Done</strong>" in after and "Mark done" not in after
    assert action.text not in member.get("/plan-actions").get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.case_id).where(AuditEvent.action == "plan_action.done")) == case_id
    outsider = client_for(app, people, "south_member")
    assert outsider.post(f"/plan-actions/{action.id}/done",
                         data={"csrf_token": csrf_token(outsider.get("/plan-actions"))}).status_code == 404
