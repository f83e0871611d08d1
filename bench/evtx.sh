#!/usr/bin/env bash
# Benchmark: exhunt over EVTX with every SigmaHQ windows rule, against
# exhunt parse-only and python-evtx parse-only. See bench/README.md.
#
#   bench/evtx.sh                 # corpus EVTX repeated to COPIES=40 copies
#   COPIES=100 RUNS=5 bench/evtx.sh
set -euo pipefail

cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
COPIES=${COPIES:-40}
RUNS=${RUNS:-3}
OUT=bench/out/evtx
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

if ! [ -d "$SHARED/corpus" ] || ! [ -d "$SHARED/sigma/rules/windows" ]; then
	echo "needs $SHARED/corpus and $SHARED/sigma (set SHARED=...)" >&2
	exit 2
fi
python3 -c 'import Evtx' 2>/dev/null || /usr/bin/python3 -c 'import Evtx' 2>/dev/null || need_apt python3-evtx
[ -x /usr/bin/time ] || need_apt time
PY=python3
$PY -c 'import Evtx' 2>/dev/null || PY=/usr/bin/python3

echo "== build"
go build -o "$OUT/exhunt" ./cmd/exhunt

echo "== data: corpus EVTX x $COPIES"
ONE=$OUT/one
MANY=$OUT/many
if [ "$(cat "$OUT/copies" 2>/dev/null)" != "$COPIES" ]; then
	rm -rf "$ONE" "$MANY"
	mkdir -p "$ONE" "$MANY"
	i=0
	while IFS= read -r -d '' f; do
		i=$((i + 1))
		cp "$f" "$ONE/$i.evtx"
	done < <(find "$SHARED/corpus" -name '*.evtx' -print0 | sort -z)
	for c in $(seq "$COPIES"); do
		mkdir -p "$MANY/c$c"
		cp "$ONE"/*.evtx "$MANY/c$c/"
	done
	echo "$COPIES" >"$OUT/copies"
fi

# records DIR: the number of records exhunt read (from its JSON inventory).
records() {
	"$OUT/exhunt" hunt --parse-only --format json "$1" |
		$PY -c 'import json,sys; d=json.load(sys.stdin); print(sum(i.get("records",0) for i in d.get("inventory",[])))'
}


cat >"$OUT/pyevtx.py" <<'PYEOF'
import sys, os
from Evtx.Evtx import Evtx
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            with Evtx(os.path.join(root, f)) as log:
                for rec in log.records():
                    try:
                        rec.xml()
                        n += 1
                    except Exception:
                        pass
        except Exception:
            pass
print(n)
PYEOF

N_MANY=$(records "$MANY")
N_ONE=$(records "$ONE")
echo "records: one copy $N_ONE, $COPIES copies $N_MANY"

rm -f "$OUT"/*.times
find "$MANY" -type f -exec cat {} + >/dev/null
for i in $(seq "$RUNS"); do
	echo "== run $i/$RUNS"
	timed parse "0" "$OUT/exhunt" hunt --parse-only --format jsonl "$MANY"
	timed sigma "0 1" "$OUT/exhunt" hunt --sigma "$SHARED/sigma/rules/windows" --format jsonl "$MANY"
done
echo "== python-evtx (one copy, once: it is slow)"
timed pyevtx "0" "$PY" "$OUT/pyevtx.py" "$ONE"

read -r P_W P_R < <(best parse)
read -r S_W S_R < <(best sigma)
read -r Y_W Y_R < <(best pyevtx)
RULES=$("$OUT/exhunt" rules validate --sigma "$SHARED/sigma/rules/windows" 2>/dev/null | awk '/^loaded/ {print $2; exit}' || true)
awk -v nm="$N_MANY" -v no="$N_ONE" -v pw="$P_W" -v sw="$S_W" -v yw="$Y_W" -v pr="$P_R" -v sr="$S_R" -v yr="$Y_R" -v rules="$RULES" 'BEGIN {
	p = nm / pw; s = nm / sw; y = no / yw
	printf "\nexhunt parse-only           %8.0f events/s  (%d events, best %.2fs, RSS %.1f MB)\n", p, nm, pw, pr / 1024
	printf "exhunt + SigmaHQ windows    %8.0f events/s  (%s rules, best %.2fs, RSS %.1f MB)\n", s, rules, sw, sr / 1024
	printf "python-evtx parse-only      %8.0f events/s  (%d events, %.2fs, RSS %.1f MB)\n", y, no, yw, yr / 1024
	printf "ratio rules/parse-only  = %.2f (goal >= 0.5)\n", s / p
	printf "ratio rules/python-evtx = %.0f (goal >= 100)\n", s / y
}'
