"""The `flask` command line through Flask's CLI test runner: areas, users, tokens, deploys, timers and demo data."""

import hashlib
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from processes.engine import bundle_files, runtime
from processes.engine.actors import Actor
from processes.engine.db import db
from processes.engine.models import AuditEvent, HumanTask, Incident, ProcessDefinition, ProcessInstance, Timer
from processes.identity import users as identity
from processes.identity.models import ApiToken, Area, User
from processes.mace import demo, meetings, retention
from processes.mace.demo import PATHWAY_FOLDERS
from processes.mace.models import Case
from processes.mace.roles import ROLES
from tests.support.factories import BUNDLES, screen, start_case
from tests.support.tasks import open_task, open_tasks, snapshot

SCREENING = BUNDLES / "screening"
DECIDED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def bundle_copy(tmp_path, name: str, edit=lambda text: text):
    """A copy of the screening bundle in a folder of its own, with `edit` applied to the BPMN file."""
    folder = tmp_path / name
    shutil.copytree(SCREENING, folder)
    bpmn = folder / "screening.bpmn"
    bpmn.write_text(edit(bpmn.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


# Areas, users and tokens


def test_areas_add_saves_and_renames_an_area(app):
    result = run(app, "areas", "add", "east", "East Vale")
    assert result.exit_code == 0 and "Area east saved." in result.output
    assert db.session.get(Area, "east").name == "East Vale"
    assert run(app, "areas", "add", "east", "East Vale and Downs").exit_code == 0
    db.session.expire_all()
    assert db.session.get(Area, "east").name == "East Vale and Downs"
    assert count(Area) == 1


def test_users_add_with_repeated_roles_and_areas(app):
    run(app, "areas", "add", "east", "East Vale")
    run(app, "areas", "add", "west", "West Fields")
    result = run(app, "users", "add", "quinn", "--name", "Quinn Example", "--role", "referrer",
                 "--role", "team_manager", "--area", "east", "--area", "west")
    assert result.exit_code == 0, result.output
    assert "User quinn added." in result.output
    user = identity.get_user("quinn")
    assert user.display_name == "Quinn Example"
    assert {r.role for r in user.roles} == {"referrer", "team_manager"}
    assert {a.area_code for a in user.areas} == {"east", "west"}


def test_users_add_with_an_unknown_role_fails_and_creates_no_user(app):
    run(app, "areas", "add", "east", "East Vale")
    result = run(app, "users", "add", "sky", "--name", "Sky Sample", "--role", "referrer", "--role", "wizard",
                 "--area", "east")
    assert result.exit_code != 0
    assert "wizard" in result.output and "Unknown role" in result.output
    assert "referrer" not in result.output.split("Known:")[0], "only the unknown role is named as unknown"
    assert count(User) == 0


def test_users_add_refuses_an_unknown_area_and_a_taken_username(app):
    run(app, "areas", "add", "east", "East Vale")
    assert run(app, "users", "add", "quinn", "--name", "Quinn", "--role", "referrer", "--area", "east").exit_code == 0
    unknown_area = run(app, "users", "add", "remy", "--name", "Remy", "--role", "referrer", "--area", "atlantis")
    assert unknown_area.exit_code != 0 and "atlantis" in unknown_area.output
    taken = run(app, "users", "add", "quinn", "--name", "Other Quinn", "--role", "admin", "--area", "east")
    assert taken.exit_code != 0 and "quinn" in taken.output and "taken" in taken.output
    assert list(db.session.scalars(select(User.username))) == ["quinn"]
    assert {r.role for r in identity.get_user("quinn").roles} == {"referrer"}


def test_users_add_keeps_an_email_for_alerts_and_refuses_one_that_is_not_an_address(app):
    run(app, "areas", "add", "east", "East Vale")
    bad = run(app, "users", "add", "remy", "--name", "Remy", "--role", "referrer", "--area", "east",
              "--email", "remy at example")
    assert bad.exit_code != 0 and "email" in bad.output and "remy at example" in bad.output
    assert count(User) == 0
    good = run(app, "users", "add", "remy", "--name", "Remy", "--role", "referrer", "--area", "east",
               "--email", "remy@example.org")
    assert good.exit_code == 0, good.output
    assert identity.get_user("remy").email == "remy@example.org"


def test_tokens_create_prints_a_token_that_authenticates_and_only_its_hash_is_stored(app):
    run(app, "areas", "add", "north", "North")
    run(app, "users", "add", "quinn", "--name", "Quinn Example", "--role", "referrer", "--area", "north")
    result = run(app, "tokens", "create", "quinn", "--name", "laptop")
    assert result.exit_code == 0
    token = result.output.strip()
    assert re.fullmatch(r"mace_[A-Za-z0-9_-]{40,}", token), result.output

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    created = client.post("/api/v1/cases", json={"area": "north", "child_name": "Ari Example"}, headers=headers)
    assert created.status_code == 201
    assert db.session.get(Case, created.get_json()["id"]).created_by_id == identity.get_user("quinn").id

    [stored] = db.session.scalars(select(ApiToken)).all()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.name == "laptop"
    assert token not in (stored.token_hash, stored.name)


def test_tokens_create_for_an_unknown_user_fails_and_stores_nothing(app):
    result = run(app, "tokens", "create", "ghost")
    assert result.exit_code != 0 and "No user 'ghost'" in result.output
    assert "mace_" not in result.output
    assert count(ApiToken) == 0


# Deploying definitions


def test_definitions_deploy_deploys_then_reports_unchanged(app):
    first = run(app, "definitions", "deploy", "screening", str(SCREENING))
    assert first.exit_code == 0 and "screening v1 deployed." in first.output
    again = run(app, "definitions", "deploy", "screening", str(SCREENING))
    assert again.exit_code == 0 and "screening v1 unchanged." in again.output
    [definition] = db.session.scalars(select(ProcessDefinition)).all()
    assert (definition.key, definition.version, definition.entry_process_id) == ("screening", 1, "screening")
    assert definition.files == bundle_files.read_folder(SCREENING)


def test_definitions_deploy_of_changed_files_is_the_next_version(app, tmp_path):
    assert run(app, "definitions", "deploy", "screening", str(SCREENING)).exit_code == 0
    renamed = bundle_copy(tmp_path, "renamed", lambda t: t.replace("Complete CE screening tool", "Screen it"))
    result = run(app, "definitions", "deploy", "screening", str(renamed))
    assert result.exit_code == 0 and "screening v2 deployed." in result.output
    assert sorted(db.session.scalars(select(ProcessDefinition.version))) == [1, 2]


def test_definitions_deploy_of_a_broken_bundle_names_the_element_and_deploys_nothing(app, tmp_path):
    assert run(app, "definitions", "deploy", "screening", str(SCREENING)).exit_code == 0
    broken = bundle_copy(tmp_path, "broken", lambda t: t.replace('"PT72H"', '"soon"'))
    result = run(app, "definitions", "deploy", "screening", str(broken))
    assert result.exit_code != 0
    assert "wait_followup" in result.output and "screening.bpmn" in result.output
    assert "not deployed" in result.output
    assert "deployed." not in result.output
    assert list(db.session.scalars(select(ProcessDefinition.version))) == [1]
    fresh = run(app, "definitions", "deploy", "fresh-key", str(broken))
    assert fresh.exit_code != 0 and "wait_followup" in fresh.output
    assert count(ProcessDefinition, ProcessDefinition.key == "fresh-key") == 0


def test_definitions_deploy_reads_diagrams_and_forms_from_several_folders(app):
    result = run(app, "definitions", "deploy", "pathway", *map(str, PATHWAY_FOLDERS))
    assert result.exit_code == 0 and "pathway v1 deployed." in result.output
    definition = db.session.scalar(select(ProcessDefinition))
    on_disk = [path for folder in PATHWAY_FOLDERS for path in folder.iterdir()]
    expected = {path.name for path in on_disk if path.suffix in bundle_files.BUNDLE_SUFFIXES}
    assert set(definition.files) == expected


def test_definitions_deploy_refuses_a_key_the_api_cannot_start(app):
    result = run(app, "definitions", "deploy", "Screening Tool", str(SCREENING))
    assert result.exit_code != 0
    assert count(ProcessDefinition) == 0


def test_definitions_deploy_of_a_folder_without_bundle_files_fails_with_a_message(app, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a diagram", encoding="utf-8")
    result = run(app, "definitions", "deploy", "screening", str(empty))
    assert result.exit_code == 1
    assert "No .bpmn, .dmn or .json files" in result.output
    assert count(ProcessDefinition) == 0


# Timers


@pytest.fixture
def waiting_for_followup(make_actor, deploy):
    """A case whose hub chose "other_services" at DECIDED: a 72-hour timer now waits before the follow-up."""

    def make(key: str = "screening", files: dict[str, str] | None = None):
        deploy("screening", key=key, files=files)
        referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")
        with time_machine.travel(DECIDED, tick=False):
            case, instance = start_case(referrer, key, "Toby Example")
            screen(referrer, case.id, ["missing"], "Away overnight twice")
            runtime.complete_task(hub, open_task(case.id, "hub_decision").id, {"decision": "other_services"})
        assert [t.element_id for t in db.session.scalars(select(Timer))] == ["wait_followup"]
        return case, instance

    return make


def test_sweep_fires_a_due_timer_once(app, waiting_for_followup):
    case, instance = waiting_for_followup()
    with time_machine.travel(DECIDED + timedelta(hours=71), tick=False):
        early = run(app, "sweep")
        assert early.exit_code == 0 and "0 timer(s) fired" in early.output
    assert open_tasks(case.id) == []

    with time_machine.travel(DECIDED + timedelta(hours=73), tick=False):
        fired = run(app, "sweep")
        assert fired.exit_code == 0 and "1 timer(s) fired" in fired.output
        again = run(app, "sweep")
        assert again.exit_code == 0 and "0 timer(s) fired" in again.output
    [task] = open_tasks(case.id)
    assert (task.element_id, task.role, task.instance_id) == ("followup", "hub_practitioner", instance.id)
    assert count(Timer) == 0
    assert [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire"))] \
        == ["wait_followup"]


def test_sweep_turns_a_failing_instance_into_an_incident_and_then_passes_it_by(app, waiting_for_followup):
    files = bundle_files.read_folder(SCREENING)
    files["screening.bpmn"] = files["screening.bpmn"].replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="followup.schema.json" />',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="followup.schema.json" />\n'
        '          <spiffworkflow:property name="due_in" value="int(concern)" />')
    assert "int(concern)" in files["screening.bpmn"]
    case, instance = waiting_for_followup("screening", files)
    before = snapshot(instance.id)
    with time_machine.travel(DECIDED + timedelta(hours=73), tick=False):
        result = run(app, "sweep")
        assert result.exit_code != 0
        assert "0 timer(s) fired" in result.output
        [incident] = db.session.scalars(select(Incident)).all()
        assert f"Incident {incident.id}: instance {instance.id} failed at 'followup'" in result.output
        assert (incident.status, incident.attempts, incident.element_id) == ("open", 1, "followup")
        assert "Toby" not in incident.error and "Away overnight" not in incident.error

        calm = run(app, "sweep")  # the open incident keeps later sweeps off this instance
        assert calm.exit_code == 0 and "0 timer(s) fired" in calm.output
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).attempts == 1
    assert snapshot(instance.id) == before
    assert [t.element_id for t in db.session.scalars(select(Timer))] == ["wait_followup"]
    assert open_tasks(case.id) == []


# Demo data


def printed_tokens(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(demo-[a-z-]+)\s+(mace_\S+)$", output, re.MULTILINE))


def test_demo_seed_creates_users_pathway_and_cases_once(app):
    first = run(app, "demo", "seed")
    assert first.exit_code == 0, first.output
    expected_users = {f"demo-{role.replace('_', '-')}" for role in ROLES} | {demo.SECOND_ADMIN}
    agencies = meetings.pathway_timescales().core_agencies
    team_people = {"demo-team-manager-south", *demo.WORKERS.values()} | {
        f"demo-core-member-{code.replace('_', '-')}" for code in agencies if code != demo.CORE_AGENCY}
    assert set(db.session.scalars(select(User.username))) == expected_users | team_people
    assert identity.get_user("demo-core-member").agency == demo.CORE_AGENCY
    for role in ROLES:
        assert {r.role for r in identity.get_user(f"demo-{role.replace('_', '-')}").roles} == {role}
    names = {identity.get_user(f"demo-{role.replace('_', '-')}").display_name for role in ROLES}
    assert {"Demo RIC senior practitioner", "Demo MACE chair", "Demo hub practitioner"} <= names, \
        "acronyms stay in capitals"

    [definition] = db.session.scalars(select(ProcessDefinition)).all()
    assert (definition.key, definition.version) == (app.config["PATHWAY_KEY"], 1)
    assert definition.files == bundle_files.read_folder(*PATHWAY_FOLDERS)

    children = len(demo.CHILDREN) + len(demo.FURTHER_ON) + len(demo.AT_THE_MEETING)
    assert count(Case) == children + 1, "and one closed, due for review under the retention schedule"
    assert count(ProcessInstance, ProcessInstance.status == "running") == children
    [due] = retention.reviews(Actor.of(identity.get_user("demo-admin")))
    assert due.case.child_name == demo.CLOSED_LONG_AGO[0] and open_tasks(due.case.id) == []
    open_by_case = {c: [t.element_id for t in open_tasks(c)] for c in db.session.scalars(select(Case.id))
                    if c != due.case.id}
    assert all(open_by_case.values()) and len(open_by_case) == children
    assert count(HumanTask, HumanTask.status == "open", HumanTask.due_at < datetime.now(UTC)) >= 3, \
        "a manager's dashboard has overdue steps to show"
    outcomes = [t for t in db.session.scalars(select(HumanTask).where(HumanTask.element_id == "mace1_outcome"))]
    assert len(outcomes) == len(demo.AT_THE_MEETING) and {t.status for t in outcomes} == {"open"}, \
        "business support finds a meeting under way, its outcomes to record"

    tokens = printed_tokens(first.output)
    assert set(tokens) == expected_users
    client = app.test_client()
    inboxes = {}
    for username, token in tokens.items():
        response = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, username
        inboxes[username] = {t["id"] for t in response.get_json()["tasks"]}
    for task in db.session.scalars(select(HumanTask).where(HumanTask.status == "open")):
        assert task.id in inboxes[f"demo-{task.role.replace('_', '-')}"], "each open task reaches its role's demo user"

    counts = {model: count(model) for model in (User, ApiToken, Area, Case, ProcessInstance, ProcessDefinition,
                                                HumanTask)}
    second = run(app, "demo", "seed")
    assert second.exit_code == 0
    assert second.output.strip().startswith("Demo data already present.")
    assert demo.DEMO_PASSWORD in second.output, "a returning user is reminded how to sign in"
    assert {model: count(model) for model in counts} == counts


def test_a_demo_seed_that_fails_part_way_leaves_nothing_so_it_can_be_run_again(app, monkeypatch):
    monkeypatch.setitem(app.config, "PATHWAY_KEY", "Not A Key")  # the deploy, after users are made, refuses it
    failed = run(app, "demo", "seed")
    assert failed.exit_code == 1 and "key" in failed.output
    assert (count(User), count(Area), count(ApiToken), count(ProcessDefinition)) == (0, 0, 0, 0)
    monkeypatch.setitem(app.config, "PATHWAY_KEY", "mace")
    assert run(app, "demo", "seed").exit_code == 0
    assert count(Case) == len(demo.CHILDREN) + len(demo.FURTHER_ON) + len(demo.AT_THE_MEETING) + 1  # one closed
