package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestLightEditorsConverge: light editors and full clients edit two
// sections of a real server in a random interleaving (several edits
// unconfirmed at times, so light editors rebase them over foreign updates
// and push again on confirmation); at the end every light editor has each
// edit confirmed once and its section's text equal to the server's, as
// every full client has.
func TestLightEditorsConverge(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	env := collabtest.New(t, collab.Config{})
	doc := env.CreateDoc(t, "bpf-output", "Light editors")
	secs := []string{doc.Sections[0].ID, doc.Sections[1].ID}

	type actor struct {
		le      *lightEditor
		c       *client.Client
		section string
		typ     typing
	}
	var actors []*actor
	d := &websocket.Dialer{}
	// The light editors of a section share its texts, as in a run.
	chains := map[string]*textChain{secs[0]: new(textChain), secs[1]: new(textChain)}
	for i := range 4 {
		sec := secs[min(i/3, 1)] // three light editors in one section, one in the other
		le, err := dialLightEditor(t.Context(), d, env.URL, doc.ID, collabtest.Key(fmt.Sprint("light", i)), "light", sec,
			lightOptions{header: env.Header(), chain: chains[sec], readEvery: time.Duration(i%2) * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(le.close)
		if i%2 == 1 {
			// It pauses between reads until a push of its own.
			le.nextEdit.Store(math.MaxInt64)
		}
		actors = append(actors, &actor{le: le, section: sec})
	}
	for i, sec := range secs {
		actors = append(actors, &actor{c: env.Dial(t, doc.ID, fmt.Sprint("full", i)), section: sec})
	}
	for i, a := range actors {
		a.typ = typing{rng: rand.New(rand.NewPCG(seed, uint64(i+1))), targetUnits: 300}
	}
	wait := func(a *actor) {
		t.Helper()
		var err error
		if a.le != nil {
			err = a.le.waitConfirmed(t.Context())
		} else {
			err = a.c.WaitConfirmed(t.Context())
		}
		if err != nil {
			t.Fatalf("waiting for confirmations: %v", err)
		}
	}
	for range 400 {
		a := actors[rng.IntN(len(actors))]
		typist := a.typ.edit
		if rng.IntN(3) == 0 {
			// Insertions at one place make ties, where the order of
			// rebasing decides whose text comes first.
			typist = insertAt(0, string(rune('A'+rng.IntN(26))))
		}
		if a.le == nil {
			if err := a.c.Edit(a.section, typist); err != nil {
				t.Fatal(err)
			}
		} else {
			made, err := a.le.edit(typist)
			if err != nil {
				t.Fatalf("edit: %v (%s)", err, a.le.trouble())
			}
			if !made {
				wait(a) // maxUnconfirmed reached
			}
		}
		if rng.IntN(8) == 0 {
			wait(actors[rng.IntN(len(actors))])
		}
	}
	for _, a := range actors {
		wait(a)
	}
	var final collabtest.Doc
	env.GetJSON(t, "/api/documents/"+doc.ID, http.StatusOK, &final)
	want := map[string]string{}
	for _, s := range final.Sections {
		want[s.ID] = s.Text
	}
	var made int64
	for _, a := range actors {
		if a.le != nil {
			if err := a.le.waitSeq(t.Context(), final.Seq); err != nil {
				t.Fatal(err)
			}
			if p := a.le.verify(want[a.section]); p != "" {
				t.Errorf("light editor %s: %s", a.le.id, p)
			}
			made += a.le.made
			continue
		}
		if err := a.c.WaitSeq(t.Context(), final.Seq); err != nil {
			t.Fatal(err)
		}
		for _, sec := range secs {
			if got := a.c.Text(sec); got != want[sec] {
				t.Errorf("full client %s, section %s: %q; the server has %q", a.c.ID(), sec, got, want[sec])
			}
		}
	}
	if made == 0 {
		t.Error("the light editors made no edit")
	}
	t.Logf("%d updates, %d of them by light editors", final.Seq, made)
}

// scriptedEditor serves one websocket: it answers the hello with a
// welcome for the key it was given (section "s" holding "abc" at version
// 0, seq 3), sends every frame from out and hands every message read to
// in.
func scriptedEditor(t *testing.T) (url string, out chan<- string, in <-chan string) {
	o, i := make(chan string, 16), make(chan string, 16)
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var hello struct{ Key string }
		if _, data, err := ws.ReadMessage(); err != nil || json.Unmarshal(data, &hello) != nil {
			return
		}
		welcome := fmt.Sprintf(`{"type":"welcome","protocol":2,"client":%q,"seq":3,"document":{"seq":3,"sections":[{"id":"other","text":"","version":2},{"id":"s","text":"abc","version":0}]}}`, wire.ClientID(hello.Key))
		if ws.WriteMessage(websocket.TextMessage, []byte(welcome)) != nil {
			return
		}
		go func() {
			for f := range o {
				if ws.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
					return
				}
			}
		}()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			i <- string(data)
		}
	}))
	t.Cleanup(func() { close(o); hs.Close() })
	return hs.URL, o, i
}

