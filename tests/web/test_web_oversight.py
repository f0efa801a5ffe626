"""Oversight and MACE 1 meeting pages through Flask's test client, on the real pathway: who may see them, what
the CSV holds, and the forms (move, attendance, outcome) with their errors."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.web import display, heatmap
from app.web.auth import limiter
from processes.engine.db import db
from processes.engine.models import AuditEvent
from processes.mace import meetings
from processes.mace.models import Booking, Meeting
from tests.support.factories import BOTH_AREAS, person
from tests.support.pathway import FIRST_MEETING, MONDAY, TO_MACE1, child_on_pathway, deploy_pathway, uk, walk
from tests.support.web import csrf_token, errors_listed, signed_in_client

OVERSIGHT_PAGES = ("/oversight", "/oversight.csv", "/oversight/bottlenecks", "/oversight/trends", "/meetings")


@pytest.fixture
def people(make_people):
    return make_people(every_role=BOTH_AREAS, usernames=lambda role: role.replace("_", "-"),
                       south_support=person("business_support", areas=("south",), username="south-support"))


@pytest.fixture
def signed_in(app, people):
    limiter.reset()

    def sign_in(who: str):
        return signed_in_client(app, people[who].username)

    return sign_in


@pytest.fixture
def child(people):
    """A child whose RIC plan booked them onto north's MACE 1 on 9 February 2027; the clock is held at 4 January."""
    deploy_pathway()
    with child_on_pathway(people, MONDAY) as on_pathway:
        walk(on_pathway, TO_MACE1)
        yield on_pathway


def meeting_id(area: str = "north") -> int:
    return db.session.scalar(select(Meeting.id).where(Meeting.area_code == area, Meeting.starts_at == FIRST_MEETING))


def booking_id(case_id: int) -> int:
    return db.session.scalar(select(Booking.id).where(Booking.case_id == case_id, Booking.status == "booked"))


def text(response) -> str:
    return response.get_data(as_text=True)


def form_token(client, path: str) -> str:
    return csrf_token(client.get(path))


# Who sees what


