"""users.must_change_password: set when an administrator resets a password to a one-time one, cleared when the
user chooses their own at their next sign-in

Revision ID: b5d2e8a1c4f7
Revises: d2b7e4a9c1f0
Create Date: 2026-12-02 17:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d2e8a1c4f7'
down_revision = 'd2b7e4a9c1f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
