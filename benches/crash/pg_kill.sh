#!/usr/bin/env bash
# PostgreSQL killed (`pg_ctl stop -m immediate`) during pushes and during a reconcile, by
# hand (not in CI: it needs initdb and minutes). See benches/crash/README.md.
#
# A private cluster in a temp dir on its own port (never the machine's 5432), `mdm serve`
# against it, pushers that record every source_id a 2xx answer acknowledged; PostgreSQL is
# killed mid-push and started again, then killed in the middle of `mdm reconcile --full`
# and started again. Checks: every acknowledged record is staged, no load batch is left
# `running`, the server answers again, the killed run is settled (failed or interrupted),
# and the next reconcile completes.
#
#   benches/crash/pg_kill.sh                 # uses target/debug/mdm
#   MDM=target/release/mdm ENTITIES=20000 PG_PORT=5499 KEEP=1 benches/crash/pg_kill.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

MDM=$(realpath "${MDM:-target/debug/mdm}")
PG_PORT=${PG_PORT:-5499}
API_PORT=${API_PORT:-18499}
ENTITIES=${ENTITIES:-8000}
PUSHERS=${PUSHERS:-4}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
WORK=$(mktemp -d /tmp/mdm-pgkill.XXXXXX)
chmod 755 "$WORK"
URL="postgres://mdm@127.0.0.1:$PG_PORT/mdm"
export MDM_DATABASE_URL="$URL"
API="http://127.0.0.1:$API_PORT"
PIDS=()
FAIL=0

say() { printf '[%5ss] %s\n' "$SECONDS" "$*"; }
check() { # check NAME OK? DETAIL
  if [ "$2" = 1 ]; then echo "PASS  $1: $3"; else echo "FAIL  $1: $3"; FAIL=1; fi
}
# initdb and postgres refuse to run as root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/sock/pg.log" -w -t 60 "$@" >/dev/null; }
sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U mdm -d mdm -XAtqc "$1"; }

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  pg stop -m fast 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
  echo "port $PG_PORT is in use; set PG_PORT" >&2
  exit 2
fi
[ -x "$MDM" ] || { echo "no mdm binary at $MDM (cargo build first)" >&2; exit 2; }

say "private PostgreSQL cluster in $WORK/pg on port $PG_PORT ($PGBIN)"
mkdir -p "$WORK/pg" "$WORK/sock"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg" "$WORK/sock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U mdm -A trust >/dev/null || exit 1
# In the configuration file, not on the command line: every restart must use this port.
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" \
  "$PG_PORT" "$WORK/sock" >>"$WORK/pg/postgresql.conf"
pg start || exit 1
"$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mdm mdm || exit 1

cd "$WORK"
say "migrate, $ENTITIES generated customers ingested from ERP, CRM, MES"
"$MDM" migrate >/dev/null || exit 1
"$MDM" generate --domain customer --entities "$ENTITIES" --seed 7 --out data >/dev/null || exit 1
for s in ERP CRM MES; do
  "$MDM" ingest --domain customer --source "$s" "data/$s.csv" >/dev/null || exit 1
done
"$MDM" reconcile --domain customer >/dev/null || exit 1
TOKEN=$("$MDM" token create --role writer --system WEB | tail -1)

# A push cut off by the kill cannot mark its batch failed; the server settles such a batch
# once it has been silent for ingest.stale_batch_secs (15 min by default), shortened here so
# the check below sees it.
MDM__INGEST__STALE_BATCH_SECS=${STALE_BATCH_SECS:-20} \
  "$MDM" serve --listen "127.0.0.1:$API_PORT" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 1 120); do
  curl -fs "$API/healthz" >/dev/null && break
  sleep 0.5
done
curl -fs "$API/healthz" >/dev/null || { echo "serve did not start"; cat "$WORK/serve.log"; exit 1; }

# One pusher: 20 records a push, ids P<pusher>-<n>-<r>; every 2xx answer's ids go to
# acked.<pusher>, every answer's status to status.<pusher>.
pusher() {
  local p=$1 n=0
  while [ ! -e "$WORK/stop" ]; do
    n=$((n + 1))
    local body="[" r
    for r in $(seq 1 20); do
      body+="{\"source_id\":\"P$p-$n-$r\",\"given_name\":\"G$n\",\"family_name\":\"F$p\",\"city\":\"Ulm\"},"
    done
    body="${body%,}]"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST \
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      --data "$body" "$API/v1/customer/records/WEB")
    echo "$code" >>"$WORK/status.$p"
    if [ "${code:0:1}" = 2 ]; then
      for r in $(seq 1 20); do echo "P$p-$n-$r"; done >>"$WORK/acked.$p"
    else
      sleep 0.2
    fi
  done
}

