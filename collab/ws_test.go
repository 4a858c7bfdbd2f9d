package collab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/editor/editortest"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestConvergence drives many clients editing random sections with random
// delays through the real server; some drop their connection with
// unconfirmed updates and reconnect. In the end every client's text
// equals the server's, which equals a replay of the stored log, and every
// update of every client is in the log exactly once.
func TestConvergence(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		seed := testseed.Seed(t)
		e := newModeServer(t, collab.Config{}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Convergence")
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()

		const clients, edits = 24, 40
		var mu sync.Mutex
		made := map[string]int{}
		cs := make([]*client.Client, clients)
		for i := range cs {
			c, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), Key: collabtest.Key(fmt.Sprintf("client-%02d", i)), Name: fmt.Sprintf("Writer %d", i),
				OnError: func(e *client.ServerError) { t.Errorf("client-%02d: server error %v", i, e) }})
			if err != nil {
				t.Fatal(err)
			}
			cs[i] = c
			t.Cleanup(func() { c.Close() })
		}
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				sections := c.Sections()
				for n := 0; n < edits; n++ {
					sec := sections[rng.IntN(3)] // crowd three sections
					if rng.IntN(4) == 0 {
						sec = sections[rng.IntN(len(sections))]
					}
					if err := c.Edit(sec, func(text string) []editor.Change { return editortest.RandomEdit(rng, text) }); err != nil {
						t.Errorf("%s: edit: %v", c.ID(), err)
						return
					}
					mu.Lock()
					made[c.ID()]++
					mu.Unlock()
					time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
					// A few clients lose their connection now and then, with
					// whatever is unconfirmed, and come back.
					if i%5 == 0 && rng.IntN(10) == 0 {
						c.Drop()
						// Edits while offline stay local.
						for k := rng.IntN(3); k > 0; k-- {
							c.Edit(sec, func(text string) []editor.Change { return editortest.RandomEdit(rng, text) })
							mu.Lock()
							made[c.ID()]++
							mu.Unlock()
							n++
						}
						time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
						if err := c.Reconnect(ctx); err != nil {
							t.Errorf("%s: reconnect: %v", c.ID(), err)
							return
						}
					}
				}
				if err := c.WaitConfirmed(ctx); err != nil {
					t.Errorf("%s: waiting for confirmations: %v (pending %d)", c.ID(), err, c.Pending())
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}

		doc, err := e.Server.CurrentDocument(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if err := c.WaitSeq(ctx, doc.Seq); err != nil {
				t.Fatalf("%s: waiting for seq %d: %v (at %d)", c.ID(), doc.Seq, err, c.Seq())
			}
			for _, s := range doc.Sections {
				if got := c.Text(s.ID); got != s.Text {
					t.Fatalf("%s: section %s:\ngot  %q\nwant %q", c.ID(), s.ID, got, s.Text)
				}
				if got := c.Paras(s.ID); strings.Join(got, ",") != strings.Join(s.Paras, ",") && len(s.Paras) > 0 {
					t.Fatalf("%s: section %s paragraph ids %v; want %v", c.ID(), s.ID, got, s.Paras)
				}
			}
		}

		// The log, replayed from the first snapshot, gives the same document.
		replayed, err := collab.LoadDocument(ctx, e.Store, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		rj, _ := json.Marshal(replayed.Sections)
		dj, _ := json.Marshal(doc.Sections)
		if string(rj) != string(dj) {
			t.Fatalf("replay of the log differs from the live document")
		}
		ups, err := e.Store.ReadUpdates(ctx, d.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		inLog := map[string]int{}
		for _, u := range ups {
			inLog[u.ClientID]++
		}
		var total int
		for id, n := range made {
			total += n
			if inLog[id] != n {
				t.Errorf("%s made %d updates; the log has %d of them", id, n, inLog[id])
			}
		}
		if int64(len(ups)) != doc.Seq || len(ups) != total {
			t.Errorf("log has %d updates, document seq %d, clients made %d", len(ups), doc.Seq, total)
		}
		t.Logf("%d updates from %d clients converged", len(ups), clients)
	})
}

// rawConn is a websocket speaking the protocol by hand, for bad input.
type rawConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, e *collabtest.Env, doc string) *rawConn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/documents/" + doc + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, e.Header())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &rawConn{t: t, ws: ws}
}

