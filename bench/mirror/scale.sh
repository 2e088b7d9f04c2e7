#!/usr/bin/env bash
# Benchmarks of mirror at the size of a real cluster (issue 11): parallel
# listing, listing CPU, parallel parts and shards. Results (markdown) go to
# $WORK/results.md and stdout; see docs/benchmarks.md.
#
#   bench/mirror/scale.sh                                 # every section (about 40 minutes on 2 cores)
#   SECTIONS=listsim KEYS=200000 ROUNDS=1 bench/mirror/scale.sh   # a quick look
#
# Sections (SECTIONS, run in the order given):
#   listsim  a no-change re-run between two bench/listsim endpoints serving
#            the same KEYS keys with DELAY per request: mirror (default
#            --list-workers), mirror --list-workers 1, the mirror of $BASE
#            (one sequential listing per side through minio-go) and
#            mc mirror; CPU per listed object and peak RSS
#   minio    a no-change re-run between two MinIO servers holding
#            MINIO_OBJECTS small objects: mirror, $BASE's mirror, mc mirror
#   parts    one PART_MIB MiB object between two MinIO servers, both behind
#            latproxy (PART_DELAY a request, PART_RATE per connection and
#            direction): mirror --part-workers 8 (the default) against 1
#   shards   SHARD_OBJECTS small objects between two MinIO servers behind
#            latproxy (SHARD_DELAY): 4 shards (--plan 4, the four run at
#            once) against one process, each with --workers SHARD_WORKERS
#
# Knobs (environment): the sizes above; ROUNDS (3) alternating rounds of
# listsim and minio; BASE (main), the git ref whose mirror is the
# sequential baseline; WORK (/tmp/srb-bench-scale), wiped at start and kept.
#
# Everything below is a function and the last line runs main, then exits:
# bash has read the whole file before the run starts, so editing this file
# during a run cannot break the run.

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
SECTIONS=${SECTIONS:-"listsim minio parts shards"}
ROUNDS=${ROUNDS:-3}
BASE=${BASE:-main}
KEYS=${KEYS:-1000000}
DELAY=${DELAY:-20ms}
MINIO_OBJECTS=${MINIO_OBJECTS:-100000}
PART_MIB=${PART_MIB:-2048}
PART_DELAY=${PART_DELAY:-20ms}
PART_RATE=${PART_RATE:-32MiB}
SHARD_OBJECTS=${SHARD_OBJECTS:-4000}
SHARD_DELAY=${SHARD_DELAY:-20ms}
SHARD_WORKERS=${SHARD_WORKERS:-4}

setup() {
	bench_init scale "${WORK:-/tmp/srb-bench-scale}"
	echo "building the tasks, $BASE's mirror and the helpers; installing missing tools" >&2
	build_tasks
	need_tools minio mc
	build_helpers ./bench/listsim ./bench/mirror/gentree ./bench/mirror/latproxy
	mkdir -p "$WORK/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
	(cd "$WORK/base" && CGO_ENABLED=0 go build -trimpath -o "$WORK/bin/mirror-base" ./tasks/mirror)
	MIRROR=$BIN/mirror BASE_MIRROR=$WORK/bin/mirror-base MC=$TOOLS/mc
	export MC_CONFIG_DIR=$WORK/mc
	: >"$WORK/load"
}

# run_measured LABEL CMD...: lib.sh's measure, the load average beside it,
# and a progress line on stderr.
run_measured() {
	local label=$1 load
	shift
	load=$(cut -d' ' -f1 /proc/loadavg)
	measure "$label" "$@"
	echo "$label $load" >>"$WORK/load"
	printf '%-28s %8.2fs %6d MiB  cpu %7.2fs  load %s\n' "$label" "$SECS" "$((RSS_KIB / 1024))" "$CPU" "$load" >&2
}

# field LABEL NAME: a field of the JSON result line of a measured run.
field() {
	python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1]).get(sys.argv[2], ""))' \
		"$WORK/logs/${1// /-}.out" "$2"
}

# want_field LABEL NAME VALUE: stops the benchmark unless the run's result
# says NAME=VALUE (a run that did not do the work measures nothing).
want_field() {
	local got
	got=$(field "$1" "$2")
	[ "$got" = "$3" ] || die "$1: $2 is '$got', want '$3' (see $WORK/logs/${1// /-}.out)"
}

