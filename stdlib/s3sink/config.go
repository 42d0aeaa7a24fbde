package s3sink

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures an s3 sink. It is plain data: the code generator
// writes it as a Go composite literal. The json tags name the keys of the
// `config` block (cue/s3_sink.cue, #S3Sink, which holds every default);
// Validate says what New requires.
type Config struct {
	// Bucket receives the objects.
	Bucket string `json:"bucket"`
	// Endpoint is a custom S3-compatible endpoint (http:// or https://);
	// "" = AWS. A custom endpoint is addressed path-style
	// (ENDPOINT/BUCKET/KEY).
	Endpoint string `json:"endpoint"`
	// Region is the bucket's region; "" = the AWS chain's (AWS_REGION,
	// the shared config), else us-east-1.
	Region string `json:"region"`
	// Prefix is prepended to every key (with a "/" between); "" = none.
	Prefix string `json:"prefix"`
	// Format is FormatJSONL, FormatAvro or FormatParquet.
	Format string `json:"format"`
	// Compression is "none", "gzip", "zstd" or "snappy" (avro and
	// parquet only; see the formats).
	Compression string `json:"compression"`
	// Envelope is what a JSON line holds: "source_event", "debezium" or
	// "row" (format jsonl only).
	Envelope string `json:"envelope"`
	// KeyTemplate renders each object's key below Prefix; it must hold
	// {position}. See Layout.
	KeyTemplate string `json:"key_template"`
	// Credentials are static credentials; both empty = the AWS default
	// chain. They never appear in messages.
	Credentials Credentials `json:"credentials"`
	// Rotate says when the open objects are closed and stored.
	Rotate Rotate `json:"rotate"`
	// PartSize is the size of a multipart upload's parts; an object
	// larger than it is uploaded in parts (at least 5 MiB).
	PartSize int `json:"part_size"`
	// TLS configures an https endpoint.
	TLS TLS `json:"tls"`
}

// Credentials are static AWS credentials.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
}

// Rotate bounds the objects of one unit (the objects stored together).
type Rotate struct {
	// MaxRecords closes the unit after a record that makes one of its
	// objects hold this many records.
	MaxRecords int `json:"max_records"`
	// MaxBytes closes the unit after a record that makes one of its
	// objects reach this many encoded bytes (before compression).
	MaxBytes int `json:"max_bytes"`
	// Interval closes the unit before a record whose event time lies in
	// another window of this length than the unit's first record's
	// (windows aligned to the Unix epoch: "1h" cuts at every full hour of
	// event time); a Go duration ("1h", "15m"); "0" = never.
	Interval string `json:"interval"`
}

// TLS configures the connection to an https endpoint.
type TLS struct {
	// CAPath is a PEM file of CAs that verify the server; "" = the
	// system's.
	CAPath string `json:"ca_path"`
	// InsecureSkipVerify accepts any server certificate (tests only).
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
}

// The formats.
const (
	FormatJSONL   = "jsonl"
	FormatAvro    = "avro"
	FormatParquet = "parquet"
)

// DefaultKeyTemplate is the key_template default.
const DefaultKeyTemplate = "{stream}/dt={date}/hr={hour}/{stream}+{part}+{position}.{ext}"

// minPartSize is S3's smallest part (but the last).
const minPartSize = 5 << 20

// Validate reports what New would refuse, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("bucket is required"))
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		errs = append(errs, errors.New("endpoint must start with http:// or https://"))
	}
	switch c.Format {
	case FormatJSONL, FormatAvro, FormatParquet:
	default:
		errs = append(errs, fmt.Errorf("format %q: want jsonl, avro or parquet", c.Format))
	}
	switch c.Compression {
	case "none", "gzip", "zstd", "snappy": // snappy with jsonl: New refuses it
	default:
		errs = append(errs, fmt.Errorf("compression %q: want none, gzip, zstd or snappy", c.Compression))
	}
	switch c.Envelope {
	case "source_event", "debezium", "row":
	default:
		errs = append(errs, fmt.Errorf("envelope %q: want source_event, debezium or row", c.Envelope))
	}
	if _, err := parseTemplate(c.KeyTemplate); err != nil {
		errs = append(errs, fmt.Errorf("key_template: %w", err))
	}
	if (c.Credentials.AccessKeyID == "") != (c.Credentials.SecretAccessKey == "") {
		errs = append(errs, errors.New("credentials: set both access_key_id and secret_access_key, or neither (the AWS default chain)"))
	}
	if c.Rotate.MaxRecords < 1 {
		errs = append(errs, errors.New("rotate.max_records must be at least 1"))
	}
	if c.Rotate.MaxBytes < 1 {
		errs = append(errs, errors.New("rotate.max_bytes must be at least 1"))
	}
	if _, err := c.interval(); err != nil {
		errs = append(errs, err)
	}
	if c.PartSize < minPartSize {
		errs = append(errs, fmt.Errorf("part_size must be at least %d (5 MiB)", minPartSize))
	}
	return errors.Join(errs...)
}

func (c *Config) interval() (time.Duration, error) {
	if c.Rotate.Interval == "" || c.Rotate.Interval == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.Rotate.Interval)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("rotate.interval %q: want a duration such as 1h or 15m, or 0", c.Rotate.Interval)
	}
	return d, nil
}

// Defaults returns the defaults of cue/s3_sink.cue, for tests and for Go
// callers that fill a Config by hand.
func Defaults() Config {
	return Config{
		Format: FormatJSONL, Compression: "none", Envelope: "source_event", KeyTemplate: DefaultKeyTemplate,
		Rotate:   Rotate{MaxRecords: 100000, MaxBytes: 64 << 20, Interval: "1h"},
		PartSize: 16 << 20,
	}
}

// SnappyJSONL is why compression snappy is refused with format jsonl.
const SnappyJSONL = "compression snappy compresses avro blocks and parquet column chunks; JSON lines objects take none, gzip or zstd"
