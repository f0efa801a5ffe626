"""The MACE 1 attendance register prefilled from each agency's update: who attends, or the deputy named and briefed."""

from __future__ import annotations

from sqlalchemy import select

from processes.engine.db import db
from processes.engine.hooks import StepCompleted
from processes.identity import users as identity
from processes.mace.contract import ATTENDANCE_FIELD, ATTENDEE_FIELD, BRIEFED_FIELD
from processes.mace.models import Attendance, Booking, Meeting

# The update's answer -> the register's status.
STATUS = {"attending": "present", "deputy": "deputy", "not_represented": "absent"}


def prefill(completed: StepCompleted) -> None:
    """An agency's update fills its line of the register of the meeting the case is booked onto, unless that
    line is already there (business support's record, or an earlier update for another child, stands)."""
    agency, answer = completed.task.group_code, completed.data.get(ATTENDANCE_FIELD)
    if not agency or answer not in STATUS or completed.actor is None:
        return
    meeting_id = db.session.scalar(
        select(Meeting.id).join(Booking, (Booking.area_code == Meeting.area_code)
                                & (Booking.meeting_at == Meeting.starts_at))
        .where(Booking.case_id == completed.task.case_id, Booking.status == "booked")
        .order_by(Booking.meeting_at.desc()).limit(1))
    if meeting_id is None or db.session.scalar(select(Attendance.id).where(
            Attendance.meeting_id == meeting_id, Attendance.agency == agency)) is not None:
        return
    member = identity.display_name(completed.actor.id)
    status = STATUS[answer]
    db.session.add(Attendance(
        meeting_id=meeting_id, agency=agency, status=status,
        attendee={"present": member, "deputy": completed.data.get(ATTENDEE_FIELD)}.get(status),
        deputy_named_by=member if status == "deputy" else None,
        deputy_briefed=completed.data.get(BRIEFED_FIELD) if status == "deputy" else None,
        recorded_by_id=completed.actor.id, recorded_at=completed.at))
