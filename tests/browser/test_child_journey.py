"""One fictional child from referral to review, as the roles do it in a real browser on the real pathway: each
step opened from its person's inbox by clicking (no address typed but the sign-in page), its form filled in as
the person would, and every page checked with axe. The clock is time_machine's; the pathway's timers fire as the
scheduler's sweep fires them (tests/support/pathway.py). The office roles walk at 1280 px; the allocated worker and
the core members, who work away from a desk, on a 375 px phone, where no page may scroll sideways and the header's
links are behind its Menu button. test_small_screens.py checks every kind of page at 375 px too."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import time_machine
from playwright.sync_api import expect

from app.web import formkit
from processes.engine import forms, repository
from processes.engine.db import db
from processes.identity import authentication
from processes.identity import users as identity
from processes.mace import casefile, referrals
from processes.mace.demo import ANSWERS
from processes.mace.models import Case
from tests.browser import test_oversight_journeys as journeys
from tests.browser.conftest import PASSWORD, PHONE, AxeChecked, sign_in
from tests.support.pathway import FIRST_MEETING, KEY, MONDAY, Child
from tests.support.tasks import open_tasks

CHILD = "Jordan Journey"
SCREENING = "screening."  # the referral page's prefix for the screening form's fields
server = journeys.server  # the real pathway's server and one person per role, as the oversight journeys have
pathway = journeys.pathway


ON_A_PHONE = {"allocated_worker", "core_member"}


class Walker:
    """Each role's own browser, signed in once; a role's step is found in its inbox and its form filled in."""

    def __init__(self, browse, axe: AxeChecked, pathway: journeys.Pathway) -> None:
        self.browse, self.axe, self.pathway, self.pages = browse, axe, pathway, {}
        self.case_id = 0  # once the referral is sent
        self.made: set[str] = set()  # the agencies' core members made for their steps

    def open_steps(self, step: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """(who does it, name as the inbox gives it, form schema, UI hints) of each of the child's open steps of
        this kind: one an agency, done by that agency's core member, for a step run once per agency."""
        with self.pathway.context():
            definition = repository.require_latest(KEY)
            found = sorted((f"{t.role}:{t.group_code}" if t.group_code else t.role, t.name,
                            forms.schema_for(definition, t.form), forms.ui_schema_for(definition, t.form))
                           for t in open_tasks(self.case_id) if t.element_id == step)
            db.session.remove()
        return found

    def page(self, role: str):
        """The browser of the role's person; `role:agency` is a person of that role speaking for the agency."""
        if role not in self.pages:
            base, _, agency = role.partition(":")
            username = base.replace("_", "-") + (f"-{agency}" if agency else "")
            if agency and username not in self.made:
                self.made.add(username)
                with self.pathway.context():
                    identity.create_user(username, f"{agency.title()} member", [base], ["north", "south"])
                    # Set as the test's pathway has it: the users service checks agencies against PATHWAY_KEY's.
                    identity.get_user(username).agency = agency
                    db.session.commit()
                    authentication.set_password(username, PASSWORD)
                    db.session.remove()
            self.pages[role] = self.browse(PHONE if base in ON_A_PHONE else 1280)
            sign_in(self.pages[role], self.axe, username)
        return self.pages[role]

    def follow(self, page, target) -> None:
        """Click a link or button that loads a page, wait for that page (not the one it leaves) and check it."""
        with page.expect_navigation():
            target.click()
        self.axe.check(page)
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} scrolls at {width}px"

    def open_from_inbox(self, role: str, name: str):
        """Tasks, then the list that holds the child's step, then the step, claimed if nobody has it yet."""
        page = self.page(role)
        header = page.locator(".govuk-service-navigation")
        menu = header.get_by_role("button", name="Menu")
        if menu.is_visible():  # on a phone the header's links wait behind it
            menu.click()
        self.follow(page, header.get_by_role("link", name="Tasks", exact=True))
        lists = page.get_by_role("navigation", name="Task lists")
        for scope in ("My tasks", "Available to claim"):
            self.follow(page, lists.get_by_role("link", name=re.compile(f"^{scope}")))
            rows = page.locator("#tasks tbody tr").filter(has=page.get_by_role("link", name=CHILD)) \
                .filter(has=page.get_by_role("link", name=name, exact=True))
            if rows.count():
                self.follow(page, rows.first.get_by_role("link", name=name, exact=True))
                claim = page.get_by_role("button", name="Claim this task")
                if claim.count():
                    self.follow(page, claim)
                return page
        raise AssertionError(f"{name} for {CHILD} is in neither of {role}'s task lists")

    def fill(self, page, schema: dict[str, Any], ui: dict[str, Any], answers: dict[str, Any], prefix: str = "") -> None:
        """Valid answers typed, chosen and ticked into the form, in the form's order."""
        for name in formkit.ordered(schema, ui):
            if name in answers:
                self._fill(page, schema["properties"][name], name, prefix, answers[name])

    def _fill(self, page, prop: dict[str, Any], path: str, prefix: str, value: Any) -> None:
        kind, name = formkit.kind_of(prop, {}), f"{prefix}{path}"
        if kind == "date":
            year, month, day = value.split("-")
            for part, text in (("day", str(int(day))), ("month", str(int(month))), ("year", year)):
                page.locator(f'[name="{name}-{part}"]').fill(text)
        elif kind in ("radios", "select", "yesno"):  # the UI hints choose radios or a select
            choice = ("yes" if value else "no") if kind == "yesno" else str(value)
            select = page.locator(f'select[name="{name}"]')
            if select.count():
                select.select_option(choice)
            else:
                page.locator(f'input[name="{name}"][value="{choice}"]').check()
        elif kind == "checkboxes":
            for one in value:
                page.locator(f'input[name="{name}"][value="{one}"]').check()
        elif kind == "rows":
            item = formkit.item_schema(prop)
            for index, row in enumerate(value):
                self.follow(page, page.locator(f'button[name="action"][value="add:{path}"]'))  # the server adds a row
                if item.get("type") == "object":
                    for sub in formkit.ordered(item, {}):
                        if sub in row:
                            self._fill(page, item["properties"][sub], f"{path}.{index}.{sub}", prefix, row[sub])
                else:
                    self._fill(page, item, f"{path}.{index}.value", prefix, row)
        elif page.locator(f'select[name="{name}"]').count():  # choices the server lists, such as the workers
            page.locator(f'select[name="{name}"]').select_option(str(value))
        else:
            page.locator(f'[name="{name}"]').fill(str(value))

    def do(self, step: str) -> None:
        """The step's person opens each open one from their inbox, fills it in and completes it."""
        found = self.open_steps(step)
        assert found, f"{step} is not open"
        for role, name, schema, ui in found:
            page = self.open_from_inbox(role, name)
            expect(page.get_by_role("heading", level=1)).to_have_text(name)
            # The hub names the case's worker: the allocated worker who walks the rest of it.
            named = {"allocated_worker": "allocated-worker"} if step == "hub_decision" else {}
            self.fill(page, schema, ui, {**ANSWERS[step], **named})
            self.follow(page, page.get_by_role("button", name="Complete task"))
            summary = page.locator(".govuk-error-summary")
            assert not summary.count(), f"{name}: {summary.inner_text()}"
            expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Done: {name}")

    def travel(self, clock, when) -> None:
        """Time passes, and the pathway's timers that fell due fire, as the scheduler's sweep fires them."""
        with self.pathway.context():
            Child(db.session.get(Case, self.case_id), self.pathway.people, clock).travel(when)
            db.session.remove()
        for page in self.pages.values():  # their sessions have long ended: each signs in again when next needed
            page.context.clear_cookies()
        self.pages.clear()

    def refer(self) -> None:
        page = self.page("referrer")
        self.follow(page, page.locator(".govuk-service-navigation").get_by_role("link", name="Start a referral"))
        page.get_by_label("Child's full name").fill(CHILD)
        page.get_by_label("Northshire North").check()
        with self.pathway.context():
            screening = referrals.screening_form(KEY)
            db.session.remove()
        self.fill(page, screening.schema, screening.ui_schema, ANSWERS["screen"], SCREENING)
        self.follow(page, page.get_by_role("button", name="Send referral"))
        expect(page.get_by_role("heading", level=1)).to_have_text(CHILD)
        self.case_id = int(page.url.rsplit("/", 1)[1])


