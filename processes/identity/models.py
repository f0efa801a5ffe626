"""Who uses the system: areas, users with their roles and areas, and hashed API tokens."""


from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processes.engine.db import Timestamp, db


class Area(db.Model):
    """A partnership area (e.g. Mid, South); cases and users belong to areas."""

    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Team(db.Model):
    """A team of an area, with the manager its workers' overdue steps are reported to."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    # Teams and users refer to each other: this key is added after both tables exist, and a manager's removal
    # leaves the team without one rather than blocking it.
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True, ondelete="SET NULL"))


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    # "<issuer> <subject>" of the single sign-on account matched to this user, stored once matched.
    sso_subject: Mapped[str | None] = mapped_column(String(600), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set by an administrator's reset to a one-time password: the next sign-in asks for one of their own.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The team the user works in, and the agency they speak for (a code of the pathway's core agencies).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    agency: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    areas: Mapped[list[UserArea]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def groups(self) -> frozenset[str]:
        """The groups the engine narrows steps to: the user's agency, when they have one."""
        return frozenset({self.agency} if self.agency else ())


class UserRole(db.Model):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class UserArea(db.Model):
    __tablename__ = "user_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)


class ApiToken(db.Model):
    """An API token; only its SHA-256 digest is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class WebSession(db.Model):
    """A signed-in browser session; the cookie carries a random id and only its SHA-256 digest is stored here."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
