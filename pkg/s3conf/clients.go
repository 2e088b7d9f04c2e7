package s3conf

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Retry bounds shared by both SDKs: a request is tried MaxAttempts times,
// backing off up to MaxBackoff between tries, so an unreachable endpoint
// fails in well under a minute instead of hanging.
const (
	MaxAttempts = 5
	MaxBackoff  = 5 * time.Second
)

// NewAWS returns an aws-sdk-go-v2 S3 client for the endpoint.
func NewAWS(ctx context.Context, c Config, maxConns int) (*s3.Client, error) {
	roots, err := c.rootCAs()
	if err != nil {
		return nil, err
	}
	// A BuildableClient, not a plain http.Client, so that the SDK can still
	// add AWS_CA_BUNDLE to it.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		c.configureTransport(t, maxConns, roots)
	})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.Region),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = MaxBackoff
				o.Backoff = retry.BackoffDelayerFunc(backoff)
				o.RateLimiter = ratelimit.None // many parts failing together must each get their retries
			})
		}),
		awsconfig.WithLogger(sdkLogger{zerolog.Ctx(ctx)}),
	}
	if c.StaticCredentials() {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	} else if c.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, usage.Errorf("AWS configuration: %v", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle()
		o.DisableLogOutputChecksumValidationSkipped = true
		if !c.AWS() {
			// S3-compatible servers differ in their support of the newer
			// default CRC checksums; send and check them only where required.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}), nil
}

// backoff waits 0.5 s, 1 s, 2 s, 4 s (±20 %) between attempts: about 7.5 s
// in all before an unreachable endpoint is reported.
func backoff(attempt int, _ error) (time.Duration, error) {
	d := 500 * time.Millisecond << (attempt - 1)
	if d > MaxBackoff || d <= 0 {
		d = MaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())), nil
}

// sdkLogger sends the AWS SDK's own messages to the task's log instead of
// stderr as plain text.
type sdkLogger struct{ l *zerolog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	ev := s.l.Debug()
	if c == logging.Warn {
		ev = s.l.Warn()
	}
	ev.Str("source", "aws-sdk").Msgf(format, v...)
}

// NewMinio returns a minio-go client for the endpoint. Without keys it uses
// the AWS credential chain: environment, shared credentials file (profile),
// then IAM (web identity for pods, ECS, instance role).
func NewMinio(c Config, maxConns int) (*minio.Client, error) {
	tr, err := c.Transport(maxConns)
	if err != nil {
		return nil, err
	}
	var creds *miniocreds.Credentials
	if c.StaticCredentials() {
		creds = miniocreds.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken)
	} else {
		creds = miniocreds.NewChainCredentials([]miniocreds.Provider{
			&miniocreds.EnvAWS{},
			&miniocreds.FileAWSCredentials{Profile: c.Profile},
			&miniocreds.IAM{Client: &http.Client{Transport: tr}},
		})
	}
	lookup := minio.BucketLookupPath
	if !c.PathStyle() {
		lookup = minio.BucketLookupDNS
	}
	cl, err := minio.New(c.Host(), &minio.Options{
		Creds:        creds,
		Secure:       c.Secure(),
		Transport:    tr,
		Region:       c.Region,
		BucketLookup: lookup,
		MaxRetries:   MaxAttempts,
	})
	if err != nil {
		return nil, usage.Errorf("S3 client for %s: %v", c, err)
	}
	return cl, nil
}
