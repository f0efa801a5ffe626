"""Oversight and MACE 1 in a real browser, on the real pathway from bpmn/ and forms/: a manager finds overdue
steps and opens one; business support run a meeting (agenda, attendance with a deputy, an outcome that moves
the child on). The clock is time_machine's: the server thread runs in this process, so it sees the same time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from app.web.auth import limiter
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.identity import authentication
from processes.identity import users as identity
from processes.mace.roles import ROLES
from tests.browser.conftest import PASSWORD, AxeChecked, empty_tables, screenshot, serve, sign_in
from tests.support.pathway import FIRST_MEETING, KEY, MONDAY, TO_MACE1, deploy_pathway, start_child, uk, walk
from tests.support.tasks import open_tasks


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """This module's own server, whose pathway is the real one (its meetings and outcome step need it)."""
    yield from serve(tmp_path_factory, pathway_key=KEY)


@dataclass
class Pathway:
    app: object
    people: dict[str, Actor]

    def context(self):
        return self.app.app_context()


@pytest.fixture
def pathway(server) -> Iterator[Pathway]:
    """North and south, one person per role (username = the role, with dashes) and the real pathway deployed."""
    limiter.reset()
    people = {}
    with server.app.app_context():
        identity.create_area("north", "Northshire North")
        identity.create_area("south", "Northshire South")
        for role in ROLES:
            username = role.replace("_", "-")
            identity.create_user(username, role.replace("_", " ").title(), [role], ["north", "south"])
            authentication.set_password(username, PASSWORD)
            people[role] = Actor.of(identity.get_user(username))
        deploy_pathway()
        db.session.remove()
    yield Pathway(server.app, people)
    empty_tables(server.app)


def go(page, axe: AxeChecked, link: str) -> None:
    page.get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state("load")
    axe.check(page)


def diagram_scale(page) -> float:
    """How large bpmn-js draws the diagram, 1 being its own size (the viewport's transform matrix)."""
    transform = page.locator("#heatmap g.viewport").get_attribute("transform")
    return float(re.match(r"matrix\(([-0-9.e]+)", transform).group(1))


