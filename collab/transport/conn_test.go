package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// closer answers a connection's first message with n messages and closes
// the connection with code 4000.
type closer struct {
	c      *Conn
	n      int
	closed *sync.WaitGroup
}

func (h *closer) Message(Message) bool {
	for i := range h.n {
		h.c.Queue([]byte(fmt.Sprintf("message %d %s", i, strings.Repeat("x", 1000))))
	}
	h.c.Close(4000, "bye")
	h.closed.Done()
	return false
}

func (h *closer) Gone() {}

// TestFlushed: once Flushed returns, every connection that was being
// closed has had its queued messages and its close frame written, so a
// stopping process may exit; the client then reads all of them and the
// close code, even though the server is gone.
func TestFlushed(t *testing.T) {
	const conns, msgs = 20, 100
	tr := New(Options{MaxMessage: 1 << 16, Queue: 1000, FirstRead: time.Minute})
	defer tr.Close()
	up := websocket.Upgrader{}
	var closed sync.WaitGroup
	closed.Add(conns)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		tr.Serve(ws, r.RemoteAddr, func(c *Conn) Handler { return &closer{c: c, n: msgs, closed: &closed} })
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard against hanging only
	defer cancel()
	if err := tr.Flushed(ctx); err != nil {
		t.Fatalf("Flushed with no connection: %v", err)
	}
	clients := make([]*websocket.Conn, conns)
	for i := range clients {
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		clients[i] = ws
		if err := ws.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	closed.Wait() // every connection's close has begun
	tr.closeMu.Lock()
	begun := tr.closing
	tr.closeMu.Unlock()
	if err := tr.Flushed(ctx); err != nil {
		t.Fatal(err)
	}
	tr.closeMu.Lock()
	left := tr.closing
	tr.closeMu.Unlock()
	if left != 0 {
		t.Fatalf("Flushed returned with %d connections still closing (%d had begun)", left, begun)
	}
	for i, ws := range clients {
		got := 0
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				if !websocket.IsCloseError(err, 4000) {
					t.Fatalf("client %d: %v after %d messages; want close 4000", i, err, got)
				}
				break
			}
			got += strings.Count(string(data), "message ")
		}
		if got != msgs {
			t.Fatalf("client %d read %d messages; want %d", i, got, msgs)
		}
	}
}
