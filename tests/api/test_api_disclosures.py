"""Small disclosures through the API and the case page: who exists elsewhere, and why a pathway was stopped."""

import pytest

from processes.engine import runtime
from processes.identity import users as identity
from processes.mace import cases
from tests.support.factories import person, screen
from tests.support.tasks import open_task
from tests.support.web import signed_in_client

API = "/api/v1"
REASON = "Duplicate of the referral the school made on Monday"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def people(make_people, deploy):
    deploy("screening")
    return make_people(referrer=person("referrer"), hub=person("hub_practitioner"),
                       manager=person("team_manager", username="mika-manager"),
                       south_hub=person("hub_practitioner", areas=("south",), username="sol-south-hub"),
                       other_role=person("allocated_worker", username="ash-worker"))


def bearer(actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


@pytest.fixture
def started(people):
    case = cases.create(people["referrer"], "north", "Robin Example")
    return case, runtime.start(people["referrer"], case.id, "screening")


def test_reassign_answers_alike_for_an_unknown_user_and_one_outside_the_area(client, people, started):
    case, _ = started
    screen(people["referrer"], case.id)
    task_id = open_task(case.id, "hub_decision").id
    answers = {}
    for username in ("sol-south-hub", "nobody-at-all", "ash-worker"):
        response = client.post(f"{API}/tasks/{task_id}/reassign", json={"username": username},
                               headers=bearer(people["manager"]))
        assert response.status_code == 400, username
        answers[username] = response.get_json()["errors"]["username"]
    assert answers["sol-south-hub"] == ["No active user 'sol-south-hub' holds the role hub_practitioner in this area."]
    assert answers["nobody-at-all"] == ["No active user 'nobody-at-all' holds the role hub_practitioner in this area."]
    assert answers["ash-worker"] == ["No active user 'ash-worker' holds the role hub_practitioner in this area."]
    assert open_task(case.id, "hub_decision").assignee_id is None


@pytest.fixture
def cancelled(client, people, started):
    case, instance = started
    response = client.post(f"{API}/instances/{instance.id}/cancel", json={"reason": REASON},
                           headers=bearer(people["manager"]))
    assert response.status_code == 200
    return case


def test_a_cancel_reason_is_in_the_history_for_managers_only(client, people, cancelled):
    def cancel_entry(actor) -> dict:
        history = client.get(f"{API}/cases/{cancelled.id}/history", headers=bearer(actor)).get_json()
        [entry] = [a for a in history["audit"] if a["action"] == "instance.cancel"]
        return entry

    assert cancel_entry(people["manager"])["detail"] == REASON
    assert cancel_entry(people["referrer"])["detail"] is None
    assert cancel_entry(people["hub"])["detail"] is None


@pytest.mark.parametrize(("who", "shown"), [("manager", True), ("referrer", False), ("hub", False)])
def test_the_case_page_shows_a_cancel_reason_to_managers_only(app, people, cancelled, who, shown):
    """One sign-in a test: Flask-Login keeps the user it loaded in the tests' long-lived app context."""
    page = signed_in_client(app, people[who].username).get(f"/cases/{cancelled.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Pathway stopped" in html
    assert (f"Reason: {REASON}" in html) is shown and (REASON in html) is shown
