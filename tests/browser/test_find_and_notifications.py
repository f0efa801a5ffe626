"""Finding a child and notifications in a real browser, at 1280 and 375 px with axe-core: the header's search box
finds a child typed with a typo, a second referral of the child shows the match, and a notification raised by
the sweep shows in the header's count and opens its step."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from processes.engine import scheduler
from processes.engine.clock import now
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_pages import refer


def no_sideways_scroll(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"sideways scroll at {width}px"


def unfold_nav(page) -> None:
    """Open the service navigation's menu where a narrow screen folds it away."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible():
        toggle.click()


def open_nav(page, name: str) -> None:
    unfold_nav(page)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=re.compile(f"^{name}")).click()


@pytest.mark.parametrize("width", [1280, 375])
def test_find_a_child_spot_a_duplicate_and_follow_a_notification(world, browse, axe, width):
    world.user("rowan-referrer", "referrer")
    world.user("harper-hub", "hub_practitioner")
    referrer = browse()
    referrer.set_viewport_size({"width": width, "height": 900})
    sign_in(referrer, axe, "rowan-referrer")
    unfold_nav(referrer)
    case_id = refer(referrer, axe, "Casey Fictional")

    # The same child again, names swapped: stopped, the match shown, the answers kept.
    open_nav(referrer, "Start a referral")
    axe.check(referrer)
    referrer.get_by_label("Child's full name").fill("Fictional Casey")
    referrer.get_by_label("Day").fill("14")
    referrer.get_by_label("Month").fill("2")
    referrer.get_by_label("Year").fill("2011")
    referrer.get_by_label("Northshire North").check()
    referrer.get_by_label("Criminal").check()
    referrer.get_by_label("What is the concern?").fill("Seen again")
    referrer.get_by_role("button", name="Send referral").click()
    axe.check(referrer)
    matches = referrer.locator("#possible-matches")
    expect(matches).to_contain_text(f"Casey Fictional, case {case_id}")
    expect(matches).to_contain_text("Its pathway is running")
    expect(referrer.get_by_label("What is the concern?")).to_have_value("Seen again")
    no_sideways_scroll(referrer)
    if width == 1280:
        screenshot(referrer, "duplicate-referral", down_to="#possible-matches")

    # The hub finds the child from the header, with a typo.
    hub = browse()
    hub.set_viewport_size({"width": width, "height": 900})
    sign_in(hub, axe, "harper-hub")
    search = hub.get_by_role("search", name="Search cases")
    search.get_by_label("Name or case number").fill("Casy Fictionl")
    search.get_by_role("button", name="Find").click()
    axe.check(hub)
    expect(hub.locator("#results-heading")).to_have_text("1 child found")
    expect(hub.locator("#results")).to_contain_text("Casey Fictional")
    assert "Casy" not in hub.url, "the name typed never reaches the address"
    no_sideways_scroll(hub)
    if width == 1280:
        screenshot(hub, "search")

    # Long overdue: the sweep tells the hub, and the header counts it on the next page.
    with time_machine.travel(now() + timedelta(days=14), tick=True):
        world.run(scheduler.sweep_here)
    hub.reload()
    axe.check(hub)
    expect(hub.locator("#unread-count")).to_contain_text("1")
    open_nav(hub, "Notifications")
    axe.check(hub)
    expect(hub.locator("#notifications")).to_contain_text("Overdue")
    no_sideways_scroll(hub)
    if width == 1280:
        screenshot(hub, "notifications")
    hub.locator("#notifications").get_by_role("link", name="Decide on the referral").click()
    hub.wait_for_url(re.compile(r"/tasks/\d+$"))
    axe.check(hub)
    expect(hub.locator("#unread-count")).to_have_count(0)
