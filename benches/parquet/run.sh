#!/bin/bash
# Parquet ingest against CSV ingest of the same rows (issue 26 item 3), run by hand:
#   cargo build --release && cargo build --release -p mdm_benches --bin csv_to_parquet
#   benches/parquet/run.sh [ENTITIES] [PROFILE]
# Generates ENTITIES customers of one system (ERP; 950000 entities give about 1M rows) with
# `mdm generate`, converts ERP.csv to ERP.parquet (same columns as text, empty fields null,
# row groups of 50,000, Snappy), then times `mdm ingest` of each into a fresh SQLite
# database with /usr/bin/time -v (wall time, CPU time, peak RSS) and checks both staged the
# same rows. On a shared machine wall times vary by a third run to run; CPU time less.
# PROFILE is release (default) or debug.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ENTITIES=${1:-950000}
PROFILE=${2:-release}
B=${MDM_BIN:-$ROOT/target/$PROFILE/mdm}
CONVERT=${MDM_CONVERT_BIN:-$ROOT/target/$PROFILE/csv_to_parquet}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D"
$B generate --domain customer --entities "$ENTITIES" --systems ERP --seed 7 --out gen > /dev/null
$CONVERT gen/ERP.csv gen/ERP.parquet
echo "rows: $(($(wc -l < gen/ERP.csv) - 1)); CSV $(du -h gen/ERP.csv | cut -f1), Parquet $(du -h gen/ERP.parquet | cut -f1); profile $PROFILE"
for f in csv parquet; do
  /usr/bin/time -v "$B" --database-url "sqlite://$D/$f.db" ingest --domain customer --source ERP \
    "gen/ERP.$f" --json > "out.$f" 2> "time.$f"
  wall=$(grep 'Elapsed (wall clock)' "time.$f" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "time.$f" | awk '{print $NF}')
  user=$(grep 'User time' "time.$f" | awk '{print $NF}')
  sys=$(grep 'System time' "time.$f" | awk '{print $NF}')
  echo "$f: wall $wall  user ${user} s  sys ${sys} s  peak RSS $((rss / 1024)) MB  $(cut -c1-160 "out.$f")"
done
# Both loads must have staged the same records with the same content hashes.
q="SELECT count(*), sum(length(content_hash)), group_concat(content_hash, '') FROM (SELECT content_hash FROM staging_records ORDER BY source_id)"
if command -v sqlite3 > /dev/null; then
  a=$(sqlite3 csv.db "$q" | md5sum); b=$(sqlite3 parquet.db "$q" | md5sum)
  [ "$a" = "$b" ] && echo "same staged content: yes" || { echo "same staged content: NO"; exit 1; }
fi