def test_journey_a_manager_sees_overdue_steps_and_drills_into_one(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        with pathway.context():
            planning = start_child(pathway.people, clock)
            walk(planning, TO_MACE1)  # its plan is due by 12 January
            waiting = start_child(pathway.people, clock)
            waiting.complete("screen")  # the hub's decision is due soon after
            plan_step = planning.step("share_plan")
            plan_task, plan_case = plan_step.id, plan_step.case_id
            db.session.remove()
        clock.move_to(uk(2027, 1, 20, 12, 0))

        manager = browse()
        sign_in(manager, axe, "team-manager")
        go(manager, axe, "Oversight")
        expect(manager.get_by_role("heading", level=1)).to_have_text("Due and overdue steps")
        expect(manager.locator("#totals")).to_contain_text("2")
        rows = manager.locator("#steps tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Decide on the referral")  # the oldest first
        expect(rows.first).to_contain_text("Overdue by 15 days")
        plan_row = rows.filter(has_text="Write up the plan and share it with your manager")
        expect(plan_row).to_contain_text("Overdue by 8 days")
        expect(plan_row).to_have_class(re.compile("app-task-row--overdue"))
        expect(manager.locator("#by-stage")).to_contain_text("Plan write-up and circulation")
        expect(manager.locator("#stage-chart")).to_have_attribute("data-ready", "true")
        expect(manager.locator("#trend-chart")).to_have_attribute("data-ready", "true")
        screenshot(manager, "oversight")

        manager.get_by_text("Filter steps").click()
        manager.get_by_label("Due", exact=True).select_option("overdue")
        manager.get_by_role("button", name="Apply filters").click()
        manager.wait_for_url(re.compile(r"due=overdue"))
        axe.check(manager)
        expect(manager.locator("#steps tbody tr")).to_have_count(2)
        with manager.expect_download() as download:
            manager.get_by_role("link", name=re.compile("as a spreadsheet")).click()
        assert download.value.suggested_filename == "open-steps-2027-01-20.csv"

        manager.get_by_role("link", name="Write up the plan and share it with your manager").click()
        manager.wait_for_url(f"**/tasks/{plan_task}")
        axe.check(manager)
        expect(manager.get_by_role("heading", level=1)).to_have_text("Write up the plan and share it with your manager")
        expect(manager.locator("main")).to_contain_text("Overdue")

        manager.goto("/oversight")
        axe.check(manager)
        go(manager, axe, "Bottlenecks")
        heatmap = manager.locator("#heatmap")
        expect(heatmap).to_have_attribute("data-ready", "true")
        expect(heatmap.locator("g.djs-element.heat-red")).not_to_have_count(0)
        expect(heatmap.locator(".app-heat-badge--red").first).to_contain_text(re.compile(r"\d\.\d\u00d7 target"))
        expect(manager.locator('#bottlenecks tr[data-element-id="share_plan"]')).to_contain_text(
            "Over 1.5 times its target")
        screenshot(manager, "bottlenecks")
        # The whole pathway is wider than the box: it opens at a size its labels can be read at, with zoom buttons.
        readable = diagram_scale(manager)
        assert readable >= 1, f"labels drawn at {readable:.2f} of their size cannot be read"
        manager.get_by_role("button", name="Zoom in").click()
        assert diagram_scale(manager) > readable
        manager.get_by_role("button", name="Fit the whole diagram").click()
        assert diagram_scale(manager) < readable, "the whole diagram, smaller, on asking"
        manager.get_by_role("button", name="Readable size").click()
        assert diagram_scale(manager) == pytest.approx(readable)
        axe.check(manager)
        manager.get_by_label("Diagram to show").select_option("plan_circulation")
        manager.get_by_role("button", name="Show diagram").click()
        manager.wait_for_url(re.compile(r"process=plan_circulation"))
        axe.check(manager)
        expect(manager.locator("#heatmap")).to_have_attribute("data-ready", "true")
        share = manager.locator('#heatmap g.djs-element[data-element-id="share_plan"]')
        expect(share).to_have_class(re.compile("heat-red"))
        share.hover()
        expect(manager.locator(".app-heat-tooltip")).to_contain_text("1 case over target")
        share.click()
        manager.wait_for_url("**/oversight/bottlenecks/plan_circulation/share_plan")
        axe.check(manager)
        go(manager, axe, f"Case {plan_case}")
        expect(manager.get_by_role("heading", level=1)).to_have_text("Casey Fictional")

        go(manager, axe, "Oversight")
        go(manager, axe, "Quarterly trends")
        expect(manager.locator("#by-exploitation-type")).to_contain_text("Criminal")


def walk_to_the_meeting(pathway: Pathway, clock) -> int:
    """A child whose plan was shared and circulated in time for north's MACE 1 on 9 February, at 10:01 that day:
    the meeting has started, so its outcome step is open."""
    with pathway.context():
        child = start_child(pathway.people, clock)
        walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
        child.travel(FIRST_MEETING + timedelta(minutes=1))
        case_id = child.case.id
        db.session.remove()
    return case_id


def test_journey_business_support_run_the_next_mace1_meeting(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        case_id = walk_to_the_meeting(pathway, clock)
        support = browse()
        sign_in(support, axe, "business-support")
        go(support, axe, "MACE 1 meetings")
        expect(support.locator("#meetings tbody tr")).to_have_count(1)
        expect(support.locator("#meetings")).to_contain_text("12 January 2027")  # the plan deadline
        support.locator("#meetings tbody tr").first.get_by_role("link").click()
        support.wait_for_url(re.compile(r"/meetings/\d+$"))
        axe.check(support)
        expect(support.get_by_role("heading", level=1)).to_have_text("Meeting on 9 February 2027 at 10:00am")
        item = support.locator("#agenda-items tbody tr")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("10am")
        expect(item).to_contain_text("Casey Fictional")
        expect(item).to_contain_text("New case")
        expect(item).to_contain_text("Plan ready")
        expect(support.locator("#not-represented")).to_contain_text("Police")

        police = support.locator("#agency-police")
        police.get_by_label("Deputy", exact=True).check()
        police.get_by_label("Police: Who attended").fill("PC Deputy")
        police.get_by_role("group", name=re.compile("deputy briefed")).get_by_label("Yes").check()
        support.locator("#agency-health").get_by_label("Present").check()
        support.locator("#agency-health").get_by_label("Health: Who attended").fill("Nurse Member")
        support.get_by_role("button", name="Save attendance").click()
        summary = support.locator(".govuk-error-summary")
        expect(summary).to_contain_text("Name the core member who sent the deputy")
        axe.check(support)
        summary.get_by_role("link", name="Name the core member who sent the deputy").click()
        named_by = support.locator("#police-deputy-named-by")
        expect(named_by).to_be_focused()
        expect(police.get_by_label("Police: Who attended")).to_have_value("PC Deputy")  # kept
        named_by.fill("Inspector Member")
        support.get_by_role("button", name="Save attendance").click()
        support.wait_for_url(re.compile(r"/meetings/\d+#attendance$"))
        axe.check(support)
        expect(support.locator(".govuk-notification-banner--success")).to_contain_text("attendance register is saved")
        not_represented = support.locator("#not-represented")
        expect(not_represented).not_to_contain_text("Police")
        expect(not_represented).to_contain_text("CAMHS")
        screenshot(support, "meeting")

        item.get_by_role("link", name=re.compile("^Record outcome")).click()
        support.wait_for_url(re.compile(r"/items/\d+/outcome$"))
        axe.check(support)
        # Who attended is the register's, prefilled from the agency updates: the outcome form does not ask again.
        expect(support.get_by_label("Police", exact=True)).to_have_count(0)
        support.get_by_role("group", name="Was the risk level agreed?").get_by_label("Yes").check()
        support.get_by_label(re.compile("^High: known")).check()
        support.get_by_label("On track").check()
        support.get_by_label("Measures of success agreed").fill("Attends school four days a week")
        support.get_by_role("group", name="Was escalation agreed?").get_by_label("No").check()
        support.get_by_label("Continue the plan and review in 3 months").check()
        support.get_by_role("button", name="Record outcome").click()
        support.wait_for_url(re.compile(r"/meetings/\d+$"))
        axe.check(support)
        expect(support.locator(".govuk-notification-banner--success")).to_contain_text("pathway has moved on")
        expect(item).to_contain_text("Outcome recorded")

        go(support, axe, "Outcome summary to print or circulate")
        expect(support.locator("main")).to_contain_text("Continue the plan and review in 3 months")
        expect(support.locator("main")).to_contain_text("Inspector Member")
        support.emulate_media(media="print")
        expect(support.locator(".govuk-service-navigation")).to_be_hidden()
        expect(support.locator(".govuk-footer")).to_be_hidden()
        support.emulate_media(media="screen")

        support.goto(f"/cases/{case_id}")
        axe.check(support)
        open_steps = support.locator("#open-steps")
        expect(open_steps).to_contain_text("Share the MACE 1 discussion within your organisation")
        expect(open_steps).to_contain_text("Update the parents")
        # The case page's screenshot is taken here, on the real pathway, so it shows a stage the pathway has.
        expect(support.locator(".app-diagram").first).to_have_attribute("data-ready", "true")
        screenshot(support, "case", down_to=".app-diagram")  # to the end of the current stage's diagram
        with pathway.context():
            # (one sharing step per agency, once the pathway opens one for each)
            assert {t.element_id for t in open_tasks(case_id)} == {"disseminate", "update_parents"}
            db.session.remove()


def test_journey_an_outcome_before_the_meeting_is_refused_and_a_case_can_move_with_a_reason(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        with pathway.context():
            child = start_child(pathway.people, clock)
            walk(child, [*TO_MACE1, "share_plan", "circulate_plan"])
            db.session.remove()
        clock.move_to(uk(2027, 2, 8, 15, 0))  # the afternoon before the meeting
        chair = browse()
        sign_in(chair, axe, "mace-chair")
        go(chair, axe, "MACE 1 meetings")
        chair.locator("#meetings tbody tr").first.get_by_role("link").click()
        chair.wait_for_url(re.compile(r"/meetings/\d+$"))
        axe.check(chair)
        meeting_url = chair.url
        expect(chair.locator("#agenda-items")).to_contain_text("Opens when the meeting starts")
        booking = chair.locator("#agenda-items tbody tr").first.get_attribute("data-booking-id")
        chair.goto(f"{meeting_url}/items/{booking}/outcome")
        axe.check(chair)
        chair.get_by_label("Measures of success agreed").fill("My careful notes")
        chair.get_by_role("button", name="Record outcome").click()
        axe.check(chair)
        expect(chair.locator("#conflict")).to_contain_text("The outcome opens when the meeting starts")
        expect(chair.get_by_label("Measures of success agreed")).to_have_value("My careful notes")

        chair.goto(meeting_url)
        axe.check(chair)
        chair.get_by_text("Move Casey Fictional to a later meeting").click()
        chair.get_by_role("button", name="Move to the meeting chosen").click()
        expect(chair.locator(".govuk-error-summary")).to_contain_text("Say why the case is moving")
        axe.check(chair)
        chair.get_by_label(re.compile("Why is Casey Fictional moving")).fill("Police update not ready")
        chair.get_by_role("button", name="Move to the meeting chosen").click()
        chair.wait_for_url(meeting_url)
        axe.check(chair)
        expect(chair.locator("#moved-out")).to_contain_text("Police update not ready")
        expect(chair.locator("#moved-out")).to_contain_text("9 March 2027")
        expect(chair.locator("main")).to_contain_text("No case is booked for this meeting yet")


@pytest.mark.parametrize("width", [1280, 375])
def test_the_hub_is_asked_which_service_only_when_passing_to_other_services(pathway, browse, axe, width):
    with time_machine.travel(MONDAY, tick=False) as clock:
        with pathway.context():
            child = start_child(pathway.people, clock)
            child.complete("screen")
            task_id = child.step("hub_decision").id
            db.session.remove()
        hub = browse()
        hub.set_viewport_size({"width": width, "height": 900})
        sign_in(hub, axe, "hub-practitioner")
        hub.goto(f"/tasks/{task_id}")
        axe.check(hub)
        which = hub.get_by_label("Which service?")
        expect(which).to_be_hidden()
        hub.get_by_label("Pass to other services, such as Early Help").check()
        expect(which).to_be_visible()
        axe.check(hub)
        screenshot(hub, f"hub-decision-{width}")
        hub.get_by_label("Allocate a worker and request a RIC case discussion").check()
        expect(which).to_be_hidden()
        assert hub.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
