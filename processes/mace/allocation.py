"""The case's allocated worker and team: named by the hub, handed that lane's steps, changed by their managers."""

from __future__ import annotations

from sqlalchemy import select, update

from processes.engine import audit, repository
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.errors import InvalidInput
from processes.engine.hooks import StepCompleted, StepOpened
from processes.engine.models import HumanTask
from processes.engine.transaction import atomic
from processes.identity import users as identity
from processes.identity.models import Team, User, UserArea, UserRole
from processes.mace import cases, settings, timescales
from processes.mace.contract import WORKER_FIELD, WORKER_ROLE
from processes.mace.models import Case
from processes.mace.policy import CASE_ALLOCATE


def users_with_role(role: str, area: str) -> list[tuple[str, str]]:
    """(username, name) of the active users holding the role in the area, by name: the `users_with_role`
    provider of forms' `x-options`."""
    return [(username, name) for username, name in db.session.execute(
        select(User.username, User.display_name).join(UserRole, UserRole.user_id == User.id)
        .join(UserArea, UserArea.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role == role, UserArea.area_code == area)
        .order_by(User.display_name, User.username))]


def _worker(username: str, area: str) -> User | None:
    if username not in dict(users_with_role(WORKER_ROLE, area)):
        return None
    return db.session.scalar(select(User).where(User.username == username))


def record(completed: StepCompleted) -> None:
    """A step that names the allocated worker (the hub decision) makes them the case's, with their team."""
    username = completed.data.get(WORKER_FIELD)
    if not username:
        return
    case = db.session.get(Case, completed.task.case_id)
    worker = _worker(username, case.area_code)
    if worker is not None:  # the form's options were checked already; a worker gone since is left unallocated
        case.allocated_worker_id, case.team_id = worker.id, worker.team_id


def assign(opened: StepOpened) -> None:
    """A step of the allocated worker's lane goes straight to the case's worker, once the case has one."""
    if opened.row["role"] != WORKER_ROLE:
        return
    worker_id = db.session.scalar(select(Case.allocated_worker_id).where(Case.id == opened.row["case_id"]))
    if worker_id is not None:
        opened.row["assignee_id"] = worker_id


@atomic
def change_worker(actor: Actor, case_id: int, username: str) -> Case:
    """A manager gives the case to another allocated worker of its area; the open steps of that lane move too."""
    actor.require(CASE_ALLOCATE, "change a case's allocated worker")
    case = cases.visible_case(actor, case_id)
    worker = _worker(username, case.area_code)
    if worker is None:
        raise InvalidInput("The allocated worker was not changed.", {
            "worker": [f"'{username}' is not an allocated worker of this area: choose one from the list."]})
    case.allocated_worker_id, case.team_id = worker.id, worker.team_id
    moved = db.session.execute(
        update(HumanTask).where(HumanTask.case_id == case.id, HumanTask.status == "open",
                                HumanTask.role == WORKER_ROLE)
        .values(assignee_id=worker.id).execution_options(synchronize_session=False)).rowcount
    audit.record(actor, "case.allocate", case_id=case.id, detail=f"user {worker.id}; {moved} step(s) moved")
    return case


def allocated(case: Case) -> tuple[str | None, str | None]:
    """The names of the case's allocated worker and team, for the case page."""
    worker = identity.display_name(case.allocated_worker_id) if case.allocated_worker_id else None
    team = db.session.get(Team, case.team_id) if case.team_id else None
    return worker, team.name if team is not None else None


def core_agencies() -> dict[str, str]:
    """The core agencies of the latest deployed pathway (none before it is deployed): a user's agency is one."""
    definition = repository.latest_version(settings.current().pathway_key)
    config = timescales.for_definition(definition) if definition is not None else None
    return config.core_agencies if config is not None else {}
