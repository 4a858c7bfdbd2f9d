// Package collabtest builds a bpfdraft server for tests the one way every
// test does, as main builds it: collab.New on a bbolt store in a
// temporary directory, served by httptest with the shutdown hook main
// registers. It also speaks the JSON API and the websocket for tests.
package collabtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
)

// Env is a running test server.
type Env struct {
	Server *collab.Server
	HTTP   *httptest.Server
	// Store is what the server stores in (the bbolt store, or what Wrap
	// made of it); Bolt is the bbolt store itself.
	Store store.Store
	Bolt  *boltstore.Store
	// Dir is the data directory.
	Dir string
	// URL is the server's base URL.
	URL string
}

// Options change how an Env is built.
type Options struct {
	// Wrap, if set, wraps the bbolt store (to inject faults).
	Wrap func(store.Store) store.Store
	// Now is the server's clock (default time.Now).
	Now func() time.Time
	// Dir is the data directory (default a new temporary one).
	Dir string
}

// New starts a server with cfg; it is shut down when the test ends.
// Setting BPFDRAFT_TEST_LOG shows its debug log.
func New(t testing.TB, cfg collab.Config, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	bolt, err := boltstore.Open(o.Dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = bolt
	if o.Wrap != nil {
		st = o.Wrap(bolt)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BPFDRAFT_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := collab.New(cfg, st, log, o.Now)
	hs := httptest.NewServer(srv.Handler())
	hs.Config.RegisterOnShutdown(srv.BeginShutdown)
	e := &Env{Server: srv, HTTP: hs, Store: st, Bolt: bolt, Dir: o.Dir, URL: hs.URL}
	t.Cleanup(e.Close)
	return e
}

// Close shuts the server down and closes the store; it may be called
// more than once.
func (e *Env) Close() {
	e.HTTP.Close()
	e.Server.Shutdown(context.Background())
	e.Bolt.Close()
}

// Call makes a request and returns its status and body.
func (e *Env) Call(t testing.TB, method, path, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// PostJSON posts v as JSON, checks the status and decodes the answer into
// out (unless nil).
func (e *Env) PostJSON(t testing.TB, path string, v any, want int, out any) {
	t.Helper()
	body, _ := json.Marshal(v)
	status, data := e.Call(t, "POST", path, "application/json", string(body))
	if status != want {
		t.Fatalf("POST %s: status %d; want %d\n%s", path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// GetJSON gets path, checks the status and decodes the answer into out
// (unless nil).
func (e *Env) GetJSON(t testing.TB, path string, want int, out any) {
	t.Helper()
	status, data := e.Call(t, "GET", path, "", "")
	if status != want {
		t.Fatalf("GET %s: status %d; want %d\n%s", path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, data)
		}
	}
}

// Doc is a document as the API returns it.
type Doc struct {
	ID       string `json:"id"`
	BPF      string `json:"bpf"`
	Template string `json:"template"`
	Title    string `json:"title"`
	Seq      int64  `json:"seq"`
	Sections []struct {
		ID      string   `json:"id"`
		Title   string   `json:"title"`
		Kind    string   `json:"kind"`
		Text    string   `json:"text"`
		Version int      `json:"version"`
		Paras   []string `json:"paras"`
	} `json:"sections"`
}

// CreateDoc creates a document from a template.
func (e *Env) CreateDoc(t testing.TB, template, title string) Doc {
	t.Helper()
	var d Doc
	e.PostJSON(t, "/api/documents", map[string]string{"template": template, "title": title}, 201, &d)
	return d
}

// Key returns a client key for a name, the same for the same name.
func Key(name string) string { return "key-of-" + name + "-0123456789" }

// Dial connects a client to a document with the key of name; it is
// closed when the test ends.
func (e *Env) Dial(t testing.TB, doc, name string, opts ...func(*client.Options)) *client.Client {
	t.Helper()
	o := client.Options{Key: Key(name), Name: "Name of " + name}
	for _, f := range opts {
		f(&o)
	}
	c, err := client.Dial(context.Background(), e.URL, doc, o)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