func (r *rawConn) send(msg string) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the next message of the given type, skipping others.
func (r *rawConn) next(typ string) map[string]any {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		_, data, err := r.ws.ReadMessage()
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", typ, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				r.t.Fatalf("server sent bad JSON %q: %v", line, err)
			}
			if m["type"] == typ {
				return m
			}
		}
	}
}

// closeCode reads until the connection closes and returns its close code.
func (r *rawConn) closeCode() int {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(time.Minute)) // only bounds a hang
	for {
		if _, _, err := r.ws.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			r.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

// hello is a hello with the key of name (collabtest.Key).
func hello(name string) string {
	return fmt.Sprintf(`{"type":"hello","protocol":%d,"key":%q,"name":"Test"}`, collab.ProtocolVersion, collabtest.Key(name))
}

// TestBadInput sends each kind of bad message: each gets an error with its
// code, and the document is unchanged.
func TestBadInput(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		e := newModeServer(t, collab.Config{MaxMessageBytes: 64 << 10}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Bad input")
		ctx := t.Context()
		// A document with some text in "issues": "Hi 😀" is 5 UTF-16 units.
		good, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), Key: collabtest.Key("good-client")})
		if err != nil {
			t.Fatal(err)
		}
		defer good.Close()
		if err := good.Edit("issues", func(text string) []editor.Change {
			return []editor.Change{{From: 0, To: editor.UTF16Len(text), Insert: "Hi 😀"}}
		}); err != nil {
			t.Fatal(err)
		}
		if err := good.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
		before, _ := e.Server.CurrentDocument(ctx, d.ID)

		inSession := []struct {
			name, msg, code string
		}{
			{"malformed JSON", `{"type":"push",`, collab.CodeBadMessage},
			{"unknown type", `{"type":"shout"}`, collab.CodeBadMessage},
			{"unknown field", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[5]}],"extra":1}`, collab.CodeBadMessage},
			{"no type", `{"section":"issues"}`, collab.CodeBadMessage},
			// Go's decoder would take the byte as U+FFFD and find no such
			// section: invalid UTF-8 is refused before decoding.
			{"invalid UTF-8", "{\"type\":\"presence\",\"section\":\"\xff\",\"version\":0}", collab.CodeBadMessage},
			{"second hello", hello("raw-client-1"), collab.CodeNotHello},
			{"length mismatch", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[4,[0,"x"]]}]}`, collab.CodeBadChanges},
			{"negative count", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[-1,[0,"x"],6]}]}`, collab.CodeBadChanges},
			{"fractional count", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[1.5,[0,"x"],3.5]}]}`, collab.CodeBadChanges},
			// A change that cuts a character in two cannot have been made on
			// the server's text: the client's copy differs.
			{"splits a surrogate pair", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[4,[0,"x"],1]}]}`, collab.CodeDiverged},
			{"deletes half a surrogate pair", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[3,[1],1]}]}`, collab.CodeDiverged},
			{"push without check", `{"type":"push","section":"issues","version":1,"updates":[{"changes":[5,[0,"x"]]}]}`, collab.CodeBadMessage},
			{"check too big", `{"type":"push","section":"issues","version":1,"check":4294967296,"updates":[{"changes":[5,[0,"x"]]}]}`, collab.CodeBadMessage},
			{"wrong check", `{"type":"push","section":"issues","version":1,"check":12345,"updates":[{"changes":[5,[0,"x"]]}]}`, collab.CodeDiverged},
			{"lone surrogate inserted", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[5,[0,"\ud83d"]]}]}`, collab.CodeBadMessage},
			{"unknown section", `{"type":"push","section":"nope","version":0,"check":0,"updates":[{"changes":[[0,"x"]]}]}`, collab.CodeUnknownSection},
			{"future version", `{"type":"push","section":"issues","version":7,"check":0,"updates":[{"changes":[5,[0,"x"]]}]}`, collab.CodeFutureVersion},
			{"negative version", `{"type":"push","section":"issues","version":-1,"check":0,"updates":[{"changes":[5,[0,"x"]]}]}`, collab.CodeBadMessage},
			{"push without updates", `{"type":"push","section":"issues","version":1,"check":0,"updates":[]}`, collab.CodeBadMessage},
			{"not a change set", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":{"a":1}}]}`, collab.CodeBadChanges},
			{"too large", `{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[5,[0,"` + strings.Repeat("x", 70<<10) + `"]]}]}`, collab.CodeTooLarge},
		}
		for _, tc := range inSession {
			t.Run(tc.name, func(t *testing.T) {
				r := dialRaw(t, e, d.ID)
				r.send(hello("raw-client-1"))
				r.next(collab.MsgWelcome)
				r.send(tc.msg)
				e := r.next(collab.MsgError)
				if e["code"] != tc.code || e["message"] == "" {
					t.Fatalf("got error %v; want code %q with a message", e, tc.code)
				}
				if kind := wire.KindOf(tc.code); e["kind"] != kind {
					t.Fatalf("error %v: kind %v; want %v", e, e["kind"], kind)
				}
				if tc.code == collab.CodeDiverged {
					if e["section"] != "issues" || e["version"] != 1.0 {
						t.Fatalf("diverged %v: want the push's section and version echoed", e)
					}
					if code := r.closeCode(); code != collab.CloseResync {
						t.Fatalf("diverged: close code %d; want %d", code, collab.CloseResync)
					}
				}
			})
		}
		t.Run("wrong protocol version", func(t *testing.T) {
			r := dialRaw(t, e, d.ID)
			r.send(`{"type":"hello","protocol":99,"key":"raw-client-2-0123456789"}`)
			if e := r.next(collab.MsgError); e["code"] != collab.CodeBadProtocol {
				t.Fatalf("got %v; want %s", e, collab.CodeBadProtocol)
			}
			if code := r.closeCode(); code != collab.CloseTerminal {
				t.Fatalf("close code %d; want %d", code, collab.CloseTerminal)
			}
		})
		t.Run("push before hello", func(t *testing.T) {
			r := dialRaw(t, e, d.ID)
			r.send(`{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[5,[0,"x"]]}]}`)
			if e := r.next(collab.MsgError); e["code"] != collab.CodeNotHello {
				t.Fatalf("got %v; want %s", e, collab.CodeNotHello)
			}
		})
		t.Run("bad key", func(t *testing.T) {
			r := dialRaw(t, e, d.ID)
			r.send(`{"type":"hello","protocol":2,"key":"<script>0123456789abcdef"}`)
			if e := r.next(collab.MsgError); e["code"] != collab.CodeBadClient {
				t.Fatalf("got %v; want %s", e, collab.CodeBadClient)
			}
		})
		t.Run("viewer cannot edit", func(t *testing.T) {
			u := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/documents/" + d.ID + "/ws?mode=view"
			ws, _, err := websocket.DefaultDialer.Dial(u, e.Header())
			if err != nil {
				t.Fatal(err)
			}
			r := &rawConn{t: t, ws: ws}
			defer ws.Close()
			r.send(hello("viewer-1"))
			r.next(collab.MsgWelcome)
			r.send(`{"type":"push","section":"issues","version":1,"check":0,"updates":[{"changes":[5,[0,"x"]]}]}`)
			if e := r.next(collab.MsgError); e["code"] != collab.CodeForbidden {
				t.Fatalf("got %v; want %s", e, collab.CodeForbidden)
			}
		})

		after, _ := e.Server.CurrentDocument(ctx, d.ID)
		bj, _ := json.Marshal(before)
		aj, _ := json.Marshal(after)
		if string(bj) != string(aj) {
			t.Fatalf("bad input changed the document:\nbefore %s\nafter  %s", bj, aj)
		}
		// The good client is still connected and can still edit.
		if err := good.Edit("issues", func(string) []editor.Change { return []editor.Change{{From: 5, To: 5, Insert: "!"}} }); err != nil {
			t.Fatal(err)
		}
		if err := good.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
		if got := good.Text("issues"); got != "Hi 😀!" {
			t.Fatalf("text after bad input and one good edit = %q", got)
		}
	})
}

