package loadgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// oracleUpdate is an update as encoding/json reads it.
type oracleUpdate struct {
	seq                   int64
	version               int
	section, client       string
	changes, structure    string
	hasChanges, hasStruct bool
}

// oracleScan reads a line with encoding/json into maps of raw values and
// applies the rules scanMessage documents; ok is false where scanMessage
// must fail.
func oracleScan(line []byte) (typ string, ups []oracleUpdate, ok bool) {
	var top map[string]json.RawMessage
	if first(line) != '{' || json.Unmarshal(line, &top) != nil {
		return "", nil, false
	}
	if raw, ok := top["type"]; ok {
		if first(raw) != '"' || json.Unmarshal(raw, &typ) != nil {
			return "", nil, false
		}
	}
	raw, has := top["updates"]
	if !has {
		return typ, nil, true
	}
	var list []json.RawMessage
	if first(raw) != '[' || json.Unmarshal(raw, &list) != nil {
		return "", nil, false
	}
	for _, el := range list {
		var m map[string]json.RawMessage
		if first(el) != '{' || json.Unmarshal(el, &m) != nil {
			return "", nil, false
		}
		var u oracleUpdate
		for k, v := range m {
			var err error
			switch k {
			case "seq":
				err = strictInt(v, &u.seq)
			case "version":
				err = strictInt(v, &u.version)
			case "section":
				err = strictString(v, &u.section)
			case "client":
				err = strictString(v, &u.client)
			case "changes":
				u.changes, u.hasChanges = string(v), true
			case "structure":
				u.structure, u.hasStruct = string(v), true
			}
			if err != nil {
				return "", nil, false
			}
		}
		ups = append(ups, u)
	}
	return typ, ups, true
}

func first(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// strictInt and strictString refuse null, which encoding/json accepts
// for any type by leaving the value alone.
func strictInt[T int | int64](raw []byte, v *T) error {
	if first(raw) == 'n' {
		return fmt.Errorf("null")
	}
	return json.Unmarshal(raw, v)
}

func strictString(raw []byte, v *string) error {
	if first(raw) != '"' {
		return fmt.Errorf("not a string")
	}
	return json.Unmarshal(raw, v)
}

// checkScan compares scanMessage with encoding/json's reading of line.
func checkScan(t *testing.T, line []byte) (ok bool) {
	t.Helper()
	wantTyp, want, wantOK := oracleScan(line)
	typ, got, err := scanMessage(line, nil)
	if (err == nil) != wantOK {
		t.Fatalf("scanMessage(%q): error %v; encoding/json reads it: %v", line, err, wantOK)
	}
	if err != nil {
		return false
	}
	if string(typ) != wantTyp {
		t.Fatalf("scanMessage(%q): type %q; want %q", line, typ, wantTyp)
	}
	if len(got) != len(want) {
		t.Fatalf("scanMessage(%q): %d updates; want %d", line, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		gu := oracleUpdate{seq: g.seq, version: g.version, section: string(g.section), client: string(g.client),
			changes: string(g.changes), structure: string(g.structure), hasChanges: g.changes != nil, hasStruct: g.structure != nil}
		if gu != w {
			t.Fatalf("scanMessage(%q): update %d is %+v; want %+v", line, i, gu, w)
		}
	}
	return true
}

// realFrames runs a real server through what its updates messages can
// hold (text with quotes, backslashes, HTML characters, emoji and line
// breaks; paragraph ids; a structural update; several updates in one
// message) and returns every line it sent a raw editor connection.
func realFrames(t testing.TB) [][]byte {
	env := collabtest.New(t, collab.Config{})
	doc := env.CreateDoc(t, "bpf-output", "Frames")
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(env.URL, "http", "ws", 1)+"/api/documents/"+doc.ID+"/ws", env.Header())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"hello","protocol":%d,"key":"frames-raw-connection-key","name":"raw"}`, client.ProtocolVersion))

	a := env.Dial(t, doc.ID, "a")
	b := env.Dial(t, doc.ID, "b")
	texts := []string{`say "hi"`, `back\slash`, "<b>&amp;</b>", "😀 é\u2028", "\n\nnew paragraph\n", "\t\x01"}
	for i, ins := range texts {
		for _, c := range []*client.Client{a, b} {
			sec := doc.Sections[i%2].ID
			if err := c.Edit(sec, func(text string) []editor.Change {
				return []editor.Change{{From: 0, To: 0, Insert: ins}}
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []*client.Client{a, b} {
		if err := c.WaitConfirmed(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	env.PostJSON(t, "/api/documents/"+doc.ID+"/sections", map[string]string{"title": `A "new" section`, "text": "line\r\nbreaks"}, http.StatusCreated, nil)
	// A refused push brings an error message.
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"push","section":"nope","version":0,"check":0,"updates":[{"changes":[0]}]}`))
	var final collabtest.Doc
	env.GetJSON(t, "/api/documents/"+doc.ID, http.StatusOK, &final)

	var lines [][]byte
	var seq int64
	sawError := false
	ws.SetReadDeadline(time.Now().Add(30 * time.Second)) // a failsafe, not a synchronisation
	for seq < final.Seq || !sawError {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("reading frames at seq %d of %d: %v", seq, final.Seq, err)
		}
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			lines = append(lines, line)
			var m struct {
				Type    string
				Updates []struct{ Seq int64 }
			}
			json.Unmarshal(line, &m)
			for _, u := range m.Updates {
				seq = u.Seq
			}
			sawError = sawError || m.Type == "error"
		}
	}
	return lines
}

