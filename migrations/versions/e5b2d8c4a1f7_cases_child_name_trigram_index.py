"""On PostgreSQL, the pg_trgm extension and a trigram index on cases.child_name, so finding a child by a name
typed with a typo, or with first and last names swapped, reads an index; SQLite has neither and needs nothing
(processes/mace/search.py scores its names with rapidfuzz)

Revision ID: e5b2d8c4a1f7
Revises: b5d2e8a1c4f7
Create Date: 2026-12-02 17:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5b2d8c4a1f7'
down_revision = 'b5d2e8a1c4f7'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_cases_child_name_trgm ON cases USING gin (child_name gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP INDEX ix_cases_child_name_trgm")
    # The extension stays: other databases' objects may use it, and dropping it needs more rights than creating.
