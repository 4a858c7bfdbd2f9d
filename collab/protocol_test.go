package collab_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Over-the-wire tests of what hostile and hand-written clients found.

// TestIdentityCannotBeTaken: a client's id comes from its secret key, so
// another client cannot say hello as it: the attack that once lost an
// edit shown as saved (take the victim's id, push, let the victim's
// re-push be dropped as a duplicate) fails at every step.
func TestIdentityCannotBeTaken(t *testing.T) {
	var faulty *storetest.Faulty
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Wrap: func(s store.Store) store.Store {
		faulty = storetest.NewFaulty(s)
		return faulty
	}})
	d := e.CreateDoc(t, "bpf-output", "Identity")
	ctx := waitCtx(t)
	victim := e.Dial(t, d.ID, "victim")
	// The victim's edit waits in an append that never ends: unconfirmed.
	gate := make(chan struct{})
	faulty.Next(storetest.OpAppend, storetest.Fault{Wait: gate, Err: errors.New("lost before it was stored")})
	if err := victim.Edit("issues", replaceAll("The victim's sentence.")); err != nil {
		t.Fatal(err)
	}
	// The attacker knows the victim's public id, from presence. Saying
	// hello with it as the client field is refused; using it as a key
	// gives another id.
	r := dialRaw(t, e, d.ID)
	r.send(fmt.Sprintf(`{"type":"hello","protocol":%d,"client":%q}`, collab.ProtocolVersion, victim.ID()))
	if m := r.next(collab.MsgError); m["code"] != collab.CodeBadMessage {
		t.Fatalf("hello with a client field: %v", m)
	}
	r.send(fmt.Sprintf(`{"type":"hello","protocol":%d,"key":%q}`, collab.ProtocolVersion, victim.ID()))
	if w := r.next(collab.MsgWelcome); w["client"] == victim.ID() || w["client"] != wire.ClientID(victim.ID()) {
		t.Fatalf("the attacker got the id %v", w["client"])
	}
	if victim.Closed() {
		t.Fatal("the victim's connection was replaced")
	}
	close(gate) // the victim's batch fails: it reconnects and pushes again
	if err := victim.WaitFor(ctx, func(c *client.Client) bool { return c.Closed() }); err != nil {
		t.Fatal(err)
	}
	for {
		err := victim.Reconnect(ctx)
		var se *client.ServerError
		if err == nil {
			break
		}
		if !errors.As(err, &se) || se.Kind != client.KindReconnect {
			t.Fatal(err)
		}
	}
	if err := victim.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	doc, _ := e.Server.CurrentDocument(ctx, d.ID)
	if got := doc.Section("issues").Text; got != "The victim's sentence." {
		t.Fatalf("the victim's edit: stored %q", got)
	}
}

// TestWebsocketToBrokenDocument: a document that cannot be loaded is
// answered before the upgrade, with an HTTP error (500 "corrupt", as
// every route answers a damaged record), never with an open websocket
// nobody serves; one that does not exist gets 404.
func TestWebsocketToBrokenDocument(t *testing.T) {
	var faulty *storetest.Faulty
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Wrap: func(s store.Store) store.Store {
		faulty = storetest.NewFaulty(s)
		return faulty
	}})
	d := e.CreateDoc(t, "bpf-output", "Broken")
	for _, tc := range []struct {
		doc    string
		status int
	}{{"nope", http.StatusNotFound}, {d.ID, http.StatusInternalServerError}} {
		if tc.doc == d.ID {
			faulty.Every(storetest.OpLoadSnapshot, storetest.Fault{Err: fmt.Errorf("document %s: %w", d.ID, store.ErrCorrupt)})
		}
		u := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/documents/" + tc.doc + "/ws"
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		ws, resp, err := d.Dial(u, e.Header())
		if err == nil {
			ws.Close()
			t.Fatalf("%s: upgraded", tc.doc)
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: %v, %v; want status %d", tc.doc, err, resp, tc.status)
		}
	}
}

