"""At 375 px, the width of a small phone, the inbox, task, case, referral, meeting and oversight pages fit the
screen: no sideways scrolling (their wide tables become one card a row, each cell labelled by its column), and
axe-clean. On the real pathway, in a real browser, with the server and people of the oversight journeys."""

from __future__ import annotations

import re

import time_machine
from playwright.sync_api import expect

from processes.engine import tasks
from processes.engine.db import db
from tests.browser import test_oversight_journeys as journeys
from tests.browser.conftest import AxeChecked, sign_in
from tests.support.pathway import MONDAY, TO_MACE1, start_child, walk

PHONE = {"width": 375, "height": 812}

server = journeys.server  # the real pathway's server, for this module too
pathway = journeys.pathway


def fits(page, axe: AxeChecked) -> None:
    """axe-clean, and nothing wider than the screen: the page cannot be scrolled sideways."""
    page.wait_for_load_state("load")
    axe.check(page)
    wide, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert screen == PHONE["width"] and wide <= screen, f"{page.url} is {wide}px wide on a {screen}px screen"


def on_screen(locator) -> None:
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def menu(page, axe: AxeChecked, name: str) -> None:
    """A page of the service's navigation, which a phone folds behind its Menu button."""
    page.get_by_role("button", name="Menu").click()
    page.locator(".govuk-service-navigation").get_by_role("link", name=name, exact=True).click()
    fits(page, axe)


def phone(browse, axe: AxeChecked, username: str):
    page = browse()
    page.set_viewport_size(PHONE)
    sign_in(page, axe, username)
    fits(page, axe)
    return page


def test_the_inbox_task_and_case_pages_fit_a_phone(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        with pathway.context():
            child = start_child(pathway.people, clock)
            walk(child, TO_MACE1[:2])
            # Given back by the worker the hub named, the RIC Record waits in the pool to be claimed.
            tasks.unclaim(pathway.people["allocated_worker"], child.step("ric_record").id)
            db.session.remove()
        worker = phone(browse, axe, "allocated-worker")
        worker.get_by_role("link", name=re.compile("^Available to claim")).click()
        fits(worker, axe)
        card = worker.locator("#tasks tbody tr").first
        expect(card.locator("td").first).to_have_attribute("data-label", "Task")  # each cell says its column
        claim = card.get_by_role("button", name=re.compile("^Claim"))
        on_screen(claim)
        on_screen(card.get_by_role("link").first)
        claim.click()
        fits(worker, axe)
        expect(worker.get_by_role("heading", level=1)).to_have_text(re.compile("^Complete the RIC Record"))
        worker.get_by_role("link", name="Back to tasks").click()
        fits(worker, axe)
        worker.locator("#tasks tbody tr").first.get_by_role("link", name="Casey Fictional").click()
        fits(worker, axe)
        expect(worker.get_by_role("heading", level=1)).to_have_text("Casey Fictional")
        on_screen(worker.locator("#steps tbody tr").first)
        referrer = phone(browse, axe, "referrer")
        menu(referrer, axe, "Start a referral")
        on_screen(referrer.get_by_role("button", name="Send referral"))


def test_the_meeting_and_oversight_pages_fit_a_phone(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        journeys.walk_to_the_meeting(pathway, clock)
        support = phone(browse, axe, "business-support")
        menu(support, axe, "MACE 1 meetings")
        support.locator("#meetings tbody tr").first.get_by_role("link").click()
        fits(support, axe)
        on_screen(support.get_by_role("link", name=re.compile("^Record outcome")))
        menu(support, axe, "Oversight")
        for name in ("Bottlenecks", "Quarterly trends"):
            support.locator("main").get_by_role("link", name=name, exact=True).click()
            fits(support, axe)
