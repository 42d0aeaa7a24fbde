package wasm

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// decodeTransformJSON is decodeTransform for a JSON batch: a record whose
// row keys are its schema's field names keeps its schema; other key lists
// get a schema of untyped fields, one per list.
func (c *codec) decodeTransformJSON(data []byte, recs []*runtime.Record, keeps bool, out []verdict) error {
	b, err := abi.ParseBatchJSON(data)
	if err != nil {
		return err
	}
	if len(b.Records) != len(recs) {
		return fmt.Errorf("it returned %d records for a batch of %d (a transform returns one record for each it gets, with status drop for those it filters out)", len(b.Records), len(recs))
	}
	for i := range b.Records {
		ar, r := &b.Records[i], recs[i]
		out[i] = verdict{status: ar.Status, err: ar.Error}
		if ar.Status != abi.RecordKeep {
			continue
		}
		as := &b.Schemas[ar.Schema]
		s := r.Schema
		if !sameNames(s, as) {
			if keeps {
				out[i] = verdict{status: abi.RecordError, err: fmt.Sprintf("its manifest says keeps_schema, but it changed the fields of stream %q", r.Stream)}
				continue
			}
			s = c.jsonSchema(as)
		}
		r.Schema, r.Stream, r.Namespace, r.Op = s, ar.Stream, ar.Namespace, runtime.Op(ar.Op)
		r.After, r.Before, r.Meta = fromABIValues(ar.After), fromABIValues(ar.Before), fromABIMeta(ar.Meta)
		if ar.HasTime {
			r.Time = nanosTime(ar.TimeNanos)
		}
	}
	return nil
}

// jsonSchema returns the schema of untyped fields for a key list.
func (c *codec) jsonSchema(as *abi.Schema) *runtime.Schema {
	var k strings.Builder
	k.WriteString("json\x00")
	for _, f := range as.Fields {
		k.WriteString(f.Name)
		k.WriteByte(0)
	}
	if s, ok := c.byBytes[k.String()]; ok {
		return s
	}
	s := fromABISchema(as)
	c.byBytes[k.String()] = s
	return s
}

func sameNames(s *runtime.Schema, as *abi.Schema) bool {
	if s == nil || len(s.Fields) != len(as.Fields) {
		return false
	}
	for i, f := range s.Fields {
		if f.Name != as.Fields[i].Name {
			return false
		}
	}
	return true
}
