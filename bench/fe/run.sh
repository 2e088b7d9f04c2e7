#!/usr/bin/env bash
# Benchmark of fe-archive + fe-fetch against the seed guide's way
# (ssh "tar -czf ... -C <fe> ." then scp) on the same FE folder, over the
# test bed's local OpenSSH sshd (loopback, so the numbers are CPU and disk,
# not network). meta/bdb gets SIZE_MIB of random .jdb files of FILE_MIB each
# (random, so gzip cannot cheat). Peak memory is the max RSS of the local
# process (our binary, or the ssh/scp client) from GNU time; the remote
# tar/gzip processes run on the "FE host" in both cases.
#
#   bench/fe/run.sh                 # 2 GiB meta/ of 32 MiB .jdb files, 1 round
#   SIZE_MIB=512 ROUNDS=3 bench/fe/run.sh
#   EXTRA="--gzip-level 1" bench/fe/run.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
SIZE_MIB=${SIZE_MIB:-2048}
FILE_MIB=${FILE_MIB:-32}
ROUNDS=${ROUNDS:-1}
read -ra extra <<<"${EXTRA:-}"

bench_init fe
echo "building the tasks; starting sshd in $WORK" >&2
build_tasks
fe="$WORK/fe host/opt/starrocks/fe" # a space, on purpose
start_sshd "$fe"

echo "writing $SIZE_MIB MiB of .jdb files ($FILE_MIB MiB each) into $fe/meta/bdb" >&2
n=$((SIZE_MIB / FILE_MIB))
for i in $(seq 16 $((16 + n - 1))); do
	head -c "${FILE_MIB}M" /dev/urandom >"$fe/meta/bdb/$(printf '%08x' "$i").jdb"
done
cat "$fe"/meta/bdb/*.jdb >/dev/null # both ways read from the page cache
du -sh "$fe/meta" >&2

ssh_opts=(-i "$SRB_SSH_KEY_FILE" -o "UserKnownHostsFile=$SRB_SSH_KNOWN_HOSTS" -o BatchMode=yes)
remote=$WORK/remote # the "FE host"'s folder for the archives
local_dir=$WORK/local
mkdir -p "$remote" "$local_dir"

for round in $(seq "$ROUNDS"); do
	echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	# Ours: archive on the host, then fetch (checked against the archive's sha256).
	rm -f "$remote"/* "$local_dir"/*
	measure "fe-archive" "$BIN/fe-archive" --fe-dir "$fe" --remote-archive "$remote/fe.tar.gz" "${extra[@]}"
	sha=$(sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' "$WORK/logs/fe-archive.out")
	gzip_jobs=$(sed -n 's/.*"gzip_jobs":\([0-9]*\).*/\1/p' "$WORK/logs/fe-archive.out")
	size=$(stat -c %s "$remote/fe.tar.gz")
	measure "fe-fetch" "$BIN/fe-fetch" --remote-path "$remote/fe.tar.gz" --local-path "$local_dir/fe.tar.gz" --sha256 "$sha" --remove-remote

	# The seed guide's way, on the same folder: tar of the whole folder, then scp.
	rm -f "$remote"/* "$local_dir"/*
	measure "seed-ssh-tar" ssh "${ssh_opts[@]}" -p "$SRB_SSH_PORT" "$SRB_SSH_USER@$SRB_SSH_HOST" \
		"tar -czf '$remote/seed.tar.gz' -C '$fe' ."
	seed_size=$(stat -c %s "$remote/seed.tar.gz")
	measure "seed-scp" scp "${ssh_opts[@]}" -q -P "$SRB_SSH_PORT" "$SRB_SSH_USER@$SRB_SSH_HOST:$remote/seed.tar.gz" "$local_dir/seed.tar.gz"
	rm -f "$remote"/* "$local_dir"/*
done

echo
echo "meta/: $SIZE_MIB MiB in $n .jdb files of $FILE_MIB MiB (random); archive $size bytes (gzip jobs: $gzip_jobs), seed archive $seed_size bytes; $(nproc) CPUs; rounds: $ROUNDS"
echo
echo "| step | wall time (s) | peak RSS of the local process (MiB) |"
echo "|---|---|---|"
for step in fe-archive fe-fetch seed-ssh-tar seed-scp; do
	awk -v s="$step" '$1 == s { t += $2; if ($3 > r) r = $3; n++ } END { if (n) printf "| %s | %.1f | %.0f |\n", s, t / n, r / 1024 }' "$RESULTS"
done
awk -v rounds="$ROUNDS" '$1 ~ /^fe-/ { o += $2 } $1 ~ /^seed-/ { s += $2 } END { printf "| **ours: archive + fetch** | %.1f | |\n| **seed: tar + scp** | %.1f | |\n", o / rounds, s / rounds }' "$RESULTS"
