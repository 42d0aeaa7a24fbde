package s3sink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// metaSHA256 is the user metadata key (x-amz-meta-rivven-sha256) holding
// the SHA-256 of an object's bytes, so a replay recognises its own object.
const metaSHA256 = "rivven-sha256"

// newClient builds the S3 client: static credentials or the AWS default
// chain; checksums only where S3 requires them (S3-compatible servers
// refuse the newer default ones); path-style addressing at a custom
// endpoint.
func newClient(ctx context.Context, cfg *Config, retried func(error)) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if c := cfg.Credentials; c.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
	}
	if cfg.TLS.CAPath != "" || cfg.TLS.InsecureSkipVerify {
		tc := &tls.Config{InsecureSkipVerify: cfg.TLS.InsecureSkipVerify} //nolint:gosec // the user's explicit choice
		if cfg.TLS.CAPath != "" {
			pem, err := os.ReadFile(cfg.TLS.CAPath)
			if err != nil {
				return nil, fmt.Errorf("tls.ca_path: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls.ca_path %s: no PEM certificate in it", cfg.TLS.CAPath)
			}
			tc.RootCAs = pool
		}
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.TLSClientConfig = tc
		})))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.Retryer = withReport(o.Retryer, retried)
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// put stores body under key, once: an object already there with the same
// SHA-256 is left as it is (a replay wrote it before). One with other
// content is never overwritten: the body goes under the first free
// variant of the key (key~2, key~3, … before the extension; see variant)
// whose object, if any, is not the same body either. Records get other
// content under a key when the source numbers its positions per run
// (postgres-cdc, the rivven source): their objects are then kept side by
// side, at-least-once, as the source delivers them. Bodies larger than
// PartSize go in a multipart upload, aborted when a part fails.
//
// A body of one PUT goes as a conditional PUT (If-None-Match: *, which
// the server refuses when the key exists) once the server has shown it
// honours the condition (condPut, learnt before the first such body):
// one request per object instead of a HEAD and a PUT. At servers that
// ignore or refuse the condition, and until the sink knows, each variant
// is looked at with a HEAD first.
func (s *Sink) put(ctx context.Context, key string, body []byte, contentType string) error {
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	base := key
	single := len(body) <= s.cfg.PartSize
	if single {
		s.cond.learn(ctx, s)
	}
	for n := 1; ; n++ {
		if n > maxVariants {
			return fmt.Errorf("s3 sink: s3://%s/%s and its %d variants all exist with other content: not writing a %dth", s.cfg.Bucket, base, maxVariants-1, n)
		}
		key = variant(base, n)
		if single && s.cond.state.Load() == condHonoured {
			stored, err := s.putIfAbsent(ctx, key, body, contentType, digest)
			if err != nil || stored {
				return err
			}
			continue // other content under key
		}
		head, err := s.cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.cfg.Bucket, Key: &key})
		if err == nil {
			if head.Metadata[metaSHA256] == digest {
				return nil
			}
			continue
		}
		if !isNotFound(err) {
			return fmt.Errorf("s3 sink: HEAD s3://%s/%s: %s", s.cfg.Bucket, key, reason(err))
		}
		break
	}
	if single {
		if err := s.putObject(ctx, key, body, contentType, digest, false); err != nil {
			return fmt.Errorf("s3 sink: PUT s3://%s/%s: %s", s.cfg.Bucket, key, reason(err))
		}
		return nil
	}
	return s.putMultipart(ctx, key, body, contentType, map[string]string{metaSHA256: digest})
}

// condRetries is how many times putIfAbsent tries a key that the server
// says exists and a HEAD then does not find.
const condRetries = 3

// putIfAbsent stores body under key with a conditional PUT, and reports
// whether the key now holds body (stored, or there already: a replay);
// false: the key holds other content. A refused PUT is followed by a
// HEAD; a key refused as existing (412, or 409 for a write to it in
// flight) that the HEAD does not find is tried again, conditionally —
// never with a plain PUT, which could overwrite another writer's object.
func (s *Sink) putIfAbsent(ctx context.Context, key string, body []byte, contentType, digest string) (bool, error) {
	where := "s3://" + s.cfg.Bucket + "/" + key
	for try := 1; ; try++ {
		err := s.putObject(ctx, key, body, contentType, digest, true)
		if err == nil {
			return true, nil
		}
		if !isConditionFailed(err) {
			return false, fmt.Errorf("s3 sink: PUT %s: %s", where, reason(err))
		}
		refused := reason(err)
		head, err := s.cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.cfg.Bucket, Key: &key})
		if err == nil {
			return head.Metadata[metaSHA256] == digest, nil
		}
		if !isNotFound(err) {
			return false, fmt.Errorf("s3 sink: HEAD %s: %s", where, reason(err))
		}
		if try == condRetries {
			return false, fmt.Errorf("s3 sink: PUT %s: refused %d times as existing (last: %s), yet a HEAD does not find it", where, try, refused)
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("s3 sink: PUT %s: %w", where, ctx.Err())
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		}
	}
}

