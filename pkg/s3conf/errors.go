package s3conf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
)

// Kind is what went wrong with an S3 request, in the user's terms.
type Kind int

// Kinds of S3 failure.
const (
	Other Kind = iota
	NoSuchBucket
	NoSuchKey
	AccessDenied
	BadCredentials
	Unreachable
	PreconditionFailed // a conditional write found the key taken
)

var kindText = map[Kind]string{
	NoSuchBucket:       "no such bucket",
	NoSuchKey:          "no such key",
	AccessDenied:       "access denied (check the credentials' permissions and the bucket policy)",
	BadCredentials:     "credentials rejected: check the access key and secret key",
	Unreachable:        "endpoint unreachable",
	PreconditionFailed: "precondition failed",
}

// Error is an S3 failure explained: what was being done, what went wrong.
// It wraps the SDK's error.
type Error struct {
	Kind Kind
	What string // "upload s3://bucket/key", "list source s3://bucket/prefix"
	Err  error
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	switch e.Kind {
	case Unreachable:
		return fmt.Sprintf("%s: endpoint unreachable (retries exhausted): %v", e.What, rootCause(e.Err))
	case Other:
		if code, msg := apiError(e.Err); code != "" {
			if msg != "" {
				return fmt.Sprintf("%s: %s: %s", e.What, code, msg)
			}
			return fmt.Sprintf("%s: %s", e.What, code)
		}
		return fmt.Sprintf("%s: %v", e.What, e.Err)
	default:
		if code, _ := apiError(e.Err); code != "" && e.Kind == BadCredentials {
			return fmt.Sprintf("%s: %s (%s)", e.What, kindText[e.Kind], code)
		}
		return e.What + ": " + kindText[e.Kind]
	}
}

// Explain wraps err, an error from either SDK, into an *Error saying what
// was being done. Cancellation and nil pass through unchanged.
func Explain(err error, what string) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: Classify(err), What: what, Err: err}
}

// KindOf returns the Kind of an error explained by Explain, or classifies it.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Classify(err)
}

// Classify tells what kind of failure an error from either SDK is.
func Classify(err error) Kind {
	if err == nil {
		return Other
	}
	code, _ := apiError(err)
	switch code {
	case "NoSuchBucket":
		return NoSuchBucket
	case "NoSuchKey", "NotFound":
		return NoSuchKey
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		return AccessDenied
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "InvalidClientTokenId":
		return BadCredentials
	case "PreconditionFailed":
		return PreconditionFailed
	}
	switch httpStatus(err) {
	case http.StatusNotFound:
		return NoSuchKey
	case http.StatusForbidden:
		return AccessDenied
	case http.StatusPreconditionFailed:
		return PreconditionFailed
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) || (errors.As(err, &ne) && ne.Timeout()) {
		return Unreachable
	}
	return Other
}

// apiError returns the S3 error code and message of either SDK's error.
func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) && me.Code != "" {
		return me.Code, me.Message
	}
	return "", ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) {
		return me.StatusCode
	}
	return 0
}

// rootCause returns the network error inside an SDK error, which says more
// than the SDK's wrapping ("dial tcp 127.0.0.1:9: connect: connection refused").
func rootCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de
	}
	return err
}
