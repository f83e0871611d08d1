# Shared helpers of the bench/ scripts (sourced, not run). OUT must be set.

# need_apt PKG...: installs Debian packages (sudo when not root).
need_apt() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "$@" >/dev/null
}

# timed NAME OKCODES CMD...: runs CMD under /usr/bin/time -v with stdout in
# $OUT/NAME.out and stderr in $OUT/NAME.stderr, fails unless the exit code
# is one of OKCODES, and appends "wall_seconds max_rss_kb" to
# $OUT/NAME.times.
timed() {
	local name=$1 ok=$2 rc=0
	shift 2
	/usr/bin/time -v -o "$OUT/$name.tv" "$@" >"$OUT/$name.out" 2>"$OUT/$name.stderr" || rc=$?
	if ! [[ " $ok " == *" $rc "* ]]; then
		echo "$name exited $rc; see $OUT/$name.stderr" >&2
		exit 1
	fi
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/Maximum resident set size/ { r = $2 }
		END { print w, r }' "$OUT/$name.tv" >>"$OUT/$name.times"
}

# best NAME: the fastest "wall rss" line of $OUT/NAME.times.
best() { sort -n "$OUT/$1.times" | head -1; }
