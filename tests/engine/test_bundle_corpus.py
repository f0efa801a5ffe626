"""The corpus in tests/bundles, through the API: no answer is 500; a refused bundle lists all its problems at once,
each naming its file, element and element name; an accepted bundle starts and runs to a human task or its end."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from processes.engine import bundle_files, runtime, validation
from processes.engine.workflow_sync import timer_rows
from processes.identity import users as identity
from processes.mace import cases
from tests.support.factories import BUNDLES
from tests.support.tasks import open_tasks

VALID = ["valid_bpmnio", "valid_camunda", "valid_spiffarena"]
# Each refused bundle, and the (file, element) of every problem it must list in one answer.
REFUSED = {
    "refused_tasks": {("refused_tasks.bpmn", e) for e in ("plain", "manual", "service", "send", "receive")},
    "refused_events": {("refused_events.bpmn", e) for e in ("signal", "conditional", "looped", "end")},
    "refused_expressions": {("refused_expressions.bpmn", e)
                            for e in ("imports", "unquoted", "huge", "flow_yes", "flow_no")},
    "refused_dmn": {("prefixed.dmn", "prefixed_defs"), ("empty.dmn", "empty_defs"), ("literal.dmn", "fee"),
                    ("literal.dmn", "second")},
    "refused_doctype": {("refused_doctype.bpmn", "phone"), ("entities.dmn", None), ("broken.schema.json", None)},
}
_NOT_PLAIN = re.compile(r"0x[0-9a-f]{4,}|<Element|<\w+:\w+|Traceback|\n")


@pytest.fixture
def owner(make_actor):
    actor = make_actor("process_owner", "referrer", "hub_practitioner")
    return actor, {"Authorization": f"Bearer {identity.create_token(actor.username)}"}


def deploy(app, headers, folder: str):
    files = bundle_files.read_folder(BUNDLES / folder)
    return files, app.test_client().post("/api/v1/definitions", json={"key": folder.replace("_", "-"),
                                                                      "files": files}, headers=headers)


def names_in(files: dict[str, str]) -> dict[tuple[str, str], str | None]:
    found = {}
    for file, text in files.items():
        if file.endswith((".bpmn", ".dmn")) and "DOCTYPE" not in text:
            for element in etree.fromstring(text.encode()).iter():
                if isinstance(element.tag, str) and element.get("id"):
                    found[(file, element.get("id"))] = element.get("name") or element.get("label")
    return found


@pytest.mark.parametrize("folder", sorted(REFUSED))
def test_a_refused_bundle_lists_every_problem_at_once_with_file_element_and_name(app, owner, folder):
    files, response = deploy(app, owner[1], folder)
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    problems = response.get_json()["problems"]
    assert REFUSED[folder] <= {(p["file"], p["element_id"]) for p in problems}, problems
    names = names_in(files)
    for problem in problems:
        assert problem["file"] in files, problem
        assert not _NOT_PLAIN.search(problem["message"]), problem
        if problem["element_id"] is not None:
            assert problem["element_name"] == names.get((problem["file"], problem["element_id"])), problem


@pytest.mark.parametrize("folder", VALID)
def test_a_bundle_as_a_modeller_saves_it_deploys_and_runs_to_a_human_task_or_its_end(app, owner, folder):
    actor, headers = owner
    _, response = deploy(app, headers, folder)
    assert response.status_code == 201, response.get_json()
    case = cases.create(actor, "north", "Corpus Child")
    instance = runtime.start(actor, case.id, folder.replace("_", "-"))
    tasks = open_tasks(case.id)
    assert tasks or instance.status == "completed" or runtime_waits(instance.id), folder
    assert all(t.role for t in tasks), "every open step is for a role"


def runtime_waits(instance_id: int) -> bool:
    return bool(timer_rows(instance_id))


def test_the_readme_lists_every_kind_of_refusal():
    readme = (BUNDLES.parent.parent / "README.md").read_text()
    start, end = readme.index("**Validation before deploy.**"), readme.index("**Restricted scripts.**")
    section = " ".join(readme[start:end].split())
    kinds = (*validation.REFUSED_ELEMENTS, *validation.REFUSED_EVENTS)
    missing = [kind for kind in kinds if f"`{kind}`" not in section]
    assert not missing, f"README.md's validation section does not list {missing}"
    for words in ("does not compile as Python", "which no earlier step sets", "could each start a case",
                  "No process of the bundle is executable", "Nothing outside the instance receives a message"):
        assert words in section
