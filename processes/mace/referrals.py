"""Referrals: a concern raised with the CE screening tool starts the pathway for a new or known child."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from processes.engine import bundle as bundles
from processes.engine import forms, repository, runtime, write_queue
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.errors import Conflict, InvalidInput, NotFound
from processes.engine.models import HumanTask, ProcessDefinition, ProcessInstance
from processes.engine.transaction import atomic
from processes.mace import cases
from processes.mace.cases import visible_case
from processes.mace.contract import REFERRER, SCREENING_STEP
from processes.mace.models import Case
from processes.mace.policy import REFERRAL_START


@dataclass
class ScreeningForm:
    definition: ProcessDefinition
    form: str | None
    schema: dict[str, Any]
    ui_schema: dict[str, Any]


@dataclass
class Referral:
    case: Case
    instance: ProcessInstance
    screening: HumanTask


def screening_form(key: str) -> ScreeningForm:
    """The form of the screening step in the latest version of pathway `key`."""
    definition = repository.require_latest(key)
    for spec in bundles.for_definition(definition).all_specs():
        task_spec = spec.task_specs.get(SCREENING_STEP)
        if task_spec is not None:
            form = getattr(task_spec, "extensions", {}).get("properties", {}).get(bundles.FORM_PROPERTY)
            return ScreeningForm(definition, form, forms.schema_for(definition, form),
                                 forms.ui_schema_for(definition, form))
    raise NotFound(f"Pathway {key} has no step '{SCREENING_STEP}' to screen a referral with.")


def _child_errors(actor: Actor, case_id: int | None, area: str | None, child_name: str | None,
                  date_of_birth: date | None) -> dict[str, list[str]]:
    if case_id is not None:
        try:
            visible_case(actor, case_id)
        except NotFound:
            return {"case.case_id": [f"There is no case {case_id} in your areas. Check the case reference."]}
        if runtime.running_pathway(case_id) is not None:
            raise Conflict(f"Case {case_id}'s pathway is still running: add what you know to its open steps, "
                           "or ask a manager to stop it first.")
        return {}
    errors = {}
    if not (child_name or "").strip():
        errors["case.child_name"] = ["Enter the child's full name."]
    if area not in actor.areas:
        errors["case.area"] = ["Select the area the child lives in."]
    born = cases.date_of_birth_error(date_of_birth)
    if born:
        errors["case.date_of_birth"] = [born]
    return errors


def check(actor: Actor, key: str, screening: dict[str, Any], *, case_id: int | None = None,
          area: str | None = None, child_name: str | None = None, date_of_birth: date | None = None) -> None:
    """Raise InvalidInput naming every field to correct, as `start` would, without creating anything.

    Errors name `case.<field>` for the child and `screening.<field path>` for the screening answers.
    """
    actor.require(REFERRAL_START, "raise a referral")
    form = screening_form(key)
    errors = _child_errors(actor, case_id, area, child_name, date_of_birth)
    try:
        forms.validate(form.definition, form.form, screening)
    except InvalidInput as invalid:
        errors |= {f"screening.{path}": messages for path, messages in invalid.errors.items()}
    if errors:
        raise InvalidInput(f"The referral has {len(errors)} field(s) to correct; nothing was saved.", errors)


@atomic
def start(actor: Actor, key: str, screening: dict[str, Any], *, case_id: int | None = None,
          area: str | None = None, child_name: str | None = None, date_of_birth: date | None = None) -> Referral:
    """Create the case (or use the known child's), start the latest pathway `key` and complete its screening
    step with `screening`, all in one transaction: with any field wrong, nothing at all is created."""
    check(actor, key, screening, case_id=case_id, area=area, child_name=child_name, date_of_birth=date_of_birth)
    case = visible_case(actor, case_id) if case_id is not None else \
        cases.create(actor, area, child_name, date_of_birth)
    instance = runtime.start(actor, case.id, key)
    write_queue.send_now(db.session)  # the step rows the start opened, so the screening step can be found
    step = db.session.scalar(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open",
                                HumanTask.element_id == SCREENING_STEP, HumanTask.role == REFERRER)
    )
    if step is None:
        raise NotFound(f"Pathway {key} opened no '{SCREENING_STEP}' step for the referrer.")
    runtime.complete_task(actor, step.id, screening)
    return Referral(case, instance, step)

