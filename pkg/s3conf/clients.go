package s3conf

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Who retries, so that attempts never multiply:
//
//   - aws-sdk-go-v2 (s3-upload, s3-download): the SDK's standard retryer
//     tries each request up to MaxAttempts times, waiting as SDKPolicy
//     says; the tasks do not retry on top of it. The SDK retries only what
//     its own rules call transient (5xx, throttling, broken connections),
//     never a wrong region or refused credentials.
//   - minio-go (mirror): the SDK does not retry (MaxRetries 1). mirror
//     retries every request itself (listings resumed after the last key,
//     streamed copies, which the SDK could not retry, HEADs, deletions,
//     multipart parts) with one pkg/retry policy, its --retries and
//     s3conf.Retryable.
const (
	MaxAttempts = 5
	MaxBackoff  = 5 * time.Second
	// minioAttempts: each minio-go request is sent once (see above).
	minioAttempts = 1
)

// SDKPolicy is the backoff of the AWS SDK's retries: 0.5 s, 1 s, 2 s, 4 s
// (±20 %), about 7.5 s in all before an unreachable endpoint is reported.
var SDKPolicy = retry.Policy{Retries: MaxAttempts - 1, Base: 500 * time.Millisecond, Max: MaxBackoff, Jitter: 0.2}

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
			return awsretry.NewStandard(func(o *awsretry.StandardOptions) {
				o.MaxAttempts = SDKPolicy.Retries + 1
				o.MaxBackoff = SDKPolicy.Max
				o.Backoff = awsretry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					return SDKPolicy.Delay(attempt), nil
				})
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
// then IAM (web identity for pods, ECS, instance role). The client sends
// each request once: its caller retries (see minioAttempts).
//
// On AWS it uses the regional endpoint s3.<region>.amazonaws.com, as the
// AWS SDK does for s3-upload and s3-download, not minio-go's default
// dual-stack one (s3.dualstack.<region>.amazonaws.com): one name for
// firewall rules and VPC endpoints, whichever task runs.
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
	// Auto: minio-go's own rule: virtual-host on AWS (and Google, Aliyun),
	// but path-style for bucket names with dots over HTTPS, whose host name
	// the certificate would not match; path-style on every other server.
	lookup := minio.BucketLookupAuto
	switch c.Addressing {
	case AddressingPath:
		lookup = minio.BucketLookupPath
	case AddressingVirtual:
		lookup = minio.BucketLookupDNS
	}
	cl, err := minio.New(c.Host(), &minio.Options{
		Creds:        creds,
		Secure:       c.Secure(),
		Transport:    tr,
		Region:       c.Region,
		BucketLookup: lookup,
		MaxRetries:   minioAttempts,
	})
	if err != nil {
		return nil, usage.Errorf("S3 client for %s: %v", c, err)
	}
	cl.SetS3EnableDualstack(false)
	return cl, nil
}
