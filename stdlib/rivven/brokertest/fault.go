package brokertest

import (
	"sync"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Action is what the server does with a request after a FaultFunc saw it.
type Action int

const (
	// Proceed handles the request and replies normally.
	Proceed Action = iota
	// DropBeforeHandling closes the connection without handling the request.
	DropBeforeHandling
	// DropAfterHandling handles the request (e.g. appends the records) and
	// closes the connection before replying: the client's reply is lost.
	DropAfterHandling
	// WrongCorrelationID handles the request and replies with a correlation id
	// that is not the request's.
	WrongCorrelationID
)

// Fault is a FaultFunc's verdict. Delay is slept before the Action.
type Fault struct {
	Action Action
	Delay  time.Duration
}

// RequestInfo describes a received request to a FaultFunc.
type RequestInfo struct {
	Conn    uint64 // connection number, from 1 in accept order
	Seq     uint64 // request number across the server, from 1
	Kind    wire.RequestKind
	Request wire.Request // decoded; must not be modified
}

// FaultFunc decides the fate of each request. It is called from connection
// goroutines, possibly concurrently; it must not block for long.
type FaultFunc func(RequestInfo) Fault

// DropAfter returns a FaultFunc that, on the nth request of kind (counting
// from 1, across all connections), applies action once; all other requests
// proceed. The returned func is safe for concurrent use.
func DropAfter(kind wire.RequestKind, n int, action Action) FaultFunc {
	var mu sync.Mutex
	seen := 0
	return func(ri RequestInfo) Fault {
		if ri.Kind != kind {
			return Fault{}
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen == n {
			return Fault{Action: action}
		}
		return Fault{}
	}
}
