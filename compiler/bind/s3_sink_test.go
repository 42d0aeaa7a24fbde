package bind_test

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/stdlib/s3sink"
)

// An s3 sink block with only its bucket decodes to s3sink.Defaults (the
// defaults of #S3Sink) with that bucket.
func TestS3SinkDecode(t *testing.T) {
	want := s3sink.Defaults()
	want.Bucket = "lake"
	if got := decode(t, bind.Sink, "s3", `{bucket: lake}`); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	got := decode(t, bind.Sink, "s3", `{bucket: lake, endpoint: "http://127.0.0.1:9000", format: parquet, compression: zstd, credentials: {access_key_id: a, secret_access_key: s}, rotate: {max_records: 10, interval: "15m"}}`).(s3sink.Config)
	want.Endpoint, want.Format, want.Compression = "http://127.0.0.1:9000", s3sink.FormatParquet, "zstd"
	want.Credentials = s3sink.Credentials{AccessKeyID: "a", SecretAccessKey: "s"}
	want.Rotate.MaxRecords, want.Rotate.Interval = 10, "15m"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
}