# sides SRC_URL SRC_AK SRC_SK DST_URL DST_AK DST_SK: points mirror and mc
# (aliases s and t) at two endpoints.
sides() {
	export SRB_SOURCE_ENDPOINT=$1 SRB_SOURCE_ACCESS_KEY=$2 SRB_SOURCE_SECRET_KEY=$3
	export SRB_TARGET_ENDPOINT=$4 SRB_TARGET_ACCESS_KEY=$5 SRB_TARGET_SECRET_KEY=$6
	export MC_HOST_s="http://$2:$3@${1#http://}" MC_HOST_t="http://$5:$6@${4#http://}"
}

# proxy NAME URL DELAY [RATE]: a latproxy in front of URL; sets PROXY_URL.
proxy() {
	local port
	port=$(free_port)
	bench_bg "$WORK/bin/latproxy" -listen "127.0.0.1:$port" -upstream "$2" -delay "$3" -rate "${4:-0}" >"$WORK/logs/latproxy-$1.log" 2>&1
	PROXY_URL=http://127.0.0.1:$port
	wait_for "latproxy $1" curl -sf "$PROXY_URL/minio/health/ready"
}

# tree_totals ALIAS/BUCKET/PREFIX: "objects bytes" under it.
tree_totals() {
	"$MC" ls --recursive --json "$1" |
		python3 -c 'import json, sys; s = [json.loads(l)["size"] for l in sys.stdin]; print(len(s), sum(s))'
}

gentree() { # SERVER BUCKET OBJECTS: small objects (at most 4 KiB data files) under PREFIX starrocks
	GEN_ACCESS_KEY=${MINIO_AK[$1]} GEN_SECRET_KEY=${MINIO_SK[$1]} "$WORK/bin/gentree" -endpoint "${MINIO_URL[$1]}" \
		-bucket "$2" -prefix starrocks -objects "$3" -max-data 4096 -big "" >&2
}

# A no-change pair of KEYS keys at DELAY a request: listing only.
section_listsim() {
	local pa pb r i tools=(mirror lw1 base mc) tool label
	pa=$(free_port)
	pb=$(free_port)
	bench_bg "$WORK/bin/listsim" -addr "127.0.0.1:$pa" -keys "$KEYS" -delay "$DELAY" 2>"$WORK/logs/listsim-a.log"
	bench_bg "$WORK/bin/listsim" -addr "127.0.0.1:$pb" -keys "$KEYS" -delay "$DELAY" 2>"$WORK/logs/listsim-b.log"
	wait_for "listsim a" curl -sf -o /dev/null "http://127.0.0.1:$pa/src?max-keys=1"
	wait_for "listsim b" curl -sf -o /dev/null "http://127.0.0.1:$pb/dst?max-keys=1"
	sides "http://127.0.0.1:$pa" sim sim-secret "http://127.0.0.1:$pb" sim sim-secret
	for r in $(seq "$ROUNDS"); do
		for i in 0 1 2 3; do
			tool=${tools[$(((i + r - 1) % 4))]}
			label="listsim $tool"
			case $tool in
			mirror) run_measured "$label" "$MIRROR" --source src --target dst --progress-interval 0 ;;
			lw1) run_measured "$label" "$MIRROR" --source src --target dst --progress-interval 0 --list-workers 1 ;;
			base) run_measured "$label" "$BASE_MIRROR" --source src --target dst --progress-interval 0 ;;
			mc) run_measured "$label" "$MC" mirror --overwrite --quiet s/src t/dst ;;
			esac
			if [ "$tool" != mc ]; then
				want_field "$label" listed "$KEYS"
				want_field "$label" copied 0
			fi
		done
	done
}

# A no-change re-run between two MinIO servers.
section_minio() {
	local r i tools=(mirror base mc) tool label
	start_minio ma
	start_minio mb
	echo "writing $MINIO_OBJECTS objects, then the first copy" >&2
	gentree ma src "$MINIO_OBJECTS"
	"$MC" mb --quiet mb/dst >/dev/null
	sides "${MINIO_URL[ma]}" "${MINIO_AK[ma]}" "${MINIO_SK[ma]}" "${MINIO_URL[mb]}" "${MINIO_AK[mb]}" "${MINIO_SK[mb]}"
	run_measured "minio first copy" "$MIRROR" --source src/starrocks --target dst/starrocks --progress-interval 0
	want_field "minio first copy" copied "$MINIO_OBJECTS"
	for r in $(seq "$ROUNDS"); do
		for i in 0 1 2; do
			tool=${tools[$(((i + r - 1) % 3))]}
			label="minio $tool"
			case $tool in
			mirror) run_measured "$label" "$MIRROR" --source src/starrocks --target dst/starrocks --progress-interval 0 ;;
			base) run_measured "$label" "$BASE_MIRROR" --source src/starrocks --target dst/starrocks --progress-interval 0 ;;
			mc) run_measured "$label" "$MC" mirror --overwrite --quiet s/src/starrocks t/dst/starrocks ;;
			esac
			if [ "$tool" != mc ]; then
				want_field "$label" copied 0
			fi
		done
	done
	stop_minio ma
	stop_minio mb
}

