package collab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/editor"
)

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// replaceAll returns an edit that replaces a section's whole text.
func replaceAll(s string) func(string) []editor.Change {
	return func(text string) []editor.Change {
		return []editor.Change{{From: 0, To: editor.UTF16Len(text), Insert: s}}
	}
}

func insertAt(pos int, s string) func(string) []editor.Change {
	return func(string) []editor.Change { return []editor.Change{{From: pos, To: pos, Insert: s}} }
}

func TestPresence(t *testing.T) {
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{PresenceIdle: time.Hour}})
	d := e.CreateDoc(t, "bpf-output", "Presence")
	ctx := waitCtx(t)
	// a is another member of the Secretariat; the name the others see is
	// her account's, not the one her client says.
	ana := e.NewPerson(t, access.Secretariat, "")
	a := ana.Dial(t, d.ID, "writer-a")
	b := e.Dial(t, d.ID, "writer-b")
	if err := a.Edit("issues", replaceAll("Hello 😀 world")); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitSeq(ctx, a.Seq()); err != nil {
		t.Fatal(err)
	}
	// a selects "world" (after the emoji: UTF-16 positions 9-14).
	if err := a.SetPresence("issues", []client.Range{{Anchor: 9, Head: 14}}); err != nil {
		t.Fatal(err)
	}
	err := b.WaitFor(ctx, func(c *client.Client) bool {
		p, ok := c.Peers()[a.ID()]
		return ok && p.Section == "issues" && len(p.Ranges) == 1 && p.Ranges[0] == client.Range{Anchor: 9, Head: 14}
	})
	if err != nil {
		t.Fatalf("b never saw a's selection: %v; peers %+v", err, b.Peers())
	}
	pa := b.Peers()[a.ID()]
	if pa.Name != ana.Account.Name || pa.Color == "" {
		t.Fatalf("peer = %+v; want the name of a's account (%q) and a colour", pa, ana.Account.Name)
	}
	// b types before the selection: a newcomer sees it mapped.
	if err := b.Edit("issues", insertAt(0, "Say: ")); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	c := e.Dial(t, d.ID, "writer-c")
	if err := c.WaitFor(ctx, func(c *client.Client) bool { _, ok := c.Peers()[a.ID()]; return ok }); err != nil {
		t.Fatal(err)
	}
	if got := c.Peers()[a.ID()]; len(got.Ranges) != 1 || got.Ranges[0] != (client.Range{Anchor: 14, Head: 19}) || got.Version != c.Version("issues") {
		t.Fatalf("newcomer sees a at %+v; want 14-19 at version %d", got, c.Version("issues"))
	}
	// Colours differ between people present at once.
	if c.Peers()[a.ID()].Color == c.Peers()[b.ID()].Color {
		t.Errorf("a and b have the same colour")
	}
	// a leaves: the others are told.
	a.Close()
	if err := b.WaitFor(ctx, func(c *client.Client) bool { _, ok := c.Peers()[a.ID()]; return !ok }); err != nil {
		t.Fatalf("b still sees a after a left: %v", err)
	}
}

// TestParagraphIDsOverTheWire: clients receive the paragraph ids with the
// updates, and they follow the rules of editor.TrackParagraphs.
func TestParagraphIDsOverTheWire(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Paragraphs")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer-a")
	b := e.Dial(t, d.ID, "writer-b")
	step := func(edit func(string) []editor.Change) []string {
		t.Helper()
		if err := a.Edit("issues", edit); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitConfirmed(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitSeq(ctx, a.Seq()); err != nil {
			t.Fatal(err)
		}
		doc, _ := e.Server.CurrentDocument(ctx, d.ID)
		want := doc.Section("issues").Paras
		if got := b.Paras("issues"); !slices.Equal(got, want) {
			t.Fatalf("b has paragraph ids %v; the server %v", got, want)
		}
		return want
	}
	ids := step(replaceAll("First paragraph.\n\nSecond one."))
	if len(ids) != 2 {
		t.Fatalf("ids %v; want two", ids)
	}
	// Typing inside keeps them.
	if got := step(insertAt(5, " typed")); !slices.Equal(got, ids) {
		t.Fatalf("typing changed ids %v -> %v", ids, got)
	}
	// Splitting the first keeps its id on the first part.
	split := step(insertAt(11, "\n\n"))
	if len(split) != 3 || split[0] != ids[0] || split[2] != ids[1] || slices.Contains(ids, split[1]) {
		t.Fatalf("split: %v -> %v", ids, split)
	}
}

