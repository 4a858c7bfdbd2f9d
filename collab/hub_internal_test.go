package collab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Tests of the hub itself, without sockets and with testing/synctest's
// clock: connections are fakeConns that keep what the hub queues for
// them, the store is a real bbolt file (wrapped in storetest.Faulty to
// inject failures), and every wait is synctest.Wait, so pings, silence,
// commit intervals and unloading take no real time and never depend on
// how busy the machine is.

// fakeConn is a connection in memory: what the hub queues is kept,
// decoded, in msgs.
type fakeConn struct {
	mu       sync.Mutex
	msgs     []map[string]any
	max      int // queue limit; 0 means no limit
	closed   bool
	code     int
	reason   string
	pings    int
	answer   bool // answers pings (its last read moves on)
	lastRead time.Time
}

func newFakeConn() *fakeConn { return &fakeConn{answer: true, lastRead: time.Now()} }

func (c *fakeConn) Queue(parts ...[]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || (c.max > 0 && len(c.msgs) >= c.max) {
		return false
	}
	var data []byte
	for _, p := range parts {
		data = append(data, p...)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		panic(fmt.Sprintf("the hub queued bad JSON %q: %v", data, err))
	}
	c.msgs = append(c.msgs, m)
	return true
}

func (c *fakeConn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed, c.code, c.reason = true, code, reason
	}
}

func (c *fakeConn) Ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pings++
	if c.answer {
		c.lastRead = time.Now() // the pong
	}
}

func (c *fakeConn) LastRead() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRead
}

// take returns the messages queued since the last take.
func (c *fakeConn) take() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

func (c *fakeConn) state() (closed bool, code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed, c.code, c.reason
}

