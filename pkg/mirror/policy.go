package mirror

import (
	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// policy is the run's one retry policy, for every request it makes
// (listings, copies and their parts, HEADs, deletions): --retries tries
// more, backing off as pkg/retry does, for what s3conf.Retryable calls
// temporary; never for a configuration error. minio-go itself sends each
// request once (s3conf.NewMinio), so attempts do not multiply. Each retry
// is counted in the result; onRetry (optional) logs it.
func (r *run) policy(onRetry func(attempt int, err error)) retry.Policy {
	return retry.Policy{Retries: r.o.Retries, Retryable: s3conf.Retryable, OnRetry: func(attempt int, err error) {
		r.retries.Add(1)
		if onRetry != nil {
			onRetry(attempt, err)
		}
	}}
}

// fatal tells whether an error dooms every other object too, so the run
// stops instead of failing them one by one: a missing or invalid bucket,
// refused credentials or permissions, a wrong region, or a server still
// unreachable after retries.
func fatal(err error) bool {
	switch s3conf.KindOf(err) {
	case s3conf.NoSuchBucket, s3conf.AccessDenied, s3conf.BadCredentials, s3conf.Unreachable,
		s3conf.WrongRegion, s3conf.BadBucketName:
		return true
	}
	return false
}
