"""The one place the MACE pathway plugs into the engine: every hook it registers, at start-up."""

from __future__ import annotations

from processes.engine.hooks import HOOKS, Hooks
from processes.identity import users as identity
from processes.mace import (
    alerts,
    allocation,
    bookings,
    cases,
    contract,
    drafts,
    facts,
    jobs,
    plan_actions,
    policy,
    register,
    retention,
    roles,
    timescales,
)

NAME = "mace"


def install(hooks: Hooks = HOOKS) -> None:
    """Register the pathway's rules on the engine; safe to call again (every app and worker calls it)."""
    if NAME in hooks.installed:
        return
    hooks.installed.add(NAME)
    # Who may do what: before any Actor is built, identity and the engine learn which role holds which permission.
    policy.install()
    # Which role a lane's name means, and where a case's area is kept.
    hooks.lane_role = roles.role_for_lane
    hooks.cases = cases
    hooks.actors = identity  # the users this partnership keeps, for handing tasks to
    # A user's agency is one of the pathway's core agencies; forms may offer the users of a role in the area.
    identity.use_agencies(allocation.core_agencies)
    hooks.form_options["users_with_role"] = allocation.users_with_role
    # timescales.json: checked, parsed per version, and offering due_after, due_before and book_mace1.
    hooks.extensions.append(timescales.TimescalesFile())
    hooks.deploy_checks.append(timescales.check_timescale_names)
    # The pathway bundle must keep every name the Python reads (processes/mace/contract.py).
    hooks.deploy_checks.append(contract.check)
    # A step opens: named for its agency and kept to that agency's core members; the allocated worker's lane's
    # handed to the case's worker; its first reminder, overdue notice or escalation scheduled.
    hooks.step_opened.extend([timescales.name_agency_step, allocation.assign])
    hooks.alert_time = alerts.next_alert_at
    # A step completes, however it is completed: its reported answers kept as facts, its plan's actions kept as
    # rows to chase, its drafts dropped. The hub decision names the case's allocated worker.
    # An agency's update prefills its line of the meeting's attendance register.
    hooks.step_completed.extend([facts.record, plan_actions.record, drafts.drop, allocation.record, register.prefill])
    # The MACE 1 meeting a case waits for becomes a row of that meeting's agenda.
    hooks.watchers.append(bookings.BookingWatcher())
    # The sweep raises alerts, sends their email and keeps trends and meetings up to date.
    hooks.jobs.update(jobs.JOBS)
    # retention.json: checked at deploy; a case whose last pathway ends is placed on it, and listed when due.
    hooks.extensions.append(retention.RetentionFile())
    hooks.instance_ended.append(retention.place_on_schedule)
    hooks.jobs["retention"] = retention.JOB
