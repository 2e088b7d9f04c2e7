#!/usr/bin/env bash
# Benchmark: what catalog verify and prune cost on a bucket of backup sets.
# Two local MinIO servers (the cluster's and a versioned off-site one); a
# StarRocks-like tree of OBJECTS small objects; two backup sets made as the
# DAG makes them (s3-upload, mirror --manifest, catalog commit) with a change
# between them (new objects, vacuumed ones, tablet metadata rewritten in
# place); then catalog list, verify, verify --deep, prune --dry-run and prune,
# each timed, with the S3 requests it made (its result's "requests").
#   bench/catalog.sh [OBJECTS=100000]
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
OBJECTS=${1:-100000}
bench_init catalog
export MC_CONFIG_DIR=$WORK/mc
build_tasks
build_helpers ./bench/mirror/gentree
need_tools minio mc
start_minio cluster
start_minio offsite
"$TOOLS/mc" mb -q offsite/starrocks-backup >/dev/null
"$TOOLS/mc" version enable -q offsite/starrocks-backup >/dev/null
GEN_ACCESS_KEY=${MINIO_AK[cluster]} GEN_SECRET_KEY=${MINIO_SK[cluster]} "$WORK/bin/gentree" \
	-endpoint "${MINIO_URL[cluster]}" -bucket starrocks -prefix "" -objects "$OBJECTS" -big "" >/dev/null

# An FE archive with what catalog verify --deep looks for.
mkdir -p "$WORK/fe/meta/image" "$WORK/fe/meta/bdb"
echo "clusterId=1403234520" >"$WORK/fe/meta/image/VERSION"
head -c 4194304 /dev/urandom >"$WORK/fe/meta/image/image.1041"
head -c 10485760 /dev/urandom >"$WORK/fe/meta/bdb/00000000.jdb"
tar -czf "$WORK/fe-meta.tar.gz" -C "$WORK/fe" meta
sum=$(sha256sum "$WORK/fe-meta.tar.gz" | cut -c 1-64)

export SRB_SOURCE_ENDPOINT=${MINIO_URL[cluster]} SRB_SOURCE_ACCESS_KEY=${MINIO_AK[cluster]} SRB_SOURCE_SECRET_KEY=${MINIO_SK[cluster]}
export SRB_TARGET_ENDPOINT=${MINIO_URL[offsite]} SRB_TARGET_ACCESS_KEY=${MINIO_AK[offsite]} SRB_TARGET_SECRET_KEY=${MINIO_SK[offsite]}
export SRB_S3_ENDPOINT=${MINIO_URL[offsite]} SRB_S3_ACCESS_KEY=${MINIO_AK[offsite]} SRB_S3_SECRET_KEY=${MINIO_SK[offsite]}
export SRB_S3_BUCKET=starrocks-backup SRB_LOG_LEVEL=warn

backup() { # backup ID
	local at
	at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	"$BIN/s3-upload" --key "backups/$1/fe-meta.tar.gz" --local-path "$WORK/fe-meta.tar.gz" --sha256 "$sum" >/dev/null
	"$BIN/mirror" --source starrocks --target starrocks-backup/data --manifest "backups/$1/data.jsonl.gz" >/dev/null
	"$BIN/catalog" commit --id "$1" --fe-sha256 "$sum" --fe-archived-at "$at" >/dev/null
}
id1=$(date -u -d '-2 hours' +%Y-%m-%dT%H-%M-%SZ)
id2=$(date -u -d '-1 hours' +%Y-%m-%dT%H-%M-%SZ)
backup "$id1"
# Between the sets: 1% of the objects vacuumed, as many new ones written,
# and every tenth .meta republished in place.
"$TOOLS/mc" ls -r cluster/starrocks | awk '{print $NF}' >"$WORK/keys"
awk 'NR % 100 == 0' "$WORK/keys" | sed 's|^|cluster/starrocks/|' | xargs -n 500 "$TOOLS/mc" rm -q >/dev/null
GEN_ACCESS_KEY=${MINIO_AK[cluster]} GEN_SECRET_KEY=${MINIO_SK[cluster]} "$WORK/bin/gentree" \
	-endpoint "${MINIO_URL[cluster]}" -bucket starrocks -prefix new -objects $((OBJECTS / 100)) -big "" -seed 2 >/dev/null
grep '\.meta$' "$WORK/keys" | awk 'NR % 10 == 0' | while read -r k; do echo "republished" | "$TOOLS/mc" pipe -q "cluster/starrocks/$k" >/dev/null; done
backup "$id2"

for cmd in "list" "verify --id latest" "verify --id latest --deep" "prune --keep-last 1 --dry-run" "prune --keep-last 1"; do
	label="catalog-${cmd%% --*}"
	case $cmd in *--deep*) label="$label-deep" ;; *--dry-run*) label="$label-dry-run" ;; esac
	# shellcheck disable=SC2086 # the command's words
	measure "$label" "$BIN/catalog" $cmd
	requests=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["requests"])' "$WORK/logs/$label.out")
	echo "$label: $requests requests" >>"$WORK/requests"
done
echo "objects: $OBJECTS (+1% between the sets), two sets, versioned off-site MinIO, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2119 # no bytes to report
summary
cat "$WORK/requests"
