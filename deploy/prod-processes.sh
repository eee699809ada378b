#!/usr/bin/env bash
# Runs the three processes of deploy/Procfile side by side (for one machine or a smoke test).
# In production, run each under your process manager instead, as many as you need.
set -euo pipefail
PY=${1:-.venv/bin/python}
BIN=$(dirname "$PY")
children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM
mkdir -p var
"$BIN/gunicorn" -c deploy/gunicorn.conf.py config.wsgi & children+=($!)
"$PY" -m celery -A config worker --loglevel=INFO & children+=($!)
"$PY" -m celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule & children+=($!)
wait -n
