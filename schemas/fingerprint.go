package schemas

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/hamba/avro/v2"
)

// Fingerprints are the fingerprints of a schema's canonical form (for Avro,
// its Parsing Canonical Form).
type Fingerprints struct {
	// MD5 is the MD5 digest of the canonical form.
	MD5 [md5.Size]byte
	// SHA256 is the SHA-256 digest of the canonical form.
	SHA256 [sha256.Size]byte
	// CRC64 is the CRC-64-AVRO (Rabin) fingerprint; zero for other formats.
	CRC64 uint64
}

// CanonicalFingerprints returns the MD5 and SHA-256 digests of canonical,
// with CRC64 left zero. Use it for formats other than Avro.
func CanonicalFingerprints(canonical string) Fingerprints {
	return Fingerprints{MD5: md5.Sum([]byte(canonical)), SHA256: sha256.Sum256([]byte(canonical))}
}

// AvroFingerprints returns the fingerprints of s's Parsing Canonical Form,
// including the CRC-64-AVRO fingerprint used by Avro single-object encoding.
func AvroFingerprints(s avro.Schema) (Fingerprints, error) {
	fp := CanonicalFingerprints(s.String())
	crc, err := s.FingerprintUsing(avro.CRC64Avro)
	if err != nil {
		return fp, fmt.Errorf("avro fingerprint: %w", err)
	}
	fp.CRC64 = binary.BigEndian.Uint64(crc)
	return fp, nil
}

// ParseAvroCanonical parses the Avro schema text and returns its Parsing
// Canonical Form.
func ParseAvroCanonical(schema string) (string, error) {
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		return "", fmt.Errorf("avro schema: %w", err)
	}
	return s.String(), nil
}
