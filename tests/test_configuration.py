"""Configuration from the environment: safe local defaults, and a secret key required in production."""

import stat

import pytest

from app import config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MACE_ENV", "FLASK_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_sqlite_under_instance_and_no_redis(tmp_path):
    settings = config.load(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'mace.db'}"
    assert settings["REDIS_URL"] is None


@pytest.mark.parametrize("url", ["postgres://u@h:5432/d", "postgresql://u@h:5432/d"])
def test_postgres_urls_use_psycopg(tmp_path, monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert config.load(tmp_path)["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h:5432/d"


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = config.load(tmp_path)["SECRET_KEY"]
    assert len(first) >= 32 and config.load(tmp_path)["SECRET_KEY"] == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize("variable", ["MACE_ENV", "FLASK_ENV"])
def test_production_requires_a_secret_key(tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, "production")
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    settings = config.load(tmp_path)
    assert settings["SECRET_KEY"] == "from-the-environment" and settings["SESSION_COOKIE_SECURE"] is True
