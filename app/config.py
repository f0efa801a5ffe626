"""Configuration from environment variables, with safe defaults for a local machine."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from processes.mace import contract

MIN_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    pass


def is_production() -> bool:
    return "production" in (os.environ.get("MACE_ENV", ""), os.environ.get("FLASK_ENV", ""))


def database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'mace.db'}"
    # psycopg 3 is the driver we ship; accept the plain URL forms people copy from elsewhere.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key(instance_path: Path) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if is_production():
        raise ConfigError("SECRET_KEY must be set in production (MACE_ENV=production).")
    # Locally, generate one and keep it so sessions survive restarts. Created 0600 in one step (never
    # readable by others, even briefly) and exclusively, so two processes starting together share one key.
    path = instance_path / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"{path} holds no usable key (under {MIN_KEY_LENGTH} characters); "
                              "delete it and a new one is generated.") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as file:
        file.write(key)
    return key


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}.")
    return value


def scheduling() -> dict:
    """Timers, reminders and email: the sweep's cadence, alert timescales and the SMTP relay."""
    scheduler = os.environ.get("MACE_SCHEDULER", "off").strip() or "off"
    if scheduler not in ("embedded", "off"):
        raise ConfigError("MACE_SCHEDULER must be 'embedded' (sweep in this process) or 'off'.")
    return {
        "SCHEDULER": scheduler,
        "SWEEP_SECONDS": _int("SWEEP_SECONDS", 30, minimum=1),
        "JOB_VISIBILITY_SECONDS": _int("JOB_VISIBILITY_SECONDS", 300, minimum=10),
        "REMINDER_WORKING_DAYS": _int("REMINDER_WORKING_DAYS", 1),
        "ESCALATION_WORKING_DAYS": _int("ESCALATION_WORKING_DAYS", 3),
        "SMTP_HOST": os.environ.get("SMTP_HOST") or None,
        "SMTP_PORT": _int("SMTP_PORT", 25, minimum=1),
        "SMTP_FROM": os.environ.get("SMTP_FROM") or "mace@localhost",
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        # Unset: pages link to the host and port they were asked on (app/web/params.py), and emails, sent with
        # no request to go by, give the task's reference without a link.
        "BASE_URL": (os.environ.get("BASE_URL") or "").rstrip("/") or None,
    }


def scripts() -> dict:
    """How long one script or expression of a diagram may run, and how big a value it may make."""
    return {
        "SCRIPT_SECONDS": _int("SCRIPT_SECONDS", 1, minimum=1),
        "SCRIPT_MEMORY_MB": _int("SCRIPT_MEMORY_MB", 64, minimum=1),
    }


def web() -> dict:
    """Signed-in sessions, CSRF and the sign-in rate limit of the practitioners' web app."""
    lifetime = timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12, minimum=1))
    return {
        # Server-side sessions (processes/identity/sessions.py) end after this long unused, and this long at all.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_int("SESSION_IDLE_MINUTES", 30, minimum=1)),
        "SESSION_LIFETIME": lifetime,
        # The cookie's signature is refused past the lifetime too, whatever the table says.
        "PERMANENT_SESSION_LIFETIME": lifetime,
        "REMEMBER_COOKIE_SECURE": is_production(),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Checked for every web form in app/web; the bearer-token API under /api/v1 needs none.
        "WTF_CSRF_CHECK_DEFAULT": False,
        # Tokens last as long as the session: a long form must not fail for a token older than an hour.
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-Limiter: in memory by default (per process); a redis:// URL shares counts across processes.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        "SIGN_IN_RATE_LIMIT": os.environ.get("SIGN_IN_RATE_LIMIT") or "5 per minute",
        # An API token's user, roles and areas are trusted this long by each server process (0: read every time);
        # a change made through one process holds there at once (processes/identity/token_cache.py).
        "API_TOKEN_CACHE_SECONDS": _int("API_TOKEN_CACHE_SECONDS", 5),
    }


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "0", "false", "no"):
        raise ConfigError(f"{name} must be true or false, not {raw!r}.")
    return raw in ("1", "true", "yes")


def single_sign_on() -> dict:
    """OpenID Connect single sign-on (off unless an issuer is set) and whether local passwords still work."""
    oidc = {name: os.environ.get(name, "").strip() or None
            for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_GROUP_MAP")}
    client = [oidc[name] for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")]
    if any(client) and not all(client):
        raise ConfigError("Single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together.")
    passwords = _flag("PASSWORD_SIGN_IN", True)
    if not passwords and not oidc["OIDC_ISSUER"]:
        raise ConfigError("PASSWORD_SIGN_IN=false needs single sign-on (OIDC_ISSUER) or nobody could sign in.")
    return {
        **oidc,
        "OIDC_SCOPES": os.environ.get("OIDC_SCOPES", "").strip() or "openid email profile",
        "OIDC_NAME": os.environ.get("OIDC_NAME", "").strip() or "your organisation's account",
        "OIDC_GROUPS_CLAIM": os.environ.get("OIDC_GROUPS_CLAIM", "").strip() or "groups",
        "OIDC_TRUST_EMAIL": _flag("OIDC_TRUST_EMAIL", False),
        "PASSWORD_SIGN_IN": passwords,
    }


def edges() -> dict:
    """What the app accepts at its edges, and how browsers must reach it."""
    return {
        # A year of HTTPS only, in production; 0 sends no Strict-Transport-Security header.
        "HSTS_SECONDS": _int("HSTS_SECONDS", 31_536_000 if is_production() else 0, minimum=0),
        # Bigger requests answer 413: a deploy carries a bundle, anything else a few fields or one form.
        "MAX_CONTENT_LENGTH": _int("MAX_REQUEST_KB", 256, minimum=1) * 1024,
        "MAX_DEPLOY_BYTES": _int("MAX_DEPLOY_KB", 2048, minimum=1) * 1024,
        # Deeper JSON is refused (400) before it is parsed into the schemas: no form nests anywhere near it.
        "MAX_JSON_DEPTH": _int("MAX_JSON_DEPTH", 32, minimum=2),
    }


def load(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    url = database_url(instance_path)
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        # Recycle instead of pre-ping: a ping would cost a round trip on every transaction.
        # Database errors reach logs and Celery's failure reports; their bound values could be a child's details.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True,
                                      **({"pool_recycle": 1800} if not url.startswith("sqlite") else {})},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "PATHWAY_KEY": os.environ.get("PATHWAY_KEY", contract.PATHWAY_KEY),
        "SESSION_COOKIE_SECURE": is_production(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        **web(),
        **single_sign_on(),
        "API_TITLE": "MACE pathway API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
        **scheduling(),
        **scripts(),
        **edges(),
    }
