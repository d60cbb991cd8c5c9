#!/usr/bin/env bash
# mdm match vs Splink on the same generated files, in one run.
#
#   benches/splink/bench.sh [RECORDS] [DOMAIN] [SEED] [CORRUPTION]
#
# Generates about RECORDS records (DOMAIN, default customer) with `mdm generate`, runs
# `mdm match` and `run_splink.py` on the same files, each under /usr/bin/time -v (wall
# time, peak RSS), scores both with `mdm evaluate`, and prints one table. Work files go
# to target/bench/<domain>-<records>/ (override with BENCH_DIR). Splink is installed on
# first use into target/splink-venv from requirements.txt.
#
# Environment: MDM (mdm binary, default target/release/mdm), GENERATE_ARGS (more
# `mdm generate` flags, e.g. "--disjoint-attributes" for sources that each carry their
# own subset of attributes).
set -euo pipefail

RECORDS=${1:-100000}
DOMAIN=${2:-customer}
SEED=${3:-42}
CORRUPTION=${4:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/splink
MDM=${MDM:-$ROOT/target/release/mdm}
VENV=$ROOT/target/splink-venv
WORK=${BENCH_DIR:-$ROOT/target/bench/$DOMAIN-$RECORDS}
# With the default systems (ERP 70%, CRM 80%, MES 50%, 5% duplicates) an entity has
# about 2.1 records.
ENTITIES=$(( RECORDS * 10 / 21 ))

if [[ ! -x $MDM ]]; then
    (cd "$ROOT" && cargo build --release --bin mdm)
fi
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi

rm -rf "$WORK"
mkdir -p "$WORK/data"
"$MDM" generate --domain "$DOMAIN" --entities "$ENTITIES" --seed "$SEED" \
    --corruption "$CORRUPTION" ${GENERATE_ARGS:-} --out "$WORK/data"

inputs=()
for f in "$WORK"/data/*.csv; do
    name=$(basename "$f" .csv)
    [[ $name == truth ]] || inputs+=(--input "$name=$f")
done

# timed NAME CMD...: runs CMD under /usr/bin/time -v; output in $WORK/NAME.{log,time}.
timed() {
    local name=$1
    shift
    echo "== $name: $*" >&2
    if /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.log" 2>&1; then
        echo ok >"$WORK/$name.status"
    else
        echo failed >"$WORK/$name.status"
        echo "   $name failed; see $WORK/$name.log" >&2
        tail -5 "$WORK/$name.log" >&2 || true
    fi
}

timed mdm "$MDM" match --domain "$DOMAIN" "${inputs[@]}" --out "$WORK/mdm-clusters.csv"
timed splink "$VENV/bin/python" "$HERE/run_splink.py" --domain "$DOMAIN" \
    --dir "$WORK/data" --out "$WORK/splink-clusters.csv"

for tool in mdm splink; do
    if [[ $(cat "$WORK/$tool.status") == ok ]]; then
        "$MDM" evaluate --truth "$WORK/data/truth.csv" --clusters "$WORK/$tool-clusters.csv" \
            --json >"$WORK/$tool.eval.json" 2>"$WORK/$tool.eval.err" || true
    fi
done

python3 - "$WORK" "$DOMAIN" "$(wc -l <"$WORK/data/truth.csv")" <<'PY'
import json, os, re, sys

work, domain, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])

def time_v(path):
    text = open(path).read() if os.path.exists(path) else ""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    secs = None
    if wall:
        secs = 0.0
        for part in wall.group(1).split(":"):
            secs = secs * 60 + float(part)
    return secs, int(rss.group(1)) / 1024 if rss else None

print(f"\n{domain}: {lines - 1} records  ({work})")
print(f"{'tool':<8} {'status':<7} {'wall s':>8} {'max RSS MiB':>12} {'pair P':>7} {'pair R':>7} "
      f"{'pair F1':>8} {'B3 F1':>7}")
for tool in ("mdm", "splink"):
    status = open(f"{work}/{tool}.status").read().strip()
    secs, rss = time_v(f"{work}/{tool}.time")
    ev = {}
    path = f"{work}/{tool}.eval.json"
    if status == "ok" and os.path.exists(path) and os.path.getsize(path):
        ev = json.load(open(path))
    elif status == "ok":
        status = "noeval"
    fmt = lambda v, spec: format(v, spec) if v is not None else "-"
    pw, b3 = ev.get("pairwise", {}), ev.get("bcubed", {})
    print(f"{tool:<8} {status:<7} {fmt(secs, '8.2f'):>8} {fmt(rss, '12.0f'):>12} "
          f"{fmt(pw.get('precision'), '7.4f'):>7} {fmt(pw.get('recall'), '7.4f'):>7} "
          f"{fmt(pw.get('f1'), '8.4f'):>8} {fmt(b3.get('f1'), '7.4f'):>7}")
PY
