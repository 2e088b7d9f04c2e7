package s3conf

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// HeadBucket checks that the bucket exists and is reachable with these
// credentials, so that the common mistakes fail before any data moves.
func HeadBucket(ctx context.Context, cl *s3.Client, bucket string) error {
	_, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	err = Explain(err, "bucket "+bucket)
	if KindOf(err) == NoSuchKey { // HEAD has no body: a 404 on a bucket means no bucket
		err.(*Error).Kind = NoSuchBucket
	}
	return err
}

// Versioned reports whether the bucket keeps object versions (versioning
// enabled; a suspended bucket no longer keeps new ones).
func Versioned(ctx context.Context, cl *s3.Client, bucket string) (bool, error) {
	out, err := cl.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		return false, Explain(err, "versioning of bucket "+bucket)
	}
	return out.Status == types.BucketVersioningStatusEnabled, nil
}