// ofType returns the messages of one type.
func ofType(msgs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, m := range msgs {
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

// seqs returns the seqs of the updates in msgs, in order.
// wantSent checks that c was sent the updates numbered want and no
// refusal, and that "issues" is stored as text.
func (w *world) wantSent(c *fakeConn, want []int64, text string) {
	w.t.Helper()
	msgs := c.take()
	if got := seqs(msgs); !slices.Equal(got, want) {
		w.t.Fatalf("updates sent %v; want %v", got, want)
	}
	if errs := ofType(msgs, MsgError); len(errs) != 0 {
		w.t.Fatalf("refused: %v", errs)
	}
	if got := w.stored().Section("issues").Text; got != text {
		w.t.Fatalf("stored text %q; want %q", got, text)
	}
}

func seqs(msgs []map[string]any) []int64 {
	var out []int64
	for _, m := range ofType(msgs, MsgUpdates) {
		for _, u := range m["updates"].([]any) {
			out = append(out, int64(u.(map[string]any)["seq"].(float64)))
		}
	}
	return out
}

// world is a server and its store inside a synctest bubble.
type world struct {
	t   *testing.T
	srv *Server
	st  *storetest.Faulty
	doc string
}

// inBubble runs f in a synctest bubble with a server on a bbolt store
// (wrapped in a Faulty) holding one empty bpf-output document, and shuts
// everything down before the bubble ends.
func inBubble(t *testing.T, cfg Config, f func(w *world)) {
	synctest.Test(t, func(t *testing.T) {
		bolt, err := boltstore.Open(t.TempDir(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st := storetest.NewFaulty(bolt)
		log := slog.New(slog.DiscardHandler)
		if os.Getenv("BPFDRAFT_TEST_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		w := &world{t: t, srv: New(cfg, st, log, time.Now), st: st, doc: "doc-1"}
		tmpl, _ := editor.LookupTemplate("bpf-output")
		doc := tmpl.NewDocument(w.doc, "Hub", time.Now())
		for i := range doc.Sections {
			doc.Sections[i].Text, doc.Sections[i].Paras = "", nil
		}
		if err := st.CreateDocument(t.Context(), doc); err != nil {
			t.Fatal(err)
		}
		f(w)
		if err := w.srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		bolt.Close()
	})
}

// hub returns the document's loaded hub.
func (w *world) hub() *Hub {
	w.t.Helper()
	h, err := w.srv.loadedHub(context.Background(), w.doc)
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

// join connects a member with the key of name and waits for the hub to
// handle it.
func (w *world) join(name, role string, seq *int64) (*member, *fakeConn) {
	w.t.Helper()
	c := newFakeConn()
	m := &member{conn: c, role: role, access: access.CoFacilitator, clientID: wire.ClientID(name + "-key-0123456789")}
	m.peer = Peer{Client: m.clientID, Name: name}
	if !w.hub().send(joinMsg{m: m, seq: seq}, nil) {
		w.t.Fatalf("%s could not join", name)
	}
	synctest.Wait()
	return m, c
}

// push sends a push of one insertion at the end of a section whose text
// the member has as text at version.
func (w *world) push(m *member, section string, version int, text, insert string) {
	w.t.Helper()
	n := editor.UTF16Len(text)
	cs, err := editor.ChangeSetOf([]editor.Change{{From: n, To: n, Insert: insert}}, n)
	if err != nil {
		w.t.Fatal(err)
	}
	if !w.hub().send(pushMsg{m: m, section: section, version: version, check: editor.Checksum(text + insert), updates: []editor.ChangeSet{cs}}, nil) {
		w.t.Fatal("the hub did not take the push")
	}
}

// settle lets the commit interval pass and everything run until it waits.
func (w *world) settle() {
	time.Sleep(10 * time.Millisecond)
	synctest.Wait()
}

func (w *world) stored() *editor.Document {
	w.t.Helper()
	doc, err := LoadDocument(context.Background(), w.st.Store, w.doc)
	if err != nil {
		w.t.Fatal(err)
	}
	return doc
}

// appendAsOther stores insert at the start of "issues" as another writer
// on the same log would (a second authority, at the log's head).
func (w *world) appendAsOther(ctx context.Context, insert string) error {
	doc, err := LoadDocument(ctx, w.st.Store, w.doc)
	if err != nil {
		return err
	}
	other, err := authority.New(w.srv.hubCfg.authority(), doc, nil)
	if err != nil {
		return err
	}
	base := doc.Section("issues").Version
	cs, err := editor.ChangeSetOf([]editor.Change{{From: 0, Insert: insert}}, editor.UTF16Len(doc.Section("issues").Text))
	if err != nil {
		return err
	}
	if _, err := other.Do(authority.Push{Author: authority.Author{Client: "elsewhere", Role: access.CoFacilitator}, Section: "issues", Base: base, Updates: []editor.ChangeSet{cs}}); err != nil {
		return err
	}
	expect, ups := other.Take()
	return w.st.Store.Append(ctx, w.doc, expect, ups)
}

func welcomeOf(t *testing.T, msgs []map[string]any) map[string]any {
	t.Helper()
	ws := ofType(msgs, MsgWelcome)
	if len(ws) != 1 {
		t.Fatalf("%d welcomes in %v", len(ws), msgs)
	}
	return ws[0]
}

func sectionText(t *testing.T, welcome map[string]any, id string) string {
	t.Helper()
	doc, ok := welcome["document"].(map[string]any)
	if !ok {
		t.Fatalf("welcome without a document: %v", welcome)
	}
	for _, s := range doc["sections"].([]any) {
		if s := s.(map[string]any); s["id"] == id {
			return s["text"].(string)
		}
	}
	t.Fatalf("no section %s in the welcome", id)
	return ""
}

// TestJoinSeesOnlyDurableState: a newcomer who says hello while a batch is
// being stored is welcomed at once with the durable document, then gets
// the batch when it is durable, like everyone; nothing is parked.
func TestJoinSeesOnlyDurableState(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		a, ac := w.join("a", RoleEditor, nil)
		held, release := w.st.Hold(storetest.OpAppend)
		w.push(a, "issues", 0, "", "not yet durable")
		<-held
		_, bc := w.join("b", RoleViewer, nil)
		welcome := welcomeOf(t, bc.take())
		if welcome["seq"] != 0.0 || sectionText(t, welcome, "issues") != "" {
			t.Fatalf("welcome during an append: seq %v, text %q; want the durable seq 0 and no text", welcome["seq"], sectionText(t, welcome, "issues"))
		}
		if got := seqs(ac.take()); len(got) != 0 {
			t.Fatalf("a got updates %v before they were durable", got)
		}
		release()
		synctest.Wait()
		if got := seqs(bc.take()); len(got) != 1 || got[0] != 1 {
			t.Fatalf("b got updates %v after the append; want [1]", got)
		}
		if got := seqs(ac.take()); len(got) != 1 || got[0] != 1 {
			t.Fatalf("a got updates %v (its confirmation); want [1]", got)
		}
	})
}

// TestAppendFails: when the store fails an append, nothing of the batch
// is confirmed or broadcast; every connection, joined or joining, is told
// to reconnect and closed; the server's own command gets an error; the
// document unloads and loads again afresh.
func TestAppendFails(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		a, ac := w.join("a", RoleEditor, nil)
		gate := make(chan struct{})
		w.st.Next(storetest.OpAppend, storetest.Fault{Wait: gate, Err: errors.New("disk on fire")})
		w.push(a, "issues", 0, "", "lost")
		synctest.Wait() // the append waits at the gate
		_, bc := w.join("b", RoleEditor, nil)
		done := make(chan error, 1)
		go func() {
			_, err := w.srv.do(context.Background(), w.doc, authority.AddSection{Author: authority.Author{Client: "api:t", Role: access.Secretariat}, Title: "Annex"})
			done <- err
		}()
		synctest.Wait()
		close(gate) // the append fails
		synctest.Wait()
		for name, c := range map[string]*fakeConn{"a": ac, "b": bc} {
			msgs := c.take()
			if got := seqs(msgs); len(got) != 0 {
				t.Fatalf("%s got updates %v of a batch that was not stored", name, got)
			}
			closed, code, reason := c.state()
			if !closed || code != CloseReconnect || reason != CodeUnavailable {
				t.Fatalf("%s: closed %v with %d %q; want %d %s", name, closed, code, reason, CloseReconnect, CodeUnavailable)
			}
		}
		if err := <-done; err == nil {
			t.Fatal("the command waiting for the failed batch was answered without error")
		}
		if w.srv.HubLoaded(w.doc) {
			t.Fatal("the document is still loaded after its store failed")
		}
		if d := w.stored(); d.Seq != 0 || d.Section("issues").Text != "" {
			t.Fatalf("the store holds seq %d after a failed append", d.Seq)
		}
		// A new connection loads it again and can edit.
		a2, c2 := w.join("a2", RoleEditor, nil)
		c2.take()
		w.push(a2, "issues", 0, "", "again")
		synctest.Wait()
		if got := seqs(c2.take()); len(got) != 1 || w.stored().Section("issues").Text != "again" {
			t.Fatalf("after reloading: updates %v, stored %q", got, w.stored().Section("issues").Text)
		}
	})
}

// TestConflictAbsorbed: another writer appends to the log between the
// hub's reads and its append; the hub reads what it appended, takes it in,
// sends it to its connections and stores its own batch after it.
func TestConflictAbsorbed(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		a, ac := w.join("a", RoleEditor, nil)
		ac.take()
		// The other writer appends between the hub's reads and its append.
		w.st.Next(storetest.OpAppend, storetest.Fault{Before: func(c storetest.Call) {
			if err := w.appendAsOther(c.Ctx, "Other. "); err != nil {
				t.Error(err)
			}
		}})
		w.push(a, "issues", 0, "", "Mine.")
		w.settle()
		w.wantSent(ac, []int64{1, 2}, "Other. Mine.")
		if n := w.st.Calls(storetest.OpAppend); n != 2 {
			t.Fatalf("%d appends; want the refused one and its retry", n)
		}
	})
}

