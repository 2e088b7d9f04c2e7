#!/usr/bin/env bash
# Benchmark of fe-archive + fe-fetch against the seed guide's way
# (ssh "tar -czf ... -C <fe> ." then scp) on the same FE folder, over the
# test bed's local OpenSSH sshd (loopback, so the numbers are CPU and disk,
# not network). meta/bdb gets SIZE_MIB of random .jdb files of FILE_MIB each
# (random, so gzip cannot cheat). Peak memory is the max RSS of the local
# process (our binary, or the ssh/scp client) from /usr/bin/time -v; the
# remote tar/gzip processes run on the "FE host" in both cases.
#
#   bench/fe/run.sh                 # 2 GiB meta/ of 32 MiB .jdb files, 1 round
#   SIZE_MIB=512 ROUNDS=3 bench/fe/run.sh
#   EXTRA="--gzip-level 1" bench/fe/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=${SIZE_MIB:-2048}
FILE_MIB=${FILE_MIB:-32}
ROUNDS=${ROUNDS:-1}
EXTRA=${EXTRA:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/srb-bench-fe.XXXXXX")
sshd_pid=""
cleanup() {
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null && wait "$sshd_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "building into $work/bin" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/bin/" ./tasks/fe-archive ./tasks/fe-fetch ./bench/fe/sshd

fe="$work/fe host/opt/starrocks/fe"
"$work/bin/sshd" -dir "$work/sshd" -env "$work/sshd.env" -fixture "$fe" >&2 &
sshd_pid=$!
for _ in $(seq 100); do [ -s "$work/sshd.env" ] && break; sleep 0.1; done
[ -s "$work/sshd.env" ] || { echo "sshd did not start" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$work/sshd.env"
set +a

echo "writing $SIZE_MIB MiB of .jdb files ($FILE_MIB MiB each) into $fe/meta/bdb" >&2
n=$((SIZE_MIB / FILE_MIB))
for i in $(seq 16 $((16 + n - 1))); do
	head -c "${FILE_MIB}M" /dev/urandom >"$fe/meta/bdb/$(printf '%08x' "$i").jdb"
done
cat "$fe"/meta/bdb/*.jdb >/dev/null # both ways read from the page cache
du -sh "$fe/meta" >&2

ssh_opts=(-i "$SRB_SSH_KEY_FILE" -o "UserKnownHostsFile=$SRB_SSH_KNOWN_HOSTS" -o BatchMode=yes)
local_dir="$work/local"
mkdir -p "$local_dir"

# measure NAME CMD...: runs CMD under /usr/bin/time -v, prints "NAME seconds maxrss_kib".
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/time.txt" "$@" >"$work/out.txt" 2>"$work/err.txt" || {
		echo "$name failed:" >&2
		tail -5 "$work/err.txt" "$work/out.txt" >&2
		exit 1
	}
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
	# wall is m:ss.cc or h:mm:ss
	wall=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
	echo "$name $wall $rss"
}

results="$work/results.txt"
: >"$results"
for round in $(seq "$ROUNDS"); do
	echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	# Ours: archive on the host, then fetch (checked against the archive's sha256).
	rm -f /tmp/srb-bench-fe.tar.gz "$local_dir"/*
	# shellcheck disable=SC2086
	measure "fe-archive" "$work/bin/fe-archive" --fe-dir "$fe" --remote-archive /tmp/srb-bench-fe.tar.gz $EXTRA >>"$results"
	sha=$(sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' "$work/out.txt")
	jobs=$(sed -n 's/.*"gzip_jobs":\([0-9]*\).*/\1/p' "$work/out.txt")
	size=$(stat -c %s /tmp/srb-bench-fe.tar.gz)
	measure "fe-fetch" "$work/bin/fe-fetch" --remote-path /tmp/srb-bench-fe.tar.gz --local-path "$local_dir/fe.tar.gz" --sha256 "$sha" --remove-remote >>"$results"

	# The seed guide's way, on the same folder: tar of the whole folder, then scp.
	rm -f /tmp/srb-bench-seed.tar.gz "$local_dir"/*
	measure "seed-ssh-tar" ssh "${ssh_opts[@]}" -p "$SRB_SSH_PORT" "$SRB_SSH_USER@$SRB_SSH_HOST" \
		"tar -czf /tmp/srb-bench-seed.tar.gz -C '$fe' ." >>"$results"
	seed_size=$(stat -c %s /tmp/srb-bench-seed.tar.gz)
	measure "seed-scp" scp "${ssh_opts[@]}" -q -P "$SRB_SSH_PORT" "$SRB_SSH_USER@$SRB_SSH_HOST:/tmp/srb-bench-seed.tar.gz" "$local_dir/seed.tar.gz" >>"$results"
	rm -f /tmp/srb-bench-seed.tar.gz "$local_dir"/*
done

echo
echo "meta/: $SIZE_MIB MiB in $n .jdb files of $FILE_MIB MiB (random); archive $size bytes (gzip jobs: $jobs), seed archive $seed_size bytes; $(nproc) CPUs; rounds: $ROUNDS"
echo
echo "| step | wall time (s) | peak RSS of the local process (MiB) |"
echo "|---|---|---|"
for step in fe-archive fe-fetch seed-ssh-tar seed-scp; do
	awk -v s="$step" '$1 == s { t += $2; if ($3 > r) r = $3; n++ } END { if (n) printf "| %s | %.1f | %.0f |\n", s, t / n, r / 1024 }' "$results"
done
awk '$1 ~ /^fe-/ { o += $2 } $1 ~ /^seed-/ { s += $2 } END { printf "| **ours: archive + fetch** | %.1f | |\n| **seed: tar + scp** | %.1f | |\n", o / '"$ROUNDS"', s / '"$ROUNDS"' }' "$results"