// TestSlowReader: a client that never reads is disconnected with a
// reconnect code while the others keep editing without waiting for it.
func TestSlowReader(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		// The slow reader reads only once the others are done, however
		// long that takes on a busy machine: the server's writes to it wait
		// that long rather than cut it off without its close frame.
		e := newModeServer(t, collab.Config{Hub: collab.HubConfig{SendQueue: 8, WriteTimeout: 5 * time.Minute}}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Slow reader")
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()

		slow := dialRaw(t, e, d.ID)
		slow.send(hello("slow-reader"))
		// It reads the welcome, then nothing more until the end.
		slow.next(collab.MsgWelcome)

		w, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), Key: collabtest.Key("fast-writer")})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		other, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), Key: collabtest.Key("fast-reader")})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		big := strings.Repeat("0123456789abcdef", 1024) // 16 KiB per update
		const updates = 600                             // ~10 MB through each connection
		for i := 0; i < updates; i++ {
			err := w.Edit("issues", func(text string) []editor.Change {
				return []editor.Change{{From: 0, To: editor.UTF16Len(text), Insert: big[:len(big)-i%7]}}
			})
			if err != nil {
				t.Fatal(err)
			}
			if i%20 == 19 {
				if err := w.WaitConfirmed(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
		doc, _ := e.Server.CurrentDocument(ctx, d.ID)
		if err := other.WaitSeq(ctx, doc.Seq); err != nil {
			t.Fatal(err)
		}
		if other.Text("issues") != doc.Section("issues").Text {
			t.Fatal("the reading client did not converge")
		}
		// Now the slow client reads: after what was queued it finds an error
		// telling it to reconnect and a reconnect close code.
		if code := slow.closeCode(); code != collab.CloseReconnect {
			t.Fatalf("slow reader closed with %d; want %d", code, collab.CloseReconnect)
		}
		fam := scrape(t, e, "")["bpfdraft_fanout_dropped_total"]
		if fam == nil || fam.GetMetric()[0].GetCounter().GetValue() != 1 {
			t.Fatalf("bpfdraft_fanout_dropped_total = %v; want 1, the slow reader", fam)
		}
	})
}

