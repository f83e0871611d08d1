#!/usr/bin/env bash
# Benchmark: exhunt probe against zgrab2's http module, on the same simulated
# Exchange fleet (exhunt-sim, loopback only), at the same concurrency and the
# same per-host deadline. See bench/README.md.
#
#   bench/probe.sh                          # 30,000 hosts, 1 % and 5 % tarpits, 1 run each
#   N=30000 TARPITS="0.01 0.05" RUNS=3 C=500 HOST_TIMEOUT=10s bench/probe.sh
#
# zgrab2 is built in a throw-away module under bench/out (never committed):
# go get github.com/zmap/zgrab2@v1.0.0, as engines.md records.
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-30000}
TARPITS=${TARPITS:-0.01 0.05}
RUNS=${RUNS:-1}
C=${C:-500}
HOST_TIMEOUT=${HOST_TIMEOUT:-10s}
SEED=${SEED:-1}
SCENARIO=${SCENARIO:-mixed}
OUT=bench/out/probe
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
[ -x /usr/bin/time ] || need_apt time
command -v python3 >/dev/null || need_apt python3

echo "== build"
go build -o "$OUT/exhunt" ./cmd/exhunt
go build -o "$OUT/exhunt-sim" ./cmd/exhunt-sim
ZG=$OUT/zgrab2
if ! [ -x "$ZG" ]; then
	echo "== build zgrab2 v1.0.0 in a throw-away module (about a minute)"
	rm -rf "$OUT/zgrab2-mod" && mkdir -p "$OUT/zgrab2-mod"
	(cd "$OUT/zgrab2-mod" && go mod init zgrab2bench >/dev/null 2>&1 &&
		go get github.com/zmap/zgrab2/cmd/zgrab2@v1.0.0 github.com/zmap/zgrab2/modules/redis@v1.0.0 >/dev/null 2>&1 &&
		go build -o ../zgrab2 github.com/zmap/zgrab2/cmd/zgrab2)
fi
: >"$OUT/zgrab2-blocklist.conf" # zgrab2 insists on a blocklist file; ours is empty (all targets are 127.x)

SIM_PID=""
stop_sim() {
	if [ -n "$SIM_PID" ]; then
		kill "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=""
	fi
}
trap stop_sim EXIT

# score TRUTH RESULTS: complete results and verdict accuracy against the
# simulator's ground truth (decidable hosts only, as the accuracy test).
score() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
truth = {}
for line in open(sys.argv[1]):
    h = json.loads(line)
    truth[h["addr"]] = h["expect"]
seen, wrong, decidable, durs = set(), 0, 0, []
for line in open(sys.argv[2]):
    r = json.loads(line)
    t = r["target"]
    seen.add(t)
    durs.append(r.get("duration_ms", 0))
    e = truth.get(t)
    if e is None or not e.get("decidable") or not e.get("answers"):
        continue
    decidable += 1
    got = (r.get("exchange"), r.get("build", ""), r.get("build_precision"),
           {f: v["status"] for f, v in r.get("families", {}).items()})
    want = (e["exchange"], e.get("build", ""), e["precision"], e["families"])
    if got != want:
        wrong += 1
durs.sort()
p99 = durs[int(len(durs) * 0.99) - 1] if durs else 0
missing = len(set(truth) - seen)
print(f"{len(seen)} {missing} {decidable} {wrong} {p99}")
EOF
}

printf '\n%-8s %-7s %8s %9s %9s %9s %s\n' tool tarpit wall_s hosts/s p99_ms rss_MB accuracy >"$OUT/table.txt"
for T in $TARPITS; do
	echo "== fleet: $N hosts, tarpit $T, faults on (seed $SEED, scenario $SCENARIO)"
	F=$OUT/fleet-$T
	mkdir -p "$F"
	"$OUT/exhunt-sim" -n "$N" -seed "$SEED" -scenario "$SCENARIO" -tarpit "$T" -faults \
		-truth "$F/fleet.jsonl" -targets "$F/targets.txt" >"$F/sim.out" 2>"$F/sim.err" &
	SIM_PID=$!
	for _ in $(seq 1 120); do
		grep -q "^ready" "$F/sim.out" 2>/dev/null && break
		sleep 1
	done
	grep -q "^ready" "$F/sim.out" || { echo "simulator not ready; see $F/sim.err" >&2; exit 1; }
	cut -d: -f1 "$F/targets.txt" >"$F/ips.txt"
	PORT=$(head -1 "$F/targets.txt" | cut -d: -f2)
	rm -f "$OUT/exhunt-$T.times" "$OUT/zgrab2-$T.times"
	for r in $(seq 1 "$RUNS"); do
		echo "-- run $r: exhunt probe -c $C --host-timeout $HOST_TIMEOUT"
		timed "exhunt-$T" "0 1" "$OUT/exhunt" probe -i "$F/targets.txt" -c "$C" --host-timeout "$HOST_TIMEOUT" \
			--no-progress -o "$F/exhunt.jsonl"
		echo "-- run $r: zgrab2 http --senders $C --target-timeout $HOST_TIMEOUT (GET /owa/ over TLS)"
		timed "zgrab2-$T" "0" "$ZG" http --port "$PORT" --use-https --endpoint /owa/ --max-redirects 0 \
			--senders "$C" --connect-timeout 5s --target-timeout "$HOST_TIMEOUT" \
			-b "$OUT/zgrab2-blocklist.conf" -f "$F/ips.txt" -o "$F/zgrab2.jsonl" -m "$F/zgrab2.meta" -l "$F/zgrab2.log"
	done
	stop_sim
	read -r seen missing decidable wrong p99 < <(score "$F/fleet.jsonl" "$F/exhunt.jsonl")
	read -r ew er < <(best "exhunt-$T")
	read -r zw zr < <(best "zgrab2-$T")
	zlines=$(wc -l <"$F/zgrab2.jsonl")
	ehs=$(awk -v n="$N" -v w="$ew" 'BEGIN { printf "%.0f", n / w }')
	zhs=$(awk -v n="$N" -v w="$zw" 'BEGIN { printf "%.0f", n / w }')
	printf '%-8s %-7s %8.1f %9s %9s %9.0f %s\n' exhunt "$T" "$ew" "$ehs" "$p99" "$((er / 1024))" \
		"$((decidable - wrong))/$decidable decidable right, $seen/$N results, $missing missing" >>"$OUT/table.txt"
	printf '%-8s %-7s %8.1f %9s %9s %9.0f %s\n' zgrab2 "$T" "$zw" "$zhs" "-" "$((zr / 1024))" \
		"$zlines/$N results (one GET /owa/, no verdict)" >>"$OUT/table.txt"
	awk -v a="$ehs" -v b="$zhs" -v t="$T" 'BEGIN { printf "ratio    %-7s exhunt/zgrab2 hosts/s = %.2f\n", t, a / b }' >>"$OUT/ratios.txt.$T"
done
cat "$OUT/table.txt"
cat "$OUT"/ratios.txt.* && rm -f "$OUT"/ratios.txt.*