# One large object through bandwidth-limited connections.
section_parts() {
	local w src dst
	start_minio pa
	start_minio pb
	echo "writing one $PART_MIB MiB object" >&2
	"$MC" mb --quiet pa/src >/dev/null
	head -c "${PART_MIB}M" /dev/urandom | "$MC" pipe --quiet pa/src/starrocks/seg.dat >/dev/null
	proxy pa "${MINIO_URL[pa]}" "$PART_DELAY" "$PART_RATE"
	src=$PROXY_URL
	proxy pb "${MINIO_URL[pb]}" "$PART_DELAY" "$PART_RATE"
	dst=$PROXY_URL
	sides "$src" "${MINIO_AK[pa]}" "${MINIO_SK[pa]}" "$dst" "${MINIO_AK[pb]}" "${MINIO_SK[pb]}"
	for w in 8 1; do
		"$MC" mb --quiet "pb/parts-$w" >/dev/null
		run_measured "parts --part-workers $w" "$MIRROR" --source src/starrocks --target "parts-$w/starrocks" --part-workers "$w" --progress-interval 0
		want_field "parts --part-workers $w" bytes "$((PART_MIB << 20))"
		"$MC" rb --force --quiet "pb/parts-$w" >/dev/null
	done
	stop_minio pa
	stop_minio pb
}

# Small objects behind latency: 4 shards at once against one process.
section_shards() {
	local src dst ranges want
	start_minio sa
	start_minio sb
	gentree sa src "$SHARD_OBJECTS"
	want=$(tree_totals sa/src/starrocks)
	proxy sa "${MINIO_URL[sa]}" "$SHARD_DELAY"
	src=$PROXY_URL
	proxy sb "${MINIO_URL[sb]}" "$SHARD_DELAY"
	dst=$PROXY_URL
	sides "$src" "${MINIO_AK[sa]}" "${MINIO_SK[sa]}" "$dst" "${MINIO_AK[sb]}" "${MINIO_SK[sb]}"
	"$MC" mb --quiet sb/one sb/four >/dev/null
	run_measured "shards 1 process" "$MIRROR" --source src/starrocks --target one/starrocks --workers "$SHARD_WORKERS" --progress-interval 0
	[ "$(tree_totals sb/one/starrocks)" = "$want" ] || die "one process copied $(tree_totals sb/one/starrocks), want $want"
	run_measured "shards plan" "$MIRROR" --source src/starrocks --target four/starrocks --plan 4
	mapfile -t ranges < <(field "shards plan" ranges | python3 -c 'import ast, sys; print("\n".join(ast.literal_eval(sys.stdin.read())))')
	[ "${#ranges[@]}" = 4 ] || die "the plan holds ${#ranges[@]} ranges, want 4"
	# The shards run at once, as Airflow's mapped tasks would; the run
	# fails if any does.
	cat >"$WORK/shards.sh" <<'SH'
m=$1 workers=$2
shift 2
pids=()
for r in "$@"; do
	"$m" --source src/starrocks --target four/starrocks --workers "$workers" --key-range "$r" --progress-interval 0 >/dev/null &
	pids+=("$!")
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit "$rc"
SH
	run_measured "shards 4 processes" bash "$WORK/shards.sh" "$MIRROR" "$SHARD_WORKERS" "${ranges[@]}"
	[ "$(tree_totals sb/four/starrocks)" = "$want" ] || die "four shards copied $(tree_totals sb/four/starrocks), want $want"
	stop_minio sa
	stop_minio sb
}

# stop_minio NAME: stops a server of start_minio (its data stays in $WORK).
stop_minio() {
	kill "${MINIO_PID[$1]}" 2>/dev/null || true
	wait "${MINIO_PID[$1]}" 2>/dev/null || true
	unset "MINIO_PID[$1]"
}

main() {
	setup
	local s
	for s in $SECTIONS; do
		case $s in
		listsim) section_listsim ;;
		minio) section_minio ;;
		parts) section_parts ;;
		shards) section_shards ;;
		*) die "no such section: $s (listsim, minio, parts, shards)" ;;
		esac
	done
	python3 "$ROOT/bench/mirror/scale_report.py" "$RESULTS" "$WORK/load" "$KEYS" "$DELAY" "$MINIO_OBJECTS" "$PART_MIB" |
		tee "$WORK/results.md"
}

main "$@"; exit
