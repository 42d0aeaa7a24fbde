package s3sink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rivven/rivven-connect/runtime"
)

// maxSkew is the clock difference S3 still accepts (requests signed more
// than 15 minutes off are refused); warnSkew the one worth a warning.
const (
	maxSkew  = 15 * time.Minute
	warnSkew = time.Minute
)

// Probe implements runtime.Prober (`check --connect`): the bucket exists
// and answers (finding "bucket"); the credentials may write there (finding
// "write": a probe object under the prefix, PUT then DELETEd — the only
// thing the probe creates, and it removes it); and the local clock agrees
// with the server's Date header (finding "clock"). An endpoint that cannot
// be reached at all is the error.
func (s *Sink) Probe(ctx context.Context) ([]runtime.Finding, error) {
	cl, err := newClient(ctx, &s.cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	var out []runtime.Finding
	hb, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.cfg.Bucket})
	var date string
	if err != nil {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.Response == nil || re.HTTPStatusCode() == 0 {
			return nil, fmt.Errorf("s3 sink: cannot reach %s: %s", s.target, reason(err))
		}
		date = re.Response.Header.Get("Date")
		detail := s.target + ": " + reason(err)
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			detail = s.target + ": no such bucket"
		case http.StatusForbidden:
			detail += ": the credentials may not access it"
		}
		out = append(out, runtime.Finding{Check: "bucket", Level: runtime.FindingFail, Detail: detail})
	} else {
		if raw, ok := awsmw.GetRawResponse(hb.ResultMetadata).(*smithyhttp.Response); ok {
			date = raw.Header.Get("Date")
		}
		out = append(out, runtime.Finding{Check: "bucket", Level: runtime.FindingOK, Detail: s.target + " exists"})
		out = append(out, s.probeWrite(ctx, cl))
	}
	return append(out, s.clock(date)), nil
}

// probeWrite PUTs a small object under the prefix and DELETEs it.
func (s *Sink) probeWrite(ctx context.Context, cl *s3.Client) runtime.Finding {
	var b [8]byte
	_, _ = rand.Read(b[:])
	key := joinKey(s.cfg.Prefix, "_rivven-connect-probe-"+hex.EncodeToString(b[:]))
	where := "s3://" + s.cfg.Bucket + "/" + key
	_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0)})
	if err != nil {
		return runtime.Finding{Check: "write", Level: runtime.FindingFail, Detail: "PUT " + where + ": " + reason(err) + ": the sink could not store objects"}
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.cfg.Bucket, Key: &key}); err != nil {
		return runtime.Finding{Check: "write", Level: runtime.FindingWarn, Detail: "PUT " + where + " worked, but DELETE failed (" + reason(err) + "): remove the probe object by hand"}
	}
	return runtime.Finding{Check: "write", Level: runtime.FindingOK, Detail: "PUT and DELETE of a probe object under " + where[:len(where)-len(key)] + s.cfg.Prefix + " worked"}
}

// clock compares the server's Date header with the local clock.
func (s *Sink) clock(date string) runtime.Finding {
	f := runtime.Finding{Check: "clock"}
	t, err := http.ParseTime(date)
	if err != nil {
		f.Level, f.Detail = runtime.FindingWarn, "the server sent no usable Date header: clock skew unknown"
		return f
	}
	skew := s.now().Sub(t)
	if skew < 0 {
		skew = -skew
	}
	f.Detail = fmt.Sprintf("local clock within %s of the server's", skew.Round(time.Second))
	switch {
	case skew > maxSkew:
		f.Level = runtime.FindingFail
		f.Detail = fmt.Sprintf("local clock %s off the server's: S3 refuses requests signed more than 15m off; fix the clock (NTP)", skew.Round(time.Second))
	case skew > warnSkew:
		f.Level = runtime.FindingWarn
		f.Detail = fmt.Sprintf("local clock %s off the server's (S3 refuses 15m): fix the clock (NTP)", skew.Round(time.Second))
	default:
		f.Level = runtime.FindingOK
	}
	return f
}
