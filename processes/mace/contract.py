"""The names the pathway's Python relies on in its diagrams and forms, declared once, and the deploy check that
refuses a pathway bundle lacking one.

Every pathway module and the web app import these names from here, so a process owner can see in one place
(and in bpmn/README.md, "The contract") what they may not rename, and a rename in a modeller is refused at
deploy, naming the file and the missing name, rather than found later as a page that shows nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from processes.engine.bundle import ParsedBundle
from processes.engine.errors import Problem
from processes.engine.hooks import Deployable
from processes.mace import facts, roles, timescales

# The key the pathway is deployed under (the app's PATHWAY_KEY unless set otherwise) and its main process,
# which the engine starts a case with and in which the case's MACE 1 booking lives.
PATHWAY_KEY = "mace"
MAIN_PROCESS = "mace"
# User tasks.
SCREENING_STEP = "screen"  # the pathway's first user task, done by the referrer
PLAN_STEP = "share_plan"  # the plan written up and shared with the manager, ahead of MACE 1
OUTCOME_STEP = "mace1_outcome"  # completed once the meeting has discussed the case
REFERRER = "referrer"  # the role whose lane holds the screening step
# A message the case page records (its payload's fields are its `<name>.message.schema.json`).
MISSING_EPISODE = "missing_episode"
WORKER_ROLE = "allocated_worker"  # the role whose lane's steps go straight to the case's allocated worker
# A variable the diagrams set.
BOOKING_VARIABLE = "mace1"  # the MACE 1 meeting a case is booked into, as the diagrams' book_mace1() gives it
# Form fields.
PLAN_FIELD = "actions"  # a form with this field records the child's plan and its actions
ADDED_ACTIONS_FIELD = "actions_added"  # the actions MACE 1 adds to the plan
ACTION_FIELDS = (PLAN_FIELD, ADDED_ACTIONS_FIELD)  # each becomes plan_actions rows when its step completes
# Each action's own fields, in both forms.
ACTION_TEXT, ACTION_AGENCY, ACTION_DUE = "action", "agency", "due_date"
# Timescales (timescales.json) a plan action is chased by.
ACTION_REMINDER = "plan_action_reminder"  # its owners are reminded this long before it is due
ACTION_ESCALATION = "plan_action_escalation"  # still open this long after it was due, it goes to the chairs
REVIEW_STEP = "review_plan"  # its page shows each plan action's status
PERSONS_FIELD = "persons_of_concern"
LOCATIONS_FIELD = "locations_of_concern"
CONCERN_FIELDS = (PERSONS_FIELD, LOCATIONS_FIELD)
# An agency update's answers that prefill the meeting's attendance register.
ATTENDANCE_FIELD, ATTENDEE_FIELD, BRIEFED_FIELD = "attendance", "attendee", "deputy_briefed"
WORKER_FIELD = "allocated_worker"  # a step answering it names the case's allocated worker (the hub decision)
# Kinds of case fact: the values of forms' "x-report" marks.
EXPLOITATION_TYPE = "exploitation_type"
RISK_LEVEL = "risk_level"
PERSON_OF_CONCERN = "person_of_concern"
LOCATION_OF_CONCERN = "location_of_concern"
OUTCOME_KIND = "mace1_outcome"
PLAN_DELIVERY = "plan_delivery"
ESCALATION_AGREED = "escalation_agreed"
MEASURES_OF_SUCCESS = "measures_of_success"
CHALLENGES = "challenges"
PLAN_ADDITIONS = "plan_additions"
# In the outcome summary's order.
SUMMARY_KINDS = (OUTCOME_KIND, RISK_LEVEL, PLAN_DELIVERY, MEASURES_OF_SUCCESS, CHALLENGES, PLAN_ADDITIONS,
                 ESCALATION_AGREED)

USER_TASK, PROCESS, VARIABLE, FORM_FIELD, REPORT_KIND = "user task", "process", "variable", "form field", "report kind"
TIMESCALE = "timescale"


@dataclass(frozen=True)
class Requirement:
    """One name the Python reads: its kind, the name, what reads it (said in the refusal), and the file that
    holds it as shipped, which a refusal names. `role`: a user task must sit in that role's lane."""

    kind: str
    name: str
    reader: str
    file: str
    role: str | None = None


