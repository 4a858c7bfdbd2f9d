package collab_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

// readModes runs f once with joined connections waiting in the poller and
// once with a reader goroutine each (what systems without epoll get).
// The fast tier (go test -short) runs the poller only.
func readModes(t *testing.T, f func(t *testing.T, blocking bool)) {
	t.Run("poller", func(t *testing.T) { f(t, false) })
	if !testing.Short() {
		t.Run("goroutines", func(t *testing.T) { f(t, true) })
	}
}

// newModeServer is a test server in one of the read modes.
func newModeServer(t *testing.T, cfg collab.Config, blocking bool) *collabtest.Env {
	cfg.NoPoll = blocking
	return collabtest.New(t, cfg)
}

// connGoroutines counts the goroutines serving connections on the
// server side: readers and writers.
func connGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "transport.(*Conn).readLoop") || strings.Contains(g, "transport.(*Conn).readReady") ||
			strings.Contains(g, "transport.(*Conn).writeLoop") {
			n++
		}
	}
	return n
}

// eventually waits up to a minute (a bound on a hang, not a timing) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWaitingConnectionsHoldNoGoroutine: once joined, a connection that is
// neither sending nor being sent to has no goroutine on the server; it is
// read again as soon as its client sends, and still gets every broadcast.
func TestWaitingConnectionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller uses Linux's epoll; elsewhere each connection keeps a reader goroutine")
	}
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Parked")
	const n = 40
	raws := make([]*rawConn, n)
	for i := range raws {
		raws[i] = dialRaw(t, e, d.ID)
		raws[i].send(hello(fmt.Sprintf("viewer-%02d", i)))
		raws[i].next(collab.MsgWelcome)
	}
	eventually(t, "every connection waits without a goroutine", func() bool { return connGoroutines() == 0 })
	if !e.Server.Polling() {
		t.Fatal("no poller was started")
	}

	ed := e.Dial(t, d.ID, "editor-1")
	if err := ed.Edit("issues", insertAt(0, "Parked but listening")); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		if u := r.next(collab.MsgUpdates); len(u["updates"].([]any)) != 1 {
			t.Fatalf("updates without seq: %v", u)
		}
	}
	// Each waiting connection is read when its client sends, many times.
	for round := range 3 {
		for i, r := range raws {
			r.send(fmt.Sprintf(`{"type":"ping","id":%d}`, 100*round+i))
		}
		for i, r := range raws {
			if p := r.next(collab.MsgPong); p["id"] != float64(100*round+i) {
				t.Fatalf("round %d, conn %d: pong %v", round, i, p)
			}
		}
	}
	ed.Close()
	eventually(t, "the connections are back in the poller", func() bool { return connGoroutines() == 0 })
}

// TestWaitingConnectionsLeave: a connection that ends while it waits in
// the poller leaves its hub, whether the client went away (the poller
// sees the socket close) or the server closed it (the writer takes it out
// of the poller): with no one left, the document unloads.
func TestWaitingConnectionsLeave(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		e := newModeServer(t, collab.Config{Hub: collab.HubConfig{UnloadAfter: 20 * time.Millisecond, PingEvery: 50 * time.Millisecond}}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Leaving")

		// The client goes away.
		r := dialRaw(t, e, d.ID)
		r.send(hello("goes-away"))
		r.next(collab.MsgWelcome)
		if !blocking {
			eventually(t, "the connection waits in the poller", func() bool { return connGoroutines() == 0 })
		}
		r.ws.NetConn().Close()
		eventually(t, "the document unloads after its client went away", func() bool { return !e.Server.HubLoaded(d.ID) })

		// The server closes a client that never answers pings.
		q := dialRaw(t, e, d.ID)
		q.ws.SetPingHandler(func(string) error { return nil })
		q.send(hello("never-reads"))
		q.next(collab.MsgWelcome)
		eventually(t, "the document unloads after the silent client was closed", func() bool { return !e.Server.HubLoaded(d.ID) })
		if e := q.next(collab.MsgError); e["code"] != collab.CodeIdle {
			t.Fatalf("silent client got %v; want the %s error", e, collab.CodeIdle)
		}
		if code := q.closeCode(); code != collab.CloseReconnect {
			t.Fatalf("silent client closed with %d; want %d", code, collab.CloseReconnect)
		}
	})
}

// TestProtocolErrorsClose: frames that break the websocket protocol close
// the connection with 1002 (or 1009 for a message over four times the
// message limit), in both read modes, and the others carry on.
func TestProtocolErrorsClose(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		e := newModeServer(t, collab.Config{MaxMessageBytes: 1 << 10}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Protocol errors")
		other := e.Dial(t, d.ID, "bystander")
		cases := []struct {
			name  string
			frame []byte // written raw after the hello
			code  int
		}{
			{"unmasked", []byte{0x81, 0x02, '{', '}'}, 1002},
			{"reserved bits", []byte{0xC1, 0x80, 0, 0, 0, 0}, 1002},
			{"unknown opcode", []byte{0x83, 0x80, 0, 0, 0, 0}, 1002},
			{"continuation first", []byte{0x80, 0x80, 0, 0, 0, 0}, 1002},
			{"long ping", append([]byte{0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0}, make([]byte, 126)...), 1002},
			{"over four times the limit", []byte{0x81, 0xFE, 0x10, 0x01, 0, 0, 0, 0}, 1009},
		}
		for i, tc := range cases {
			r := dialRaw(t, e, d.ID)
			r.send(hello(fmt.Sprintf("breaker-%d", i)))
			r.next(collab.MsgWelcome)
			if _, err := r.ws.NetConn().Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if got := r.closeCode(); got != tc.code {
				t.Errorf("%s: closed with %d; want %d", tc.name, got, tc.code)
			}
		}
		// The bystander still edits.
		if err := other.Edit("issues", insertAt(0, "still here")); err != nil {
			t.Fatal(err)
		}
		if err := other.WaitConfirmed(waitCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
}

// clientFrame encodes one final, masked client frame.
func clientFrame(op byte, payload []byte, key [4]byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// TestFramesInPieces: frames that arrive a few bytes at a time, a header
// in one read and its payload in later ones, are put together, in both
// read modes, before and after the hello.
func TestFramesInPieces(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		e := newModeServer(t, collab.Config{}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Pieces")
		r := dialRaw(t, e, d.ID)
		nc := r.ws.NetConn()
		write := func(frame []byte, piece int) {
			for len(frame) > 0 {
				n := min(piece, len(frame))
				if _, err := nc.Write(frame[:n]); err != nil {
					t.Fatal(err)
				}
				frame = frame[n:]
				time.Sleep(time.Millisecond) // let the server read each piece on its own
			}
		}
		write(clientFrame(0x1, []byte(hello("in-pieces")), [4]byte{1, 2, 3, 4}), 7)
		r.next(collab.MsgWelcome)
		big := fmt.Sprintf(`{"type":"ping","id":42}%s`, strings.Repeat(" ", 70000))
		for i, piece := range []int{1, 3, 1000} {
			write(clientFrame(0x1, []byte(fmt.Sprintf(`{"type":"ping","id":%d}`, i)), [4]byte{9, 8, 7, byte(i)}), piece)
			if p := r.next(collab.MsgPong); p["id"] != float64(i) {
				t.Fatalf("piece %d: pong %v", piece, p)
			}
		}
		write(clientFrame(0x1, []byte(big), [4]byte{5, 5, 5, 5}), 4096)
		if p := r.next(collab.MsgPong); p["id"] != float64(42) {
			t.Fatalf("big ping: pong %v", p)
		}
	})
}