// TestIdleUnloadAndReload: a document nobody has open is unloaded after a
// final snapshot, and loads again on the next connection.
func TestIdleUnloadAndReload(t *testing.T) {
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{UnloadAfter: 50 * time.Millisecond}})
	d := e.CreateDoc(t, "bpf-output", "Unload")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer-a")
	for i := 0; i < 5; i++ {
		if err := a.Edit("issues", insertAt(0, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	seq := a.Seq()
	a.Close()
	for {
		loaded := e.Server.HubLoaded(d.ID)
		if !loaded {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the document was never unloaded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	snap, err := e.Store.LoadSnapshot(ctx, d.ID)
	if err != nil || snap.Seq != seq || snap.Section("issues").Text[:5] != "43210" {
		t.Fatalf("snapshot after unload: seq %d err %v; want seq %d", snap.Seq, err, seq)
	}
	b := e.Dial(t, d.ID, "writer-b")
	if got := b.Text("issues"); got[:5] != "43210" || b.Seq() != seq {
		t.Fatalf("after reload: %q at %d", got, b.Seq())
	}
}

// TestPeriodicSnapshots: snapshots are written while people edit, so the
// log replayed on load stays short.
func TestPeriodicSnapshots(t *testing.T) {
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{SnapshotEvery: 10, SnapshotKeep: 5}})
	d := e.CreateDoc(t, "bpf-output", "Snapshots")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer-a")
	for i := 0; i < 40; i++ {
		if err := a.Edit("issues", insertAt(0, "x")); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			a.WaitConfirmed(ctx)
		}
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		snap, err := e.Store.LoadSnapshot(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Seq >= 30 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("latest snapshot is at %d after 40 updates; want one at 30 or later", snap.Seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The log before the snapshot was compacted, and loading still gives
	// the live state.
	if _, err := e.Store.ReadUpdates(ctx, d.ID, 0, 0); err == nil {
		t.Errorf("the log still has its first updates after snapshots with keep 5")
	}
	live, _ := e.Server.CurrentDocument(ctx, d.ID)
	loaded, err := collab.LoadDocument(ctx, e.Store, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	lj, _ := json.Marshal(live)
	dj, _ := json.Marshal(loaded)
	if string(lj) != string(dj) {
		t.Fatalf("snapshot plus log differs from the live document")
	}
}

// TestStructureThroughHub: a section added through the API reaches every
// open editor live, in order with the edits.
func TestStructureThroughHub(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Structure")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer-a")
	var sec struct{ ID string }
	e.PostJSON(t, "/api/documents/"+d.ID+"/sections", map[string]string{"title": "Annex", "text": "Table A."}, 201, &sec)
	if err := a.WaitFor(ctx, func(c *client.Client) bool { return slices.Contains(c.Sections(), sec.ID) }); err != nil {
		t.Fatalf("the editor never received the new section: %v", err)
	}
	if a.Text(sec.ID) != "Table A." {
		t.Fatalf("new section text %q", a.Text(sec.ID))
	}
	if err := a.Edit(sec.ID, insertAt(8, " Updated.")); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	var got collabtest.Doc
	e.GetJSON(t, "/api/documents/"+d.ID, 200, &got)
	if got.Sections[10].Text != "Table A. Updated." {
		t.Fatalf("after editing the new section: %q", got.Sections[10].Text)
	}
}

// TestShutdownTellsClientsToReconnect: a shutdown confirms what was
// committed and closes editors with the reconnect code.
func TestShutdownTellsClientsToReconnect(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Shutdown")
	ctx := waitCtx(t)
	r := dialRaw(t, e, d.ID)
	r.send(hello("raw-client-9"))
	r.next(collab.MsgWelcome)
	if err := e.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := r.closeCode(); code != collab.CloseReconnect {
		t.Fatalf("close code %d; want %d", code, collab.CloseReconnect)
	}
}

func BenchmarkLoadDocument(b *testing.B) {
	// A document with 100,000 updates of history, snapshotted every 500
	// updates as the hub does: loading reads the last snapshot and replays
	// what follows it.
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
	const total, every = 100_000, 500
	var batch []store.Update
	for i := 1; i <= total; i++ {
		sec := doc.Sections[i%3].ID
		n := editor.UTF16Len(doc.Section(sec).Text)
		ins := "x"
		if i%40 == 0 {
			ins = "\n\n"
		}
		cs, _ := editor.ChangeSetOf([]editor.Change{{From: n, To: n, Insert: ins}}, n)
		if _, err := doc.ApplyChanges(sec, cs); err != nil {
			b.Fatal(err)
		}
		raw, _ := json.Marshal(cs)
		batch = append(batch, store.Update{Seq: doc.Seq, Section: sec, Version: doc.Section(sec).Version, ClientID: "bench", Changes: raw})
		if len(batch) == every {
			if err := st.Append(ctx, "bench", doc.Seq-int64(len(batch)), batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
			if i < total-250 { // the last snapshot lags, as it would live
				if err := st.PutSnapshot(ctx, doc, 10_000); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := collab.LoadDocument(ctx, st, "bench")
		if err != nil || got.Seq != total {
			b.Fatalf("loaded seq %d, %v", got.Seq, err)
		}
	}
}

// BenchmarkCommitPath pushes updates from one editor through the real
// server and waits for all confirmations: throughput of the hub, the
// group commit and the broadcast; with no comments, and with 1,000 open
// comments on quotes spread over the sections, whose anchors every
// update maps.
func BenchmarkCommitPath(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprint("comments=", n), func(b *testing.B) {
			e, id := commentedDocument(b, n)
			ctx := context.Background()
			c := e.Dial(b, id, "bench-writer")
			del := func(string) []editor.Change { return []editor.Change{{From: 0, To: 1}} }
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				edit := insertAt(0, "x")
				if i%2 == 1 {
					edit = del
				}
				if err := c.Edit("issues", edit); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.WaitConfirmed(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}

// commentedDocument makes a document whose sections hold ~10 KB of
// paragraphs each, with n comments on quotes spread over them (made
// through the API, so stored and mapped as in use).
// snapshotEvery is the hub's snapshot interval in the commit-path
// benchmarks (0: the default).
var snapshotEvery = 0

func commentedDocument(b *testing.B, n int) (*collabtest.Env, string) {
	b.Helper()
	e := collabtest.New(b, collab.Config{Hub: collab.HubConfig{SnapshotEvery: snapshotEvery}})
	tmpl, _ := editor.LookupTemplate("bpf-output")
	doc := tmpl.NewDocument("bench", "Commit path", time.Now())
	for i := range doc.Sections {
		doc.Sections[i].Text = strings.TrimSuffix(strings.Repeat("Ten bytes. Ten bytes. Ten bytes. Ten bytes. Ten bytes.\n\n", 180), "\n\n")
	}
	doc.AssignParagraphIDs()
	if err := e.Store.CreateDocument(context.Background(), doc); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		sec := doc.Sections[rng.IntN(len(doc.Sections))]
		k := rng.IntN(len(sec.Paras))
		start := k*56 + 11*rng.IntN(4) // a paragraph is 54 characters and a blank line
		e.PostJSON(b, "/api/documents/bench/comments", map[string]any{"section": sec.ID, "para": sec.Paras[k], "start": start, "end": start + 9,
			"version": 0, "text": fmt.Sprint("Comment ", i)}, 201, nil)
	}
	return e, "bench"
}

// BenchmarkReadingViewComments is the server's time for the reading view
// of a document with 1,000 comments (the handler alone, no network).
func BenchmarkReadingViewComments(b *testing.B) {
	e, id := commentedDocument(b, 1000)
	h := e.Server.Handler()
	req := httptest.NewRequest("GET", "http://127.0.0.1/d/"+id, nil)
	req.Header.Set("Cookie", e.Cookie)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Comment 999") {
			b.Fatalf("reading view: %d", rec.Code)
		}
	}
}

// TestSizeLimits: a push that would make a section or the document larger
// than allowed is refused with too_large and changes nothing.
func TestSizeLimits(t *testing.T) {
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{MaxSectionUnits: 1000, MaxDocumentUnits: 4000}})
	d := e.CreateDoc(t, "bpf-output", "Limits")
	ctx := waitCtx(t)
	var mu sync.Mutex
	var codes []string
	a := e.Dial(t, d.ID, "writer-a", func(o *client.Options) {
		o.OnError = func(e *client.ServerError) { mu.Lock(); codes = append(codes, e.Code); mu.Unlock() }
	})
	if err := a.Edit("issues", replaceAll(strings.Repeat("a", 900))); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Server.CurrentDocument(ctx, d.ID)
	// Over the section limit.
	if err := a.Edit("issues", insertAt(0, strings.Repeat("b", 200))); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitFor(ctx, func(*client.Client) bool { mu.Lock(); defer mu.Unlock(); return len(codes) > 0 }); err != nil {
		t.Fatal(err)
	}
	if codes[0] != collab.CodeTooLarge {
		t.Fatalf("error %v; want %s", codes, collab.CodeTooLarge)
	}
	after, _ := e.Server.CurrentDocument(ctx, d.ID)
	if after.Seq != before.Seq || after.Section("issues").Text != before.Section("issues").Text {
		t.Fatalf("a refused push changed the document")
	}
	// Over the document limit through several sections.
	b := e.Dial(t, d.ID, "writer-b", func(o *client.Options) {
		o.OnError = func(e *client.ServerError) { mu.Lock(); codes = append(codes, e.Code); mu.Unlock() }
	})
	for _, sec := range []string{"methodology", "case-studies", "regional", "policy-measures"} {
		b.Edit(sec, replaceAll(strings.Repeat("c", 900)))
		b.WaitFor(ctx, func(c *client.Client) bool {
			return c.Pending() == 0 || func() bool { mu.Lock(); defer mu.Unlock(); return len(codes) > 1 }()
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(codes) < 2 || codes[1] != collab.CodeTooLarge {
		t.Fatalf("errors %v; want a second %s for the document limit", codes, collab.CodeTooLarge)
	}
	doc, _ := e.Server.CurrentDocument(ctx, d.ID)
	total := 0
	for _, s := range doc.Sections {
		total += editor.UTF16Len(s.Text)
	}
	if total > 4000 {
		t.Fatalf("document holds %d units; the limit is 4000", total)
	}
}