REQUIRED: tuple[Requirement, ...] = (
    Requirement(PROCESS, MAIN_PROCESS, "moving a case to another MACE 1 meeting finds the case's running pathway, "
                "where its booking lives, by it", "mace.bpmn"),
    Requirement(USER_TASK, SCREENING_STEP, "the referral page and the API's referrals show its form to the "
                "referrer and complete it to start a case", "referral.bpmn", role=REFERRER),
    Requirement(USER_TASK, PLAN_STEP, "the MACE 1 agenda reads it to show whether a case's plan is ready by the "
                "plan deadline", "plan_circulation.bpmn"),
    Requirement(USER_TASK, OUTCOME_STEP, "the MACE 1 meeting page records each child's outcome with its form, and "
                "the agenda tells from it whether a case was discussed", "mace1.bpmn"),
    Requirement(VARIABLE, BOOKING_VARIABLE, "MACE 1 agendas are built from the booking it holds, and moving a case "
                "to another meeting changes it", "mace.bpmn"),
    Requirement(FORM_FIELD, PLAN_FIELD, "the case page shows the plan's actions from it", "ric_plan.schema.json"),
    *(Requirement(FORM_FIELD, f"{field}.*.{part}", "plan actions are kept, shown and chased from it", file)
      for field, file in ((PLAN_FIELD, "ric_plan.schema.json"), (ADDED_ACTIONS_FIELD, "mace1_outcome.schema.json"))
      for part in (ACTION_TEXT, ACTION_AGENCY, ACTION_DUE)),
    Requirement(TIMESCALE, ACTION_REMINDER, "plan actions' owners are reminded by it", "timescales.json"),
    Requirement(TIMESCALE, ACTION_ESCALATION, "overdue plan actions go to the MACE chairs after it",
                "timescales.json"),
    Requirement(USER_TASK, REVIEW_STEP, "its page shows the status of each plan action", "review.bpmn"),
    Requirement(FORM_FIELD, WORKER_FIELD, "the case's allocated worker, to whom that lane's steps go, is the "
                "username answered in it", "hub_decision.schema.json"),
    Requirement(FORM_FIELD, ATTENDANCE_FIELD, "the MACE 1 attendance register is prefilled from each agency's "
                "update with who will attend for it", "mace1_agency_update.schema.json"),
    Requirement(FORM_FIELD, PERSONS_FIELD, "the case page lists the persons of concern from it",
                "screening.schema.json"),
    Requirement(FORM_FIELD, LOCATIONS_FIELD, "the case page lists the locations of concern from it",
                "screening.schema.json"),
    Requirement(REPORT_KIND, EXPLOITATION_TYPE, "the quarterly trends page counts children by type of exploitation "
                "from it", "screening.schema.json"),
    Requirement(REPORT_KIND, RISK_LEVEL, "the quarterly trends page counts children by their latest risk level "
                "from it", "ric_record.schema.json"),
    Requirement(REPORT_KIND, PERSON_OF_CONCERN, "the quarterly trends page lists persons of concern named for more "
                "than one child from it", "screening.schema.json"),
    Requirement(REPORT_KIND, LOCATION_OF_CONCERN, "the quarterly trends page lists locations of concern named for "
                "more than one child from it", "screening.schema.json"),
    Requirement(REPORT_KIND, OUTCOME_KIND, "the MACE 1 outcome summary, circulated after the meeting, gives each "
                "child's outcome from it", "mace1_outcome.schema.json"),
    Requirement(REPORT_KIND, PLAN_DELIVERY, "the MACE 1 outcome summary says from it how the plan is being "
                "delivered", "mace1_outcome.schema.json"),
    Requirement(REPORT_KIND, ESCALATION_AGREED, "the MACE 1 outcome summary says from it whether escalation was "
                "agreed", "mace1_outcome.schema.json"),
    Requirement(REPORT_KIND, MEASURES_OF_SUCCESS, "the MACE 1 outcome summary gives from it the measures of "
                "success agreed", "mace1_outcome.schema.json"),
    Requirement(REPORT_KIND, CHALLENGES, "the MACE 1 outcome summary gives from it the challenges discussed",
                "mace1_outcome.schema.json"),
    Requirement(REPORT_KIND, PLAN_ADDITIONS, "the MACE 1 outcome summary gives from it the additions to the plan "
                "agreed", "mace1_outcome.schema.json"),
)


