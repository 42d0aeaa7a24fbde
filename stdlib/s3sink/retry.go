package s3sink

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// UseRetryReport implements runtime.RetryReported: every request the
// AWS SDK retries (a 5xx, a throttle, a reset connection) counts in the
// pipeline's sink retries, with the error as the last error.
func (s *Sink) UseRetryReport(retried func(err error)) { s.retried = retried }

// reportingRetryer is the SDK's retryer that also reports each retry.
type reportingRetryer struct {
	aws.RetryerV2
	report func(error)
}

// RetryDelay is called once per retry the SDK is about to make.
func (r reportingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if derr == nil && r.report != nil {
		r.report(err)
	}
	return d, derr
}

// withReport wraps the client's retryer so that retries are reported;
// a retryer that is not a RetryerV2 (never the SDK's default) is kept.
func withReport(rt aws.Retryer, report func(error)) aws.Retryer {
	if report == nil {
		return rt
	}
	if rt == nil {
		rt = retry.NewStandard() // what the client would default to
	}
	v2, ok := rt.(aws.RetryerV2)
	if !ok {
		v2 = retryerV2{rt}
	}
	return reportingRetryer{RetryerV2: v2, report: report}
}

// retryerV2 adapts an aws.Retryer.
type retryerV2 struct{ aws.Retryer }

func (r retryerV2) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}
