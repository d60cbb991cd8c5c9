#!/bin/bash
# Worker processes at scale, through the real CLI (issue 23), run by hand:
#   cargo build --release && benches/workers/run.sh [ENTITIES] [PARTITION_RECORDS]
# Generates ENTITIES customers (474000: about 1M records) into a fresh PostgreSQL database
# (w23bench on 127.0.0.1, user postgres), then times the first run, a one-pass full
# re-match, partitioned full re-matches with 0, 1 and 2 `mdm worker` processes, and a
# partitioned retraining (sampled model, as a partitioned first run). Peak RSS: the
# coordinator's by /usr/bin/time, each worker's by polling its VmHWM; the run's own
# resident/peak memory per phase from its stats.
#
# The 10M-record target (about 10M records; hours on 2 cores):
#   MDM_DB=w23scale MDM_RUNS="first_part part2" benches/workers/run.sh 4800000 200000
# MDM_RUNS picks the runs (default: all but first_part, in order); first_part is a
# partitioned first run (sampled model); none: only load. MDM_SKIP_INGEST=1 reuses the
# database as loaded.
set -e
B=${MDM_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/mdm}
ENTITIES=${1:-474000}
PART=${2:-200000}
D=$(mktemp -d); cd $D
DB=${MDM_DB:-w23bench}
RUNS=${MDM_RUNS:-first full1pass part0 part1 part2 retrain_part}
URL=postgres://postgres@127.0.0.1:5432/$DB
T0=$(date +%s)
if [ -z "$MDM_SKIP_INGEST" ]; then
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  $B generate --domain customer --entities $ENTITIES --seed 42 --out gen | tail -1
  for s in ERP CRM MES; do
    /usr/bin/time -f "ingest $s %e s peak %M KB" $B --database-url $URL ingest --domain customer --source $s gen/$s.csv --json | cut -c1-200
  done
  rm -rf gen
  echo "ingest done $(( $(date +%s) - T0 )) s"
fi
run() {  # label, args...
  local label=$1; shift
  ( while true; do for p in $(pgrep -f "^$B worker --run"); do
      echo "$p $(grep VmHWM /proc/$p/status 2>/dev/null | awk '{print $2}')"; done; sleep 0.5; done ) > $D/rss.$label &
  local W=$!
  /usr/bin/time -f "TIME $label %e s coordinator peak %M KB" $B --database-url $URL reconcile --domain customer --json "$@" > $D/out.$label 2> $D/err.$label || { tail -5 $D/err.$label; }
  kill $W
  grep TIME $D/err.$label
  tail -1 $D/out.$label | python3 -c 'import json,sys; s=json.load(sys.stdin); st=s["stats"]; print("  partitions", st["partitions"], "largest", st["largest_partition"], "pairs", st["pairs_scored"], "kept", st.get("kept_pairs"), "timings", " ".join(f"{k}={v:.1f}" for k,v in st["timings"])); print("  memory MiB (phase=rss/peak)", " ".join(f"{k}={r}/{p}" for k,r,p in st.get("memory_mib",[])))'
  sort -k1,1 -k2,2n $D/rss.$label | awk '{m[$1]=$2} END {for (p in m) printf "  worker %s peak %d MB\n", p, m[p]/1024}'
}
for r in $RUNS; do case $r in
  first) run first ;;
  # A first run partitioned: a model trained on a sample (reconcile.train_sample), then
  # every partition scored with it in-process (workers need the stored model).
  first_part) run first_part --partition-records $PART ;;
  full1pass) run full1pass --full ;;
  part0) run part0 --full --partition-records $PART --workers 0 ;;
  part1) run part1 --full --partition-records $PART --workers 1 ;;
  part2) run part2 --full --partition-records $PART --workers 2 ;;
  # As a first run partitioned, on a database that has golden records already.
  retrain_part) run retrain_part --retrain --partition-records $PART ;;
  none) ;;
  *) echo "unknown run $r"; exit 2 ;;
esac; done
echo "all done $(( $(date +%s) - T0 )) s"
