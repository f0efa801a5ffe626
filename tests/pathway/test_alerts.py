"""Reminders, overdue notices and escalations: working days, who is told, once each, in the app and by email."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_string

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from processes.engine import bundle_files, runtime, scheduler, tasks
from processes.engine.clock import aware
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask
from processes.identity import users as identity
from processes.mace import notifications, settings
from processes.mace.models import Notification
from processes.mace.working_days import add_working_days, is_working_day, working_days_between
from tests.support.factories import BUNDLES, person, screen, start_case
from tests.support.services import Mailbox, free_port
from tests.support.tasks import open_task, swept

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # hub_decision opens now; with P5D it is due Saturday 09:00
FRIDAY, SATURDAY = MONDAY + timedelta(days=4), MONDAY + timedelta(days=5)
ESCALATION = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)  # three working days after Saturday: Mon, Tue, Wed


# Working days


def test_weekends_and_bank_holidays_are_not_working_days():
    assert is_working_day(date(2026, 11, 2)) and not is_working_day(date(2026, 11, 7))
    # Christmas 2026: Friday 25th, and Boxing Day falls on a Saturday so Monday 28th is the holiday.
    assert not is_working_day(date(2026, 12, 25)) and not is_working_day(date(2026, 12, 28))
    assert add_working_days(datetime(2026, 12, 24, 10, 0, tzinfo=UTC), 1) == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)
    assert add_working_days(datetime(2026, 12, 29, 10, 0, tzinfo=UTC), -1) == datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 31)) == 3
    assert working_days_between(date(2026, 12, 31), date(2026, 12, 24)) == -3


def test_working_days_keep_the_uk_clock_time_across_the_change_from_summer_time():
    # Friday 23 October 2026, 09:00 BST (08:00 UTC); the clocks go back on Sunday the 25th.
    assert add_working_days(datetime(2026, 10, 23, 8, 0, tzinfo=UTC), 1) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    # 00:30 BST on Tuesday 6 October is still Monday in UTC: the UK date is the one that counts.
    assert add_working_days(datetime(2026, 10, 5, 23, 30, tzinfo=UTC), -1) == datetime(2026, 10, 4, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(("due_in", "due_at"), [
    ("2027-07-01", datetime(2027, 7, 1, 22, 59, 59, tzinfo=UTC)),  # the end of that day in the UK (BST)
    ("2027-07-01T09:00", datetime(2027, 7, 1, 8, 0, tzinfo=UTC)),  # 09:00 on UK clocks
    ("2027-07-01T09:00+00:00", datetime(2027, 7, 1, 9, 0, tzinfo=UTC)),  # an offset given is kept
])
def test_a_due_date_given_as_text_is_read_on_uk_clocks(people, deploy, due_in, due_at):
    deploy("screening", files=screening(due_in=due_in))
    assert aware(open_decision(people, "Riley Madeup").due_at) == due_at


# Alerts


@pytest.fixture
def people(make_people):
    return make_people(
        referrer=person("referrer", username="referrer"),
        hub=person("hub_practitioner", username="hub", email=True),
        hub2=person("hub_practitioner", username="hub2", email=True),
        manager=person("team_manager", username="manager", email=True),
        chair=person("mace_chair", username="chair", email=True),
        south_chair=person("mace_chair", areas=("south",), username="southchair", email=True),
    )


def screening(due_in: str = "P5D", escalate: bool = True) -> dict[str, str]:
    files = bundle_files.read_folder(BUNDLES / "screening")
    bpmn = files["screening.bpmn"].replace("""value='"P1D"'""", f"""value='"{due_in}"'""")
    files["screening.bpmn"] = bpmn if escalate else bpmn.replace(
        '<spiffworkflow:property name="escalate" value="true" />', "")
    return files


def open_decision(people, child: str) -> HumanTask:
    """Screen a new referral on Monday morning: the hub decision opens then."""
    with time_machine.travel(MONDAY, tick=False):
        case, _ = start_case(people["referrer"], "screening", child)
        screen(people["referrer"], case.id)
    return open_task(case.id, "hub_decision")


@pytest.fixture
def decision_step(people, deploy):
    """A hub decision due in five days, opened on a Monday morning."""
    deploy("screening", files=screening())
    task = open_decision(people, "Casey Fictional")
    assert aware(task.due_at) == SATURDAY
    return task


def sweep_at(moment: datetime) -> scheduler.Report:
    with time_machine.travel(moment, tick=False):
        return scheduler.sweep_here()


def raised(kind: str) -> dict[str, int]:
    """Who was told, by username, and how many times."""
    rows = db.session.execute(
        select(identity.User.username, func.count()).join(Notification, Notification.user_id == identity.User.id)
        .where(Notification.kind == kind).group_by(identity.User.username)
    ).all()
    return dict(rows)


def audited(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_reminder_overdue_and_escalation_reach_the_right_people_once_each(people, decision_step):
    with time_machine.travel(FRIDAY - timedelta(minutes=1), tick=False):
        assert swept()["alerts"] == [], "nothing is due before the reminder time"
    assert sweep_at(FRIDAY - timedelta(minutes=1)).done["alerts"] == 0

    # Unassigned: the reminder goes to everyone who holds the step's role in its area.
    assert sweep_at(FRIDAY).done["alerts"] == 1
    assert raised("reminder") == {"hub": 1, "hub2": 1}
    assert sweep_at(FRIDAY + timedelta(hours=1)).done["alerts"] == 0

    # Claimed: the overdue notice goes to the assignee and the area's team manager, not the whole role.
    with time_machine.travel(FRIDAY + timedelta(hours=2), tick=False):
        tasks.claim(people["hub"], decision_step.id)
    assert sweep_at(SATURDAY).done["alerts"] == 1
    assert raised("overdue") == {"hub": 1, "manager": 1}
    assert sweep_at(ESCALATION - timedelta(minutes=1)).done["alerts"] == 0

    # Still open three working days later: the chairs of that area are told; other areas' chairs are not.
    assert sweep_at(ESCALATION).done["alerts"] == 1
    assert raised("escalation") == {"chair": 1}
    for later in (ESCALATION + timedelta(days=1), ESCALATION + timedelta(days=30)):
        assert sweep_at(later).done["alerts"] == 0
    assert (audited("task.reminder"), audited("task.overdue"), audited("task.escalation")) == (1, 1, 1)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 5


def test_a_step_not_marked_escalate_goes_overdue_but_never_to_the_chairs(people, deploy):
    deploy("screening", files=screening(escalate=False))
    step = open_decision(people, "Morgan Pretend")
    for moment in (FRIDAY, SATURDAY, ESCALATION, ESCALATION + timedelta(days=60)):
        sweep_at(moment)
    assert sorted(db.session.scalars(select(Notification.kind).distinct())) == ["overdue", "reminder"]
    db.session.refresh(step)
    assert step.next_alert_at is None, "nothing more is ever due for it"


def test_a_step_done_on_time_raises_nothing_more(people, decision_step):
    sweep_at(FRIDAY)
    with time_machine.travel(FRIDAY + timedelta(hours=1), tick=False):
        runtime.complete_task(people["hub"], decision_step.id, {"decision": "no_further_action"})
    for moment in (SATURDAY, ESCALATION):
        assert sweep_at(moment).done["alerts"] == 0
    assert set(db.session.scalars(select(Notification.kind))) == {"reminder"}


def test_a_step_opened_inside_its_reminder_window_gets_no_reminder_but_does_go_overdue(people, deploy):
    deploy("screening", files=screening(due_in="P1D"))  # the reminder time passed before the step opened
    open_decision(people, "Robin Invented")
    assert sweep_at(MONDAY + timedelta(hours=23)).done["alerts"] == 0
    assert sweep_at(MONDAY + timedelta(days=1)).done["alerts"] == 1
    assert set(db.session.scalars(select(Notification.kind))) == {"overdue"}


# Email


def use_smtp(monkeypatch, **changes) -> None:
    """Point the services at another relay for this test (the settings they were given at start-up)."""
    given = settings.current()
    monkeypatch.setattr(settings, "_current", replace(given, smtp=replace(given.smtp, **changes)))


@pytest.fixture
def relay(app, monkeypatch):
    """`relay(handler, **options)`: a real SMTP server on a free loopback port, not yet started, that the
    app sends to; stopped after the test if it was running."""
    built: list[Controller] = []

    def build(handler: Mailbox, **options) -> Controller:
        port = free_port()
        use_smtp(monkeypatch, host="127.0.0.1", port=port)
        built.append(Controller(handler, hostname="127.0.0.1", port=port, **options))
        return built[-1]

    yield build
    for controller in built:
        if controller._thread is not None:  # a test may leave it down, or stop it itself
            controller.stop()


@pytest.fixture
def smtp(relay):
    mailbox = Mailbox()
    return mailbox, relay(mailbox)


def test_alerts_are_emailed_once_with_ids_and_a_link_but_nothing_about_the_child(people, decision_step, smtp,
                                                                                monkeypatch):
    mailbox, controller = smtp
    monkeypatch.setattr(settings, "_current", replace(settings.current(), base_url="https://mace.example.org"))
    controller.start()
    report = sweep_at(FRIDAY)
    assert (report.done["timers"], report.done["alerts"], report.done["email"]) == (0, 1, 2)
    assert sorted(to for rcpt, _ in mailbox.received for to in rcpt) == ["hub2@example.org", "hub@example.org"]
    message = message_from_string(mailbox.received[0][1])
    body = message.get_payload(decode=True).decode()
    assert message["Subject"] == "Reminder: a MACE pathway step is due soon"
    assert "Decide on the referral" in body and f"Case reference: {decision_step.case_id}" in body
    assert f"https://mace.example.org/tasks/{decision_step.id}" in body, "the link starts with BASE_URL"
    assert "Saturday 07 November 2026 09:00 GMT" in body, "due times are shown on UK clocks"
    assert "Casey" not in body and "Messages from an adult" not in body
    assert set(db.session.scalars(select(Notification.email_status))) == {"sent"}

    sweep_at(FRIDAY + timedelta(hours=1))
    assert len(mailbox.received) == 2, "a sent email is never sent again"
    assert audited("email.reminder") == 2


def test_email_that_cannot_be_sent_stays_pending_and_goes_when_the_relay_is_back(people, decision_step, smtp):
    mailbox, controller = smtp  # not started: the relay refuses connections
    report = sweep_at(FRIDAY)
    assert report.done["email"] == 0 and {job for job, _, _ in report.failed} == {"email"}
    assert set(db.session.scalars(select(Notification.email_status))) == {"pending"}
    assert raised("reminder") == {"hub": 1, "hub2": 1}, "the in-app notice is not held up by email"

    controller.start()
    assert sweep_at(FRIDAY + timedelta(minutes=1)).done["email"] == 2
    assert len(mailbox.received) == 2
    assert set(db.session.scalars(select(Notification.email_status))) == {"sent"}


def test_with_email_off_notifications_are_kept_in_the_app_only(people, decision_step):
    done = sweep_at(FRIDAY).done
    assert (done["timers"], done["alerts"], done["email"]) == (0, 1, 0)
    assert set(db.session.scalars(select(Notification.email_status))) == {"none"}


class RefusingMailbox(Mailbox):
    """A relay that has no mailbox for one address, as a real one would answer."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("hub2@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_an_address_the_relay_refuses_for_good_is_marked_failed_and_not_tried_again(people, decision_step, relay):
    mailbox = RefusingMailbox()
    relay(mailbox).start()
    report = sweep_at(FRIDAY)
    again = sweep_at(FRIDAY + timedelta(hours=1))
    assert report.failed == [] and report.done["email"] == 1 and again.done["email"] == 0
    statuses = dict(db.session.execute(
        select(identity.User.username, Notification.email_status)
        .join(Notification, Notification.user_id == identity.User.id)).all())
    assert statuses == {"hub": "sent", "hub2": "failed"}
    assert [to for tos, _ in mailbox.received for to in tos] == ["hub@example.org"]
    assert audited("email.failed") == 1, "the case history shows the notice could not be emailed"