say "$PUSHERS pushers start"
for p in $(seq 1 "$PUSHERS"); do
  pusher "$p" &
  PIDS+=("$!")
done
sleep 8
say "kill PostgreSQL mid-push (pg_ctl stop -m immediate); down for 5 s"
pg stop -m immediate
sleep 5
pg start || exit 1
say "PostgreSQL up again; pushes go on"
sleep 10

say "mdm reconcile --full with pushers still running"
"$MDM" reconcile --domain customer --full >"$WORK/run1.out" 2>"$WORK/run1.log" &
RUN1=$!
RUN1_ID=""
for _ in $(seq 1 600); do
  RUN1_ID=$(sql "select id from reconcile_runs where status = 'running' order by id desc limit 1" 2>/dev/null)
  [ -n "$RUN1_ID" ] && break
  kill -0 "$RUN1" 2>/dev/null || break
  sleep 0.1
done
sleep "${RUN_KILL_AFTER:-2}"
if kill -0 "$RUN1" 2>/dev/null; then
  say "kill PostgreSQL mid-run (run $RUN1_ID)"
  pg stop -m immediate
  KILLED_MID_RUN=1
else
  say "the run finished before the kill: raise ENTITIES"
  KILLED_MID_RUN=0
fi
T0=$SECONDS
wait "$RUN1"
RUN1_EXIT=$?
say "the reconcile exited with status $RUN1_EXIT after $((SECONDS - T0)) s with PostgreSQL down"
sleep 3
pg start || exit 1
say "PostgreSQL up again"
RUN1_STATUS_BEFORE=$(sql "select status from reconcile_runs where id = ${RUN1_ID:-0}")
sleep 10
touch "$WORK/stop"
wait "${PIDS[@]:1}" 2>/dev/null
PIDS=("$SERVE")
say "pushers stopped"

"$MDM" reconcile --domain customer >"$WORK/run2.out" 2>"$WORK/run2.log"
RUN2_EXIT=$?
RUN2_STATUS=$(sql "select status from reconcile_runs order by id desc limit 1")
RUN1_STATUS=$(sql "select status from reconcile_runs where id = ${RUN1_ID:-0}")

cat "$WORK"/acked.* 2>/dev/null | sort -u >"$WORK/acked"
sql "select source_id from staging_records where domain = 'customer' and system = 'WEB' and ended_at is null" | sort -u >"$WORK/staged"
MISSING=$(comm -23 "$WORK/acked" "$WORK/staged" | wc -l)
ACKED=$(wc -l <"$WORK/acked")
STATUSES=$(cat "$WORK"/status.* | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')
RUNNING_BATCHES=$(sql "select count(*) from load_batches where status = 'running'")
BATCHES=$(sql "select status || '×' || count(*) from load_batches group by status order by 1" | tr '\n' ' ')
HEALTH=$(curl -s -o /dev/null -w '%{http_code}' "$API/readyz")
ALIVE=0; kill -0 "$SERVE" 2>/dev/null && ALIVE=1

echo
echo "== pg_kill summary =="
echo "pushes answered: $STATUSES"
echo "load batches: $BATCHES"
echo "killed run: id ${RUN1_ID:-none}, process exit $RUN1_EXIT, status right after restart '$RUN1_STATUS_BEFORE', after the next run '$RUN1_STATUS'"
check "acknowledged pushes staged" "$([ "$ACKED" -gt 0 ] && [ "$MISSING" = 0 ] && echo 1)" "$((ACKED - MISSING)) of $ACKED acknowledged records staged"
check "no batch left running" "$([ "$RUNNING_BATCHES" = 0 ] && echo 1)" "$RUNNING_BATCHES running"
check "serve survives the restarts" "$([ "$ALIVE" = 1 ] && [ "$HEALTH" = 200 ] && echo 1)" "process alive=$ALIVE, /readyz $HEALTH"
check "PostgreSQL killed mid-run" "$([ "$KILLED_MID_RUN" = 1 ] && echo 1)" "run ${RUN1_ID:-none}"
check "killed run exits non-zero" "$([ "$RUN1_EXIT" != 0 ] && echo 1)" "exit $RUN1_EXIT"
check "killed run settled" "$(case "$RUN1_STATUS" in failed|interrupted) echo 1;; esac)" "'$RUN1_STATUS'"
check "next reconcile completes" "$([ "$RUN2_EXIT" = 0 ] && [ "$RUN2_STATUS" = completed ] && echo 1)" "exit $RUN2_EXIT, status '$RUN2_STATUS'"
if [ "$FAIL" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL (logs: KEEP=1 keeps $WORK)"; fi
exit "$FAIL"
