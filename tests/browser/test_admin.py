"""An administrator in Chromium at a desktop's and a phone's width: from the header to adding a user (a mistake
first), giving them a password, changing their areas, deactivating them, adding an area and seeing incidents;
axe-clean and without sideways scrolling on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"sideways scroll at {width}px"


def visit(page, axe, width: int) -> None:
    axe.check(page)
    fits(page, width)


def choose_own_password(page, axe, width: int, one_time: str) -> None:
    """The new user signs in with the one-time password and must choose their own before anything else."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/sign-in")
    axe.check(page)
    page.get_by_label("Username").fill("nia-new")
    page.get_by_label("Password").fill(one_time)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/password")
    visit(page, axe, width)
    page.get_by_label("New password", exact=True).fill("nia-chose-this-one")
    page.get_by_label("New password again").fill("nia-chose-this-one")
    page.get_by_role("button", name="Save password").click()
    page.wait_for_url("**/tasks")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your password is changed")
    visit(page, axe, width)


@pytest.mark.parametrize("width", [1280, 375])
def test_an_administrator_manages_a_user_and_an_area_from_the_header(world, browse, axe, width):
    world.user("ada-admin", "admin", areas=("north", "south"))
    page = browse()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, axe, "ada-admin")
    if page.get_by_role("button", name="Menu").is_visible():  # a phone's header folds its links away
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Administration").click()
    visit(page, axe, width)

    page.get_by_role("link", name="Users").click()
    visit(page, axe, width)
    page.get_by_role("link", name="Add a user").click()
    visit(page, axe, width)
    page.get_by_label("Full name").fill("Nia New")
    page.get_by_role("button", name="Add user").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a username")
    expect(summary).to_contain_text("Choose at least one role.")
    expect(page.get_by_label("Full name")).to_have_value("Nia New")
    visit(page, axe, width)
    screenshot(page, f"admin-user-errors-{width}")

    page.get_by_label("Username").fill("nia-new")
    page.get_by_label("Allocated worker").check()
    page.get_by_label("Northshire North").check()
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("User nia-new added")
    visit(page, axe, width)
    screenshot(page, f"admin-user-{width}")

    page.get_by_label("Northshire South").check()
    page.get_by_role("button", name="Save areas").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("areas of nia-new are saved")
    visit(page, axe, width)

    page.get_by_role("button", name="Reset password").click()
    expect(page.locator("#password")).to_have_text(re.compile(r"^[a-z2-9]{4}(-[a-z2-9]{4}){3}$"))
    visit(page, axe, width)
    choose_own_password(browse(), axe, width, page.locator("#password").inner_text())
    page.get_by_role("link", name="Back to nia-new").click()
    visit(page, axe, width)

    page.get_by_role("link", name="Deactivate nia-new").click()
    expect(page.locator("#steps")).to_contain_text("They hold no open steps.")
    visit(page, axe, width)
    page.get_by_role("button", name="Deactivate nia-new").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("nia-new is deactivated")
    expect(page.locator('[data-username="nia-new"]')).to_contain_text("Deactivated")
    visit(page, axe, width)

    page.goto("/admin/areas")
    visit(page, axe, width)
    page.get_by_label("Code").fill("north")
    page.get_by_label("Name", exact=True).fill("Another North")
    page.get_by_role("button", name="Add area").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The area code 'north' is taken.")
    visit(page, axe, width)
    page.get_by_label("Code").fill("east")
    page.get_by_role("button", name="Add area").click()
    expect(page.locator("#areas")).to_contain_text("Another North")
    visit(page, axe, width)

    page.goto("/admin/incidents")
    expect(page.locator("#no-incidents")).to_be_visible()
    visit(page, axe, width)
