"""On PostgreSQL the audit log also refuses TRUNCATE, which no row trigger sees.

Only a transaction that sets `console.allow_audit_truncate` may empty it: the test harness does,
when it flushes a test database between tests.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION dashboard_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('console.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (TRUNCATE refused)'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER dashboard_audit_no_truncate
    BEFORE TRUNCATE ON dashboard_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_audit_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS dashboard_audit_no_truncate ON dashboard_auditevent;
DROP FUNCTION IF EXISTS dashboard_audit_refuse_truncate();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0006_login_attempts")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
