"""Need-to-know rules: a user sees the cases of their areas and the tasks of their roles."""

from sqlalchemy import ColumnElement, and_, or_

from processes.engine import audit
from processes.engine.actors import Actor
from processes.engine.errors import NotFound
from processes.engine.hooks import HOOKS
from processes.engine.models import HumanTask, ProcessInstance
from processes.engine.permissions import TASK_SEE_AREA


def visible_case_area(actor: Actor, case_id: int) -> str:
    """The case's area, or NotFound for an unknown id and for another area's case alike (no existence leak)."""
    area = HOOKS.area_of(case_id)
    if area is None or area not in actor.areas:
        if area is not None:
            audit.record_denied(actor, "case.denied", case_id=case_id)
        raise NotFound(f"No case {case_id}.")
    return area


def visible_instance(actor: Actor, instance: ProcessInstance | None, instance_id: int) -> ProcessInstance:
    """The instance, or the same NotFound for an unknown id and for another area's instance."""
    if instance is None or HOOKS.area_of(instance.case_id) not in actor.areas:
        if instance is not None:
            audit.record_denied(actor, "instance.denied", case_id=instance.case_id, detail=f"instance {instance_id}")
        raise NotFound(f"No process instance {instance_id}.")
    return instance


def task_visibility(actor: Actor) -> ColumnElement[bool]:
    """Tasks assigned to me, plus my areas' tasks of my roles (with task.see_area: all my areas' tasks)."""
    in_area = HumanTask.area_code.in_(actor.areas)
    if actor.may(TASK_SEE_AREA):
        return or_(HumanTask.assignee_id == actor.id, in_area)
    in_group = or_(HumanTask.group_code.is_(None), HumanTask.group_code.in_(actor.groups))
    return or_(HumanTask.assignee_id == actor.id, and_(in_area, HumanTask.role.in_(actor.roles), in_group))


def is_for(actor: Actor, task: HumanTask) -> bool:
    """Of one of my roles and, when the step is narrowed to a group (an agency), of my group."""
    return task.role in actor.roles and (task.group_code is None or task.group_code in actor.groups)


def can_see_task(actor: Actor, task: HumanTask) -> bool:
    if task.assignee_id == actor.id:
        return True
    if task.area_code not in actor.areas:
        return False
    return actor.may(TASK_SEE_AREA) or is_for(actor, task)


def can_claim(actor: Actor, task: HumanTask) -> bool:
    """An open task nobody has taken yet, waiting for one of my roles (and my group, if it names one)."""
    return task.status == "open" and task.assignee_id is None and is_for(actor, task)


def can_act(actor: Actor, task: HumanTask, also_by: str | None = None) -> bool:
    """Whether I may complete a task I can see: it is open and mine, or nobody's yet and of my role.

    `also_by` names a permission that stands in for the task's role (a chair recording a meeting's outcome).
    """
    return task.status == "open" and (task.assignee_id == actor.id or (
        task.assignee_id is None and (is_for(actor, task) or actor.may(also_by))))