// TestNotifierAbsorbs: two servers on one store (two nodes): what one
// stores reaches the other's connections through the store's notifier,
// and both go on editing one document.
func TestNotifierAbsorbs(t *testing.T) {
	inBubble(t, eachWrites, func(w *world) {
		second := &world{t: t, srv: New(eachWrites, w.st, slog.New(slog.DiscardHandler), time.Now), st: w.st, doc: w.doc}
		defer second.srv.Shutdown(context.Background())
		a, ac := w.join("a", RoleEditor, nil)
		b, bc := second.join("b", RoleEditor, nil)
		ac.take()
		bc.take()
		w.push(a, "issues", 0, "", "A.")
		synctest.Wait()
		if got := seqs(bc.take()); len(got) != 1 || got[0] != 1 {
			t.Fatalf("b on the other node got %v; want [1]", got)
		}
		second.push(b, "issues", 1, "A.", " B.")
		synctest.Wait()
		if got := seqs(ac.take()); len(got) != 2 || got[1] != 2 {
			t.Fatalf("a got %v; want its own 1 and b's 2", got)
		}
		for _, s := range []*world{w, second} {
			if got := s.hub().published.Load().Section("issues").Text; got != "A. B." {
				t.Fatalf("a node holds %q", got)
			}
		}
	})
}