const scriptKey = "light-editor-test-key-0123"

var scriptID = wire.ClientID(scriptKey)

func dialScripted(t *testing.T, url string) *lightEditor {
	t.Helper()
	le, err := dialLightEditor(t.Context(), &websocket.Dialer{}, url, "doc", scriptKey, "light", "s", lightOptions{onError: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(le.close)
	return le
}

func insertAt(at int, s string) func(string) []editor.Change {
	return func(string) []editor.Change { return []editor.Change{{From: at, To: at, Insert: s}} }
}

type pushMsg struct {
	Type    string
	Section string
	Version int
	Check   uint32
	Updates []struct{ Changes json.RawMessage }
}

func readPush(t *testing.T, in <-chan string) pushMsg {
	t.Helper()
	var p pushMsg
	if err := json.Unmarshal([]byte(<-in), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLightEditorPushes: a light editor pushes its unconfirmed edits on
// top of its synced version with the checksum of the text after them,
// one push at a time; a foreign update rebases what is unconfirmed; its
// own update confirms the oldest edit and the rest goes in the next push.
func TestLightEditorPushes(t *testing.T) {
	url, out, in := scriptedEditor(t)
	le := dialScripted(t, url)

	if made, err := le.edit(insertAt(0, "x")); !made || err != nil {
		t.Fatalf("edit: %v %v", made, err)
	}
	p := readPush(t, in)
	if p.Type != "push" || p.Section != "s" || p.Version != 0 || p.Check != editor.Checksum("xabc") ||
		len(p.Updates) != 1 || string(p.Updates[0].Changes) != `[[0,"x"],3]` {
		t.Fatalf("first push %+v; want section s at version 0, check of xabc, one update", p)
	}
	// A foreign update, then a second edit while the first is in flight:
	// it waits.
	out <- fmt.Sprintf(`{"type":"updates","updates":[{"seq":4,"section":"s","version":1,"client":"someone","changes":[3,[0,"!"]]},{"seq":5,"section":"other","version":3,"client":%q,"changes":[[0,"z"]]}]}`, scriptID)
	if err := le.waitSeq(t.Context(), 5); err != nil {
		t.Fatal(err)
	}
	if made, err := le.edit(func(text string) []editor.Change {
		if text != "xabc!" {
			t.Errorf("the text to edit is %q; want xabc!", text)
		}
		return []editor.Change{{From: 5, To: 5, Insert: "y"}}
	}); !made || err != nil {
		t.Fatalf("edit: %v %v", made, err)
	}
	// The first edit confirmed (as the server rebased it); the second is
	// pushed on top of version 2.
	out <- fmt.Sprintf(`{"type":"updates","updates":[{"seq":6,"section":"s","version":2,"client":%q,"changes":[[0,"x"],4]}]}`, scriptID)
	p = readPush(t, in)
	if p.Version != 2 || p.Check != editor.Checksum("xabc!y") || len(p.Updates) != 1 || string(p.Updates[0].Changes) != `[5,[0,"y"]]` {
		t.Fatalf("second push %+v; want version 2, check of xabc!y, one update", p)
	}
	out <- fmt.Sprintf(`{"type":"updates","updates":[{"seq":7,"section":"s","version":3,"client":%q,"changes":[5,[0,"y"]]}]}`, scriptID)
	if err := le.waitConfirmed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p := le.verify("xabc!y"); p != "" {
		t.Fatal(p)
	}
	if p := le.verify("xabc!"); !strings.Contains(p, "has 6 bytes, the server 5") {
		t.Fatalf("verify against another text: %q; want a difference", p)
	}
}

// TestLightEditorHoldsEdits: beyond maxUnconfirmed unconfirmed edits, edit
// makes nothing; an unconfirmed edit fails verify.
func TestLightEditorHoldsEdits(t *testing.T) {
	url, _, in := scriptedEditor(t)
	le := dialScripted(t, url)
	for i := range maxUnconfirmed {
		if made, err := le.edit(insertAt(0, "x")); !made || err != nil {
			t.Fatalf("edit %d: %v %v", i, made, err)
		}
	}
	if made, err := le.edit(insertAt(0, "x")); made || err != nil {
		t.Fatalf("edit beyond %d unconfirmed: made %v, %v; want nothing made", maxUnconfirmed, made, err)
	}
	if p := readPush(t, in); len(p.Updates) != 1 {
		t.Fatalf("the first push carries %d updates; want 1", len(p.Updates))
	}
	if p := le.verify("abc"); !strings.Contains(p, "8 edits made, 0 confirmed") {
		t.Fatalf("verify with nothing confirmed: %q", p)
	}
}

// TestLightEditorChecks: what a light editor must notice in the stream.
func TestLightEditorChecks(t *testing.T) {
	own := func(seq, version int, changes string) string {
		return fmt.Sprintf(`{"seq":%d,"section":"s","version":%d,"client":%q,"changes":%s}`, seq, version, scriptID, changes)
	}
	other := func(seq int) string {
		return fmt.Sprintf(`{"type":"updates","updates":[{"seq":%d,"section":"other","version":%d,"client":"c","changes":[[0,"z"]]}]}`, seq, seq-1)
	}
	// Each script ends at seq upTo; the problem must be noticed by then.
	for _, tc := range []struct {
		name    string
		frames  []string
		upTo    int64
		problem string
	}{
		{"a gap", []string{other(5)}, 5, "seq 5 after 3"},
		{"a double", []string{`{"type":"updates","updates":[{"seq":4,"section":"other","version":3,"client":"c","changes":[[0,"z"]]},{"seq":4}]}`}, 4, "seq 4 after 4"},
		{"a version skipped", []string{`{"type":"updates","updates":[{"seq":4,"section":"s","version":2,"client":"c","changes":[3,[0,"z"]]}]}`}, 4, "to version 2 from 0"},
		{"an update that does not apply", []string{`{"type":"updates","updates":[{"seq":4,"section":"s","version":1,"client":"c","changes":[4,[0,"z"]]}]}`}, 4, "update 4"},
		{"our update with no edit made", []string{`{"type":"updates","updates":[` + own(4, 1, `[3,[0,"z"]]`) + `]}`}, 4, "confirms no edit"},
		{"an error", []string{`{"type":"error","code":"diverged","message":"m","kind":"resync","section":"s","version":0}`, other(4)}, 4, "diverged"},
		{"an unreadable message", []string{`{"type":"updates","updates":[{"seq":"4"}]}`, other(4)}, 4, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, out, _ := scriptedEditor(t)
			le := dialScripted(t, url)
			for _, f := range tc.frames {
				out <- f
			}
			err := le.waitSeq(t.Context(), tc.upTo)
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("waitSeq(%d): %v; want %q", tc.upTo, err, tc.problem)
			}
			if made, err := le.edit(insertAt(0, "x")); made || err == nil {
				t.Fatalf("edit after a problem: made %v, %v; want an error", made, err)
			}
		})
	}
}

// TestLightEditorWelcome: a welcome for another client id than the key's
// is refused at dial.
func TestLightEditorWelcome(t *testing.T) {
	hs := scripted(t, `{"type":"welcome","protocol":2,"client":"not-mine","seq":0,"document":{"seq":0,"sections":[{"id":"s","text":"","version":0}]}}`)
	_, err := dialLightEditor(t.Context(), &websocket.Dialer{}, hs.URL, "doc", scriptKey, "light", "s", lightOptions{})
	if err == nil || !strings.Contains(err.Error(), "welcomed as client not-mine") {
		t.Fatalf("dial: %v; want the client id refused", err)
	}
	hs = scripted(t, fmt.Sprintf(`{"type":"welcome","protocol":2,"client":%q,"seq":0,"document":{"seq":0,"sections":[]}}`, scriptID))
	_, err = dialLightEditor(t.Context(), &websocket.Dialer{}, hs.URL, "doc", scriptKey, "light", "s", lightOptions{})
	if err == nil || !strings.Contains(err.Error(), `no section "s"`) {
		t.Fatalf("dial: %v; want the missing section noticed", err)
	}
}

// TestTextChain: a shared text is taken only for exactly the base text
// and update bytes it was made from.
func TestTextChain(t *testing.T) {
	var c textChain
	c.add(7, "abc", []byte(`[3,[0,"!"]]`), "abc!")
	for _, tc := range []struct {
		version int
		base    string
		changes string
		ok      bool
	}{
		{7, "abc", `[3,[0,"!"]]`, true},
		{7, strings.Clone("abc"), `[3,[0,"!"]]`, true}, // an equal text held in another string
		{7, "abd", `[3,[0,"!"]]`, false},
		{7, "abc", `[3,[0,"?"]]`, false},
		{7, "abc", `[3, [0,"!"]]`, false},
		{6, "abc", `[3,[0,"!"]]`, false},
		{7 + chainSize, "abc", `[3,[0,"!"]]`, false},
	} {
		if text, ok := c.next(tc.version, tc.base, []byte(tc.changes)); ok != tc.ok || ok && text != "abc!" {
			t.Errorf("next(%d, %q, %s) = %q, %v; want ok %v", tc.version, tc.base, tc.changes, text, ok, tc.ok)
		}
	}
}

// TestLightEditorsShareOnlyTheirOwnStream: three light editors share a
// chain; the second receives what the first did and takes its text, the
// third a different update at the same version (as if the server sent
// connections different things) and ends with its own stream applied.
func TestLightEditorsShareOnlyTheirOwnStream(t *testing.T) {
	chain := new(textChain)
	var les []*lightEditor
	for _, changes := range []string{`[3,[0,"!"]]`, `[3,[0,"!"]]`, `[[0,"?"],3]`} {
		url, out, _ := scriptedEditor(t)
		le, err := dialLightEditor(t.Context(), &websocket.Dialer{}, url, "doc", scriptKey, "light", "s", lightOptions{chain: chain})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(le.close)
		out <- `{"type":"updates","updates":[{"seq":4,"section":"s","version":1,"client":"c","changes":` + changes + `}]}`
		if err := le.waitSeq(t.Context(), 4); err != nil {
			t.Fatal(err)
		}
		les = append(les, le)
	}
	for i, want := range []string{"abc!", "abc!", "?abc"} {
		if p := les[i].verify(want); p != "" {
			t.Errorf("editor %d: %s; want %q", i, p, want)
		}
	}
	if unsafe.StringData(les[0].synced) != unsafe.StringData(les[1].synced) {
		t.Error("the second editor made its own text instead of taking the first's")
	}
}

// BenchmarkLightEditorFrame: what a light editor spends on one delivered
// update of its own section (a frame of five keystrokes by others in a
// 2,000-unit text), the usual case at 200 editors × 5/s in one section:
// alone, and when ten editors share the section's texts (one makes each
// version, nine take it).
func BenchmarkLightEditorFrame(b *testing.B) {
	text := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 40)[:2000]
	var seq int64
	var ids []string
	for i := range 5 {
		ids = append(ids, wire.ClientID(fmt.Sprint("key-of-editor-", i)))
	}
	frame := func() []byte {
		var sb strings.Builder
		sb.WriteString(`{"type":"updates","updates":[`)
		for i := range 5 {
			seq++
			if i > 0 {
				sb.WriteByte(',')
			}
			// Type two letters, then delete them, so the text keeps its length.
			at := int(seq*37) % 1990
			changes := fmt.Sprintf(`[%d,[0,"ab"],%d]`, at, 2000-at)
			if seq%2 == 0 {
				at = int((seq-1)*37) % 1990
				changes = fmt.Sprintf(`[%d,[2],%d]`, at, 2000-at)
			}
			fmt.Fprintf(&sb, `{"seq":%d,"section":"s","version":%d,"client":%q,"changes":%s}`, seq, seq, ids[i], changes)
		}
		sb.WriteString(`]}`)
		return []byte(sb.String())
	}
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = frame()
	}
	for _, editors := range []int{1, 10} {
		b.Run(fmt.Sprintf("%d editors sharing", editors), func(b *testing.B) {
			var les []*lightEditor
			reset := func() {
				les = les[:0]
				chain := new(textChain)
				for range editors {
					les = append(les, &lightEditor{id: "me", section: "s", synced: text, opts: lightOptions{chain: chain}})
				}
			}
			reset()
			n := 0
			for b.Loop() {
				if n == len(frames) {
					b.StopTimer()
					reset()
					n = 0
					b.StartTimer()
				}
				for _, le := range les {
					le.handle(frames[n], 0)
				}
				n++
			}
			for _, le := range les {
				if le.problem != "" {
					b.Fatal(le.problem)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(5*editors*b.N), "ns/update")
		})
	}
}
