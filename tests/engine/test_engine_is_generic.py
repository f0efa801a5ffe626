"""The engine knows no MACE: no string in its code names a pathway element, role, timescale or form field."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from lxml import etree

from processes.mace.demo import PATHWAY_FOLDERS, ROOT
from processes.mace.roles import ROLES

ENGINE = ROOT / "processes" / "engine"
# Words the engine uses for its own tables that a pathway form happens to use as a field name too.
ENGINE_VOCABULARY = {"action"}


def _form_fields(schema: object, found: set[str]) -> None:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            found.add(name)
            _form_fields(sub, found)
        for key in ("items", "if", "then", "else"):
            _form_fields(schema.get(key), found)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                _form_fields(sub, found)


def pathway_names() -> dict[str, str]:
    """Every name the shipped pathway defines, with where it comes from."""
    names: dict[str, str] = {}
    files = [f for folder in PATHWAY_FOLDERS for f in sorted((ROOT / folder).iterdir())]
    for path in files:
        if path.suffix in (".bpmn", ".dmn"):
            for element in etree.parse(str(path)).iter():
                # Diagram shapes and flows carry generated ids; the named elements are what code could rely on.
                if isinstance(element.tag, str) and element.get("id") and element.get("name"):
                    names.setdefault(element.get("id"), f"element in {path.name}")
        elif path.name.endswith(".schema.json"):
            fields: set[str] = set()
            _form_fields(json.loads(path.read_text(encoding="utf-8")), fields)
            names.update({f: f"field of {path.name}" for f in fields if f not in names})
        elif path.name == "timescales.json":
            for timescale in json.loads(path.read_text(encoding="utf-8"))["timescales"]:
                names.setdefault(timescale, "timescale in timescales.json")
    for code, title in ROLES.items():
        names.setdefault(code, "role")
        names.setdefault(title, "role")
    return names


def strings_in(folder: Path) -> list[tuple[str, int, str]]:
    """(file, line, text) of every string constant in a package's code."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((path.name, node.lineno, node.value))
    return found


def pathway_names_in(folder: Path) -> list[str]:
    names = pathway_names()
    return [f"{file}:{line} says {text!r}, a {names[text]}" for file, line, text in strings_in(folder)
            if text in names and text not in ENGINE_VOCABULARY]


def test_the_pathway_defines_names_to_look_for():
    names = pathway_names()
    assert {"role", "timescale in timescales.json"} <= set(names.values())
    assert any(where.startswith("element in ") for where in names.values())
    assert any(where.startswith("field of ") for where in names.values())


def test_no_string_in_the_engine_names_a_pathway_element_role_timescale_or_field():
    named = pathway_names_in(ENGINE)
    assert named == [], "The engine must learn these through its hooks:\n" + "\n".join(named)


def test_the_scan_catches_a_pathway_name_written_into_code(tmp_path: Path):
    """The scan is only worth something if it can fail: a module that names a timescale and a role is caught."""
    names = pathway_names()
    timescale = next(n for n, where in names.items() if where.startswith("timescale"))
    (tmp_path / "probe.py").write_text(f"LIMIT = {timescale!r}\nWHO = {next(iter(ROLES))!r}\n")
    assert len(pathway_names_in(tmp_path)) == 2
