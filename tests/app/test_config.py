"""app/config.py: database URL defaults and normalisation, the secret key in and out of production, Redis."""

import re
import stat
from datetime import timedelta

import pytest

from app import config, create_app

VARIABLES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MACE_ENV", "FLASK_ENV", "PATHWAY_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


# The database URL


@pytest.mark.parametrize("value", [None, ""])
def test_database_url_defaults_to_a_sqlite_file_under_the_instance_path(tmp_path, monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("DATABASE_URL", value)
    settings = config.load(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'mace.db'}"
    assert "pool_recycle" not in settings["SQLALCHEMY_ENGINE_OPTIONS"]


def test_a_missing_instance_folder_is_created(tmp_path):
    instance = tmp_path / "deep" / "instance"
    settings = config.load(instance)
    assert instance.is_dir()
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'mace.db'}"


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://mace:pw@db.example:5432/mace", "postgresql+psycopg://mace:pw@db.example:5432/mace"),
    ("postgresql://mace:pw@db.example:5432/mace", "postgresql+psycopg://mace:pw@db.example:5432/mace"),
    ("postgresql://postgres@127.0.0.1/test?sslmode=disable", "postgresql+psycopg://postgres@127.0.0.1/test?sslmode=disable"),
    ("postgresql+psycopg://mace@db.example/mace", "postgresql+psycopg://mace@db.example/mace"),
])
def test_postgres_urls_are_normalised_to_the_psycopg_driver(tmp_path, monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    settings = config.load(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == expected
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] == 1800


def test_other_database_urls_are_used_as_given(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert config.load(tmp_path)["SQLALCHEMY_DATABASE_URI"] == url


# The secret key


@pytest.mark.parametrize("variable", ["MACE_ENV", "FLASK_ENV"])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, "production")
    with pytest.raises(config.ConfigError, match="SECRET_KEY must be set"):
        config.load(tmp_path)
    assert not (tmp_path / "secret_key").exists(), "production must never invent a key"


@pytest.mark.parametrize("variable", ["MACE_ENV", "FLASK_ENV"])
def test_production_ignores_a_key_file_left_from_local_use(tmp_path, monkeypatch, variable):
    local_key = config.load(tmp_path)["SECRET_KEY"]
    assert (tmp_path / "secret_key").read_text() == local_key
    monkeypatch.setenv(variable, "production")
    with pytest.raises(config.ConfigError):
        config.load(tmp_path)


@pytest.mark.parametrize("variable", ["MACE_ENV", "FLASK_ENV"])
def test_production_uses_the_given_secret_key_and_secure_cookies(tmp_path, monkeypatch, variable):
    monkeypatch.setenv(variable, "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-secret-from-the-vault")
    settings = config.load(tmp_path)
    assert settings["SECRET_KEY"] == "a-long-secret-from-the-vault"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("environment", [None, "development", "staging"])
def test_outside_production_a_key_is_generated_and_kept_private(tmp_path, monkeypatch, environment):
    if environment:
        monkeypatch.setenv("MACE_ENV", environment)
    first = config.load(tmp_path)
    key = first["SECRET_KEY"]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert first["SESSION_COOKIE_SECURE"] is False
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.load(tmp_path)["SECRET_KEY"] == key, "the same key on every start, so sessions survive restarts"


@pytest.mark.parametrize("content", ["", "  \n", "short"])
def test_an_empty_or_short_key_file_is_refused_not_used(tmp_path, content):
    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(config.ConfigError, match="delete it"):
        config.load(tmp_path)


def test_each_instance_gets_its_own_generated_key(tmp_path):
    assert config.load(tmp_path / "one")["SECRET_KEY"] != config.load(tmp_path / "two")["SECRET_KEY"]


def test_a_secret_key_from_the_environment_wins_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "set-by-the-operator")
    assert config.load(tmp_path)["SECRET_KEY"] == "set-by-the-operator"
    assert not (tmp_path / "secret_key").exists()


# Redis and the pathway key


