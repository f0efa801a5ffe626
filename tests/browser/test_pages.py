"""A practitioner's day in a real browser: sign in, refer, claim, complete, watch the pathway move on,
fix a form error, lose a race politely, and never see another area's child."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from processes.engine.clock import now
from processes.engine.db import db
from processes.engine.models import HumanTask
from tests.browser.conftest import screenshot, sign_in

CONCERN = "Seen getting into cars with older males after school"


def diagram_state(page, element_id: str) -> str:
    """The marker bpmn-js drew on a step of the current stage's diagram."""
    diagram = page.locator(".app-diagram").first
    expect(diagram).to_have_attribute("data-ready", "true")
    classes = diagram.locator(f'g.djs-element[data-element-id="{element_id}"]').get_attribute("class") or ""
    return next((state for state in ("completed", "current", "overdue") if f"step-{state}" in classes), "none")


def refer(page, axe, child: str = "Robin Example") -> int:
    page.get_by_role("link", name="Start a referral").click()
    axe.check(page)
    page.get_by_label("Child's full name").fill(child)
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2011")
    page.get_by_label("Northshire North").check()
    page.get_by_label("Criminal").check()
    page.get_by_label("What is the concern?").fill(CONCERN)
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    axe.check(page)
    return int(page.url.rsplit("/", 1)[1])


def test_a_referral_moves_through_claim_and_completion_on_the_diagram(world, browse, axe):
    world.user("rowan-referrer", "referrer")
    world.user("harper-hub", "hub_practitioner")
    referrer = browse()
    sign_in(referrer, axe, "rowan-referrer")

    referrer.get_by_role("link", name="Start a referral").click()
    axe.check(referrer)
    referrer.get_by_role("button", name="Send referral").click()
    summary = referrer.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter the child's full name")
    expect(summary).to_contain_text("Select at least one option for types of exploitation")
    expect(referrer.locator("#case-child_name-error")).to_contain_text("Enter the child's full name")
    axe.check(referrer)

    case_id = refer(referrer, axe)
    expect(referrer.get_by_role("heading", level=1)).to_have_text("Robin Example")
    expect(referrer.locator(".govuk-notification-banner--success")).to_contain_text("The referral is sent")
    assert diagram_state(referrer, "screen") == "completed"
    assert diagram_state(referrer, "hub_decision") == "current"

    hub = browse()
    sign_in(hub, axe, "harper-hub")
    hub.get_by_role("link", name=re.compile("Available to claim")).click()
    axe.check(hub)
    row = hub.locator("#tasks tbody tr", has_text="Robin Example")
    expect(row).to_contain_text("Decide on the referral")
    expect(row).to_contain_text("Due")
    screenshot(hub, "inbox")
    row.get_by_role("button", name=re.compile("^Claim")).click()
    hub.wait_for_url(re.compile(r"/tasks/\d+$"))
    axe.check(hub)
    expect(hub.locator(".govuk-notification-banner--success")).to_contain_text("assigned to you")
    expect(hub.locator("aside")).to_contain_text(CONCERN)  # the screening answers beside the form

    hub.get_by_role("button", name="Complete task").click()
    expect(hub.locator(".govuk-error-summary")).to_contain_text("Select hub decision")
    axe.check(hub)
    hub.locator(".govuk-error-summary a").first.click()
    expect(hub.get_by_label("No further action")).to_be_focused()  # the first choice, as GOV.UK links it
    hub.get_by_label("Allocate").check()
    hub.get_by_label("Reason (optional)").fill("Several agencies share the worry")
    screenshot(hub, "task")
    hub.get_by_role("button", name="Complete task").click()
    hub.wait_for_url(f"**/cases/{case_id}")
    axe.check(hub)
    assert diagram_state(hub, "hub_decision") == "completed"
    assert diagram_state(hub, "ric_discussion") == "current"
    expect(hub.locator("#timeline")).to_contain_text("Step completed: Decide on the referral")

    hub.locator('.app-diagram g.djs-element[data-element-id="hub_decision"]').click()
    hub.wait_for_url(re.compile(r"/tasks/\d+$"))
    axe.check(hub)
    expect(hub.get_by_role("heading", level=1)).to_have_text("Decide on the referral")
    expect(hub.locator("main")).to_contain_text("Several agencies share the worry")