def applies(bundle: Deployable) -> bool:
    """Whether the bundle is the pathway, to be held to the contract: it holds the pathway's main process or its
    own configuration, timescales.json (the MACE 1 calendar), whatever key it is deployed under.

    Not the key alone: a bundle that renamed its main process is still the pathway (it keeps timescales.json),
    while the engine's small test bundles, even deployed as the app's pathway (the web tests deploy one as
    `mace`), carry neither; no page reads their names beyond what those tests give them, so they deploy as the
    engine alone allows.
    """
    return MAIN_PROCESS in bundle.parsed.specs or timescales.FILE_NAME in bundle.files


def check(bundle: Deployable) -> Iterator[Problem]:
    """A problem for each required name the pathway bundle lacks (a deploy check, registered by the plugin)."""
    if not applies(bundle):
        return
    for requirement in REQUIRED:
        message = _missing(requirement, bundle.parsed)
        if message is not None:
            file = requirement.file if requirement.file in bundle.files else "(bundle)"
            yield Problem(file, requirement.name, f"{message}: {requirement.reader}.")


def _missing(requirement: Requirement, parsed: ParsedBundle) -> str | None:
    """What the bundle lacks, as the start of a sentence; None when it has the name."""
    name, file = requirement.name, requirement.file
    if requirement.kind == PROCESS:
        if parsed.entry_process_id != name:
            return f"The pathway needs its main process, the one a case starts with, to have the id `{name}`"
    elif requirement.kind == USER_TASK:
        task = next((t for spec in parsed.all_specs() for t in spec.task_specs.values()
                     if isinstance(t, UserTask) and t.bpmn_id == name), None)
        if task is None:
            return f"The pathway needs a user task `{name}` in a diagram ({file} as shipped)"
        if requirement.role is not None and roles.role_for_lane(task.lane) != requirement.role:
            return f"The user task `{name}` must be in the {roles.ROLES[requirement.role]} lane"
    elif requirement.kind == VARIABLE:
        if name not in parsed.computed:
            return f"The pathway needs the variable `{name}`, set by a script of the diagrams ({file} as shipped)"
    elif requirement.kind == FORM_FIELD:
        if not any(_has_field(form, name.split(".")) for form in parsed.forms.values()):
            return f"{file} needs the field `{name}`"
    elif requirement.kind == TIMESCALE:
        scales = parsed.configs.get(timescales.FILE_NAME)
        if scales is None or name not in scales.config["timescales"]:
            return f"{file} needs the timescale `{name}`"
    elif requirement.kind == REPORT_KIND:
        if not any(kind == name for form in parsed.forms.values() for _path, kind in facts.report_paths(form)):
            return f'{file} needs a field marked "{facts.REPORT_KEYWORD}": "{name}"'
    else:
        raise ValueError(f"Unknown kind of requirement: {requirement.kind}")
    return None


def _has_field(schema: dict, path: list[str]) -> bool:
    """Whether a form has the field at a dotted path, `*` standing for an array's rows (`actions.*.agency`)."""
    if not path:
        return True
    if path[0] == "*":
        items = schema.get("items")
        return isinstance(items, dict) and _has_field(items, path[1:])
    prop = (schema.get("properties") or {}).get(path[0])
    return isinstance(prop, dict) and _has_field(prop, path[1:])
