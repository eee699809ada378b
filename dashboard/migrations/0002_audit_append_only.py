"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit log."""

from django.db import migrations

CREATE = """
CREATE FUNCTION dashboard_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER dashboard_audit_append_only
    BEFORE UPDATE OR DELETE ON dashboard_auditevent
    FOR EACH ROW EXECUTE FUNCTION dashboard_audit_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS dashboard_audit_append_only ON dashboard_auditevent;
DROP FUNCTION IF EXISTS dashboard_audit_refuse_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
