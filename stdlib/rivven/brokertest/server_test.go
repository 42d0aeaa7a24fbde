package brokertest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/scram"
	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

type rawConn struct {
	t  *testing.T
	nc net.Conn
	id uint32
}

func dialRaw(t *testing.T, s *Server) *rawConn {
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) call(req wire.Request) wire.Response {
	r.t.Helper()
	b, err := wire.AppendFrame(nil, r.id, req)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
	f, err := wire.ReadFrame(r.nc)
	if err != nil {
		r.t.Fatal(err)
	}
	if f.CorrelationID != r.id {
		r.t.Fatalf("correlation %d, want %d", f.CorrelationID, r.id)
	}
	r.id++
	resp, err := wire.DecodeResponse(f.Payload)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func wantError(t *testing.T, resp wire.Response, prefix string) {
	t.Helper()
	e, ok := resp.(*wire.ErrorResponse)
	if !ok || !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("got %#v, want Error %q…", resp, prefix)
	}
}

func TestHandshakeBytes(t *testing.T) {
	s, _ := Start(Config{})
	defer s.Close()
	r := dialRaw(t, s)
	// The reference's worked examples, byte for byte on the socket.
	req, _ := hex.DecodeString("000000150000000000" + "21020D72697676656E2D636C69656E74")
	r.nc.Write(req)
	got := make([]byte, 15)
	if _, err := io.ReadFull(r.nc, got); err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("0000000B0000000000" + "230201024F4B")
	if !bytes.Equal(got, want) {
		t.Fatalf("got % X\nwant % X", got, want)
	}
}

func TestAuthGate(t *testing.T) {
	s, _ := Start(Config{RequireAuth: true, Users: map[string]string{"u": "p"}})
	defer s.Close()
	r := dialRaw(t, s)
	if _, ok := r.call(&wire.Ping{}).(*wire.Pong); !ok {
		t.Fatal("Ping must pass unauthenticated")
	}
	wantError(t, r.call(&wire.Handshake{ProtocolVersion: 2}), "AUTHENTICATION_REQUIRED:")
	wantError(t, r.call(&wire.ListTopics{}), "AUTHENTICATION_REQUIRED:")
	wantError(t, r.call(&wire.Authenticate{Username: "u", Password: "p", RequireTLS: true}), "PLAINTEXT_AUTH_REQUIRES_TLS:")
	wantError(t, r.call(&wire.SaslAuthenticate{Mechanism: []byte("PLAIN"), AuthBytes: []byte("\x00u\x00p")}), "SASL/PLAIN requires a TLS")

	sc := scram.NewClient("u", "p", "")
	first, ok := r.call(&wire.ScramClientFirst{Message: sc.First()}).(*wire.ScramServerFirst)
	if !ok {
		t.Fatal("no server-first")
	}
	final, err := sc.Final(first.Message)
	if err != nil {
		t.Fatal(err)
	}
	fin, ok := r.call(&wire.ScramClientFinal{Message: final}).(*wire.ScramServerFinal)
	if !ok || sc.Verify(fin.Message) != nil || !fin.SessionID.Valid || fin.ExpiresIn.Or(0) != 3600 {
		t.Fatalf("server-final %#v", fin)
	}
	if hr, ok := r.call(&wire.Handshake{ProtocolVersion: 2}).(*wire.HandshakeResult); !ok || !hr.Compatible {
		t.Fatalf("handshake after auth: %#v", hr)
	}
	s.ExpireSessions()
	wantError(t, r.call(&wire.ListTopics{}), "SESSION_EXPIRED:")
	wantError(t, r.call(&wire.ListTopics{}), "AUTHENTICATION_REQUIRED:")

	sc = scram.NewClient("u", "wrong", "")
	first = r.call(&wire.ScramClientFirst{Message: sc.First()}).(*wire.ScramServerFirst)
	final, _ = sc.Final(first.Message)
	fin = r.call(&wire.ScramClientFinal{Message: final}).(*wire.ScramServerFinal)
	if string(fin.Message) != "e=invalid-proof" || fin.SessionID.Valid {
		t.Fatalf("wrong password: %#v", fin)
	}
}

