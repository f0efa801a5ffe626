"""Configuration from environment variables, with safe defaults for a local machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


def load(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    url = database_url(instance_path)
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        # Recycle instead of pre-ping: a ping would cost a round trip on every transaction.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800} if not url.startswith("sqlite") else {},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "PATHWAY_KEY": os.environ.get("PATHWAY_KEY", "mace"),
        "SESSION_COOKIE_SECURE": is_production(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "API_TITLE": "MACE pathway API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }
