package s3sink

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// What the sink knows of the server's conditional PUTs (If-None-Match: *,
// which S3 honours since 2024; some S3-compatible servers ignore the
// header, others refuse it).
const (
	condUnknown  int32 = iota // not learnt yet
	condLearning              // a put is finding out
	condHonoured              // a PUT on an existing key is refused (412)
	condIgnored               // ignored or refused: HEAD before each PUT
)

// condPut learns, once per sink, whether the server honours conditional
// PUTs. Safe for concurrent use by the storing goroutines.
type condPut struct{ state atomic.Int32 }

// learn finds out, after the sink PUT body under key (unconditionally, a
// HEAD having found the key free), whether the server honours
// If-None-Match: it PUTs the same body under the same key again with the
// condition. A server that honours it refuses (412); one that ignores it
// stores the same bytes and metadata again (harmless: the object is the
// same; a versioned bucket keeps an identical version); one that refuses
// the header fails the request. A failure that may pass (a 5xx, no answer)
// leaves the question for a later put. Only one put learns at a time;
// the others go on with HEADs meanwhile.
func (c *condPut) learn(ctx context.Context, s *Sink, key string, body []byte, contentType, digest string) {
	if !c.state.CompareAndSwap(condUnknown, condLearning) {
		return
	}
	err := s.putObject(ctx, key, body, contentType, digest, true)
	switch {
	case isConditionFailed(err):
		c.state.Store(condHonoured)
	case err == nil, isClientError(err):
		c.state.Store(condIgnored)
	default:
		c.state.Store(condUnknown)
	}
}

// isConditionFailed reports whether a conditional request was refused
// because the key exists: 412 Precondition Failed, or 409
// ConditionalRequestConflict (S3's answer to a conflicting write in
// flight to the same key).
func isConditionFailed(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.HTTPStatusCode() {
	case http.StatusPreconditionFailed:
		return true
	case http.StatusConflict:
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "ConditionalRequestConflict"
	}
	return false
}

// isClientError reports whether the server answered err with a 4xx
// status or 501 Not Implemented (what retrying the same request would
// get again).
func isClientError(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	code := re.HTTPStatusCode()
	return code >= 400 && code < 500 || code == http.StatusNotImplemented
}
