#!/usr/bin/env bash
# Starts the production processes of deploy/ (gunicorn, Celery worker and beat) on PostgreSQL
# and Redis, then checks /healthz, the login page and a static file served by WhiteNoise.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
PORT=${SMOKE_PORT:-8765}
export DEBUG=0 SECRET_KEY="smoke-$(head -c 48 /dev/urandom | base64)" ALLOWED_HOSTS=127.0.0.1
export GUNICORN_BIND=127.0.0.1:$PORT WEB_CONCURRENCY=2
# The proxy in front terminates TLS and says so; curl plays that proxy here.
HTTPS=(-H "X-Forwarded-Proto: https")
log=$(mktemp)

.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py migrate --noinput -v0
deploy/prod-processes.sh .venv/bin/python >"$log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT

healthy=""
for _ in $(seq 60); do
  body=$(curl -sf "${HTTPS[@]}" "http://127.0.0.1:$PORT/healthz" || true)
  if echo "$body" | grep -q '"worker": {"ok": true'; then healthy=1; break; fi
  sleep 1
done
if [ -z "$healthy" ]; then
  echo "healthz never became healthy with a live worker; last answer: ${body:-none}"; tail -50 "$log"; exit 1
fi
echo "healthz: $body"

login=$(curl -sf "${HTTPS[@]}" "http://127.0.0.1:$PORT/login/")
echo "$login" | grep -q "Sign in" || { echo "login page not served"; exit 1; }
css=$(echo "$login" | grep -o '/static/css/app\.[0-9a-f]*\.css' | head -1)
[ -n "$css" ] || { echo "login page does not link the hashed stylesheet"; exit 1; }
headers=$(curl -sfI "${HTTPS[@]}" -H "Accept-Encoding: gzip" "http://127.0.0.1:$PORT$css")
echo "$headers" | grep -qi "cache-control: max-age=315360000" || { echo "$css not served by WhiteNoise"; echo "$headers"; exit 1; }
echo "login page and $css served through gunicorn and WhiteNoise"
echo "smoke test passed"