// TestClientCloseFrame: a client that sends a close frame (and keeps its
// socket open) has left: the others are told at once.
func TestClientCloseFrame(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		e := newModeServer(t, collab.Config{}, blocking)
		d := e.CreateDoc(t, "bpf-output", "Close frame")
		ctx := waitCtx(t)
		other := e.Dial(t, d.ID, "other")
		r := dialRaw(t, e, d.ID)
		r.send(hello("closer"))
		r.next(collab.MsgWelcome)
		id := wire.ClientID(collabtest.Key("closer"))
		if err := other.WaitFor(ctx, func(c *client.Client) bool { _, ok := c.Peers()[id]; return ok }); err != nil {
			t.Fatal(err)
		}
		if err := r.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := other.WaitFor(ctx, func(c *client.Client) bool { _, ok := c.Peers()[id]; return !ok }); err != nil {
			t.Fatalf("the others still see a client that sent a close frame: %v", err)
		}
	})
}

// TestWebsocketOrigins: a browser may open a websocket only from this
// site or an allowed origin, compared exactly; a cross-site request
// without an Origin is refused too.
func TestWebsocketOrigins(t *testing.T) {
	e := collabtest.New(t, collab.Config{AllowedOrigins: []string{"https://bpf.example.org"}})
	d := e.CreateDoc(t, "bpf-output", "Origins")
	u := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/documents/" + d.ID + "/ws"
	for _, tc := range []struct {
		name   string
		header http.Header
		ok     bool
	}{
		{"no origin (not a browser)", http.Header{}, true},
		{"same origin", http.Header{"Origin": {e.URL}}, true},
		{"allowed origin", http.Header{"Origin": {"https://bpf.example.org"}}, true},
		{"another site", http.Header{"Origin": {"https://evil.example"}}, false},
		{"allowed origin as a prefix", http.Header{"Origin": {"https://bpf.example.org.evil.example"}}, false},
		{"allowed host, other scheme", http.Header{"Origin": {"http://bpf.example.org"}}, false},
		{"allowed host, other port", http.Header{"Origin": {"https://bpf.example.org:8443"}}, false},
		{"this host as a prefix", http.Header{"Origin": {e.URL + ".evil.example"}}, false},
		{"this host, other scheme", http.Header{"Origin": {"https://" + strings.TrimPrefix(e.URL, "http://")}}, false},
		{"cross-site without origin", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false},
		{"same-site without origin", http.Header{"Sec-Fetch-Site": {"same-site"}}, false},
		{"same-origin without origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.header.Set("Cookie", e.Cookie)
			ws, resp, err := websocket.DefaultDialer.Dial(u, tc.header)
			if ws != nil {
				ws.Close()
			}
			if ok := err == nil; ok != tc.ok {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				t.Fatalf("upgraded %v (status %d, %v); want %v", ok, status, err, tc.ok)
			}
		})
	}
}

// rawHello says hello with a seq and returns the welcome and, for a
// catch-up, the updates that follow it up to the welcome's seq.
func rawHello(t *testing.T, r *rawConn, name string, seq int64) (map[string]any, []map[string]any) {
	t.Helper()
	r.send(fmt.Sprintf(`{"type":"hello","protocol":%d,"key":%q,"seq":%d}`, collab.ProtocolVersion, collabtest.Key(name), seq))
	r.ws.SetReadDeadline(time.Now().Add(time.Minute))
	var welcome map[string]any
	var updates []map[string]any
	caughtUp := func() bool {
		if welcome == nil {
			return false
		}
		if _, snap := welcome["document"]; snap || welcome["seq"].(float64) == float64(seq) {
			return true
		}
		return len(updates) > 0 && updates[len(updates)-1]["seq"] == welcome["seq"]
	}
	for !caughtUp() {
		_, data, err := r.ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			var m map[string]any
			json.Unmarshal([]byte(line), &m)
			switch m["type"] {
			case collab.MsgWelcome:
				welcome = m
			case collab.MsgUpdates:
				for _, u := range m["updates"].([]any) {
					updates = append(updates, u.(map[string]any))
				}
			}
		}
	}
	return welcome, updates
}

