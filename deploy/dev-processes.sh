#!/usr/bin/env bash
# `make run`: the development server, plus a Celery worker and beat when REDIS_URL is set.
# Without REDIS_URL tasks run in-process, so the web server alone is the whole console.
set -euo pipefail
PY=${1:-.venv/bin/python}; HOST=${2:-127.0.0.1}; PORT=${3:-8000}
children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM

if [ -n "${REDIS_URL:-}" ]; then
  "$PY" -m celery -A config worker --loglevel=INFO --concurrency=2 & children+=($!)
  "$PY" -m celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule & children+=($!)
  echo "Started a Celery worker and beat on $REDIS_URL"
else
  echo "No REDIS_URL: tasks run in-process, cache is local memory, database is var/console.sqlite3"
fi
"$PY" manage.py runserver "$HOST:$PORT"
