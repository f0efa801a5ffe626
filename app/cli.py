"""`flask` commands for areas, users, teams, tokens, deploying definitions, the sweep and demo data."""

from __future__ import annotations

import click
from flask import Flask, current_app

from processes.engine import bundle_files, incidents, repository, scheduler
from processes.engine.errors import ServiceError
from processes.identity import authentication, sessions
from processes.identity import users as identity
from processes.mace import demo


def _fail(error: ServiceError) -> None:
    details = getattr(error, "errors", None) or [p.to_dict() for p in getattr(error, "problems", [])]
    raise click.ClickException(f"{error.message} {details or ''}".strip())


def register(app: Flask) -> None:
    @app.cli.group()
    def areas():
        """Partnership areas."""

    @areas.command("add")
    @click.argument("code")
    @click.argument("name")
    def add_area(code, name):
        """Add (or rename) an area."""
        try:
            identity.create_area(code, name)
        except ServiceError as error:
            _fail(error)
        click.echo(f"Area {code} saved.")

    @app.cli.group()
    def users():
        """Users, their roles and areas."""

    @users.command("add")
    @click.argument("username")
    @click.option("--name", "display_name", required=True, help="Name shown to colleagues.")
    @click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for more.")
    @click.option("--area", "areas_", multiple=True, required=True, help="An area code; repeat for more.")
    @click.option("--email", default=None, help="Where reminders, overdue notices and escalations are sent.")
    @click.option("--agency", default=None, help="The core agency the user speaks for (a code the pathway lists).")
    @click.option("--team", default=None, help="The name of the user's team (see `flask teams add`).")
    def add_user(username, display_name, roles, areas_, email, agency, team):
        """Add a user with roles and areas, and optionally their agency and team."""
        try:
            identity.create_user(username, display_name, list(roles), list(areas_), email, agency, team)
        except ServiceError as error:
            _fail(error)
        click.echo(f"User {username} added.")

    @users.command("set")
    @click.argument("username")
    @click.option("--agency", default=None, help="The core agency the user speaks for.")
    @click.option("--team", default=None, help="The name of the user's team.")
    def set_user(username, agency, team):
        """Change a user's agency or team."""
        try:
            identity.set_team_and_agency(username, team=team, agency=agency)
        except ServiceError as error:
            _fail(error)
        click.echo(f"User {username} changed.")

    @app.cli.group()
    def teams():
        """Teams and their managers."""

    @teams.command("add")
    @click.argument("name")
    @click.option("--area", required=True, help="The team's area code.")
    @click.option("--manager", default=None, help="The username of the team's manager.")
    def add_team(name, area, manager):
        """Add a team (or change an existing team's area and manager)."""
        try:
            identity.create_team(name, area, manager)
        except ServiceError as error:
            _fail(error)
        click.echo(f"Team {name} saved.")

    @users.command("password")
    @click.argument("username")
    @click.password_option(help="The new password (asked for twice if not given).")
    def set_password(username, password):
        """Set a user's web sign-in password; only its argon2 hash is stored."""
        try:
            authentication.set_password(username, password)
        except ServiceError as error:
            _fail(error)
        click.echo(f"Password of {username} set.")

    @users.command("sign-out")
    @click.argument("username")
    def sign_out(username):
        """End every web session of a user (a lost laptop, say): each browser must sign in again."""
        try:
            ended = sessions.end_all(None, username)
        except ServiceError as error:
            _fail(error)
        click.echo(f"{ended} session(s) of {username} ended.")

    @users.command("deactivate")
    @click.argument("username")
    def deactivate(username):
        """Make a user inactive: no sign-in, API tokens revoked, every web session ended, open steps released."""
        try:
            ended = sessions.deactivate(None, username)
        except ServiceError as error:
            _fail(error)
        click.echo(f"{username} deactivated; {ended.sessions} session(s) ended, {ended.tokens} API token(s) "
                   f"revoked, {ended.steps} open step(s) returned to their role's pool.")

    @app.cli.group()
    def tokens():
        """API tokens."""

    @tokens.command("create")
    @click.argument("username")
    @click.option("--name", default="api", help="What the token is for.")
    def create_token(username, name):
        """Create an API token; it is shown once, only its hash is stored."""
        try:
            click.echo(identity.create_token(username, name))
        except ServiceError as error:
            _fail(error)

    @app.cli.group()
    def definitions():
        """Pathway definitions."""

    @definitions.command("deploy")
    @click.argument("key")
    @click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
    def deploy(key, folders):
        """Validate and deploy the BPMN, DMN and form files in FOLDERS as the next version of KEY."""
        try:
            definition, created = repository.deploy(None, key, bundle_files.read_folder(*folders))
        except ServiceError as error:
            _fail(error)
        except (FileNotFoundError, ValueError) as error:  # no bundle files, clashing or unreadable names
            raise click.ClickException(str(error)) from error
        click.echo(f"{key} v{definition.version} {'deployed' if created else 'unchanged'}.")

    @app.cli.command("sweep")
    def sweep():
        """Run one sweep now, in this process: fire due timers, raise due alerts, send pending email."""
        report = scheduler.sweep_here()
        click.echo(f"{report.done['timers']} timer(s) fired, {report.done['alerts']} alert(s) raised, "
                   f"{report.done['email']} email(s) sent.")
        opened = [incidents.get(incident_id) for incident_id in report.incident_ids]
        for incident in opened:
            click.echo(f"Incident {incident.id}: instance {incident.instance_id} failed at "
                       f"'{incident.element_id}'; an administrator can retry it.")
        if report.failed:
            failed = ", ".join(f"{job} {item_id} ({error})" for job, item_id, error in report.failed)
            raise click.ClickException(f"These jobs failed and will be retried by the next sweep: {failed}.")
        if opened:
            raise click.ClickException(f"{len(opened)} incident(s) opened.")

    @app.cli.group("demo")
    def demo_group():
        """Fictional demo data."""

    @demo_group.command("seed")
    def seed():
        """Create demo areas, one user per role, the pathway and some cases (once)."""
        try:
            tokens_ = demo.seed(current_app.config["PATHWAY_KEY"])
        except ServiceError as error:
            _fail(error)
        if tokens_ is None:
            click.echo(f"Demo data already present. Demo users sign in with the password: {demo.DEMO_PASSWORD}")
            return
        click.echo(f"Demo users sign in at /sign-in with the password: {demo.DEMO_PASSWORD}")
        click.echo("Demo users and their API tokens (fictional; shown once):")
        for username, token in tokens_.items():
            click.echo(f"  {username:32} {token}")
