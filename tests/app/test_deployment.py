"""docker-compose.yml, the Dockerfile and .dockerignore, checked against the project.

No Docker engine runs on the development machine or in CI, so nothing here starts a container. Instead
every command the compose file runs is traced to a module, callable or folder that exists, the image
is checked to contain what those commands need, and every variable is checked to be read by the code
and documented in the README.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app import config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
README = ROOT / "README.md"

INFRASTRUCTURE = ("postgres", "redis")
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat")
CODE_FOLDERS = ("app", "processes", "workers")

# `$$` is Compose's escape for a literal `$`; `${NAME}`, `${NAME:-default}`, `${NAME:?message}` and the
# forms without the colon are interpolated from the host's environment.
DOLLAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
REQUIRED_VALUES = {"POSTGRES_PASSWORD": "example-password", "SECRET_KEY": "x" * 64}


# Reading the files


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE.is_file(), f"{COMPOSE.name} is missing from the project root"
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), \
        f"{COMPOSE.name} has no `services:` mapping"
    return data


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    assert DOCKERFILE.is_file(), f"{DOCKERFILE.name} is missing from the project root"
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


@pytest.fixture(scope="module")
def deployment_section() -> str:
    text = README.read_text()
    match = re.search(r"^## Deployment\n(.*?)(?=^## )", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md has no `## Deployment` section followed by another section"
    return match.group(1)


def interpolate(text: str, given: dict[str, str] | None = None) -> str:
    """What Compose makes of a value when only `given` is set on the host: defaults apply, `$$` is `$`."""
    given = given or {}

    def replace(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if name is None:
            return "$"
        if name in given:
            return given[name]
        if operator in (":?", "?"):
            pytest.fail(f"${{{name}}} is required by {COMPOSE.name} but the test gave it no value")
        return argument if operator in (":-", "-") else ""

    return DOLLAR.sub(replace, text)


def argv(command) -> list[str]:
    """A service's `command` (string or list) as Compose runs it, host variables at their defaults."""
    if isinstance(command, list):
        return [interpolate(str(part)) for part in command]
    return shlex.split(interpolate(command))


