package s3conf

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/minio/minio-go/v7"
)

// awsErr builds the AWS SDK's error for a response: status, headers and
// the code and message of its body (none for a HEAD).
func awsErr(status int, code, msg string, header http.Header) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
		Err:      &smithy.GenericAPIError{Code: code, Message: msg},
	}}
}

// Each failure is told in the user's terms with the server's own code and
// message kept; configuration errors are never retried.
func TestExplainAndRetryable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		kind      Kind
		retryable bool
		message   []string // all in the one-line error
	}{
		{"versitygw unknown access key (404)", minio.ErrorResponse{StatusCode: 404, Code: "XAdminUserNotFound", Message: "No user exists with the provided access key ID."},
			BadCredentials, false, []string{"credentials rejected", "XAdminUserNotFound: No user exists"}},
		{"region in the error body", minio.ErrorResponse{StatusCode: 400, Code: "AuthorizationHeaderMalformed",
			Message: `The authorization header is malformed; the region "eu-west-1" is wrong; expecting "us-east-1"`, Region: "us-east-1"},
			WrongRegion, false, []string{"wrong region: the bucket is in us-east-1", "AuthorizationHeaderMalformed"}},
		{"body-less HEAD in the wrong region (minio-go)", minio.ErrorResponse{StatusCode: 400, Code: "400 Bad Request", Message: "400 Bad Request", Region: "eu-central-1"},
			WrongRegion, false, []string{"wrong region: the bucket is in eu-central-1", "400 Bad Request"}},
		{"body-less HEAD in the wrong region (AWS SDK)", awsErr(400, "BadRequest", "Bad Request", http.Header{"X-Amz-Bucket-Region": {"eu-central-1"}}),
			WrongRegion, false, []string{"wrong region: the bucket is in eu-central-1", "BadRequest"}},
		{"permanent redirect", awsErr(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.", nil),
			WrongRegion, false, []string{"wrong region", "PermanentRedirect"}},
		{"other 400 without region", awsErr(400, "BadRequest", "Bad Request", nil), Other, false, []string{"x: BadRequest"}},
		{"invalid bucket name", minio.ErrorResponse{StatusCode: 400, Code: "InvalidBucketName", Message: "The specified bucket is not valid."},
			BadBucketName, false, []string{"invalid bucket name", "InvalidBucketName"}},
		{"no such bucket", minio.ErrorResponse{StatusCode: 404, Code: "NoSuchBucket", Message: "The specified bucket does not exist"},
			NoSuchBucket, false, []string{"x: no such bucket (server: NoSuchBucket: The specified bucket does not exist)"}},
		{"body-less 404 (AWS SDK HEAD)", awsErr(404, "NotFound", "Not Found", nil), NoSuchKey, false, []string{"no such key"}},
		{"server-specific 404", minio.ErrorResponse{StatusCode: 404, Code: "NoSuchUpload", Message: "The upload does not exist"},
			Other, false, []string{"NoSuchUpload: The upload does not exist"}},
		{"access denied", minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied", Message: "Access Denied."}, AccessDenied, false, []string{"access denied"}},
		{"internal error", minio.ErrorResponse{StatusCode: 500, Code: "InternalError", Message: "We encountered an internal error"}, Other, true, []string{"InternalError"}},
		{"slow down", minio.ErrorResponse{StatusCode: 503, Code: "SlowDown", Message: "Please reduce your request rate."}, Other, true, []string{"SlowDown"}},
		{"request timeout is a 400", minio.ErrorResponse{StatusCode: 400, Code: "RequestTimeout", Message: "Your socket connection timed out"}, Other, true, []string{"RequestTimeout"}},
		{"throttled", awsErr(429, "TooManyRequests", "", nil), Other, true, []string{"TooManyRequests"}},
		{"lost race on a conditional copy", minio.ErrorResponse{StatusCode: 412, Code: "PreconditionFailed"}, PreconditionFailed, true, []string{"precondition failed"}},
		{"unreachable", fmt.Errorf("Get: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), Unreachable, true, []string{"endpoint unreachable", "connection refused"}},
		{"truncated body", errors.New("unexpected EOF"), Other, true, []string{"x: unexpected EOF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Explain(tc.err, "x")
			if k := KindOf(err); k != tc.kind {
				t.Errorf("kind %d, want %d", k, tc.kind)
			}
			if r := Retryable(err); r != tc.retryable {
				t.Errorf("retryable %v, want %v", r, tc.retryable)
			}
			for _, m := range tc.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not mention %q", err, m)
				}
			}
		})
	}
}
