#!/usr/bin/env bash
# Benchmark: s3-upload / s3-download of one file against a local MinIO,
# next to `mc cp` on the same file and server, alternating runs.
#   bench/s3xfer.sh [SIZE_MIB=1024] [RUNS=3]
# Prints the load average, then a Markdown table: median wall time, peak
# RSS, median CPU seconds of the tool and of the MinIO server, throughput.
# s3-upload runs twice: with --sha256 (the digest known in advance, as the
# DAGs pass fe-fetch's: hashed while sent) and without (hashed first);
# s3-download twice: at the defaults and with one range at a time, as mc.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
bench_init s3xfer
export MC_CONFIG_DIR=$WORK/mc # keep mc away from ~/.mc
build_tasks
need_tools minio mc
start_minio m
"$TOOLS/mc" mb -q m/bench >/dev/null

head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/file"
sum=$(sha256sum "$WORK/file" | cut -d' ' -f1)
export SRB_S3_ENDPOINT=${MINIO_URL[m]} SRB_S3_ACCESS_KEY=${MINIO_AK[m]} SRB_S3_SECRET_KEY=${MINIO_SK[m]} SRB_S3_BUCKET=bench
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# download LABEL CMD...: measures a download into $WORK/down, checks its
# bytes and removes it, so that every download starts with the same page
# cache (the previous download's gigabyte just freed). Each download reads
# an object no download read before (the server's cache the same for all).
download() {
	local label=$1
	shift
	measure "$label" "$@" "$WORK/down"
	cmp -s "$WORK/file" "$WORK/down" || die "$label: downloaded bytes differ"
	rm -f "$WORK/down"
}
for i in $(seq "$RUNS"); do
	measure "s3-upload-sha256" "$BIN/s3-upload" --key "srb/$i" --local-path "$WORK/file" --sha256 "$sum"
	measure "s3-upload" "$BIN/s3-upload" --key "srb-hashed-first/$i" --local-path "$WORK/file"
	measure "mc-cp-upload" "$TOOLS/mc" cp -q "$WORK/file" "m/bench/mc/$i"
	download "s3-download" "$BIN/s3-download" --key "srb/$i" --local-path
	download "s3-download-c1" "$BIN/s3-download" --key "srb-hashed-first/$i" --concurrency 1 --local-path
	download "mc-cp-download" "$TOOLS/mc" cp -q "m/bench/mc/$i"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file: ${SIZE_MIB} MiB random, ${RUNS} alternating runs, loopback MinIO, $(nproc) cores"
summary bytes=$((SIZE_MIB << 20))
