#!/usr/bin/env bash
# Benchmark: exhunt's pure-Go YARA engine against the yara CLI (libyara,
# Debian 4.2.3), same rules, same files, same two cores. See bench/README.md.
#
#   bench/yara.sh                   # web-shell corpus repeated to >= 500 MB, 3 runs
#   MB=1000 RUNS=5 bench/yara.sh
set -euo pipefail

cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MB=${MB:-500}
RUNS=${RUNS:-3}
OUT=bench/out/yara
DATA=$OUT/data
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

if ! [ -d "$SHARED/corpus" ] || ! [ -d "$SHARED/signature-base/yara" ]; then
	echo "needs $SHARED/corpus and $SHARED/signature-base (set SHARED=...)" >&2
	exit 2
fi
command -v yara >/dev/null || need_apt yara
[ -x /usr/bin/time ] || need_apt time

echo "== build"
go build -o "$OUT/exhunt" ./cmd/exhunt

# The signature-base web-shell and Exchange rule files (issue 4's list).
RULES=()
while IFS= read -r f; do RULES+=("$f"); done < <(
	find "$SHARED/signature-base/yara" -maxdepth 1 -type f \( -name 'apt_hafnium*.yar' -o -name '*webshell*.yar' \
		-o -name 'expl_proxy*.yar' -o -name 'thor-webshells.yar' -o -name 'gen_cn_webshells.yar' \) | sort)
YARGS=()
for r in "${RULES[@]}"; do YARGS+=(--yara "$r"); done
echo "${#RULES[@]} rule files"

echo "== data: web-shell corpus (pos + neg) repeated to >= $MB MB"
if [ "$(cat "$OUT/data.mb" 2>/dev/null)" != "$MB" ]; then
	rm -rf "$DATA"
	mkdir -p "$DATA/c0"
	cp -r "$SHARED/corpus/pos/webshell" "$DATA/c0/pos"
	cp -r "$SHARED/corpus/neg/webshell" "$DATA/c0/neg"
	one=$(du -sb "$DATA/c0" | cut -f1)
	copies=$(((MB * 1000000 + one - 1) / one))
	for c in $(seq 1 $((copies - 1))); do cp -r "$DATA/c0" "$DATA/c$c"; done
	echo "$MB" >"$OUT/data.mb"
fi
BYTES=$(du -sb "$DATA" | cut -f1)
FILES=$(find "$DATA" -type f | wc -l)
echo "$FILES files, $BYTES bytes"


rm -f "$OUT"/*.times
find "$DATA" -type f -exec cat {} + >/dev/null
for i in $(seq "$RUNS"); do
	echo "== run $i/$RUNS"
	# exhunt: the real file hunt (walk, hash, heuristics, YARA), with only
	# the signature-base rules as YARA rules (no embedded pack), every hit kept.
	timed exhunt "0 1" "$OUT/exhunt" hunt --no-progress --no-sigma-pack --no-yara-pack --max-per-detector -1 \
		--format jsonl "${YARGS[@]}" "$DATA"
	# The external variables signature-base declares; the yara CLI can only
	# set them globally (exhunt sets them per file, as LOKI does).
	timed yara "0" yara -w -p 2 -r -d filename= -d filepath= -d extension= -d filetype= -d owner= "${RULES[@]}" "$DATA"
done

# Match sets: (rule, file) pairs of the signature-base rules.
python3 - "$OUT" "$DATA" <<'PYEOF'
import json, os, sys
out, data = sys.argv[1], os.path.abspath(sys.argv[2])
ex = set()
for l in open(os.path.join(out, "exhunt.out")):
    d = json.loads(l)
    rf = d.get("rule_file", "")
    if rf and not rf.startswith("pack:") and ":" in d.get("rule", ""):
        ex.add((d["rule"].rsplit(":", 1)[1], os.path.normpath(os.path.join(data, d["evidence"]["path"]))))
ya = set()
for l in open(os.path.join(out, "yara.out")):
    r, f = l.rstrip("\n").split(" ", 1)
    ya.add((r, os.path.normpath(os.path.abspath(f))))
same = ex == ya
print(f"matches: exhunt {len(ex)}, yara {len(ya)}, identical: {'yes' if same else 'NO'}")
for x in sorted(ex - ya)[:10]: print("  only exhunt:", *x)
for x in sorted(ya - ex)[:10]: print("  only yara:  ", *x)
open(os.path.join(out, "identical"), "w").write("yes" if same else "no")
PYEOF

read -r E_W E_R < <(best exhunt)
read -r Y_W Y_R < <(best yara)
awk -v b="$BYTES" -v ew="$E_W" -v yw="$Y_W" -v er="$E_R" -v yr="$Y_R" -v same="$(cat "$OUT/identical")" 'BEGIN {
	e = b / 1e6 / ew; y = b / 1e6 / yw
	printf "\nexhunt hunt (walk+hash+heuristics+YARA)  best %.2fs  %.0f MB/s  RSS %.0f MB\n", ew, e, er / 1024
	printf "yara -p 2 -r                             best %.2fs  %.0f MB/s  RSS %.0f MB\n", yw, y, yr / 1024
	printf "throughput ratio exhunt/yara = %.2f (goal >= 1.0); identical matches: %s\n", e / y, same
}'
