"""Flask application factory: configuration, database, migrations, the JSON API, the web app and CLI commands."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from werkzeug.exceptions import HTTPException

from processes.engine import scripting
from processes.engine.db import db
from processes.engine.errors import ServiceError
from processes.identity import token_cache
from processes.mace import plugin, settings
from workers import embedded

from . import api, cli, config, web

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def _send_hsts(app: Flask, seconds: int) -> None:
    """Production runs behind TLS: browsers told so never try plain HTTP again, for pages and API alike."""
    value = f"max-age={seconds}; includeSubDomains"

    def add(response):
        response.headers.setdefault("Strict-Transport-Security", value)
        return response

    app.after_request(add)


def create_app(overrides: dict | None = None) -> Flask:
    plugin.install()
    # No app-wide static folder: the web blueprint serves the built assets (app/web/static) at /static.
    app = Flask(__name__, static_folder=None, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_mapping(config.load(Path(app.instance_path)))
    app.config.update(overrides or {})
    settings.configure(settings.Settings.from_mapping(app.config))
    scripting.configure(scripting.Limits(app.config["SCRIPT_SECONDS"], app.config["SCRIPT_MEMORY_MB"]))
    token_cache.configure(app.config["API_TOKEN_CACHE_SECONDS"])
    db.init_app(app)
    Migrate(app, db, directory=MIGRATIONS)
    api.register_api(app)
    web.register_web(app)
    # One handler per kind of error: the API answers JSON, the web app a GOV.UK error page.
    app.register_error_handler(ServiceError, lambda e: api.service_error(e) if api.is_api_request()
                               else web.error_page(e))
    app.register_error_handler(HTTPException, lambda e: api.http_error(e) if api.is_api_request()
                               else web.error_page(e))
    cli.register(app)
    if app.config["HSTS_SECONDS"]:
        _send_hsts(app, app.config["HSTS_SECONDS"])

    if app.config["SCHEDULER"] == "embedded":
        # `make run` without Redis: timers, alerts and email are swept in this process.
        app.extensions["mace_scheduler"] = embedded.EmbeddedScheduler(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