// framesFile keeps the lines of one realFrames run, the fuzz test's seeds;
// go test -run TestScanRealFrames -update rewrites it.
const framesFile = "testdata/frames.jsonl"

var update = flag.Bool("update", false, "rewrite "+framesFile)

func TestScanRealFrames(t *testing.T) {
	lines := realFrames(t)
	if *update {
		if err := os.WriteFile(framesFile, append(bytes.Join(lines, []byte{'\n'}), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kinds := map[string]int{}
	for _, line := range lines {
		if !checkScan(t, line) {
			t.Fatalf("a real server message is refused: %s", line)
		}
		typ, ups, _ := scanMessage(line, nil)
		kinds[string(typ)]++
		for _, u := range ups {
			switch {
			case u.structure != nil:
				kinds["structure"]++
			case bytes.Contains(line, []byte(`"paras"`)):
				kinds["paras"]++
			}
			if bytes.Contains(u.changes, []byte(`\u003c`)) {
				kinds["escaped"]++
			}
		}
		if len(ups) > 1 {
			kinds["several"]++
		}
	}
	t.Logf("%d lines: %v", len(lines), kinds)
	for _, k := range []string{"welcome", "updates", "error", "structure", "paras", "escaped"} {
		if kinds[k] == 0 {
			t.Errorf("no %q among the real frames; the test does not cover it", k)
		}
	}
}

func TestScanMessage(t *testing.T) {
	deep := func(n int) string {
		return `{"type":"x","y":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"type":"updates","updates":[{"seq":4,"section":"s","version":2,"client":"c","changes":[1,[0,"x"]]}]}`, true},
		{` {"updates":[{"seq":4},{"seq":5,"structure":{"op":"add_section"}}] , "type" : "updates" } `, true},
		{`{"type":"updates","updates":[]}`, true},
		{`{}`, true},
		{`{"type":"peers","peers":[{"client":"x"}],"left":["y"]}`, true},
		{`{"type":"up\u0064ates","updates":[{"s\u0065q":7,"section":"\u00e9\ud83d\ude00","client":"\u003c"}]}`, true},
		{`{"type":"updates","updates":[{"seq":1,"section":"a\ud800b"}]}`, true}, // a lone surrogate becomes U+FFFD
		{"{\"type\":\"updates\",\"updates\":[{\"seq\":1,\"client\":\"\xff\"}]}", true},
		{`{"type":"updates","updates":[{"seq":"4","seq":4}]}`, true},         // the last key wins
		{`{"updates":{"a":1},"updates":[{"seq":4}],"type":"updates"}`, true}, // the last key wins
		{`{"type":1,"type":"updates"}`, true},
		{`{"type":"updates","updates":[{"seq":-0,"version":-3}]}`, true},
		{`{"updates":[{"changes":null,"structure":false,"paras":["a",{"b":[1.5e3,-0.0,true]}]}]}`, true},
		{deep(9998), true},
		{deep(9999), true}, // nesting 10,001 counting the object
		{`{"type":"updates","updates":[{"seq":"4"}]}`, false},
		{`{"type":"updates","updates":[{"seq":4.0}]}`, false},
		{`{"type":"updates","updates":[{"seq":1e2}]}`, false},
		{`{"type":"updates","updates":[{"seq":9223372036854775808}]}`, false},
		{`{"type":"updates","updates":[{"seq":9223372036854775807,"version":-9223372036854775808}]}`, true},
		{`{"type":"updates","updates":[{"seq":-9223372036854775809}]}`, false},
		{`{"type":"updates","updates":[{"seq":99999999999999999999}]}`, false},
		{`{"type":"updates","updates":[{"seq":null}]}`, false},
		{`{"type":"updates","updates":[{"section":5}]}`, false},
		{`{"type":"updates","updates":[null]}`, false},
		{`{"type":"updates","updates":null}`, false},
		{`{"type":null}`, false},
		{`{"type":"updates"} x`, false},
		{`{"type":"updates",}`, false},
		{`{"type":"updates","updates":[{"seq":01}]}`, false},
		{`{"type":"upd` + "\x01" + `ates"}`, false},
		{`{"type":"\x"}`, false},
		{`{"type":"\u12"}`, false},
		{`{"a":tru}`, false},
		{`{"a":-}`, false},
		{`{"a":1.}`, false},
		{`{"a":1e}`, false},
		{`[]`, false},
		{`null`, false},
		{``, false},
		{`{"a":[1,]}`, false},
		{`{"a" 1}`, false},
		{`{"type":"updates","updates":[{"seq":4}`, false},
	} {
		if _, _, err := scanMessage([]byte(tc.line), nil); (err == nil) != tc.ok {
			t.Errorf("scanMessage(%.80q): error %v; want ok %v", tc.line, err, tc.ok)
			continue
		}
		checkScan(t, []byte(tc.line))
	}
}

// FuzzScanMessage holds scanMessage to encoding/json's reading of the same
// line, starting from real server messages (framesFile: a server started
// in every fuzzing worker made the workers stall).
func FuzzScanMessage(f *testing.F) {
	data, err := os.ReadFile(framesFile)
	if err != nil {
		f.Fatal(err)
	}
	for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte{'\n'}) {
		f.Add(line)
	}
	f.Add([]byte(`{"type":"up\u0064ates","updates":[{"seq":1,"seq":"x","section":"\ud83d"}]}`))
	f.Add([]byte(`{"updates":[{"seq":-0,"version":1e2,"changes":[1,[2,"a","b"]],"structure":null}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkScan(t, line)
	})
}
