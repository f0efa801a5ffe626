"""The single sign-on subject matched to a user, so later sign-ins match by it rather than by email

Revision ID: 9b4d2f6a8c31
Revises: 7a3c5e9f1b20
Create Date: 2026-12-02 14:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b4d2f6a8c31'
down_revision = '7a3c5e9f1b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=600), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_sso_subject'), ['sso_subject'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_sso_subject'), type_='unique')
        batch_op.drop_column('sso_subject')