// TestPingsAndSilence: every connection is pinged every PingEvery; one
// that answers stays however long it is quiet, one that does not is
// closed with idle after the silence limit.
func TestPingsAndSilence(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		_, quiet := w.join("quiet", RoleEditor, nil)
		_, silent := w.join("silent", RoleViewer, nil)
		silent.mu.Lock()
		silent.answer = false
		silent.mu.Unlock()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if closed, _, _ := quiet.state(); closed {
			t.Fatal("a connection answering pings was closed")
		}
		quiet.mu.Lock()
		pings := quiet.pings
		quiet.mu.Unlock()
		if pings < 23 || pings > 25 {
			t.Fatalf("%d pings in 10 minutes; want one every 25 s", pings)
		}
		closed, code, reason := silent.state()
		if !closed || code != CloseReconnect || reason != CodeIdle {
			t.Fatalf("silent connection: closed %v with %d %q; want %d %s", closed, code, reason, CloseReconnect, CodeIdle)
		}
	})
}

// TestIdleUnload: two minutes after the last connection left, the
// document is unloaded with a final snapshot.
func TestIdleUnload(t *testing.T) {
	inBubble(t, Config{Hub: HubConfig{SnapshotEvery: 1000}}, func(w *world) {
		a, _ := w.join("a", RoleEditor, nil)
		w.push(a, "issues", 0, "", "x")
		synctest.Wait()
		w.hub().send(leaveMsg{a}, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if !w.srv.HubLoaded(w.doc) {
			t.Fatal("unloaded after one minute; want two")
		}
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if w.srv.HubLoaded(w.doc) {
			t.Fatal("still loaded two and a half minutes after the last connection left")
		}
		snap, err := w.st.Store.LoadSnapshot(context.Background(), w.doc)
		if err != nil || snap.Seq != 1 {
			t.Fatalf("final snapshot at %d (%v); want 1", snap.Seq, err)
		}
	})
}

// TestPresenceIdle: a person silent for PresenceIdle leaves the others'
// presence list, and comes back with their next message.
func TestPresenceIdle(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		a, _ := w.join("a", RoleEditor, nil)
		_, bc := w.join("b", RoleEditor, nil)
		v := 0
		w.hub().send(presenceMsg{m: a, section: "issues", version: &v}, nil)
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		for _, p := range ofType(bc.take(), MsgPeers) {
			if p["left"] != nil {
				t.Fatalf("a left after 4 minutes: %v", p)
			}
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		left := false
		for _, p := range ofType(bc.take(), MsgPeers) {
			left = left || strings.Contains(fmt.Sprint(p["left"]), a.clientID)
		}
		if !left {
			t.Fatal("a was not hidden after 6 quiet minutes")
		}
		w.hub().send(activityMsg{a}, nil)
		synctest.Wait()
		back := ofType(bc.take(), MsgPeers)
		if len(back) != 1 || !strings.Contains(fmt.Sprint(back[0]["peers"]), a.clientID) {
			t.Fatalf("a did not come back: %v", back)
		}
	})
}

