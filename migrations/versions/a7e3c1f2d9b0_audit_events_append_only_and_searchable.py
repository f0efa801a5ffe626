"""On PostgreSQL, a trigger refuses every UPDATE (but the erasure of a row's free text), DELETE and TRUNCATE
of audit_events, whatever the client;
on both databases, indexes for the audit search (newest first, and by user)

The ORM hook on AuditEvent only stops the app's own objects; raw SQL, a shell or another client could still
rewrite the evidence. SQLite has no roles or trusted clients to guard against, so it keeps the hook alone.

Revision ID: a7e3c1f2d9b0
Revises: c4f1a8e2d6b3
Create Date: 2026-12-02 14:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7e3c1f2d9b0'
down_revision = 'c4f1a8e2d6b3'
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
            -- Erasing a child's record (processes/mace/retention.py) strips the free text of its rows, and
            -- nothing else: who did what, when and to which ids stays as it was.
            IF TG_OP = 'UPDATE' AND NEW.detail IS NULL
               AND (NEW.id, NEW.at, NEW.user_id, NEW.action, NEW.case_id, NEW.instance_id, NEW.human_task_id)
                   IS NOT DISTINCT FROM
                   (OLD.id, OLD.at, OLD.user_id, OLD.action, OLD.case_id, OLD.instance_id, OLD.human_task_id)
            THEN
                RETURN NEW;
            END IF;
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
