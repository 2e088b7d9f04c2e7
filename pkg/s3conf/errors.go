package s3conf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

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
	// WrongRegion: the request was signed for another region than the
	// bucket's (or the server's).
	WrongRegion
	// BadBucketName: the server refuses the bucket name.
	BadBucketName
)

var kindText = map[Kind]string{
	NoSuchBucket:       "no such bucket",
	NoSuchKey:          "no such key",
	AccessDenied:       "access denied (check the credentials' permissions and the bucket policy)",
	BadCredentials:     "credentials rejected: check the access key and secret key",
	Unreachable:        "endpoint unreachable",
	PreconditionFailed: "precondition failed",
	WrongRegion:        "wrong region: check the region flag or the connection's region_name",
	BadBucketName:      "invalid bucket name",
}

// Error is an S3 failure explained: what was being done, what went wrong,
// and the server's own code and message. It wraps the SDK's error.
type Error struct {
	Kind Kind
	What string // "upload s3://bucket/key", "list source s3://bucket/prefix"
	Err  error
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Kind == Unreachable {
		return fmt.Sprintf("%s: endpoint unreachable (retries exhausted): %v", e.What, rootCause(e.Err))
	}
	server := serverText(e.Err)
	if e.Kind == Other {
		if server == "" {
			return fmt.Sprintf("%s: %v", e.What, e.Err)
		}
		return e.What + ": " + server
	}
	text := kindText[e.Kind]
	if e.Kind == WrongRegion {
		if r := serverRegion(e.Err); r != "" {
			text = fmt.Sprintf("wrong region: the bucket is in %s (set the region flag or the connection's region_name to it)", r)
		}
	}
	if server != "" {
		return fmt.Sprintf("%s: %s (server: %s)", e.What, text, server)
	}
	return e.What + ": " + text
}

// serverText is the server's own code and message, "Code: Message", or
// what there is of them ("" when the error did not come from a server).
// A body-less response (HEAD) has only its HTTP status.
func serverText(err error) string {
	code, msg := apiError(err)
	switch {
	case code == "" && msg == "":
		if s := httpStatus(err); s != 0 {
			return fmt.Sprintf("HTTP %d %s", s, http.StatusText(s))
		}
		return ""
	case msg == "" || msg == code || strings.EqualFold(strings.ReplaceAll(msg, " ", ""), code):
		return code
	case code == "":
		return msg
	}
	return code + ": " + msg
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

// Classify tells what kind of failure an error from either SDK is. The
// server's code decides; the HTTP status only when the response had no
// code of its own (a HEAD has no body), so that a server-specific code
// on a 404 (versitygw's XAdminUserNotFound) is not taken for a missing key.
func Classify(err error) Kind {
	if err == nil {
		return Other
	}
	code, msg := apiError(err)
	switch code {
	case "NoSuchBucket":
		return NoSuchBucket
	case "NoSuchKey":
		return NoSuchKey
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		return AccessDenied
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "InvalidClientTokenId",
		"XAdminUserNotFound": // versitygw: unknown access key
		return BadCredentials
	case "InvalidRegion", "IllegalLocationConstraintException", "PermanentRedirect", "AuthorizationQueryParametersError":
		return WrongRegion
	case "AuthorizationHeaderMalformed": // also for other header faults; the region one names it
		if serverRegion(err) != "" || strings.Contains(strings.ToLower(msg), "region") {
			return WrongRegion
		}
		return Other
	case "InvalidBucketName":
		return BadBucketName
	case "PreconditionFailed":
		return PreconditionFailed
	}
	if generic(code) {
		status := httpStatus(err)
		switch {
		case (status == http.StatusBadRequest || status == http.StatusMovedPermanently) && serverRegion(err) != "":
			return WrongRegion // AWS answers a HEAD in the wrong region so, naming the right one in a header
		case status == http.StatusMovedPermanently:
			return WrongRegion
		case status == http.StatusNotFound:
			return NoSuchKey
		case status == http.StatusForbidden:
			return AccessDenied
		case status == http.StatusPreconditionFailed:
			return PreconditionFailed
		}
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) || (errors.As(err, &ne) && ne.Timeout()) {
		return Unreachable
	}
	return Other
}

// generic reports whether a code says no more than the HTTP status: none,
// the status text the SDKs put in for a body-less response ("NotFound",
// "BadRequest", "400 Bad Request").
func generic(code string) bool {
	switch code {
	case "", "NotFound", "Forbidden", "BadRequest", "MovedPermanently":
		return true
	}
	return len(code) > 3 && code[0] >= '1' && code[0] <= '5' && code[3] == ' '
}

// Retryable tells whether trying a failed request again can help: not
// after cancellation, nor for what only the user can fix (configuration:
// a wrong region, refused credentials or permissions, a missing or invalid
// bucket, a missing key) nor for other client errors (HTTP 4xx), except a
// request timeout, throttling and a conditional copy that lost a race
// (PreconditionFailed: the next try reads the new version).
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch KindOf(err) {
	case NoSuchBucket, NoSuchKey, AccessDenied, BadCredentials, WrongRegion, BadBucketName:
		return false
	case PreconditionFailed, Unreachable:
		return true
	}
	code, _ := apiError(err)
	switch code {
	case "RequestTimeout", "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
		"TooManyRequests", "OperationAborted", "InternalError", "ServiceUnavailable":
		return true
	}
	status := httpStatus(err)
	return status < 400 || status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// apiError returns the S3 error code and message of either SDK's error.
func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) && (me.Code != "" || me.Message != "") {
		return me.Code, me.Message
	}
	return "", ""
}

// serverRegion returns the region a server named in its error (the
// Region element, or the x-amz-bucket-region header of a body-less one).
func serverRegion(err error) string {
	var me minio.ErrorResponse
	if errors.As(err, &me) {
		return me.Region
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
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
