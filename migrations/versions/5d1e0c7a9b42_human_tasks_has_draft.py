"""A flag on human tasks that someone saved a draft of, so completing one without drafts sends no DELETE

Revision ID: 5d1e0c7a9b42
Revises: 28bf8ea6ecdf
Create Date: 2026-12-02 06:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1e0c7a9b42'
down_revision = '28bf8ea6ecdf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_draft', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Tasks that already have drafts keep them dropped on completion.
    op.execute("UPDATE human_tasks SET has_draft = TRUE WHERE id IN (SELECT human_task_id FROM task_drafts)")


def downgrade():
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('has_draft')
