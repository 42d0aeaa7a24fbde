package scram

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// RFC 7677 §3 example exchange.
const (
	rfcUser        = "user"
	rfcPassword    = "pencil"
	rfcClientNonce = "rOprNGfwEbeRWgbNEkqO"
	rfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	rfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	rfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfcClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

func TestClientRFC7677(t *testing.T) {
	c := NewClient(rfcUser, rfcPassword, rfcClientNonce)
	if got := string(c.First()); got != rfcClientFirst {
		t.Fatalf("client-first = %q", got)
	}
	final, err := c.Final([]byte(rfcServerFirst))
	if err != nil || string(final) != rfcClientFinal {
		t.Fatalf("client-final = %q, %v", final, err)
	}
	if err := c.Verify([]byte(rfcServerFinal)); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestClientRejectsForgedServerSignature(t *testing.T) {
	c := NewClient(rfcUser, rfcPassword, rfcClientNonce)
	c.First()
	if _, err := c.Final([]byte(rfcServerFirst)); err != nil {
		t.Fatal(err)
	}
	forged := "v=" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	if err := c.Verify([]byte(forged)); !errors.Is(err, ErrServerSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestClientChecksServerFirst(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want error
	}{
		{"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ErrNonceMismatch},
		{"r=" + rfcClientNonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ErrNonceMismatch},
		{"r=" + rfcClientNonce + "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000", ErrIterations},
		{"r=" + rfcClientNonce + "x,s=!!,i=4096", ErrMalformed},
		{"garbage", ErrMalformed},
	} {
		cl := NewClient(rfcUser, rfcPassword, rfcClientNonce)
		cl.First()
		if _, err := cl.Final([]byte(c.msg)); !errors.Is(err, c.want) {
			t.Errorf("%q: got %v, want %v", c.msg, err, c.want)
		}
	}
	cl := NewClient(rfcUser, rfcPassword, rfcClientNonce)
	cl.First()
	cl.Final([]byte(rfcServerFirst))
	var se *ServerError
	if err := cl.Verify([]byte("e=invalid-proof")); !errors.As(err, &se) || se.Value != "invalid-proof" {
		t.Errorf("e=: %v", err)
	}
}

func rfcLookup(t *testing.T) func(string) (Credentials, bool) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	cr, err := NewCredentials(rfcPassword, salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return func(u string) (Credentials, bool) { return cr, u == rfcUser }
}

func TestServerRFC7677(t *testing.T) {
	s := NewServer(rfcLookup(t), rfcServerNonce)
	first, err := s.First([]byte(rfcClientFirst))
	if err != nil || string(first) != rfcServerFirst {
		t.Fatalf("server-first = %q, %v", first, err)
	}
	final, err := s.Final([]byte(rfcClientFinal))
	if err != nil || string(final) != rfcServerFinal {
		t.Fatalf("server-final = %q, %v", final, err)
	}
	if s.User() != rfcUser {
		t.Fatalf("user = %q", s.User())
	}
}

func TestServerRejectsWrongPasswordAndUnknownUser(t *testing.T) {
	for _, c := range []struct {
		user, password string
		want           error
	}{{rfcUser, "wrong", ErrInvalidProof}, {"nobody", rfcPassword, ErrUnknownUser}} {
		s := NewServer(rfcLookup(t), "")
		cl := NewClient(c.user, c.password, "")
		first, err := s.First(cl.First())
		if err != nil {
			t.Fatal(err)
		}
		final, err := cl.Final(first)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Final(final); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.user, err, c.want)
		}
	}
}

func TestNameEscaping(t *testing.T) {
	for _, n := range []string{"a=b,c", "plain", "=,=,", ""} {
		got, err := UnescapeName(EscapeName(n))
		if err != nil || got != n {
			t.Errorf("%q → %q, %v", n, got, err)
		}
		if strings.ContainsAny(EscapeName(n), ",") {
			t.Errorf("escaped %q still has a comma", n)
		}
	}
	if _, err := UnescapeName("a=3Xb"); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad escape: %v", err)
	}
	c := NewClient("a=b,c", "p", "n0nce")
	if got := string(c.First()); got != "n,,n=a=3Db=2Cc,r=n0nce" {
		t.Errorf("client-first = %q", got)
	}
}