@pytest.fixture
def tls_relay(app, monkeypatch, tmp_path, relay):
    """A relay that offers STARTTLS with a certificate of its own, trusted only if a test says so."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so no test certificate can be made")
    cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    use_smtp(monkeypatch, starttls=True)
    mailbox = Mailbox()
    relay(mailbox, tls_context=context, require_starttls=True).start()
    return mailbox, cert


def test_starttls_refuses_a_relay_whose_certificate_is_not_trusted(people, decision_step, tls_relay):
    mailbox, _ = tls_relay
    report = sweep_at(FRIDAY)
    assert {error for job, _, error in report.failed if job == "email"} == {"SSLCertVerificationError"}
    assert mailbox.received == [], "no password or alert goes to a relay that cannot prove who it is"
    assert set(db.session.scalars(select(Notification.email_status))) == {"pending"}


def test_starttls_sends_to_a_relay_with_a_trusted_certificate(monkeypatch, people, decision_step, tls_relay):
    mailbox, cert = tls_relay
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted as a certificate authority would make it
    assert sweep_at(FRIDAY).done["email"] == 2
    assert len(mailbox.received) == 2


def test_an_email_claimed_by_a_worker_that_died_is_sent_once_its_claim_goes_stale(app, people, decision_step, smtp):
    mailbox, controller = smtp  # the relay is down for the first sweep: both notices stay pending
    sweep_at(FRIDAY)
    first, second = db.session.scalars(select(Notification.id).order_by(Notification.id)).all()
    with time_machine.travel(FRIDAY + timedelta(minutes=1), tick=False):
        assert notifications._claim(first) is not None  # a worker claims it, then dies before sending
    controller.start()
    assert sweep_at(FRIDAY + timedelta(minutes=2)).done["email"] == 1, "a fresh claim is left to its worker"
    stale = FRIDAY + timedelta(minutes=1, seconds=notifications.claim_seconds() + 1)
    assert sweep_at(stale).done["email"] == 1
    assert sweep_at(stale + timedelta(minutes=1)).done["email"] == 0
    assert sorted(to for tos, _ in mailbox.received for to in tos) == ["hub2@example.org", "hub@example.org"]
    assert {db.session.get(Notification, n).email_status for n in (first, second)} == {"sent"}


def test_a_step_left_with_someone_who_has_left_alerts_the_role_instead(people, decision_step):
    tasks.claim(people["hub"], decision_step.id)
    # No service deactivates accounts yet; an administrator's direct change stands in for it.
    db.session.execute(update(identity.User).where(identity.User.id == people["hub"].id).values(is_active=False))
    db.session.commit()
    sweep_at(SATURDAY)
    assert raised("overdue") == {"hub2": 1, "manager": 1}


def test_a_slow_worker_whose_claim_was_taken_over_cannot_undo_the_send(app, people, decision_step, smtp):
    mailbox, controller = smtp
    sweep_at(FRIDAY)  # relay down: both notices pending
    first = db.session.scalar(select(Notification.id).order_by(Notification.id))
    with time_machine.travel(FRIDAY + timedelta(minutes=1), tick=False):
        slow = notifications._claim(first)  # worker A claims, then hangs on the relay
    controller.start()
    sweep_at(FRIDAY + timedelta(minutes=1, seconds=notifications.claim_seconds() + 1))  # worker B takes over
    with time_machine.travel(FRIDAY + timedelta(minutes=10), tick=False):
        notifications._record(first, slow, "pending")  # A finally fails and reports it
    db.session.expire_all()
    assert db.session.get(Notification, first).email_status == "sent", "B's send stands; it is not sent again"
    assert sweep_at(FRIDAY + timedelta(minutes=11)).done["email"] == 0
    assert len(mailbox.received) == 2


class SenderRefusingMailbox(Mailbox):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "550 5.7.1 Sender not allowed"


def test_a_relay_refusing_our_sender_is_a_set_up_fault_so_the_email_waits_and_retries(
        people, decision_step, relay):
    relay(SenderRefusingMailbox()).start()
    report = sweep_at(FRIDAY)
    assert {error for job, _, error in report.failed if job == "email"} == {"SMTPSenderRefused"}
    assert set(db.session.scalars(select(Notification.email_status))) == {"pending"}, \
        "fixing SMTP_FROM must not find every alert already given up"
    assert audited("email.failed") == 0
