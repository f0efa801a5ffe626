"""The flask CLI: areas, users, tokens, deploying definitions, firing timers and demo data."""

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from processes import cases, identity, runtime
from processes.db import db
from processes.models import ApiToken, HumanTask, ProcessDefinition, User
from processes.roles import ROLES
from tests.conftest import BUNDLES
from tests.helpers import open_task, open_tasks


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_areas_users_and_tokens(app):
    assert run(app, "areas", "add", "east", "East").exit_code == 0
    ok = run(app, "users", "add", "pat", "--name", "Pat Example", "--role", "referrer",
             "--role", "team_manager", "--area", "east")
    assert ok.exit_code == 0
    user = identity.get_user("pat")
    assert {r.role for r in user.roles} == {"referrer", "team_manager"}

    bad = run(app, "users", "add", "sam", "--name", "Sam", "--role", "wizard", "--area", "east")
    assert bad.exit_code != 0 and "wizard" in bad.output
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "sam")) == 0

    token = run(app, "tokens", "create", "pat").output.strip()
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in {t.token_hash for t in db.session.scalars(select(ApiToken))}


def test_deploy_from_folders(app, tmp_path):
    folder = str(BUNDLES / "screening")
    assert "screening v1 deployed" in run(app, "definitions", "deploy", "screening", folder).output
    assert "screening v1 unchanged" in run(app, "definitions", "deploy", "screening", folder).output
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in (BUNDLES / "screening").iterdir():
        (broken / path.name).write_text(path.read_text().replace("ric_requested = True", "ric_requested = ("))
    result = run(app, "definitions", "deploy", "screening", str(broken))
    assert result.exit_code != 0 and "prepare" in result.output
    assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 1


def test_fire_due_timers(app, make_actor, deploy):
    deploy("screening")
    referrer, hub = make_actor("referrer"), make_actor("hub_practitioner")
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        case = cases.create(referrer, "north", "Timer Child")
        runtime.start(referrer, case.id, "screening")
        runtime.complete_task(referrer, open_task(case.id, "screen").id,
                              {"exploitation_types": ["missing"], "concern": "x"})
        runtime.complete_task(hub, open_task(case.id, "hub_decision").id, {"decision": "other_services"})
    with time_machine.travel(start + timedelta(hours=73), tick=False):
        assert "1 timer(s) fired." in run(app, "timers", "fire-due").output
        assert "0 timer(s) fired." in run(app, "timers", "fire-due").output
    assert [t.element_id for t in open_tasks(case.id)] == ["followup"]


def test_demo_seed_once(app):
    first = run(app, "demo", "seed")
    assert first.exit_code == 0 and "mace_" in first.output
    usernames = set(db.session.scalars(select(User.username)))
    assert usernames == {f"demo-{role.replace('_', '-')}" for role in ROLES}
    assert db.session.scalar(select(ProcessDefinition.key)) == app.config["PATHWAY_KEY"]
    open_count = db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    assert open_count == 3
    assert "Demo data already present." in run(app, "demo", "seed").output
    assert db.session.scalar(select(func.count()).select_from(User)) == len(ROLES)
