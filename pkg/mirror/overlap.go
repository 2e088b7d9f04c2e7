package mirror

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// probeTimeout bounds the deletion of the probe object, which runs even
// when the run is cancelled.
const probeTimeout = 30 * time.Second

// checkOverlap makes sure that the source and the target are not one
// place on one server reached by two names (127.0.0.1 and localhost, a
// DNS alias, a load balancer and a node), which validate cannot see: a
// --remove there would delete the source. Locations whose bucket and
// prefixes cannot share keys on any server need no check. Otherwise a
// probe object is written at the target and looked up through the source
// client: found, the run is refused; absent, the servers are different.
// When the probe cannot tell (it cannot be written, or the lookup fails),
// --remove is refused, saying why; a run without --remove goes on with a
// warning. A dry run writes no probe.
func (r *run) checkOverlap(ctx context.Context) error {
	if !overlaps(r.src, r.dst) {
		return nil
	}
	log := zerolog.Ctx(ctx)
	if r.o.DryRun {
		log.Warn().Msg("source and target have overlapping locations on two endpoints: a dry run writes no probe to tell whether they are one server")
		return nil
	}
	same, err := r.probe(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil && r.o.Remove:
		return fmt.Errorf("--remove: cannot rule out that source %s on %s and target %s on %s are one place on one server: %v; nothing done",
			r.src, r.srcCfg, r.dst, r.dstCfg, err)
	case err != nil:
		log.Warn().Str("error", err.Error()).Msg("cannot tell whether source and target, with overlapping locations, are one server")
	case same:
		return usage.Errorf("source %s on %s and target %s on %s overlap: both endpoints reach the same server (a probe object written at the target was found through the source)",
			r.src, r.srcCfg, r.dst, r.dstCfg)
	}
	return nil
}

// probe writes a random object at the target and reports whether the
// source client finds it, with the same ETag, at the same bucket and key.
// The probe is deleted again, also when the run is cancelled.
func (r *run) probe(ctx context.Context) (bool, error) {
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	key := r.dst.Key(".srb-overlap-probe-" + hex.EncodeToString(token))
	url := "s3://" + r.dst.Bucket + "/" + key
	info, err := r.dstCl.PutObject(ctx, r.dst.Bucket, key, bytes.NewReader(token), int64(len(token)),
		minio.PutObjectOptions{DisableMultipart: true})
	if err != nil {
		return false, s3conf.Explain(err, "write probe object "+url+" at the target")
	}
	defer func() {
		cctx, cancel := taskrun.CleanupContext(ctx, probeTimeout)
		defer cancel()
		if err := r.dstCl.RemoveObject(cctx, r.dst.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			zerolog.Ctx(ctx).Warn().Str("key", key).Str("error", s3conf.Explain(err, "delete probe object "+url).Error()).
				Msg("the overlap probe object could not be deleted")
		}
	}()
	st, err := r.srcCl.StatObject(ctx, r.dst.Bucket, key, minio.StatObjectOptions{})
	switch k := s3conf.KindOf(err); {
	case err == nil:
		return st.Size == int64(len(token)) && NormalizeETag(st.ETag) == NormalizeETag(info.ETag), nil
	case k == s3conf.NoSuchKey || k == s3conf.NoSuchBucket:
		return false, nil
	default:
		return false, s3conf.Explain(err, "look up probe object "+url+" through the source endpoint")
	}
}
