"""Retention reviews: each closed case's place on the retention schedule, and the record of its erasure

Revision ID: c4f1a8e2d6b3
Revises: 9b4d2f6a8c31
Create Date: 2026-12-02 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1a8e2d6b3'
down_revision = '9b4d2f6a8c31'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'retention_reviews',
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id'), primary_key=True),
        sa.Column('area_code', sa.String(length=40), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=40), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('listed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('proposed_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_retention_reviews_status_due', 'retention_reviews', ['status', 'due_on'])


def downgrade():
    op.drop_index('ix_retention_reviews_status_due', table_name='retention_reviews')
    op.drop_table('retention_reviews')
