"""Plan actions as rows, and notifications about a plan action as well as about a step

Revision ID: e5b2d7a1c940
Revises: e5b2d8c4a1f7
Create Date: 2026-12-02 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b2d7a1c940'
down_revision = 'e5b2d8c4a1f7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'plan_actions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('area_code', sa.String(length=40), nullable=False),
        sa.Column('human_task_id', sa.Integer(), sa.ForeignKey('human_tasks.id'), nullable=False),
        sa.Column('source_step', sa.String(length=255), nullable=False),
        sa.Column('agency', sa.String(length=40), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_alert_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('alerts_raised', sa.String(length=40), nullable=True),
    )
    op.create_index('ix_plan_actions_case', 'plan_actions', ['case_id', 'id'])
    op.create_index('ix_plan_actions_alerts', 'plan_actions', ['status', 'next_alert_at'])
    op.create_index('ix_plan_actions_worklist', 'plan_actions', ['status', 'area_code', 'agency', 'due_at'])
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('human_task_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('plan_action_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_plan_action_id_plan_actions'), 'plan_actions',
                                    ['plan_action_id'], ['id'])
        batch_op.create_unique_constraint('uq_notifications_action_kind_user', ['plan_action_id', 'kind', 'user_id'])


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notifications_action_kind_user', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_notifications_plan_action_id_plan_actions'), type_='foreignkey')
        batch_op.drop_column('plan_action_id')
    op.execute('DELETE FROM notifications WHERE human_task_id IS NULL')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('human_task_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_plan_actions_worklist', table_name='plan_actions')
    op.drop_index('ix_plan_actions_alerts', table_name='plan_actions')
    op.drop_index('ix_plan_actions_case', table_name='plan_actions')
    op.drop_table('plan_actions')
