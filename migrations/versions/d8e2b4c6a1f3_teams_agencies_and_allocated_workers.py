"""Teams with managers, users' team and agency, cases' allocated worker and team, and tasks' group

Revision ID: d8e2b4c6a1f3
Revises: e5b2d7a1c940
Create Date: 2026-12-02 17:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8e2b4c6a1f3'
down_revision = 'e5b2d7a1c940'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'teams',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=200), nullable=False, unique=True),
        sa.Column('area_code', sa.String(length=40), sa.ForeignKey('areas.code'), nullable=False),
        sa.Column('manager_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
    )
    op.create_index('ix_teams_area_code', 'teams', ['area_code'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('agency', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key('fk_users_team_id_teams', 'teams', ['team_id'], ['id'])
        batch_op.create_index('ix_users_team_id', ['team_id'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocated_worker_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_cases_allocated_worker_id_users', 'users', ['allocated_worker_id'], ['id'])
        batch_op.create_foreign_key('fk_cases_team_id_teams', 'teams', ['team_id'], ['id'])
        batch_op.create_index('ix_cases_allocated_worker_id', ['allocated_worker_id'])
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_code', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('group_code')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_allocated_worker_id')
        batch_op.drop_constraint('fk_cases_team_id_teams', type_='foreignkey')
        batch_op.drop_constraint('fk_cases_allocated_worker_id_users', type_='foreignkey')
        batch_op.drop_column('team_id')
        batch_op.drop_column('allocated_worker_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_team_id')
        batch_op.drop_constraint('fk_users_team_id_teams', type_='foreignkey')
        batch_op.drop_column('agency')
        batch_op.drop_column('team_id')
    op.drop_index('ix_teams_area_code', table_name='teams')
    op.drop_table('teams')
