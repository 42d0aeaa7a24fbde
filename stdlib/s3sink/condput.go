package s3sink

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

// condProbeKey is the object (below the prefix) the sink learns with;
// the leading _ hides it from Hive, Spark and the like.
const condProbeKey = "_rivven-connect-conditional-put-probe"

// condTries is how many inconclusive lessons (a 5xx, no answer) the sink
// takes before it keeps to HEADs for the run.
const condTries = 3

// condPut learns, once per sink, whether the server honours conditional
// PUTs. Safe for concurrent use by the storing goroutines.
type condPut struct {
	state atomic.Int32
	tries atomic.Int32 // inconclusive lessons so far
}

// learn finds out, unless the sink knows already or another put is
// finding out, whether the server honours If-None-Match: it PUTs an
// empty object under the probe key (below the prefix), PUTs it again
// with the condition, and DELETEs it. A server that honours the
// condition refuses the second PUT (412); one that ignores it stores it
// again; one that refuses the header fails it (a 4xx other than 408 and
// 429, or 501). An inconclusive answer (a 5xx, no answer, the context
// ended; the probe's requests are not retried) leaves the question for
// the next put, condTries times at most.
// Only the probe object is ever written twice, never a record's. The
// DELETE is best effort: without the permission, the empty probe object
// stays (one, under its fixed key). Two sinks learning under one prefix
// at once may see each other's probe deleted and conclude "ignored",
// which only costs HEADs.
func (c *condPut) learn(ctx context.Context, s *Sink) {
	if !c.state.CompareAndSwap(condUnknown, condLearning) {
		return
	}
	key := joinKey(s.cfg.Prefix, condProbeKey)
	put := func(ifNone bool) error {
		in := &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0)}
		if ifNone {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := s.cl.PutObject(ctx, in, noRetries)
		return err
	}
	state := condUnknown
	if err := put(false); err != nil {
		if isRefusal(err) {
			state = condIgnored
		}
	} else {
		switch err := put(true); {
		case isConditionFailed(err):
			state = condHonoured
		case err == nil, isRefusal(err):
			state = condIgnored
		}
		_, _ = s.cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.cfg.Bucket, Key: &key}, noRetries)
	}
	if state == condUnknown && c.tries.Add(1) >= condTries {
		state = condIgnored
	}
	c.state.Store(state)
	switch state {
	case condHonoured:
		s.logger().Info("s3 sink: the server honours conditional PUTs (If-None-Match): one PUT per object", "bucket", s.cfg.Bucket)
	case condIgnored:
		s.logger().Info("s3 sink: the server does not honour conditional PUTs (If-None-Match): a HEAD before each PUT", "bucket", s.cfg.Bucket)
	}
}

// noRetries has the SDK try a probe request once: a failure is an
// inconclusive lesson (learnt again at the next put), not a retry of the
// sink's writes to report.
func noRetries(o *s3.Options) { o.Retryer = aws.NopRetryer{} }

// isConditionFailed reports whether a conditional request was refused
// because the key exists: 412 Precondition Failed, or 409
// ConditionalRequestConflict (S3's answer while another write to the key
// is in flight).
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

// isRefusal reports whether the server answered err with what asking
// again would get again: a 4xx other than 408 (timeout) and 429 (slow
// down), or 501 Not Implemented.
func isRefusal(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch code := re.HTTPStatusCode(); code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	default:
		return code >= 400 && code < 500 || code == http.StatusNotImplemented
	}
}