def test_whoever_loses_a_race_to_complete_is_told_and_keeps_what_they_typed(world, browse, axe):
    world.user("rowan-referrer", "referrer")
    world.user("harper-hub", "hub_practitioner")
    world.user("hollis-hub", "hub_practitioner")
    referrer = browse()
    sign_in(referrer, axe, "rowan-referrer")
    refer(referrer, axe)

    first, second = browse(), browse()
    for page, username in ((first, "harper-hub"), (second, "hollis-hub")):
        sign_in(page, axe, username)
        page.get_by_role("link", name=re.compile("Available to claim")).click()
        axe.check(page)
        page.get_by_role("link", name="Decide on the referral").click()
        axe.check(page)

    first.get_by_label("No further action").check()
    first.get_by_role("button", name="Complete task").click()
    first.wait_for_url(re.compile(r"/cases/\d+$"))
    axe.check(first)

    second.get_by_label("Allocate").check()
    second.get_by_label("Reason (optional)").fill("My careful notes from the call")
    second.get_by_role("button", name="Complete task").click()
    axe.check(second)
    expect(second.locator("#conflict")).to_contain_text("Someone else completed or changed this task")
    expect(second.locator("#conflict")).to_contain_text("Your answers have not been saved")
    expect(second.get_by_label("Reason (optional)")).to_have_value("My careful notes from the call")
    expect(second.get_by_label("Allocate")).to_be_checked()


def test_another_areas_case_is_not_found_and_overdue_steps_are_marked(world, browse, axe):
    world.user("rowan-referrer", "referrer")
    world.user("sasha-south", "hub_practitioner", areas=("south",))
    world.user("mika-manager", "team_manager")
    referrer = browse()
    sign_in(referrer, axe, "rowan-referrer")
    case_id = refer(referrer, axe)

    outsider = browse()
    sign_in(outsider, axe, "sasha-south")
    response = outsider.goto(f"/cases/{case_id}")
    axe.check(outsider)
    assert response.status == 404
    expect(outsider.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(outsider.locator("main")).not_to_contain_text("Robin Example")

    world.run(lambda: (db.session.execute(update(HumanTask).where(HumanTask.element_id == "hub_decision")
                                          .values(due_at=now() - timedelta(days=3))), db.session.commit()))
    manager = browse()
    sign_in(manager, axe, "mika-manager")
    manager.get_by_role("link", name=re.compile("Team's tasks")).click()
    axe.check(manager)
    first_row = manager.locator("#tasks tbody tr").first
    expect(first_row).to_contain_text("Overdue by 3 days")
    expect(first_row).to_have_class(re.compile("app-task-row--overdue"))
    row, link = first_row.bounding_box(), first_row.get_by_role("link").first.bounding_box()
    assert link["x"] >= row["x"] + 10, "the red bar (5px) leaves the task link's first letter clear"
    manager.get_by_role("link", name="Robin Example", exact=True).click()
    axe.check(manager)
    assert diagram_state(manager, "hub_decision") == "overdue"
    expect(manager.locator(".app-diagram__badge--overdue")).to_have_text("Overdue 3 days")


def test_signing_out_ends_the_session(world, browse, axe):
    world.user("rowan-referrer", "referrer")
    page = browse()
    sign_in(page, axe, "rowan-referrer")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url(re.compile(r"/sign-in"))
    axe.check(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You have signed out")
    page.goto("/tasks")
    page.wait_for_url(re.compile(r"/sign-in"))
    axe.check(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_an_information_governance_officer_finds_who_saw_a_child_at_desktop_and_phone_width(world, browse, axe):
    world.user("rowan-referrer", "referrer")
    world.user("ivy-auditor", "auditor")
    referrer = browse()
    sign_in(referrer, axe, "rowan-referrer")
    case_id = refer(referrer, axe, "Robin Example")

    officer = browse()
    sign_in(officer, axe, "ivy-auditor")
    officer.get_by_role("link", name="Audit log").click()
    axe.check(officer)
    officer.get_by_label("Child").fill("Robin")
    officer.get_by_role("button", name="Search").click()
    axe.check(officer)
    rows = officer.locator("#audit tbody tr")
    expect(rows.filter(has_text="Case created")).to_have_count(1)
    expect(rows.filter(has_text="Robin Example").first).to_be_visible()
    for width in (1280, 375):
        officer.set_viewport_size({"width": width, "height": 900})
        assert officer.evaluate("document.documentElement.scrollWidth") <= width, f"no sideways scroll at {width}px"
    officer.set_viewport_size({"width": 1280, "height": 900})
    officer.locator("#audit").get_by_role("link", name=f"Case {case_id}").first.click()
    axe.check(officer)
    expect(officer.locator("#seen")).to_contain_text("Shown in an audit search")