func TestTopicRulesAndUnsupported(t *testing.T) {
	s, _ := Start(Config{})
	defer s.Close()
	r := dialRaw(t, s)
	wantError(t, r.call(&wire.CreateTopic{Name: "_schemas"}), "INVALID_TOPIC_NAME:")
	wantError(t, r.call(&wire.CreateTopic{Name: "a..b"}), "INVALID_TOPIC_NAME:")
	wantError(t, r.call(&wire.CreateTopic{Name: "a", Partitions: wire.Some[uint32](0)}), "INVALID_PARTITION_COUNT:")
	if tc := r.call(&wire.CreateTopic{Name: "a"}).(*wire.TopicCreated); tc.Partitions != 3 {
		t.Fatalf("default partitions %d", tc.Partitions)
	}
	wantError(t, r.call(&wire.CreateTopic{Name: "a"}), "Topic 'a' already exists")
	wantError(t, r.call(&wire.ListGroups{}), "UNSUPPORTED:")
	// Publishing auto-creates; keyed records go to one hashed partition.
	pb := r.call(&wire.PublishBatch{Topic: "auto", Records: []wire.Record{{Key: []byte("k"), Value: []byte("v")}}}).(*wire.PublishedBatch)
	pb2 := r.call(&wire.PublishBatch{Topic: "auto", Records: []wire.Record{{Key: []byte("k"), Value: []byte("w")}}}).(*wire.PublishedBatch)
	if pb.Partition != pb2.Partition || pb2.BaseOffset != 1 {
		t.Fatalf("keyed partitioning: %+v %+v", pb, pb2)
	}
	if m := r.call(&wire.GetMetadata{Topic: "auto"}).(*wire.Metadata); m.Partitions != 3 {
		t.Fatalf("auto-created with %d partitions", m.Partitions)
	}
}

func TestIdempotenceIsPerProducerAndPartition(t *testing.T) {
	s, _ := Start(Config{})
	defer s.Close()
	r := dialRaw(t, s)
	pid := r.call(&wire.InitProducerID{}).(*wire.ProducerIDInitialized)
	batch := func(topic string, seq int32, n int) wire.Response {
		recs := make([]wire.Record, n)
		for i := range recs {
			recs[i].Value = []byte{byte(i)}
		}
		return r.call(&wire.IdempotentPublishBatch{Topic: topic, Partition: wire.Some[uint32](0), Records: recs,
			ProducerID: pid.ProducerID, ProducerEpoch: pid.ProducerEpoch, BaseSequence: seq})
	}
	wantError(t, batch("t", 1, 1), "OUT_OF_ORDER_SEQUENCE: expected 0, got 1")
	if got := batch("t", 0, 2); !reflect.DeepEqual(got, &wire.IdempotentPublishedBatch{BaseOffset: 0, RecordCount: 2}) {
		t.Fatalf("first: %#v", got)
	}
	if got := batch("t", 2, 3); !reflect.DeepEqual(got, &wire.IdempotentPublishedBatch{BaseOffset: 2, RecordCount: 3}) {
		t.Fatalf("second: %#v", got)
	}
	if got := batch("t", 0, 2); !reflect.DeepEqual(got, &wire.IdempotentPublishedBatch{BaseOffset: 0, RecordCount: 2, Duplicate: true}) {
		t.Fatalf("resend of the first: %#v", got)
	}
	// Like rivvend, the state is keyed by partition number, not topic: a
	// second topic's sequence 0 looks like a duplicate and is NOT appended.
	// That is why the client binds an IdempotentProducer to one topic.
	if got := batch("other", 0, 2); !reflect.DeepEqual(got, &wire.IdempotentPublishedBatch{RecordCount: 2, Duplicate: true}) {
		t.Fatalf("other topic: %#v", got)
	}
	if n := len(s.Records("other", 0)); n != 0 {
		t.Fatalf("other topic holds %d records", n)
	}
	if n := len(s.Records("t", 0)); n != 5 {
		t.Fatalf("%d records", n)
	}
	wantError(t, batch("t", 9, 1), "OUT_OF_ORDER_SEQUENCE: expected 5, got 9")
}

func TestFrameErrors(t *testing.T) {
	s, _ := Start(Config{})
	defer s.Close()
	r := dialRaw(t, s)
	// Undecodable payload: Error with correlation id 0, connection kept.
	r.nc.Write([]byte{0, 0, 0, 6, 0, 0, 0, 0, 9, 0xFF})
	f, err := wire.ReadFrame(r.nc)
	if err != nil || f.CorrelationID != 0 {
		t.Fatalf("%+v %v", f, err)
	}
	resp, _ := wire.DecodeResponse(f.Payload)
	wantError(t, resp, "PROTOCOL_ERROR:")
	r.id = 10
	if _, ok := r.call(&wire.Ping{}).(*wire.Pong); !ok {
		t.Fatal("connection should survive an undecodable request")
	}
	// Oversize frame: MESSAGE_TOO_LARGE, then the connection is closed.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], wire.MaxFrameLength+1)
	r.nc.Write(hdr[:])
	f, err = wire.ReadFrame(r.nc)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = wire.DecodeResponse(f.Payload)
	wantError(t, resp, "MESSAGE_TOO_LARGE:")
	if _, err := wire.ReadFrame(r.nc); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}
