#!/usr/bin/env bash
# mdm match vs Splink on the public FEBRL 1-4 record-linkage sets, one table.
#
#   benches/febrl/bench.sh
#
# Environment:
#   FEBRL_DIR   FEBRL files and <set>_truth.csv (default $ROOT/../shared/data/febrl, or
#               the copy in benches/febrl/data when that does not exist)
#   SETS        sets to run (default "febrl1 febrl2 febrl3 febrl4")
#   MDM         mdm binary (default target/release/mdm, built if absent and MDM unset)
#   SKIP_SPLINK 1: run mdm only
#   BENCH_DIR   work files (default target/bench/febrl)
#
# febrl1-3 are deduplicated (system FEBRL1..FEBRL3), febrl4 links febrl4_A.csv (system A)
# to febrl4_B.csv (system B). Each tool runs under /usr/bin/time -v (wall time, peak RSS);
# both are scored by `mdm evaluate` against the truth file (cluster-pairwise precision,
# recall, F1). mdm uses benches/febrl/mdm.toml (a column mapping per system); Splink uses
# run_splink_febrl.py, installed on first use into target/splink-venv from
# benches/splink/requirements.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/febrl
if [[ -z ${FEBRL_DIR:-} ]]; then
    FEBRL_DIR=$ROOT/../shared/data/febrl
    [[ -d $FEBRL_DIR ]] || FEBRL_DIR=$HERE/data
fi
SETS=${SETS:-febrl1 febrl2 febrl3 febrl4}
SKIP_SPLINK=${SKIP_SPLINK:-0}
VENV=$ROOT/target/splink-venv
WORK=${BENCH_DIR:-$ROOT/target/bench/febrl}

if [[ -z ${MDM:-} ]]; then
    MDM=$ROOT/target/release/mdm
    if [[ ! -x $MDM ]]; then
        (cd "$ROOT" && cargo build --release --bin mdm)
    fi
fi
[[ -x $MDM ]] || { echo "no mdm binary at $MDM" >&2; exit 1; }
[[ -d $FEBRL_DIR ]] || { echo "no FEBRL data in $FEBRL_DIR (set FEBRL_DIR)" >&2; exit 1; }
FEBRL_DIR=$(cd "$FEBRL_DIR" && pwd)
tools=(mdm)
if [[ $SKIP_SPLINK != 1 ]]; then
    tools+=(splink)
    if [[ ! -x $VENV/bin/python ]]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q -r "$ROOT/benches/splink/requirements.txt"
    fi
fi

mkdir -p "$WORK"

# timed NAME CMD...: runs CMD under /usr/bin/time -v; output in $WORK/NAME.{log,time,status}.
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

for set in $SETS; do
    inputs=()
    case $set in
        febrl1 | febrl2 | febrl3)
            inputs=(--input "${set^^}=$FEBRL_DIR/$set.csv") ;;
        febrl4)
            inputs=(--input "A=$FEBRL_DIR/febrl4_A.csv" --input "B=$FEBRL_DIR/febrl4_B.csv") ;;
        *)
            echo "unknown set $set (febrl1 febrl2 febrl3 febrl4)" >&2; exit 1 ;;
    esac
    rm -f "$WORK/$set"-*
    timed "$set-mdm" "$MDM" --config "$HERE/mdm.toml" match --domain customer "${inputs[@]}" \
        --out "$WORK/$set-mdm-clusters.csv"
    if [[ $SKIP_SPLINK != 1 ]]; then
        timed "$set-splink" "$VENV/bin/python" "$HERE/run_splink_febrl.py" "${inputs[@]}" \
            --out "$WORK/$set-splink-clusters.csv"
    fi
    for tool in "${tools[@]}"; do
        if [[ $(cat "$WORK/$set-$tool.status") == ok ]]; then
            "$MDM" evaluate --truth "$FEBRL_DIR/${set}_truth.csv" \
                --clusters "$WORK/$set-$tool-clusters.csv" --json \
                >"$WORK/$set-$tool.eval.json" 2>"$WORK/$set-$tool.eval.err" || true
        fi
    done
done

python3 - "$WORK" "$FEBRL_DIR" "${tools[*]}" $SETS <<'PY'
import json, os, re, sys

work, data, tools, sets = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]

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

fmt = lambda v, spec: format(v, spec) if v is not None else "-"
print(f"\nFEBRL, cluster-pairwise scores by `mdm evaluate`  ({work})")
print(f"{'set':<7} {'records':>7} {'tool':<7} {'status':<7} {'wall s':>8} {'peak RSS MiB':>12} "
      f"{'P':>7} {'R':>7} {'F1':>7}")
for s in sets:
    with open(os.path.join(data, f"{s}_truth.csv")) as fh:
        records = sum(1 for _ in fh) - 1
    for tool in tools:
        status = open(f"{work}/{s}-{tool}.status").read().strip()
        secs, rss = time_v(f"{work}/{s}-{tool}.time")
        ev, path = {}, f"{work}/{s}-{tool}.eval.json"
        if status == "ok" and os.path.exists(path) and os.path.getsize(path):
            ev = json.load(open(path))
        elif status == "ok":
            status = "noeval"
        pw = ev.get("pairwise", {})
        print(f"{s:<7} {records:>7} {tool:<7} {status:<7} {fmt(secs, '8.2f'):>8} "
              f"{fmt(rss, '12.0f'):>12} {fmt(pw.get('precision'), '7.4f'):>7} "
              f"{fmt(pw.get('recall'), '7.4f'):>7} {fmt(pw.get('f1'), '7.4f'):>7}")
PY
