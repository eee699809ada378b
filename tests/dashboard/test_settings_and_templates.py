import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def _settings_in_a_fresh_process(**env):
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_in_a_fresh_process(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_starts_with_a_secret_key():
    result = _settings_in_a_fresh_process(DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="a.test")
    assert result.returncode == 0 and result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("name", "value"),
    [("HOT_CACHE_SECONDS", "two"), ("CATALOG_VERSION_CHECK_SECONDS", "1s")]
    + [("REFRESH_BACKOFF_SECONDS", "fast"), ("FETCH_ALLOWED_PORTS", "8080,http")],
)
def test_a_malformed_number_setting_is_refused_naming_the_variable(name, value):
    result = _settings_in_a_fresh_process(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for template in TEMPLATES:
        text = template.read_text()
        inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        handlers = re.findall(r"\son[a-z]+\s*=", text)
        if inline_scripts or handlers:
            offenders.append(template.name)
    assert offenders == []


def test_no_template_loads_anything_from_another_origin():
    pattern = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)
    offenders = [t.name for t in TEMPLATES if pattern.search(t.read_text())]
    # Links the reader follows (evidence sources) are anchors with a template variable, not
    # loaded resources; literal external URLs in src/href are what this test forbids.
    assert offenders == []