// TestCatchUpAfterReconnect: a client that was away receives exactly the
// updates it missed, not a snapshot, even when it had seen none (seq 0),
// and what it typed meanwhile is kept and merged.
func TestCatchUpAfterReconnect(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Catch-up")
	ctx := t.Context()
	a := e.Dial(t, d.ID, "writer-a")
	var mu sync.Mutex
	var received []int64
	var errs []string
	b := e.Dial(t, d.ID, "writer-b", func(o *client.Options) {
		o.OnUpdate = func(u client.Update, own bool) { mu.Lock(); received = append(received, u.Seq); mu.Unlock() }
		o.OnError = func(e *client.ServerError) { mu.Lock(); errs = append(errs, e.Code); mu.Unlock() }
	})
	b.Drop()
	for i := 0; i < 10; i++ {
		a.Edit("methodology", func(text string) []editor.Change {
			n := editor.UTF16Len(text)
			return []editor.Change{{From: n, To: n, Insert: fmt.Sprintf("line %d\n", i)}}
		})
	}
	// b edits while away; both merge on reconnect.
	b.Edit("methodology", func(string) []editor.Change { return []editor.Change{{From: 0, To: 0, Insert: "B first. "}} })
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Seq() != 0 {
		t.Fatalf("b saw seq %d before reconnecting; the test wants 0", b.Seq())
	}
	if err := b.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitSeq(ctx, b.Seq()); err != nil {
		t.Fatal(err)
	}
	// Sections start empty (a template's prompt is not text), so where b's
	// insertion at 0 lands among a's is CodeMirror's tie-break; both have it.
	if a.Text("methodology") != b.Text("methodology") || strings.Count(a.Text("methodology"), "B first. ") != 1 || !strings.Contains(a.Text("methodology"), "line 8\nline 9\n") {
		t.Fatalf("after reconnect: a %q, b %q", a.Text("methodology"), b.Text("methodology"))
	}
	mu.Lock()
	defer mu.Unlock()
	// Caught up update by update: seqs 1 to 10 from a, then its own 11.
	if len(received) != 11 || received[0] != 1 || received[10] != 11 || len(errs) != 0 {
		t.Fatalf("b received seqs %v and errors %v; want 1..11 one by one and no error", received, errs)
	}
}