// TestGroupCommit: pushes arriving within the commit interval share one
// append and one broadcast frame.
func TestGroupCommit(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		a, ac := w.join("a", RoleEditor, nil)
		b, _ := w.join("b", RoleEditor, nil)
		w.push(a, "issues", 0, "", "first")
		synctest.Wait() // the first append starts at once
		ac.take()
		w.push(a, "methodology", 0, "", "second")
		w.push(b, "regional", 0, "", "third")
		w.settle()
		msgs := ac.take()
		if got := ofType(msgs, MsgUpdates); len(got) != 1 || len(got[0]["updates"].([]any)) != 2 {
			t.Fatalf("updates frames %v; want one with both updates", got)
		}
		if n := w.st.Calls(storetest.OpAppend); n != 2 {
			t.Fatalf("%d appends for three pushes; want two", n)
		}
	})
}

// TestSnapshotsAreDurable: snapshots are of the durable document only,
// never of a batch still being stored, whatever the timing.
func TestSnapshotsAreDurable(t *testing.T) {
	inBubble(t, Config{Hub: HubConfig{SnapshotEvery: 1}}, func(w *world) {
		var bad []string
		w.st.Every(storetest.OpPutSnapshot, storetest.Fault{Before: func(c storetest.Call) {
			if head, _ := w.st.Store.Head(c.Ctx, c.ID); c.Seq > head {
				bad = append(bad, fmt.Sprintf("snapshot at %d past the head %d", c.Seq, head))
			}
		}})
		a, _ := w.join("a", RoleEditor, nil)
		text := ""
		for i := range 20 {
			s := fmt.Sprint(i % 10)
			w.push(a, "issues", i, text, s)
			text += s
			if i%3 == 0 {
				synctest.Wait()
			}
		}
		synctest.Wait()
		if len(bad) > 0 || w.st.Calls(storetest.OpPutSnapshot) == 0 {
			t.Fatalf("%d snapshots; %v", w.st.Calls(storetest.OpPutSnapshot), bad)
		}
	})
}

// TestShutdownStoresWhatWasAccepted: a server shutdown stores the batch
// waiting for the commit interval, confirms it, and tells everyone to
// reconnect.
func TestShutdownStoresWhatWasAccepted(t *testing.T) {
	inBubble(t, Config{Hub: HubConfig{CommitInterval: time.Hour}}, func(w *world) {
		a, ac := w.join("a", RoleEditor, nil)
		w.push(a, "issues", 0, "", "one")
		synctest.Wait()
		w.push(a, "issues", 1, "one", " two") // waits for the interval
		synctest.Wait()
		ac.take()
		if err := w.srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		msgs := ac.take()
		if got := seqs(msgs); len(got) != 1 || got[0] != 2 {
			t.Fatalf("confirmed %v at shutdown; want [2]", got)
		}
		if closed, code, reason := ac.state(); !closed || code != CloseReconnect || reason != CodeShuttingDown {
			t.Fatalf("closed %v with %d %q", closed, code, reason)
		}
		if got := w.stored().Section("issues").Text; got != "one two" {
			t.Fatalf("stored %q", got)
		}
	})
}

// TestLoadFails: a document whose snapshot cannot be read is refused
// before anything is welcomed, and the next try loads afresh.
func TestLoadFails(t *testing.T) {
	inBubble(t, Config{}, func(w *world) {
		w.st.Next(storetest.OpLoadSnapshot, storetest.Fault{Err: fmt.Errorf("document %s: %w", w.doc, store.ErrCorrupt)})
		if _, err := w.srv.loadedHub(context.Background(), w.doc); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("loading a corrupt document: %v", err)
		}
		synctest.Wait()
		if _, err := w.srv.loadedHub(context.Background(), w.doc); err != nil {
			t.Fatalf("the next load: %v", err)
		}
	})
}