def test_one_child_from_referral_to_review_as_the_roles_do_it(pathway, browse, axe):
    with time_machine.travel(MONDAY, tick=False) as clock:
        walker = Walker(browse, axe, pathway)
        walker.refer()
        for step in ("hub_decision", "ric_record", "ric_plan", "share_plan", "circulate_plan", "agency_update"):
            walker.do(step)
        # Completing a step leads to the case page, which says what the case now waits for.
        member = walker.page(max(role for role in walker.pages if role.startswith("core_member:")))
        expect(member.locator("#waiting")).to_contain_text("MACE 1 meeting")
        expect(member.locator("#waiting")).to_contain_text("Plan ready by")

        walker.travel(clock, FIRST_MEETING + timedelta(minutes=1))  # the meeting starts: its outcome step opens
        for step in ("mace1_outcome", "disseminate", "update_parents"):
            walker.do(step)
        worker = walker.page("allocated_worker")
        expect(worker.locator("#waiting")).to_contain_text("Waiting for")

        with pathway.context():
            review = casefile.waiting_on(walker.case_id)[0]
            db.session.remove()
        walker.travel(clock, review.fire_at + timedelta(minutes=1))  # the review opens ahead of its meeting
        walker.do("review_plan")
        assert walker.open_steps("review_plan") == []