// putObject PUTs body under key with its SHA-256 (hex digest) in the
// metadata; ifNone: only if the key does not exist (If-None-Match: *).
func (s *Sink) putObject(ctx context.Context, key string, body []byte, contentType, digest string, ifNone bool) error {
	in := &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key, Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: &contentType, Metadata: map[string]string{metaSHA256: digest}}
	if ifNone {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.cl.PutObject(ctx, in, withPayloadHash(digest))
	return err
}

// maxVariants bounds the variants of one key put tries.
const maxVariants = 1000

// variant returns key itself for n = 1, else key with ~n inserted before
// the extension of its last segment (users+0+1.jsonl.gz → users+0+1~2.jsonl.gz).
func variant(key string, n int) string {
	if n == 1 {
		return key
	}
	dir, name := "", key
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		dir, name = key[:i+1], key[i+1:]
	}
	stem, ext := name, ""
	if i := strings.IndexByte(name, '.'); i > 0 {
		stem, ext = name[:i], name[i:]
	}
	return dir + stem + "~" + strconv.Itoa(n) + ext
}

func (s *Sink) putMultipart(ctx context.Context, key string, body []byte, contentType string, meta map[string]string) error {
	where := "s3://" + s.cfg.Bucket + "/" + key
	up, err := s.cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key, ContentType: &contentType, Metadata: meta})
	if err != nil {
		return fmt.Errorf("s3 sink: multipart upload of %s: %s", where, reason(err))
	}
	n := (len(body) + s.cfg.PartSize - 1) / s.cfg.PartSize
	parts := make([]types.CompletedPart, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait := make(chan struct{}, n)
		for i := range n {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wait <- struct{}{} }()
				lo, hi := i*s.cfg.PartSize, min((i+1)*s.cfg.PartSize, len(body))
				num := int32(i + 1)
				out, err := s.cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: up.UploadId,
					PartNumber: &num, Body: bytes.NewReader(body[lo:hi]), ContentLength: aws.Int64(int64(hi - lo))})
				if err != nil {
					errs[i] = fmt.Errorf("part %d of %d: %s", num, n, reason(err))
					return
				}
				parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: &num}
			}()
		}
		for range n {
			<-wait
		}
	}()
	<-done
	if err := errors.Join(errs...); err == nil {
		_, err = s.cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err == nil {
			return nil
		}
		errs = []error{fmt.Errorf("complete: %s", reason(err))}
	}
	actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.cl.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: up.UploadId})
	return fmt.Errorf("s3 sink: multipart upload of %s (aborted): %w", where, errors.Join(errs...))
}

func isNotFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// reason is what an SDK error says went wrong: the server's code and
// message and the HTTP status, or the transport failure. It never holds
// credentials (the SDK's errors do not carry them).
func reason(err error) string {
	var ae smithy.APIError
	var re *awshttp.ResponseError
	status := ""
	// A request that got no answer (connection refused, a timeout)
	// carries status 0: its cause is the transport failure below.
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		status = fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	if errors.As(err, &ae) {
		msg := ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if status != "" {
			msg = status + " " + msg
		}
		return msg
	}
	if status != "" {
		return status
	}
	msg := err.Error()
	// "operation error S3: PutObject, https response error …": keep the cause.
	if i := strings.LastIndex(msg, ", "); strings.HasPrefix(msg, "operation error") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

// withPayloadHash has the SDK sign a request with hash, the hex SHA-256
// of its body that put computed already, instead of reading the body
// through SHA-256 a second time (it does for http endpoints; for https
// ones it would send UNSIGNED-PAYLOAD, and the server now checks the body
// against the signed hash).
func withPayloadHash(hash string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("rivvenPayloadHash",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(v4.SetPayloadHash(ctx, hash), in)
				}), middleware.After)
		})
	}
}
