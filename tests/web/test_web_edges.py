"""The web app's edges: a control character in any field is a 400 page naming the field, and changes nothing."""

from sqlalchemy import func, select

from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.mace import referrals
from tests.support.factories import SET_UP_ACTIONS
from tests.support.tasks import open_task
from tests.support.web import csrf_token, signed_in_client


def test_a_nul_in_the_sign_in_form_is_refused_naming_the_field(app, make_actor):
    make_actor("referrer", username="rowan")
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    response = client.post("/sign-in", data={"username": "rowan\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Remove the control characters (such as NUL) from: username. Nothing was saved." in html
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.not_in(SET_UP_ACTIONS))) == 0, "not even a failed sign-in"


def test_a_nul_in_the_stage_filter_is_refused(app, make_actor):
    make_actor("hub_practitioner", username="hana")
    response = signed_in_client(app, "hana").get("/tasks", query_string={"stage": "referral\x00"})
    assert response.status_code == 400
    assert "from: stage." in response.get_data(as_text=True)


def test_a_nul_in_a_web_reassign_changes_nothing(app, deploy, make_actor):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    make_actor("hub_practitioner", username="harper")
    made = referrals.start(make_actor("referrer"), app.config["PATHWAY_KEY"],
                           {"exploitation_types": ["online"], "concern": "X"}, area="north", child_name="Robin Example")
    task = open_task(made.case.id, "hub_decision")
    make_actor("team_manager", username="tam")
    client = signed_in_client(app, "tam")
    page = client.get(f"/tasks/{task.id}")
    refused = client.post(f"/tasks/{task.id}/reassign", data={"username": "harper\x00", "csrf_token": csrf_token(page)})
    assert refused.status_code == 400 and "from: username." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(HumanTask.assignee_id).where(HumanTask.id == task.id)) is None


def test_a_known_child_with_a_running_pathway_is_not_referred_again(app, deploy, make_actor):
    deploy("screening", key=app.config["PATHWAY_KEY"])
    referrer = make_actor("referrer", username="rowan")
    made = referrals.start(referrer, app.config["PATHWAY_KEY"], {"exploitation_types": ["online"], "concern": "X"},
                           area="north", child_name="Robin Example")
    client = signed_in_client(app, "rowan")
    assert "Raise a new referral for this child" not in client.get(f"/cases/{made.case.id}").get_data(as_text=True)
    form = client.get(f"/referrals/new?case={made.case.id}")
    sent = client.post(f"/referrals/new?case={made.case.id}",
                       data={"csrf_token": csrf_token(form), "screening.exploitation_types": "online",
                             "screening.concern": "Again", "action": "send"})
    assert sent.status_code == 409
    html = sent.get_data(as_text=True)
    assert "The referral was not sent." in html and "pathway is still running" in html and "Again" in html
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_a_form_over_the_size_limit_is_a_413_page(app):
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    response = client.post("/sign-in", data={"username": "x" * 300_000, "password": "x", "csrf_token": token})
    assert response.status_code == 413
    assert "That is too much to send" in response.get_data(as_text=True)