def test_people_without_an_oversight_role_are_refused_and_see_no_links(child, signed_in):
    client = signed_in("allocated_worker")
    tasks = text(client.get("/tasks"))
    assert "/oversight" not in tasks and "/meetings" not in tasks
    for path in (*OVERSIGHT_PAGES, f"/meetings/{meeting_id()}", f"/meetings/{meeting_id()}.ics",
                 f"/meetings/{meeting_id()}/summary", "/oversight/bottlenecks/referral/hub_decision"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You cannot do that" in text(response), path
        assert "Casey" not in text(response)


@pytest.mark.parametrize("role", ["team_manager", "mace_chair", "business_support", "admin"])
def test_each_oversight_role_has_the_links_and_the_pages(child, signed_in, role):
    client = signed_in(role)
    tasks = text(client.get("/tasks"))
    assert 'href="/oversight"' in tasks and 'href="/meetings"' in tasks
    for path in OVERSIGHT_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/meetings/{meeting_id()}").status_code == 200


def test_another_areas_meeting_is_not_found(child, signed_in):
    client = signed_in("south_support")
    mid, bid = meeting_id(), booking_id(child.case.id)
    for path in (f"/meetings/{mid}", f"/meetings/{mid}.ics", f"/meetings/{mid}/summary",
                 f"/meetings/{mid}/items/{bid}/outcome", "/meetings/999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Casey" not in text(response)
    token = form_token(client, "/meetings")
    moved = client.post(f"/meetings/{mid}/items/{bid}/move", data={"reason": "x", "csrf_token": token})
    assert moved.status_code == 404
    assert meetings.agenda(child.people["business_support"], mid).moved_out == [], "nothing was moved"
    assert "Casey" not in text(client.get("/meetings"))


def test_a_team_manager_sees_the_meeting_but_cannot_change_it(child, signed_in):
    client = signed_in("team_manager")
    page = text(client.get(f"/meetings/{meeting_id()}"))
    assert "Casey Fictional" in page and "Save attendance" not in page and "Move Casey" not in page
    token = csrf_token(client.get(f"/meetings/{meeting_id()}"))
    response = client.post(f"/meetings/{meeting_id()}/attendance",
                           data={"police-status": "absent", "csrf_token": token})
    assert response.status_code == 403
    assert client.get(f"/meetings/{meeting_id()}/items/{booking_id(child.case.id)}/outcome").status_code == 403


def test_forms_on_the_meeting_page_need_their_csrf_token(child, signed_in):
    client = signed_in("business_support")
    response = client.post(f"/meetings/{meeting_id()}/items/{booking_id(child.case.id)}/move", data={"reason": "x"})
    assert response.status_code == 400 and "Your form could not be sent" in text(response)


# The dashboard and its CSV


@pytest.fixture
def overdue(child):
    """The child's plan is overdue: its deadline was the end of 12 January, and it is now 20 January: 8 days."""
    child.clock.move_to(uk(2027, 1, 20, 12, 0))
    return child


def test_the_dashboard_shows_overdue_steps_with_links_counts_and_chart_data(overdue, signed_in):
    page = text(signed_in("team_manager").get("/oversight"))
    task = overdue.step("share_plan")
    assert f'href="/tasks/{task.id}"' in page and f'href="/cases/{overdue.case.id}"' in page
    assert "Overdue by 8 days" in page and 'data-days-overdue="8"' in page, "as many days as the CSV says"
    assert re.search(r'id="by-stage".*Plan write-up and circulation', page, re.S)
    stage_chart = json.loads(re.search(r'<script type="application/json" id="stage-chart-data">(.*?)</script>',
                                       page, re.S).group(1))
    assert stage_chart["labels"] == ["Plan write-up and circulation"]
    assert [s["data"] for s in stage_chart["series"]] == [[1], [0], [0]]
    trend = json.loads(re.search(r'id="trend-chart-data">(.*?)</script>', page, re.S).group(1))
    assert len(trend["labels"]) == 12 and trend["series"][0]["data"][-1] == 1
    assert '<script src="/static/build/chart.umd.min.js"></script>' in page
    assert "<script>" not in page, "no inline script: the CSP would refuse it"


def test_the_dashboard_filters_and_ignores_filters_that_are_not_choices(overdue, signed_in):
    client = signed_in("mace_chair")
    assert "Casey Fictional" not in text(client.get("/oversight?due=on_time"))
    assert "Casey Fictional" not in text(client.get("/oversight?stage=review"))
    assert "Casey Fictional" not in text(client.get("/oversight?area=south"))
    ignored = client.get("/oversight?area=elsewhere&due=soonish&stage=nope&page=x")
    assert ignored.status_code == 200 and "Casey Fictional" in text(ignored)


def test_the_csv_holds_the_dashboards_rows_as_an_attachment_named_without_a_child(overdue, signed_in):
    client = signed_in("business_support")
    response = client.get("/oversight.csv?due=overdue")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="open-steps-2027-01-20.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0][:3] == ["task_id", "case_id", "child"]
    [row] = rows[1:]
    assert (row[1], row[2], row[4], row[8], row[9]) == (str(overdue.case.id), "Casey Fictional",
                                                        "Write up the plan and share it with your manager", "8",
                                                        "overdue")
    assert client.get("/oversight.csv?due=on_time").get_data(as_text=True).count("\n") == 1, "the header alone"
    page = text(client.get("/oversight"))
    task = overdue.step("share_plan")
    assert f'href="/tasks/{task.id}"' not in page and "Write up the plan" in page, \
        "business support cannot open an allocated worker's step, so it is not a link"
    assert f'href="/cases/{overdue.case.id}"' in page


def test_csv_cells_that_look_like_formulas_stay_text(people, signed_in):
    from processes.engine import runtime
    from processes.mace import cases

    deploy_pathway()
    made = cases.create(people["referrer"], "north", "=HYPERLINK(\"http://x\")")
    runtime.start(people["referrer"], made.id, "mace")
    rows = list(csv.reader(io.StringIO(text(signed_in("team_manager").get("/oversight.csv")).lstrip("\ufeff"))))
    assert rows[1][2] == "'=HYPERLINK(\"http://x\")"


# Bottlenecks and trends


def test_the_bottleneck_view_colours_steps_by_median_against_target_and_lists_cases_over_it(overdue, signed_in):
    client = signed_in("mace_chair")
    page = text(client.get("/oversight/bottlenecks"))
    data = json.loads(re.search(r'id="heatmap-data">(.*?)</script>', page, re.S).group(1))
    assert "<bpmn:callActivity" in data["xml"] or "callActivity" in data["xml"]
    stage = next(h for h in data["heat"].values() if h["processId"] == "plan_circulation")
    assert stage["stage"] and stage["level"] == "red" and stage["overTarget"] == 1
    assert re.search(r'data-element-id="share_plan"[^>]*data-level="red"', page)
    stage_page = text(client.get("/oversight/bottlenecks?process=plan_circulation"))
    staged = json.loads(re.search(r'id="heatmap-data">(.*?)</script>', stage_page, re.S).group(1))
    assert staged["heat"]["share_plan"]["level"] == "red" and not staged["heat"]["share_plan"]["stage"]
    listed = text(client.get("/oversight/bottlenecks/plan_circulation/share_plan"))
    assert f'href="/cases/{overdue.case.id}"' in listed
    assert client.get("/oversight/bottlenecks/plan_circulation/no_such_step").status_code == 404


def test_heat_levels_follow_the_target_ratio():
    assert [heatmap.level(r) for r in (None, 0.2, 1.0, 1.01, 1.5, 1.51, 9)] == \
        ["none", "green", "green", "amber", "amber", "red", "red"]


def test_quarterly_trends_count_children_and_refuse_a_bad_year(child, signed_in):
    client = signed_in("mace_chair")
    page = text(client.get("/oversight/trends?year=2027&quarter=1"))
    assert "2027 Q1" in page and "Criminal" in page
    assert re.search(r'id="by-risk-level".*High.*<td[^>]*>1</td>', page, re.S)
    bad = client.get("/oversight/trends?year=19&quarter=7")
    assert bad.status_code == 400
    assert set(errors_listed(bad)) == {"year", "quarter"}


# The meeting page


def test_the_meeting_page_shows_the_agenda_the_plan_deadline_and_the_invitation(child, signed_in):
    client = signed_in("business_support")
    listed = text(client.get("/meetings"))
    assert f'href="/meetings/{meeting_id()}"' in listed and "12 January 2027" in listed
    page = text(client.get(f"/meetings/{meeting_id()}"))
    assert "Casey Fictional" in page and "New case" in page and "Plan not ready" in page
    assert "12 January 2027" in page and "10am" in page and "Opens when the meeting starts" in page
    ics = client.get(f"/meetings/{meeting_id()}.ics")
    assert ics.mimetype == "text/calendar" and "attachment" in ics.headers["Content-Disposition"]
    assert "BEGIN:VEVENT" in text(ics) and "Casey" not in text(ics)


def test_moving_a_case_needs_a_reason_and_then_shows_it(child, signed_in):
    client = signed_in("business_support")
    path = f"/meetings/{meeting_id()}"
    bid = booking_id(child.case.id)
    empty = client.post(f"{path}/items/{bid}/move", data={"reason": " ", "csrf_token": form_token(client, path)})
    assert empty.status_code == 400
    assert errors_listed(empty) == {f"reason-{bid}": "Say why the case is moving to a later meeting"}
    moved = client.post(f"{path}/items/{bid}/move", data={"reason": "Police update not ready",
                                                          "csrf_token": form_token(client, path)})
    assert moved.status_code == 302 and moved.headers["Location"] == path
    page = text(client.get(path))
    assert "Police update not ready" in page and "9 March 2027" in page and "No case is booked" in page


def test_the_attendance_register_names_a_missing_deputy_nominator_and_saves_a_good_register(child, signed_in):
    client = signed_in("business_support")
    path = f"/meetings/{meeting_id()}"
    bad = client.post(f"{path}/attendance", data={
        "police-status": "deputy", "police-attendee": "PC Deputy", "police-deputy_briefed": "yes",
        "health-status": "present", "csrf_token": form_token(client, path)})
    assert bad.status_code == 400
    assert errors_listed(bad) == {"police-deputy-named-by": "Name the core member who sent the deputy",
                                  "health-attendee": "Enter who attended"}
    assert 'value="PC Deputy"' in text(bad), "what was typed is kept"
    good = client.post(f"{path}/attendance", data={
        "police-status": "deputy", "police-attendee": "PC Deputy", "police-deputy_named_by": "Inspector Member",
        "police-deputy_briefed": "yes", "health-status": "present", "health-attendee": "Nurse Member",
        "csrf_token": form_token(client, path)})
    assert good.status_code == 302
    register = meetings.register(child.people["business_support"], meeting_id())
    assert {(e.agency, e.status, e.deputy_named_by, e.deputy_briefed) for e in register.entries} == \
        {("police", "deputy", "Inspector Member", True), ("health", "present", None, None)}
    page = text(client.get(path))
    assert 'value="Inspector Member"' in page
    missing = re.search(r'id="not-represented">(.*?)</div>', page, re.S).group(1)
    assert "Police" not in missing and "CAMHS" in missing


OUTCOME = {"risk_level_agreed": "yes", "agreed_risk_level": "High",
           "plan_delivery": "on_track", "measures_of_success_agreed": "School attendance",
           "escalation_agreed": "no", "mace1_outcome": "continue_review"}


def test_an_outcome_before_the_meeting_starts_is_refused_plainly_and_the_answers_are_kept(child, signed_in):
    walk(child, ["share_plan", "circulate_plan"])
    client = signed_in("business_support")
    path = f"/meetings/{meeting_id()}/items/{booking_id(child.case.id)}/outcome"
    page = client.get(path)
    assert page.status_code == 200 and "opens when the meeting starts" in text(page)
    refused = client.post(path, data={**OUTCOME, "measures_of_success_agreed": "My notes from the meeting",
                                      "csrf_token": csrf_token(page)})
    assert refused.status_code == 409
    assert "The outcome opens when the meeting starts" in text(refused)
    assert "My notes from the meeting" in text(refused)


def test_recording_an_outcome_moves_the_childs_pathway_on(child, signed_in):
    walk(child, ["share_plan", "circulate_plan"])
    child.travel(FIRST_MEETING + timedelta(minutes=1))
    client = signed_in("business_support")
    meeting = f"/meetings/{meeting_id()}"
    assert "Record outcome" in text(client.get(meeting))
    path = f"{meeting}/items/{booking_id(child.case.id)}/outcome"
    token = form_token(client, path)
    assert "Agencies represented" not in text(client.get(path)), "the register holds attendance, not this form"
    missing = client.post(path, data={"csrf_token": token})
    assert missing.status_code == 400 and "Select outcome" in errors_listed(missing).values()
    done = client.post(path, data={**OUTCOME, "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == meeting
    assert set(child.open_steps()) == {"disseminate", "update_parents"}
    assert "Outcome recorded" in text(client.get(meeting))
    again = client.post(path, data={**OUTCOME, "csrf_token": token})
    assert again.status_code == 409 and "already recorded" in text(again)
    summary = text(client.get(f"{meeting}/summary"))
    assert "Continue the plan and review in 3 months" in summary and "Casey Fictional" in summary
    assert 'class="govuk-back-link app-no-print"' in summary


# Every child shown is audited


def shown_rows(case_id: int, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                            AuditEvent.action == action)))


@pytest.mark.parametrize(("path", "action"), [
    ("/oversight", "dashboard.view"), ("/oversight.csv", "dashboard.export"),
    ("/meetings/{mid}", "meeting.view"), ("/meetings/{mid}/summary", "meeting.summary.view")])
def test_each_child_a_page_or_export_shows_is_audited_and_listed_on_their_case(child, signed_in, people, path,
                                                                               action):
    client = signed_in("mace_chair")
    assert client.get(path.format(mid=meeting_id())).status_code == 200
    [row] = shown_rows(child.case.id, action)
    assert row.user_id == people["mace_chair"].id
    assert "Casey" not in (row.detail or ""), "the row names the case, never the child"
    seen = text(client.get(f"/cases/{child.case.id}"))
    assert heading_section(seen, "Who has seen this record").count(display.ACTIONS[action]) == 1


def test_opening_one_childs_outcome_audits_that_child_only(child, signed_in):
    client = signed_in("mace_chair")
    client.get(f"/meetings/{meeting_id()}/items/{booking_id(child.case.id)}/outcome")
    assert len(shown_rows(child.case.id, "meeting.item.view")) == 1
    assert shown_rows(child.case.id, "meeting.view") == [], "the rest of the agenda was not shown"


def test_another_areas_record_is_audited_as_a_denied_attempt_without_the_childs_details(child, signed_in, people):
    client = signed_in("south_support")
    assert client.get(f"/cases/{child.case.id}").status_code == 404
    assert client.get(f"/meetings/{meeting_id()}").status_code == 404
    [denied] = shown_rows(child.case.id, "case.denied")
    assert denied.user_id == people["south_support"].id and denied.detail is None
    assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "meeting.denied")) == \
        f"meeting {meeting_id()}"
    assert client.get("/cases/999999").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "case.denied")) == 1, "an unknown id names no record to audit"


def heading_section(page: str, heading: str) -> str:
    return page.split(heading, 1)[1]