@pytest.mark.parametrize("value", [None, ""])
def test_redis_url_unset_or_empty_is_none(tmp_path, monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("REDIS_URL", value)
    assert config.load(tmp_path)["REDIS_URL"] is None


def test_redis_url_is_passed_through(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert config.load(tmp_path)["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_pathway_key_defaults_to_mace_and_can_be_set(tmp_path, monkeypatch):
    assert config.load(tmp_path)["PATHWAY_KEY"] == "mace"
    monkeypatch.setenv("PATHWAY_KEY", "pilot")
    assert config.load(tmp_path)["PATHWAY_KEY"] == "pilot"


# Scheduling, alerts and email


def test_scheduling_defaults_suit_a_laptop(tmp_path):
    settings = config.load(tmp_path)
    assert (settings["SCHEDULER"], settings["SWEEP_SECONDS"], settings["JOB_VISIBILITY_SECONDS"]) == ("off", 30, 300)
    assert (settings["REMINDER_WORKING_DAYS"], settings["ESCALATION_WORKING_DAYS"]) == (1, 3)
    assert settings["SMTP_HOST"] is None, "email is off until a relay is named"
    assert settings["BASE_URL"] is None, "unset, pages link to the host and port they are served on"


def test_scheduling_settings_are_read_from_the_environment(tmp_path, monkeypatch):
    for name, value in {"MACE_SCHEDULER": "embedded", "SWEEP_SECONDS": "5", "REMINDER_WORKING_DAYS": "0",
                        "SMTP_HOST": "relay.example.org", "SMTP_PORT": "587", "SMTP_STARTTLS": "true",
                        "BASE_URL": "https://mace.example.org/"}.items():
        monkeypatch.setenv(name, value)
    settings = config.load(tmp_path)
    assert (settings["SCHEDULER"], settings["SWEEP_SECONDS"], settings["REMINDER_WORKING_DAYS"]) == ("embedded", 5, 0)
    assert (settings["SMTP_HOST"], settings["SMTP_PORT"], settings["SMTP_STARTTLS"]) == ("relay.example.org", 587, True)
    assert settings["BASE_URL"] == "https://mace.example.org", "links are built without a doubled slash"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("MACE_SCHEDULER", "celery", "MACE_SCHEDULER must be 'embedded'"),
    ("SWEEP_SECONDS", "often", "SWEEP_SECONDS must be a whole number, not 'often'"),
    ("SWEEP_SECONDS", "0", "SWEEP_SECONDS must be at least 1"),
    ("JOB_VISIBILITY_SECONDS", "5", "JOB_VISIBILITY_SECONDS must be at least 10"),
    ("ESCALATION_WORKING_DAYS", "-1", "ESCALATION_WORKING_DAYS must be at least 0"),
])
def test_a_bad_scheduling_setting_is_refused_by_name(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.load(tmp_path)


def test_database_errors_do_not_carry_the_values_they_were_given(app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from processes.engine.db import db

    with pytest.raises(DBAPIError) as caught:
        db.session.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": "Private Childname"})
    db.session.rollback()
    assert "Private Childname" not in str(caught.value), "errors reach logs and Celery failure reports"


# Sessions and single sign-on

SSO = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_GROUP_MAP", "PASSWORD_SIGN_IN",
       "SESSION_IDLE_MINUTES", "SESSION_LIFETIME_HOURS", "OIDC_TRUST_EMAIL")


@pytest.fixture
def no_sso(monkeypatch):
    for name in SSO:
        monkeypatch.delenv(name, raising=False)


def test_sessions_last_30_idle_minutes_and_12_hours_unless_set(tmp_path, monkeypatch, no_sso):
    settings = config.load(tmp_path)
    assert settings["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=30)
    assert settings["SESSION_LIFETIME"] == settings["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("SESSION_LIFETIME_HOURS", "8")
    settings = config.load(tmp_path)
    assert settings["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=10)
    assert settings["SESSION_LIFETIME"] == timedelta(hours=8)


def test_single_sign_on_is_off_and_passwords_on_unless_set(tmp_path, no_sso):
    settings = config.load(tmp_path)
    assert settings["OIDC_ISSUER"] is None and settings["PASSWORD_SIGN_IN"] is True


@pytest.mark.parametrize(("variables", "message"), [
    ({"OIDC_ISSUER": "https://login.example.org"}, "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together"),
    ({"PASSWORD_SIGN_IN": "false"}, "PASSWORD_SIGN_IN=false needs single sign-on"),
    ({"PASSWORD_SIGN_IN": "maybe"}, "PASSWORD_SIGN_IN must be true or false"),
])
def test_an_incomplete_single_sign_on_setting_is_refused_by_name(tmp_path, monkeypatch, no_sso, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.load(tmp_path)


@pytest.mark.parametrize(("group_map", "message"), [
    ("{not json", "OIDC_GROUP_MAP is not JSON"),
    ('{"council-admins": {"roles": ["wizard"], "areas": ["north"]}}',
     "OIDC_GROUP_MAP['council-admins'].roles names unknown role(s): wizard"),
    ('{"council-admins": {"roles": "admin"}}', "OIDC_GROUP_MAP['council-admins'].roles must be a list"),
    ('{"council-admins": {"role": ["admin"]}}', "must be an object with only 'roles' and 'areas'"),
])
def test_a_bad_group_map_stops_the_app_starting_naming_the_group(database_uri, group_map, message):
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "OIDC_ISSUER": "https://login.example.org",
                    "OIDC_CLIENT_ID": "mace", "OIDC_CLIENT_SECRET": "not-a-real-secret",
                    "OIDC_GROUP_MAP": group_map})
