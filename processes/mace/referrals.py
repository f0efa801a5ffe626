"""Referrals: a concern raised with the CE screening tool starts the pathway for a new or known child."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from processes.engine import audit, forms, repository, runtime, write_queue
from processes.engine import bundle as bundles
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.errors import Conflict, InvalidInput, NotFound
from processes.engine.models import HumanTask, ProcessDefinition, ProcessInstance
from processes.engine.transaction import atomic
from processes.mace import cases, search
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


class PossibleDuplicate(Conflict):
    """The child may already have a case of the area: the referrer chooses it, or confirms a new child.

    Names the cases by id alone, so the message holds nothing of any child."""

    code = "possible_duplicate"

    def __init__(self, matches: list[int]):
        super().__init__(f"The child may already have a case: {', '.join(f'case {m}' for m in matches)}. Send the "
                         "referral for that case, or confirm that this is a new child.")
        self.matches = matches

    def to_dict(self) -> dict:
        return {**super().to_dict(), "matches": self.matches}


@dataclass(frozen=True)
class Duplicate:
    """A possible match as the referrer is shown it: the case, and whether its pathway already runs."""

    found: search.Found
    running: bool


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
def shown_duplicates(actor: Actor, case_ids: list[int]) -> list[Duplicate]:
    """The possible matches a refused referral named, of the actor's areas, as the referrer is shown them;
    each child shown is audited."""
    shown = [Duplicate(found, runtime.running_pathway(found.case_id) is not None)
             for number in case_ids for found in search.find_unaudited(actor, case_number=number)]
    audit.record_each(actor, "referral.duplicates_shown", (d.found.case_id for d in shown))
    return shown


@atomic
def start(actor: Actor, key: str, screening: dict[str, Any], *, case_id: int | None = None,
          area: str | None = None, child_name: str | None = None, date_of_birth: date | None = None,
          confirm_new_child: bool = False) -> Referral:
    """Create the case (or use the known child's), start the latest pathway `key` and complete its screening
    step with `screening`, all in one transaction: with any field wrong, nothing at all is created.

    A new child who may already have a case of the area (search.possible_duplicates) raises PossibleDuplicate
    unless `confirm_new_child`; the confirmation is audited on the new case with the cases it was told of.
    """
    check(actor, key, screening, case_id=case_id, area=area, child_name=child_name, date_of_birth=date_of_birth)
    matches = [] if case_id is not None else \
        [m.case_id for m in search.possible_duplicates(actor, area, child_name, date_of_birth)]
    if matches and not confirm_new_child:
        raise PossibleDuplicate(matches)
    case = visible_case(actor, case_id) if case_id is not None else \
        cases.create(actor, area, child_name, date_of_birth)
    if matches:
        audit.record(actor, "referral.new_child_confirmed", case_id=case.id,
                     detail="possible matches: " + ", ".join(f"case {m}" for m in matches))
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