def healthcheck_argv(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return shlex.split(interpolate(test))
    kind, *rest = test
    if kind == "CMD-SHELL":
        return shlex.split(interpolate(" ".join(rest)))
    return [interpolate(str(part)) for part in rest]


def strings_in(value) -> list[str]:
    """Every string in a parsed YAML value, keys included (comments are not part of it)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*strings_in(key), *strings_in(item))]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def host_variables(compose: dict) -> set[str]:
    return {match.group(1) for text in strings_in(compose) for match in DOLLAR.finditer(text) if match.group(1)}


def celery_apps(args: list[str]) -> list[str]:
    """The `-A`/`--app` values of a `celery ...` command line."""
    if not args or Path(args[0]).name != "celery":
        return []
    found = []
    for index, arg in enumerate(args):
        if arg in ("-A", "--app") and index + 1 < len(args):
            found.append(args[index + 1])
        elif arg.startswith("--app="):
            found.append(arg.split("=", 1)[1])
    return found


def copy_sources(dockerfile: list[tuple[str, str]]) -> list[str]:
    sources = []
    for keyword, rest in dockerfile:
        if keyword not in ("COPY", "ADD"):
            continue
        parts = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        if any(part.startswith("--from") for part in parts):
            continue
        parts = [part for part in parts if not part.startswith("--")]
        assert len(parts) >= 2, f"Dockerfile `{keyword} {rest}` has no source and destination"
        sources += parts[:-1]
    return sources


def top_level(path: str) -> str:
    return Path(path.strip("/")).parts[0]


# The services


def test_every_service_is_defined(services):
    missing = [name for name in (*LONG_RUNNING, "migrate") if name not in services]
    assert not missing, f"{COMPOSE.name} lacks the services {missing}; it defines {sorted(services)}"


def test_infrastructure_uses_the_intended_images(services):
    assert str(services["postgres"].get("image", "")).startswith("postgres:16"), \
        f"postgres should run the postgres:16 image, not {services['postgres'].get('image')!r}"
    assert str(services["redis"].get("image", "")).startswith("redis:7"), \
        f"redis should run the redis:7 image, not {services['redis'].get('image')!r}"
    assert services["postgres"].get("environment", {}).get("POSTGRES_DB") == "mace", \
        "postgres should create the `mace` database (POSTGRES_DB=mace)"
    volumes = [str(volume) for volume in services["postgres"].get("volumes", [])]
    assert any(volume.endswith(":/var/lib/postgresql/data") and not volume.startswith((".", "/"))
               for volume in volumes), f"postgres data should live in a named volume, not {volumes}"


def test_app_services_build_this_project_with_the_shared_environment(compose, services):
    shared = compose.get("x-app-env")
    assert isinstance(shared, dict) and shared, f"{COMPOSE.name} has no `x-app-env` mapping to share"
    images = set()
    for name in APP_SERVICES:
        service = services[name]
        build = service.get("build")
        context = build.get("context") if isinstance(build, dict) else build
        if context is not None:
            assert (ROOT / context).resolve() == ROOT, f"{name} builds from {context!r}, not the project root"
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            assert dockerfile == "Dockerfile", f"{name} builds from {dockerfile!r}, not the project's Dockerfile"
        else:
            assert service.get("image"), f"{name} neither builds the project (`build: .`) nor names its image"
        images.add(service.get("image"))
        assert service.get("environment") == shared, \
            f"{name} does not use the shared `x-app-env` environment (or changes it)"
    assert len(images) == 1, f"the app services should all run one image, not {sorted(map(str, images))}"


def test_the_shared_environment_points_at_the_compose_services(compose, services):
    shared = compose["x-app-env"]
    database = urlsplit(interpolate(shared["DATABASE_URL"], REQUIRED_VALUES))
    postgres_env = services["postgres"]["environment"]
    assert database.scheme in ("postgresql", "postgres"), f"DATABASE_URL is not PostgreSQL: {database.scheme}"
    assert (database.hostname, database.port) == ("postgres", 5432), \
        f"DATABASE_URL should reach the postgres service on 5432, not {database.hostname}:{database.port}"
    assert database.path == "/" + postgres_env["POSTGRES_DB"], "DATABASE_URL names another database"
    assert database.username == postgres_env.get("POSTGRES_USER", "postgres"), "DATABASE_URL names another user"
    assert "${POSTGRES_PASSWORD:?" in shared["DATABASE_URL"] and \
        postgres_env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?"), \
        "the database password must come from the required POSTGRES_PASSWORD, in both places"
    redis = urlsplit(interpolate(shared["REDIS_URL"]))
    assert (redis.scheme, redis.hostname) == ("redis", "redis"), "REDIS_URL should reach the redis service"
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", shared["SECRET_KEY"]), \
        "SECRET_KEY must be required from the host (${SECRET_KEY:?...}), never written in the file"
    assert shared["MACE_ENV"] == "production", "the deployment must run with MACE_ENV=production"


def test_the_shared_environment_loads_as_valid_configuration(compose, monkeypatch, tmp_path):
    """With only the two required values set, the app accepts every default the compose file gives."""
    for name, value in compose["x-app-env"].items():
        monkeypatch.setenv(name, interpolate(str(value), REQUIRED_VALUES))
    settings = config.load(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://mace:example-password@postgres:")
    assert settings["REDIS_URL"] == "redis://redis:6379/0"
    assert settings["SESSION_COOKIE_SECURE"] is True, "production should turn on secure cookies"
    assert not settings["SMTP_HOST"], "email should be off unless SMTP_HOST is set"
    assert settings["SCHEDULER"] == "off", "with beat in the stack, web processes must not sweep themselves"
    assert settings["SWEEP_SECONDS"] == 30
    assert (settings["REMINDER_WORKING_DAYS"], settings["ESCALATION_WORKING_DAYS"]) == (1, 3)


def test_every_app_variable_is_read_by_the_code(compose):
    sources = "\n".join(path.read_text() for folder in CODE_FOLDERS for path in (ROOT / folder).rglob("*.py"))
    unread = [name for name in compose["x-app-env"]
              if f'"{name}"' not in sources and f"'{name}'" not in sources]
    assert not unread, f"{COMPOSE.name} passes {unread}, which nothing in {CODE_FOLDERS} reads (a typo?)"


def test_long_running_services_have_health_checks_and_restart(services):
    for name in LONG_RUNNING:
        healthcheck = services[name].get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no health check"
        if isinstance(healthcheck["test"], list):
            assert healthcheck["test"][0] in ("CMD", "CMD-SHELL"), f"{name}'s health check should start with CMD"
        assert services[name].get("restart") == "unless-stopped", f"{name} should be `restart: unless-stopped`"
    assert services["migrate"].get("restart", "no") == "no", \
        "migrate runs once: a restart policy would run it again and again"


def test_services_start_in_order(services):
    healthy = {name for name in services if services[name].get("healthcheck")}
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on {target!r}, which is not a service"
            if target in healthy:
                assert rule.get("condition") == "service_healthy", \
                    f"{name} should wait for {target} to be healthy, not {rule.get('condition')!r}"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy", \
        "migrate must wait for a healthy postgres"
    for name in ("web", "worker", "beat"):
        depends = services[name].get("depends_on") or {}
        assert depends.get("migrate", {}).get("condition") == "service_completed_successfully", \
            f"{name} must start only after migrate has succeeded"
        assert "redis" in depends, f"{name} needs Redis and must wait for it"


# The commands and what they run


def test_celery_commands_name_a_module_that_defines_the_app(services):
    checked = {}
    for name in ("worker", "beat"):
        for args in (argv(services[name]["command"]), healthcheck_argv(services[name])):
            for module in celery_apps(args):
                checked.setdefault(module, []).append(name)
    assert {user for users in checked.values() for user in users} == {"worker", "beat"}, \
        f"worker and beat should both run `celery -A <module>`; found {checked}"
    for module, users in checked.items():
        module_name, _, attribute = module.partition(":")
        spec = importlib.util.find_spec(module_name)  # finds the file without running it
        assert spec is not None and spec.origin, f"`celery -A {module}` ({users}): no module {module_name}"
        origin = Path(spec.origin).resolve()
        assert ROOT in origin.parents, f"`celery -A {module}` resolves outside the project: {origin}"
        tree = ast.parse(origin.read_text())
        assigned = {target.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                    for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(target, ast.Name)}
        wanted = attribute or "celery"
        assert wanted in assigned, f"{origin.relative_to(ROOT)} defines no top-level `{wanted}` for `celery -A`"


def test_worker_and_beat_run_the_right_celery_programs(services):
    worker, beat = argv(services["worker"]["command"]), argv(services["beat"]["command"])
    assert "worker" in worker and "beat" not in worker, f"worker should run `celery worker`: {worker}"
    assert "beat" in beat and "worker" not in beat, f"beat should run `celery beat`: {beat}"
    concurrency = [arg.split("=", 1)[1] for arg in worker if arg.startswith("--concurrency=")]
    assert concurrency and concurrency[0].isdigit() and int(concurrency[0]) >= 1, \
        f"worker --concurrency should default to a positive number: {worker}"
    schedule = beat[beat.index("--schedule") + 1] if "--schedule" in beat else ""
    # The image's user can write only to /tmp and instance/; beat fails to start if it cannot save there.
    assert schedule.startswith("/tmp/"), f"beat should keep its schedule in writable /tmp, not {schedule!r}"  # noqa: S108
    beat_check = " ".join(healthcheck_argv(services["beat"]))
    assert schedule in beat_check, "beat's health check should look at the schedule file beat writes"

    test = services["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and "celery@$$HOSTNAME" in test[1], \
        "the worker health check must ping its own node, celery@$HOSTNAME, expanded by the container's shell " \
        "(written $$HOSTNAME so that Compose does not take it from the host)"
    assert "inspect" in test[1] and "ping" in test[1], "the worker health check should be `celery inspect ping`"


def test_web_serves_the_app_factory_and_its_health_path(services, dockerfile, app):
    args = argv(services["web"]["command"])
    assert Path(args[0]).name == "gunicorn", f"web should run gunicorn, not {args[0]!r}"
    targets = [arg for arg in args[1:] if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(\))?", arg)]
    assert len(targets) == 1, f"web's gunicorn command should name one `module:callable()` target: {args}"
    module_name, expression = targets[0].split(":")
    factory = getattr(importlib.import_module(module_name), expression.removesuffix("()"), None)
    assert callable(factory), f"gunicorn target {targets[0]}: {module_name} has no callable {expression}"
    if expression.endswith("()"):
        inspect.signature(factory).bind()  # gunicorn calls the factory with no arguments
    workers = args[args.index("--workers") + 1] if "--workers" in args else "1"
    assert workers.isdigit() and int(workers) >= 1, f"gunicorn --workers should default to a number: {workers}"

    bind = args[args.index("--bind") + 1] if "--bind" in args else ""
    host, _, port = bind.rpartition(":")
    reachable = host == "0.0.0.0"  # noqa: S104 (inside a container, the other services reach it so)
    assert reachable and port.isdigit(), f"gunicorn should bind 0.0.0.0:<port> to be reachable: {bind!r}"
    published = [interpolate(str(mapping)).rpartition(":")[2] for mapping in services["web"].get("ports", [])]
    assert port in published, f"web listens on {port} but publishes {published}"
    exposed = {part for keyword, rest in dockerfile if keyword == "EXPOSE" for part in rest.split()}
    assert port in exposed, f"the Dockerfile should EXPOSE {port}, the port web listens on"

    urls = re.findall(r"https?://[^\s'\"]+", " ".join(healthcheck_argv(services["web"])))
    assert len(urls) == 1, f"web's health check should ask one URL, found {urls}"
    url = urlsplit(urls[0])
    assert url.hostname in ("127.0.0.1", "localhost") and str(url.port) == port, \
        f"web's health check asks {urls[0]}, not the port gunicorn binds ({port})"
    assert "curl" not in str(services["web"]["healthcheck"]["test"]), "the slim image has no curl"
    response = app.test_client().get(url.path)
    assert response.status_code == 200, f"{url.path}, which web's health check asks, answers {response.status_code}"


def test_migrate_applies_the_projects_migrations(services, dockerfile):
    args = argv(services["migrate"]["command"])
    assert args == ["flask", "--app", "app", "db", "upgrade"], \
        f"migrate should run `flask --app app db upgrade`: {args}"
    flask_app = importlib.import_module("app")
    assert callable(getattr(flask_app, "create_app", None)), "`flask --app app` needs app.create_app"
    migrations = Path(flask_app.MIGRATIONS)
    assert migrations == ROOT / "migrations", f"the app looks for migrations in {migrations}, not migrations/"
    for needed in ("env.py", "alembic.ini", "script.py.mako"):
        assert (migrations / needed).is_file(), f"migrations/{needed} is missing; `db upgrade` cannot run"
    assert list((migrations / "versions").glob("*.py")), "migrations/versions holds no migration"
    assert "migrations" in {top_level(source) for source in copy_sources(dockerfile)}, \
        "the Dockerfile does not copy migrations/, so migrate would find nothing to apply"


# The image


def test_the_image_is_a_slim_python_run_by_a_non_root_user(dockerfile):
    bases = [rest for keyword, rest in dockerfile if keyword == "FROM"]
    assert bases and bases[-1].split()[0] == "python:3.11-slim", f"the image should be python:3.11-slim: {bases}"
    users = [rest.split(":")[0] for keyword, rest in dockerfile if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), f"the image must end as a non-root user, not {users}"
    env = " ".join(rest for keyword, rest in dockerfile if keyword == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert setting in env, f"the Dockerfile should set {setting}"


def test_the_image_installs_runtime_dependencies_only(dockerfile):
    runs = " ".join(rest for keyword, rest in dockerfile if keyword == "RUN")
    assert re.search(r"pip install[^&;]*-r\s+\S*requirements\.txt", runs), "the image should install requirements.txt"
    assert "requirements-dev" not in runs + " ".join(copy_sources(dockerfile)), \
        "the image must not install the test and tooling dependencies"


def test_the_image_bakes_in_no_secrets(dockerfile):
    for keyword, rest in dockerfile:
        if keyword in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|API_KEY", rest, re.IGNORECASE), \
                f"the Dockerfile sets a secret at build time: {keyword} {rest}"
    for source in copy_sources(dockerfile):
        assert top_level(source) not in (".env", "instance", ".venv"), f"the Dockerfile copies {source}"


def test_every_copied_path_exists(dockerfile):
    sources = copy_sources(dockerfile)
    assert sources, "the Dockerfile copies nothing"
    missing = [source for source in sources if not (ROOT / source).exists()]
    assert not missing, f"the Dockerfile copies paths that are not in the project: {missing}"


def test_the_image_holds_every_package_the_commands_import(dockerfile):
    """app and workers are what the commands run; whatever project package they import must be copied too."""
    copied = {top_level(source) for source in copy_sources(dockerfile)}
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    needed, queue = set(), ["app", "workers"]
    while queue:
        package = queue.pop()
        if package in needed:
            continue
        needed.add(package)
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                queue += [name.split(".")[0] for name in names if name.split(".")[0] in packages]
    assert needed <= copied, f"the commands import {sorted(needed - copied)}, which the Dockerfile does not copy"
    for data in ("bpmn", "forms"):
        assert data in copied, f"the image needs {data}/ to deploy the pathway (`definitions deploy mace bpmn forms`)"


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule, simplified: the last pattern that matches the path or a folder above it wins."""
    excluded = False
    parts = Path(path.strip("/")).parts
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        regex = "".join(".*" if token == "**" else "[^/]*" if token == "*" else "[^/]" if token == "?"
                        else re.escape(token) for token in re.split(r"(\*\*|\*|\?)", pattern) if token)
        if any(re.fullmatch(regex, "/".join(parts[:end])) for end in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_what_the_image_copies_and_drops_secrets(dockerfile):
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing: the build context would carry .venv, .git and .env"
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    dropped = [source for source in copy_sources(dockerfile) if dockerignore_excludes(patterns, source)]
    assert not dropped, f".dockerignore excludes {dropped}, which the Dockerfile copies"
    for private in (".env", ".venv", ".git", "instance"):
        assert dockerignore_excludes(patterns, private), f".dockerignore should exclude {private}"


# The documentation


def test_no_dollar_is_left_for_compose_to_misread(compose):
    """A bare `$NAME` would be filled from the host (often empty); container-side names need `$$`."""
    for text in strings_in(compose):
        leftover = DOLLAR.sub("", text)
        assert "$" not in leftover, f"{COMPOSE.name}: unescaped `$` in {text!r}; write $$ or ${{NAME}}"


def test_every_variable_is_documented_in_the_readme(compose, deployment_section):
    variables = host_variables(compose) | set(compose["x-app-env"])
    undocumented = sorted(name for name in variables if f"`{name}`" not in deployment_section)
    assert not undocumented, f"README.md's Deployment section does not document {undocumented}"
    for scale in ("--scale web=", "--scale worker="):
        assert scale in deployment_section, f"README.md's Deployment section should show `{scale}N`"