// TestCatchUpPaths: a client coming back gets what it missed from memory
// when the hub still holds it, from the log when only the store does
// (with the paragraph ids, as the live broadcast had them), and a
// snapshot when the log no longer keeps it.
func TestCatchUpPaths(t *testing.T) {
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{RecentUpdates: 4, SnapshotEvery: 10, SnapshotKeep: 12, KeepEvery: -1}})
	d := e.CreateDoc(t, "bpf-output", "Catch-up")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer")
	var live []map[string]any // every update as broadcast
	var mu sync.Mutex
	watcher := e.Dial(t, d.ID, "watcher", func(o *client.Options) {
		o.OnUpdate = func(u client.Update, own bool) {
			raw, _ := json.Marshal(u)
			var m map[string]any
			json.Unmarshal(raw, &m)
			mu.Lock()
			live = append(live, m)
			mu.Unlock()
		}
	})
	edit := func(n int) {
		for i := range n {
			// Every third edit splits a paragraph, so paragraph ids change.
			ins := fmt.Sprintf("w%d ", i)
			if i%3 == 0 {
				ins = "\n\n"
			}
			if err := a.Edit("issues", insertAt(0, ins)); err != nil {
				t.Fatal(err)
			}
			if err := a.WaitConfirmed(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := watcher.WaitSeq(ctx, a.Seq()); err != nil {
			t.Fatal(err)
		}
	}
	edit(3)
	for _, tc := range []struct {
		name     string
		after    int64
		snapshot bool
	}{
		{"from memory", 2, false},
		{"from the log", 1, false},
		{"from nothing (seq 0)", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "from the log" {
				edit(6) // more than the memory holds
			}
			r := dialRaw(t, e, d.ID)
			welcome, ups := rawHello(t, r, "returning", tc.after)
			if _, snap := welcome["document"]; snap != tc.snapshot {
				t.Fatalf("welcome with a document: %v; want %v", snap, tc.snapshot)
			}
			seq := int64(welcome["seq"].(float64))
			if int64(len(ups)) != seq-tc.after {
				t.Fatalf("%d updates after %d up to %d", len(ups), tc.after, seq)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, u := range ups {
				want := live[int(u["seq"].(float64))-1]
				if fmt.Sprint(u) != fmt.Sprint(want) {
					t.Fatalf("caught up with %v; the broadcast was %v", u, want)
				}
			}
		})
	}
	// Beyond what the log keeps: a snapshot.
	edit(30)
	start, err := e.Store.LogStart(ctx, d.ID)
	if err != nil || start < 3 {
		t.Fatalf("the log still starts at %d (%v)", start, err)
	}
	r := dialRaw(t, e, d.ID)
	welcome, ups := rawHello(t, r, "late", 1)
	if _, snap := welcome["document"]; !snap || len(ups) != 0 {
		t.Fatalf("a client older than the log got a welcome without document (%d updates)", len(ups))
	}
}

// TestSectionWithCarriageReturns: text added over HTTP with \r\n line
// breaks is stored with \n, as CodeMirror holds it, so the section can be
// edited live.
func TestSectionWithCarriageReturns(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Line breaks")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer")
	var sec struct{ ID, Text string }
	e.PostJSON(t, "/api/documents/"+d.ID+"/sections", map[string]string{"title": "Annex", "text": "One.\r\n\r\nTwo.\rThree."}, 201, &sec)
	if sec.Text != "One.\n\nTwo.\nThree." {
		t.Fatalf("section text %q", sec.Text)
	}
	if err := a.WaitFor(ctx, func(c *client.Client) bool { return slices.Contains(c.Sections(), sec.ID) }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := a.Edit(sec.ID, insertAt(4, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitConfirmed(ctx); err != nil {
			t.Fatalf("edit %d of the added section: %v", i, err)
		}
	}
	doc, _ := e.Server.CurrentDocument(ctx, d.ID)
	if got := doc.Section(sec.ID).Text; got != "One.210\n\nTwo.\nThree." || a.Text(sec.ID) != got {
		t.Fatalf("server %q, client %q", got, a.Text(sec.ID))
	}
}

// TestOldPushAfterRestart: after a restart (the document reloaded from a
// snapshot taken at shutdown), a push made at a version from before the
// snapshot is rebased over the log and accepted, as it would have been
// before the restart.
func TestOldPushAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Dir: dir})
	d := e.CreateDoc(t, "bpf-output", "Restart")
	ctx := waitCtx(t)
	a := e.Dial(t, d.ID, "writer")
	if err := a.Edit("issues", replaceAll("abc")); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"d", "e", "f"} {
		if err := a.Edit("issues", func(text string) []editor.Change {
			n := editor.UTF16Len(text)
			return []editor.Change{{From: n, To: n, Insert: s}}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	e.Close() // a snapshot at the head, then the server stops
	e = collabtest.New(t, collab.Config{}, collabtest.Options{Dir: dir})
	// A client that knew "abc" at version 1 pushes an insertion there
	// before catching up.
	r := dialRaw(t, e, d.ID)
	rawHello(t, r, "slow", 1)
	r.send(fmt.Sprintf(`{"type":"push","section":"issues","version":1,"check":%d,"updates":[{"changes":[1,[0,"-"],2]}]}`, editor.Checksum("a-bc")))
	for {
		m := r.next(collab.MsgUpdates)
		u := m["updates"].([]any)
		if last := u[len(u)-1].(map[string]any); last["client"] == wire.ClientID(collabtest.Key("slow")) {
			break
		}
	}
	doc, _ := e.Server.CurrentDocument(ctx, d.ID)
	if got := doc.Section("issues").Text; got != "a-bcdef" {
		t.Fatalf("text %q; want a-bcdef", got)
	}
}

// TestCorruptRecordStaysInIt: a document whose listing entry is damaged
// is listed as such; the home page and the API listing still answer for
// everyone, and the damaged document itself answers a clear error.
func TestCorruptRecordStaysInIt(t *testing.T) {
	dir := t.TempDir()
	e := collabtest.New(t, collab.Config{}, collabtest.Options{Dir: dir})
	good := e.CreateDoc(t, "bpf-output", "Good")
	bad := e.CreateDoc(t, "bpf-output", "Bad")
	e.Close()
	db, err := bolt.Open(dir+"/bpfdraft.db", 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("docs")).Bucket([]byte(bad.ID))
		if err := b.Put([]byte("info"), []byte("{not json")); err != nil {
			return err
		}
		return b.Bucket([]byte("snapshot")).Put([]byte("snap"), []byte("{not json either"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	e = collabtest.New(t, collab.Config{}, collabtest.Options{Dir: dir})
	var list struct {
		Documents []struct{ ID, Title, Broken string }
	}
	e.GetJSON(t, "/api/documents", 200, &list)
	if len(list.Documents) != 2 || list.Documents[0].ID != good.ID || list.Documents[1].Broken == "" {
		t.Fatalf("listing %+v", list)
	}
	status, home := e.Call(t, "GET", "/", "", "")
	if status != 200 || !strings.Contains(string(home), "Good") || !strings.Contains(string(home), "cannot be read") {
		t.Fatalf("home page: %d\n%s", status, home)
	}
	status, body := e.Call(t, "GET", "/api/documents/"+bad.ID, "", "")
	if status != 500 || !strings.Contains(string(body), `"corrupt"`) {
		t.Fatalf("the damaged document: %d %s", status, body)
	}
	e.GetJSON(t, "/api/documents/"+good.ID, 200, nil)
}
