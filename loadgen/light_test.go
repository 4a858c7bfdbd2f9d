package loadgen

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// scripted serves a websocket that answers the hello with the given
// frames and then waits for the client to close.
func scripted(t *testing.T, frames ...string) *httptest.Server {
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
		for _, f := range frames {
			if ws.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				return
			}
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return hs
}

const lightWelcome = `{"type":"welcome","protocol":2,"client":"v","seq":3,"document":{"seq":3,"sections":[{"text":"a \"seq\":99"}]}}`

func TestLightViewerFollowsSeqs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frames  []string
		upTo    int64
		problem string // "" for none
		errors  []string
	}{
		{"in order, several per message and per frame", []string{lightWelcome,
			`{"type":"updates","updates":[{"seq":4,"section":"s","changes":[0,"\"seq\":7"]},{"seq":5}]}` + "\n" + `{"type":"updates","updates":[{"seq":6}]}`,
			`{"type":"peers","peers":[]}`, `{"type":"updates","updates":[{"seq":7}]}`}, 7, "", nil},
		{"a gap", []string{lightWelcome, `{"type":"updates","updates":[{"seq":4}]}`, `{"type":"updates","updates":[{"seq":6}]}`}, 6, "seq 6 after 4", nil},
		{"a repeat", []string{lightWelcome, `{"type":"updates","updates":[{"seq":4},{"seq":4}]}`}, 4, "seq 4 after 4", nil},
		{"an error message", []string{lightWelcome, `{"type":"error","code":"slow_consumer","message":"x","reconnect":true}`, `{"type":"updates","updates":[{"seq":4}]}`}, 4, "", []string{"slow_consumer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := scripted(t, tc.frames...)
			var mu sync.Mutex
			var errs []string
			v, err := dialLight(t.Context(), &websocket.Dialer{}, hs.URL, "doc", "viewer-1", nil, func(code string) {
				mu.Lock()
				errs = append(errs, code)
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			defer v.close()
			err = v.waitSeq(t.Context(), tc.upTo)
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("waitSeq(%d): %v", tc.upTo, err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Fatalf("waitSeq(%d): %v; want %q", tc.upTo, err, tc.problem)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(errs, ",") != strings.Join(tc.errors, ",") {
				t.Fatalf("errors reported %v; want %v", errs, tc.errors)
			}
		})
	}
}

// TestLightViewerNoticesTheEnd: a connection that ends before the run
// closes it is a problem, and waitSeq says so instead of waiting.
func TestLightViewerNoticesTheEnd(t *testing.T) {
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ws.ReadMessage()
		ws.WriteMessage(websocket.TextMessage, []byte(lightWelcome))
		ws.Close()
	}))
	defer hs.Close()
	v, err := dialLight(t.Context(), &websocket.Dialer{}, hs.URL, "doc", "viewer-1", nil, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	if err := v.waitSeq(t.Context(), 10); err == nil || !strings.Contains(err.Error(), "connection ended") {
		t.Fatalf("waitSeq after the server closed: %v; want connection ended", err)
	}
	if !v.ended() {
		t.Fatal("ended() is false after the server closed the connection")
	}
}
