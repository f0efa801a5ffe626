"""Deploy never answers 500: mutated copies of the pathway's own BPMN, DMN and form files, through the API."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from processes.engine import bundle_files
from processes.identity import users as identity
from processes.mace.demo import PATHWAY_FOLDERS

PATHWAY = bundle_files.read_folder(*PATHWAY_FOLDERS)
MUTABLE = sorted(n for n in PATHWAY if n.endswith((".bpmn", ".dmn", ".json")))


def _xml_mutation(text: str, draw) -> str:
    root = etree.fromstring(text.encode())
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    target = draw(st.sampled_from(elements))
    how = draw(st.sampled_from(["delete", "duplicate", "attribute", "text", "drop-attribute", "move"]))
    parent = target.getparent()
    if how == "delete":
        parent.remove(target)
    elif how == "duplicate":
        parent.insert(parent.index(target), etree.fromstring(etree.tostring(target)))
    elif how == "attribute" and target.attrib:
        name = draw(st.sampled_from(sorted(target.attrib)))
        target.set(name, draw(st.sampled_from(["", "x", "main", "true", "false", "1", "${a}", "__import__"])))
    elif how == "drop-attribute" and target.attrib:
        del target.attrib[draw(st.sampled_from(sorted(target.attrib)))]
    elif how == "text":
        target.text = draw(st.sampled_from(["", "P14D", "10**10**10", "(", "x ==", "'PT1H'", "open('x')",
                                            "(i for i in [1]).throw(SystemExit)", "<", "None"]))
    elif how == "move" and len(elements) > 2:
        other = draw(st.sampled_from(elements))
        if target not in other.iterancestors() and other is not target:
            other.append(target)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def _json_mutation(text: str, draw) -> str:
    data = json.loads(text)
    how = draw(st.sampled_from(["drop", "retype", "properties"]))
    if how == "drop" and isinstance(data, dict) and data:
        data.pop(draw(st.sampled_from(sorted(data))))
    elif how == "retype" and isinstance(data, dict):
        data["type"] = draw(st.sampled_from(["nope", 3, None, ["object"]]))
    elif how == "properties" and isinstance(data, dict):
        data["properties"] = draw(st.sampled_from([[], "x", {"a": 3}, {"__x": {"type": "string"}}]))
    return json.dumps(data)


@st.composite
def mutated_pathways(draw) -> dict[str, str]:
    files = dict(PATHWAY)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(MUTABLE))
        text = files[name]
        kind = draw(st.sampled_from(["structure", "truncate"]))
        if kind == "truncate":
            files[name] = text[: draw(st.integers(0, len(text)))]
        elif name.endswith(".json"):
            try:
                files[name] = _json_mutation(text, draw)
            except json.JSONDecodeError:
                files[name] = text[:-1]
        else:
            try:
                files[name] = _xml_mutation(text, draw)
            except etree.XMLSyntaxError:
                files[name] = text + "<"
    return files


@pytest.fixture
def headers(make_actor) -> dict[str, str]:
    owner = make_actor("process_owner")
    return {"Authorization": f"Bearer {identity.create_token(owner.username)}"}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow], derandomize=True)
@given(files=mutated_pathways())
def test_no_mutated_pathway_makes_deploy_answer_500(app, headers, files):
    response = app.test_client().post("/api/v1/definitions", json={"key": "mace", "files": files},
                                      headers=headers)
    assert response.status_code in (200, 201, 422), response.get_data(as_text=True)[:500]
    if response.status_code == 422:
        for problem in response.get_json()["problems"]:
            assert problem["file"] in files or problem["file"] == "(bundle)", problem
            assert "0x" not in problem["message"] and "<Element" not in problem["message"], problem
            assert "\n" not in problem["message"], problem
