"""On PostgreSQL, a trigger refuses every UPDATE, DELETE and TRUNCATE of audit_events, whatever the client;
on both databases, indexes for the audit search (newest first, and by user)

The ORM hook on AuditEvent only stops the app's own objects; raw SQL, a shell or another client could still
rewrite the evidence. SQLite has no roles or trusted clients to guard against, so it keeps the hook alone.

Revision ID: a7e3c1f2d9b0
Revises: 5d1e0c7a9b42
Create Date: 2026-12-02 14:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7e3c1f2d9b0'
down_revision = '5d1e0c7a9b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.create_index('ix_audit_events_user_at', 'audit_events', ['user_id', 'at'])
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("""
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
               "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
    op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_no_change ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_index('ix_audit_events_user_at', 'audit_events')
    op.drop_index('ix_audit_events_at', 'audit_events')
