"""case_facts.value holds up to 4000 characters: the MACE 1 outcome summary reports the measures of success,
challenges and additions agreed, free text as long as the outcome form allows

Revision ID: d2b7e4a9c1f0
Revises: d5e8b2c7a1f4
Create Date: 2026-12-02 17:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd2b7e4a9c1f0'
down_revision = 'd5e8b2c7a1f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_facts') as batch:
        batch.alter_column('value', existing_type=sa.String(500), type_=sa.String(4000), existing_nullable=False)


def downgrade():
    # Values longer than the old width are cut to it, as the app cut them before.
    op.execute("UPDATE case_facts SET value = substr(value, 1, 500) WHERE length(value) > 500")
    with op.batch_alter_table('case_facts') as batch:
        batch.alter_column('value', existing_type=sa.String(4000), type_=sa.String(500), existing_nullable=False)