// TestSendAfterExit: a message sent while the hub exits is either handled
// by it or refused; none is left unanswered (a join is closed, a command
// told to try again).
func TestSendAfterExit(t *testing.T) {
	inBubble(t, Config{Hub: HubConfig{UnloadAfter: time.Second}}, func(w *world) {
		for i := range 20 {
			h := w.hub()
			c := newFakeConn()
			m := &member{conn: c, role: RoleViewer, clientID: fmt.Sprint("late-", i)}
			time.Sleep(time.Second) // the hub unloads about now
			took := h.send(joinMsg{m: m}, nil)
			synctest.Wait()
			closed, _, _ := c.state()
			welcomed := len(ofType(c.take(), MsgWelcome)) == 1
			switch {
			case took && !welcomed && !closed:
				t.Fatalf("round %d: the hub took a join and never answered it", i)
			case !took && welcomed:
				t.Fatalf("round %d: refused and welcomed", i)
			}
			h.send(leaveMsg{m}, nil)
			synctest.Wait()
		}
	})
}

// countOf counts Inc calls, as a Prometheus counter would.
type countOf int

func (c *countOf) Inc() { *c++ }

// TestPongOnFullQueue: a ping whose pong cannot be queued closes the
// connection as a slow consumer rather than dropping the pong.
func TestPongOnFullQueue(t *testing.T) {
	c := newFakeConn()
	c.max = 1
	c.Queue([]byte(`{"type":"updates","updates":[]}`))
	var dropped countOf
	s := &session{m: &member{conn: c, role: RoleEditor, dropped: &dropped}}
	s.joined.Store(true)
	if s.handle(&inMsg{Type: MsgPing, ID: 7}) {
		t.Fatal("the session goes on reading after its pong was not queued")
	}
	if closed, code, reason := c.state(); !closed || code != CloseReconnect || reason != CodeSlowConsumer {
		t.Fatalf("closed %v with %d %q; want %d %s", closed, code, reason, CloseReconnect, CodeSlowConsumer)
	}
	if dropped != 1 {
		t.Fatalf("the drop was counted %d times; want once (bpfdraft_fanout_dropped_total)", dropped)
	}
}

// TestSnapshotFails: a snapshot the store refuses costs nothing but the
// snapshot: edits go on being confirmed, and when the document unloads
// (its final snapshot failing too) and loads again, the log gives it back
// whole.
func TestSnapshotFails(t *testing.T) {
	inBubble(t, Config{Hub: HubConfig{SnapshotEvery: 2}}, func(w *world) {
		w.st.Every(storetest.OpPutSnapshot, storetest.Fault{Err: errors.New("no space left")})
		a, ac := w.join("a", RoleEditor, nil)
		text := ""
		for i := range 6 {
			s := fmt.Sprint(i)
			w.push(a, "issues", i, text, s)
			text += s
			w.settle()
		}
		if got := seqs(ac.take()); len(got) != 6 {
			t.Fatalf("confirmed %v; want six updates", got)
		}
		if w.st.Calls(storetest.OpPutSnapshot) == 0 {
			t.Fatal("no snapshot was tried")
		}
		w.hub().send(leaveMsg{a}, nil)
		time.Sleep(3 * time.Minute) // unloads, its final snapshot failing
		synctest.Wait()
		if w.srv.HubLoaded(w.doc) {
			t.Fatal("the document did not unload")
		}
		_, bc := w.join("b", RoleViewer, nil)
		if got := sectionText(t, welcomeOf(t, bc.take()), "issues"); got != "012345" {
			t.Fatalf("after reloading: %q", got)
		}
	})
}

