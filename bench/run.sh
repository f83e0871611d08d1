#!/usr/bin/env bash
# Benchmark: exhunt hunt against ripgrep over the same >= 1 GB of generated
# IIS + HttpProxy logs. See bench/README.md.
#
#   bench/run.sh                 # 1 GiB, 3 warm runs each
#   SIZE=4GiB RUNS=5 bench/run.sh
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-3}
OUT=bench/out
DATA=$OUT/data
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v rg >/dev/null || need_apt ripgrep
[ -x /usr/bin/time ] || need_apt time

echo "== build"
go build -o "$OUT/exhunt" ./cmd/exhunt

echo "== data ($SIZE)"
if [ -d "$DATA" ] && [ "$(cat "$OUT/data.size" 2>/dev/null)" = "$SIZE" ]; then
	echo "reusing $DATA"
else
	rm -rf "$DATA" "$OUT/data.size" "$OUT/data.planted.tsv"
	go run ./cmd/exhunt-samples -bench-size "$SIZE" -out "$DATA"
	echo "$SIZE" >"$OUT/data.size"
fi
BYTES=$(find "$DATA" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

echo "== patterns"
"$OUT/exhunt" rules keywords >"$OUT/patterns.txt"
echo "$(wc -l <"$OUT/patterns.txt") literal patterns in $OUT/patterns.txt"


rm -f "$OUT"/exhunt.times "$OUT"/rg.times
echo "== warm-up"
find "$DATA" -type f -exec cat {} + >/dev/null
for i in $(seq "$RUNS"); do
	echo "== run $i/$RUNS"
	# exhunt exits 1 when it finds something (it should: hits are planted).
	timed exhunt "0 1" "$OUT/exhunt" hunt "$DATA" --format jsonl
	# rg exits 0 when it matches, 1 when it does not.
	timed rg "0 1" rg -F -i -c -f "$OUT/patterns.txt" "$DATA"
done

read -r EX_WALL EX_RSS_ < <(best exhunt)
read -r RG_WALL RG_RSS_ < <(best rg)
EX_RSS=$(awk '{print $2}' "$OUT/exhunt.times" | sort -n | tail -1)
RG_RSS=$(awk '{print $2}' "$OUT/rg.times" | sort -n | tail -1)

awk -v b="$BYTES" -v ew="$EX_WALL" -v rw="$RG_WALL" -v er="$EX_RSS" -v rr="$RG_RSS" 'BEGIN {
	em = b / 1e6 / ew; rm = b / 1e6 / rw
	printf "\ninput            %d bytes (%.2f GiB)\n", b, b / 2^30
	printf "exhunt hunt      best %.2fs  %.0f MB/s  peak RSS %.1f MB\n", ew, em, er / 1024
	printf "rg -F -i -c -f   best %.2fs  %.0f MB/s  peak RSS %.1f MB\n", rw, rm, rr / 1024
	printf "throughput ratio exhunt/rg = %.2f (goal >= 1.0); exhunt RSS goal < 200 MB: %s\n", em / rm, (er / 1024 < 200 ? "met" : "NOT met")
}'
