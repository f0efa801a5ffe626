"""The small defects a user meets, through Flask's test client on the real pathway: the inbox's first tab, the due
line, UK times in a conflict, role names on a refusal, the wording, calendar links, conditional questions, the
weekly chart's filters, the outcome summary and the choice of meeting when moving a case."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import select

from app.web.auth import limiter
from app.web.display import uk_date
from processes.engine import tasks
from processes.engine.clock import aware
from processes.engine.db import db
from processes.mace import casefile
from processes.mace.models import Booking, BookingMove, Meeting
from processes.mace.working_days import UK
from tests.support.factories import BOTH_AREAS
from tests.support.pathway import FIRST_MEETING, MONDAY, TO_MACE1, child_on_pathway, deploy_pathway, start_child, walk
from tests.support.web import csrf_token, errors_listed, signed_in_client


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, usernames=lambda role: role.replace("_", "-"))


@pytest.fixture
def signed_in(app, people):
    limiter.reset()
    return lambda who: signed_in_client(app, people[who].username)


@pytest.fixture
def referred(people):
    """A child screened on Monday 4 January 2027 at 9am, waiting for the hub; the clock is held there."""
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as child:
        child.complete("screen")
        yield child


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_inbox_opens_on_the_list_that_has_work(referred, signed_in):
    client = signed_in("hub_practitioner")
    inbox = text(client.get("/tasks"))
    assert "Available to claim: 1 task" in inbox, "not an empty My tasks while work waits to be claimed"
    assert "My tasks: 0 tasks" in text(client.get("/tasks?scope=mine")), "a list asked for is still shown"
    task = referred.step("hub_decision")
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf_token(client.get("/tasks"))})
    assert "My tasks: 1 task" in text(client.get("/tasks"))


def test_the_due_date_is_said_once(referred, signed_in):
    task = referred.step("hub_decision")
    referred.clock.move_to(MONDAY - timedelta(days=30))  # the step is due weeks from "now"
    client = signed_in("hub_practitioner")
    day = uk_date(task.due_at)
    page = text(client.get(f"/tasks/{task.id}"))
    status = page[page.index("Status</dt>"):page.index("Assigned to</dt>")]
    assert status.count(day) == 1, status
    inbox = text(client.get("/tasks?scope=available"))
    row = inbox[inbox.index(f'data-task-id="{task.id}"'):]
    row = row[:row.index("</tr>")]
    assert row.count(day) == 1, row


def test_a_conflict_gives_the_time_in_uk_words(referred, people, signed_in):
    task = referred.step("hub_decision")
    client = signed_in("hub_practitioner")
    token = csrf_token(client.get(f"/tasks/{task.id}"))
    referred.complete("hub_decision")
    late = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "action": "complete",
                                                  "hub_decision": "allocate", "hub_reason": "Late"})
    assert late.status_code == 409
    assert "4 January 2027 at 9:00am" in text(late)
    assert "UTC" not in text(late) and "2027-01-04" not in text(late)


def test_a_refusal_names_the_roles_that_may_by_their_names(app, people, signed_in):
    page = signed_in("referrer").get("/oversight")
    assert page.status_code == 403
    body = text(page)
    assert "a team manager" in body and "a MACE chair" in body and "someone in business support" in body
    assert not re.search(r"\b(team_manager|mace_chair|business_support)\b", body)


def test_steps_name_their_role_in_plain_english(referred, people, signed_in):
    referred.complete("hub_decision")
    task = referred.step("ric_record")
    tasks.unclaim(people["allocated_worker"], task.id)  # given back by the case's worker: the role's to take
    page = text(signed_in("team_manager").get(f"/tasks/{task.id}"))
    assert "anyone who is an allocated worker in" in page and "a allocated" not in page


def test_calendar_links_follow_the_host_and_port_served_unless_base_url_is_set(app, referred, people, signed_in,
                                                                              monkeypatch):
    walk(referred, TO_MACE1[1:])
    meeting = db.session.scalar(select(Meeting.id).where(Meeting.area_code == "north",
                                                         Meeting.starts_at == FIRST_MEETING))
    client = signed_in("business_support")

    def agenda_link(**kwargs) -> str:
        [event] = Calendar.from_ical(client.get(f"/meetings/{meeting}.ics", **kwargs).data).walk("VEVENT")
        return re.search(r"https?://\S+", str(event["description"])).group(0)

    monkeypatch.setitem(app.config, "BASE_URL", None)
    assert agenda_link(base_url="http://127.0.0.1:8123") == f"http://127.0.0.1:8123/meetings/{meeting}"
    monkeypatch.setitem(app.config, "BASE_URL", "https://mace.example.org")
    assert agenda_link(base_url="http://127.0.0.1:8123") == f"https://mace.example.org/meetings/{meeting}"


# Conditional questions


def test_which_service_is_asked_inside_its_answer_and_required_only_then(referred, people, signed_in):
    task = referred.step("hub_decision")
    client = signed_in("hub_practitioner")
    page = text(client.get(f"/tasks/{task.id}"))
    radio = re.search(r'<input[^>]*value="other_services"[^>]*>', page).group(0)
    reveals = re.search(r'data-reveals="([^"]+)"', radio).group(1)
    opened = page.index(f'<div class="govuk-radios__conditional app-reveal--hidden" id="{reveals}">')
    after = page[opened:]
    assert after.index('name="other_service"') < after.index('govuk-radios__item'), "inside its answer"
    assert "Which service? (optional)" not in page, "asked as required when it applies"
    assert "js/reveal.mjs" in page

    token = csrf_token(client.get(f"/tasks/{task.id}"))
    missing = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "action": "complete",
                                                     "hub_decision": "other_services", "hub_reason": "Early Help"})
    assert missing.status_code == 400 and errors_listed(missing) == {"other_service": "Select which service?"}
    worker = people["allocated_worker"].username
    done = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "action": "complete", "hub_decision": "allocate",
                                                  "other_service": "early_help", "hub_reason": "Allocate",
                                                  "allocated_worker": worker})
    assert done.status_code == 302, "a hidden question's answer is no error: it does not apply"
    [answer] = [a for a in casefile.case_file(people["hub_practitioner"], referred.case.id).answers
                if a.step.id == task.id]
    assert answer.data == {"hub_decision": "allocate", "hub_reason": "Allocate", "allocated_worker": worker}, \
        "the hidden answer is dropped"


# The weekly chart, the outcome summary and moving a case


def test_the_weekly_chart_says_which_filters_it_follows(referred, signed_in):
    client = signed_in("team_manager")
    page = text(client.get("/oversight?stage=referral&area=north"))
    trend = page[page.index('id="trend-caption"'):]
    assert "at the stage" in trend[:400] and "in all your areas" not in trend[:400]
    assert "in all your areas" in text(client.get("/oversight"))


@pytest.fixture
def booked(referred):
    walk(referred, TO_MACE1[1:])
    return referred


def meeting_id() -> int:
    return db.session.scalar(select(Meeting.id).where(Meeting.area_code == "north", Meeting.starts_at == FIRST_MEETING))


def test_business_support_choose_the_later_meeting_a_case_moves_to(booked, signed_in):
    client = signed_in("business_support")
    path = f"/meetings/{meeting_id()}"
    page = text(client.get(path))
    booking = db.session.scalar(select(Booking).where(Booking.case_id == booked.case.id, Booking.status == "booked"))
    days = re.findall(r'name="meeting" type="radio" value="([0-9-]+)"', page)
    assert len(days) > 2 and days == sorted(days), "the area's later meetings, soonest first"
    assert "Plans ready by" in page
    token = csrf_token(client.get(path))
    wrong = client.post(f"{path}/items/{booking.id}/move", data={"csrf_token": token, "reason": "Police not ready",
                                                                 "meeting": "2031-01-01"})
    assert wrong.status_code == 400
    assert errors_listed(wrong) == {f"meeting-{booking.id}": "Choose one of the later meetings listed"}
    moved = client.post(f"{path}/items/{booking.id}/move", data={"csrf_token": token, "reason": "Police not ready",
                                                                 "meeting": days[2]})
    assert moved.status_code == 302
    move = db.session.scalar(select(BookingMove).where(BookingMove.booking_id == booking.id))
    assert aware(move.to_meeting_at).astimezone(UK).date().isoformat() == days[2], "the third, as chosen"


def test_the_outcome_summary_gives_the_risk_level_once_and_what_was_agreed(booked, signed_in):
    walk(booked, ["share_plan", "circulate_plan", "agency_update"])
    booked.travel(FIRST_MEETING + timedelta(minutes=1))
    booked.complete("mace1_outcome", challenges="Missed appointments", additions_to_plan="Weekly school check-in",
                    measures_of_success_agreed="Attends school four days a week")
    summary = text(signed_in("mace_chair").get(f"/meetings/{meeting_id()}/summary"))
    item = summary[summary.index('class="app-summary-item"'):]
    assert item.count(">Risk level</dt>") == 1
    for shown in ("Measures of success agreed", "Attends school four days a week", "Challenges",
                  "Missed appointments", "Additions to the plan", "Weekly school check-in"):
        assert shown in item, shown


def test_referrals_100_days_late_are_not_shown_green_by_a_median_of_quick_decisions(people, signed_in):
    deploy_pathway()
    with time_machine.travel(MONDAY, tick=False) as clock:
        children = [start_child(people, clock) for _ in range(7)]
        for child in children:
            child.complete("screen")
        for child in children[:4]:
            child.complete("hub_decision")
        clock.move_to(MONDAY + timedelta(days=100))
        page = text(signed_in("team_manager").get("/oversight/bottlenecks"))
    row = page[page.index('data-element-id="hub_decision"'):]
    row = row[:row.index("</tr>")]
    assert 'data-level="red"' in row and "Over 1.5 times its target" in row and "Within target" not in row
    assert "0 days" in row and "one still open for 100 days" in row, "the median, and the wait it would hide"