// BenchmarkOpenDocument: what a hub does to open a document with 100,000
// updates of history, made and snapshotted as the hub makes them (every
// 500 updates, keeping the last 10,000 in the log): read the latest
// snapshot and every update the log keeps, replay those after the
// snapshot, and build the histories and the catch-up memory.
func BenchmarkOpenDocument(b *testing.B) {
	ctx := context.Background()
	st, err := boltstore.Open(b.TempDir(), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tmpl, _ := editor.LookupTemplate("bpf-output")
	doc := tmpl.NewDocument("bench", "History", time.Now())
	if err := st.CreateDocument(ctx, doc); err != nil {
		b.Fatal(err)
	}
	cfg := Config{}.withDefaults()
	a, err := authority.New(cfg.Hub.authority(), doc, nil)
	if err != nil {
		b.Fatal(err)
	}
	const total, every = 100_000, 500
	length, version := map[string]int{}, map[string]int{}
	for _, s := range doc.Sections {
		length[s.ID] = editor.UTF16Len(s.Text)
	}
	for i := 1; i <= total; i++ {
		sec := doc.Sections[i%3].ID
		n := length[sec]
		ins := "x"
		if i%40 == 0 {
			ins = "\n\n"
		}
		cs, _ := editor.ChangeSetOf([]editor.Change{{From: n, To: n, Insert: ins}}, n)
		if _, err := a.Do(authority.Push{Author: authority.Author{Client: "bench", Role: access.CoFacilitator}, Section: sec, Base: version[sec], Updates: []editor.ChangeSet{cs}, Time: time.Now()}); err != nil {
			b.Fatal(err)
		}
		length[sec] += len(ins)
		version[sec]++
		if i%every == 0 {
			expect, ups := a.Take()
			if err := st.Append(ctx, "bench", expect, ups); err != nil {
				b.Fatal(err)
			}
			a.Settle(true)
			if i < total-250 { // the last snapshot lags, as it would live
				if err := st.PutSnapshot(ctx, a.Durable(), cfg.Hub.SnapshotKeep); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	srv := New(Config{}, st, nil, time.Now)
	b.ResetTimer()
	for b.Loop() {
		h := newHub(srv, "bench")
		if err := h.load(); err != nil || h.auth.Durable().Seq != total {
			b.Fatalf("loaded %v", err)
		}
		h.pipe.stopWatching()
	}
}

// TestBusyWaitsForTheTurn: an append the store refuses because another
// writer has the turn (store.ErrBusy) is neither confirmed nor lost: the
// hub gives the batch back and, hearing nothing, tries again after
// BusyRetry; hearing that the log moved, it takes in the other writer's
// updates and tries again at once.
func TestBusyWaitsForTheTurn(t *testing.T) {
	// pushRefusedBusy joins an editor whose push's first append is
	// answered store.ErrBusy, and returns its connection.
	pushRefusedBusy := func(w *world) *fakeConn {
		a, ac := w.join("a", RoleEditor, nil)
		ac.take()
		w.st.Next(storetest.OpAppend, storetest.Fault{Err: fmt.Errorf("document doc-1: %w", store.ErrBusy)})
		w.push(a, "issues", 0, "", "Mine.")
		w.settle()
		return ac
	}
	t.Run("Retry", func(t *testing.T) {
		inBubble(t, Config{}, func(w *world) {
			ac := pushRefusedBusy(w)
			if msgs := ac.take(); len(msgs) != 0 {
				t.Fatalf("a got %v while its update waited for the turn; want nothing yet", msgs)
			}
			if n := w.st.Calls(storetest.OpAppend); n != 1 {
				t.Fatalf("%d appends before BusyRetry; want the refused one", n)
			}
			time.Sleep(w.srv.hubCfg.BusyRetry)
			synctest.Wait()
			w.wantSent(ac, []int64{1}, "Mine.")
			if n := w.st.Calls(storetest.OpAppend); n != 2 {
				t.Fatalf("%d appends; want the refused one and its retry", n)
			}
		})
	})
	t.Run("Woken", func(t *testing.T) {
		inBubble(t, Config{}, func(w *world) {
			ac := pushRefusedBusy(w)
			// The turn-holder appends; the notifier wakes the hub well
			// before BusyRetry.
			if err := w.appendAsOther(context.Background(), "Other. "); err != nil {
				t.Fatal(err)
			}
			w.settle() // the commit interval, far less than BusyRetry
			w.wantSent(ac, []int64{1, 2}, "Other. Mine.")
		})
	})
}
