package client

import (
	"testing"
	"time"
)

// A Config without a retry policy gets DefaultRetryPolicy; a policy given
// is taken as it is (the zero one makes no retries) and never changed.
func TestRetryPolicyIsTakenAsItIs(t *testing.T) {
	if got := (Config{}).withDefaults().Retry; got == nil || *got != DefaultRetryPolicy() {
		t.Errorf("nil policy: %+v, want %+v", got, DefaultRetryPolicy())
	}
	if d := DefaultRetryPolicy(); d.MaxRetries != 10 || d.InitialBackoff != 100*time.Millisecond || d.MaxBackoff != 30*time.Second || d.Multiplier != 2 {
		t.Errorf("DefaultRetryPolicy() = %+v", d)
	}
	none := &RetryPolicy{}
	if got := (Config{Retry: none}).withDefaults().Retry; *got != (RetryPolicy{}) {
		t.Errorf("zero policy became %+v", got)
	}
	neg := &RetryPolicy{MaxRetries: -1, InitialBackoff: -time.Second}
	got := (Config{Retry: neg}).withDefaults().Retry
	if *got != (RetryPolicy{}) || neg.MaxRetries != -1 || got == neg {
		t.Errorf("negative policy became %+v (the caller's: %+v)", got, neg)
	}
}
