#!/usr/bin/env bash
# SQLite under concurrent writers: PUSHERS threads push small JSON batches to `mdm serve`
# for DURATION seconds while `mdm reconcile --full` runs over the same database, again
# and again until the time is up. Prints pushes done, 2xx/4xx/5xx counts, records staged
# against records acknowledged, and every reconcile's exit status and time. Issue 21: the
# embedded default must serve a night's pushes and the nightly run together (zero 5xx, the
# reconcile completes). tests/api/publish_push.rs runs a smaller version in CI.
#
#   benches/concurrency/pushers_and_reconcile.sh                 # target/release/mdm
#   MDM=target/debug/mdm PUSHERS=16 DURATION=60 ENTITIES=5000 \
#       benches/concurrency/pushers_and_reconcile.sh
#
# Environment: MDM (binary; target/release/mdm, built if absent), PUSHERS (16), DURATION
# (60 s), ENTITIES (5000 generated customers across ERP,CRM,MES, loaded before),
# BATCH (20 records per push), KEEP=1 keeps the work directory. Exit status 1 when any
# push answered 5xx, an acknowledged record is not staged, or a reconcile failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

if [[ -z ${MDM:-} ]]; then
    MDM=$ROOT/target/release/mdm
    [[ -x $MDM ]] || cargo build --release --locked --bin mdm
fi
MDM=$(realpath "$MDM")
PUSHERS=${PUSHERS:-16}
DURATION=${DURATION:-60}
ENTITIES=${ENTITIES:-5000}
BATCH=${BATCH:-20}
WORK=$(mktemp -d /tmp/mdm-concurrency.XXXXXX)
export MDM_DATABASE_URL="sqlite://$WORK/mdm.db"
SERVER=
cleanup() {
    [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
cd "$WORK"
say() { printf '[%5ss] %s\n' "$SECONDS" "$*"; }

say "mdm: $MDM; $PUSHERS pushers x ${DURATION}s, $ENTITIES entities, $BATCH records per push"
"$MDM" generate --domain customer --entities "$ENTITIES" --out data >/dev/null || exit 2
for s in ERP CRM MES; do
    "$MDM" ingest --domain customer --source "$s" "data/$s.csv" >/dev/null 2>&1 || exit 2
done
TOKEN=$("$MDM" token create --role writer --system WEB 2>/dev/null) || exit 2
"$MDM" serve --listen 127.0.0.1:0 >server.out 2>server.log &
SERVER=$!
for _ in $(seq 100); do grep -q '^listening on ' server.out && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' server.out | head -1)
[[ -n $BASE ]] || { echo "mdm serve did not start" >&2; cat server.log >&2; exit 2; }
say "generated customers of $ENTITIES entities loaded (ERP, CRM, MES); server at $BASE"

# The pushers: each writes the source_ids of its 2xx pushes to acked-<n>.txt.
cat >pushers.py <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
base, token, n, duration, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
stop = time.time() + duration
GIVEN = ["Anna", "Bernd", "Carla", "Dieter", "Eva", "Frank", "Gisela", "Hans"]
CITIES = ["Ulm", "Bonn", "Kiel", "Hof", "Aue", "Jena"]
stats = {"2xx": 0, "4xx": 0, "5xx": 0, "error": 0}
lock = threading.Lock()
slowest = [0.0]
def pusher(t):
    done = 0
    with open(f"acked-{t}.txt", "w") as acked:
        while time.time() < stop:
            ids = [f"P{t}-{done}-{r}" for r in range(batch)]
            # Distinct names, so that pushed records do not make one giant block.
            body = json.dumps([{"source_id": i, "given_name": GIVEN[(t + done + r) % len(GIVEN)],
                                "family_name": f"Push{t}n{done}r{r}", "city": CITIES[r % len(CITIES)]}
                               for r, i in enumerate(ids)]).encode()
            req = urllib.request.Request(f"{base}/v1/customer/records/WEB", data=body, method="POST",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            began = time.time()
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except Exception:
                status = None
            took = time.time() - began
            key = "error" if status is None else f"{status // 100}xx"
            with lock:
                stats[key] = stats.get(key, 0) + 1
                slowest[0] = max(slowest[0], took)
            if status is not None and 200 <= status < 300:
                acked.write("\n".join(ids) + "\n")
            done += 1
threads = [threading.Thread(target=pusher, args=(t,)) for t in range(n)]
for th in threads: th.start()
for th in threads: th.join()
stats["slowest_push_s"] = round(slowest[0], 2)
print(json.dumps(stats))
PY
say "pushing on $PUSHERS threads for ${DURATION}s while full reconciles run"
python3 pushers.py "$BASE" "$TOKEN" "$PUSHERS" "$DURATION" "$BATCH" >push-stats.json &
PUSH=$!
RUNS=0; FAILED_RUNS=0
while kill -0 "$PUSH" 2>/dev/null; do
    began=$SECONDS
    "$MDM" reconcile --domain customer --full >"reconcile-$RUNS.log" 2>&1
    rc=$?
    RUNS=$((RUNS + 1))
    [[ $rc == 0 ]] || FAILED_RUNS=$((FAILED_RUNS + 1))
    say "reconcile --full #$RUNS: exit $rc in $((SECONDS - began))s"
    [[ $rc == 0 ]] || tail -3 "reconcile-$((RUNS - 1)).log"
done
wait "$PUSH"
STATS=$(cat push-stats.json)
ACKED=$(cat acked-*.txt | sort -u | wc -l)
STAGED=$(sqlite3 "$WORK/mdm.db" "SELECT count(*) FROM staging_records WHERE system = 'WEB' AND status = 'current'" 2>/dev/null \
    || python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM staging_records WHERE system='WEB' AND status='current'\").fetchone()[0])" "$WORK/mdm.db")
FIVE=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['5xx'])" "$STATS")
PUSHES=$(python3 -c "import json,sys; s=json.loads(sys.argv[1]); print(s['2xx']+s['4xx']+s['5xx']+s['error'])" "$STATS")
echo
echo "pushes done:        $PUSHES ($STATS)"
echo "records acked:      $ACKED; staged (WEB, current): $STAGED"
echo "5xx answers:        $FIVE"
echo "reconcile --full:   $RUNS runs, $FAILED_RUNS failed"
status=0
[[ $FIVE == 0 ]] || status=1
[[ $ACKED == "$STAGED" ]] || status=1
[[ $FAILED_RUNS == 0 && $RUNS -gt 0 ]] || status=1
[[ $status == 0 ]] && echo "PASS" || echo "FAIL"
exit $status
