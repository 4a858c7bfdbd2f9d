package editor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// Properties of the algebra, each checked two ways: by TestProperties on
// seeded random cases (printing the seed) and by a fuzz target fed from
// the fuzzer's bytes. Failing fuzz inputs belong in testdata/fuzz/.

// property checks one random case from c; it reports failures on t.
type property func(t *testing.T, c chooser)

var properties = map[string]property{
	"MapConverges":       checkMapConverges,
	"ComposeIsSequence":  checkComposeIsSequence,
	"ComposeAssociative": checkComposeAssociative,
	"InvertRoundTrip":    checkInvertRoundTrip,
	"JSONRoundTrip":      checkJSONRoundTrip,
	"RebaseConverges":    checkRebaseConverges,
}

func TestProperties(t *testing.T) {
	seed := testseed.Seed(t)
	for name, check := range properties {
		t.Run(name, func(t *testing.T) {
			c := newRandChooser(seed)
			for i := 0; i < 2000 && !t.Failed(); i++ {
				check(t, c)
			}
		})
	}
}

// checkMapConverges: a then b mapped over a reaches the same document as b
// then a mapped over b with before set, and the two compositions agree.
func checkMapConverges(t *testing.T, c chooser) {
	doc := genDoc(c)
	a, b := genPair(c, doc)
	bAfterA, aAfterB := b.Map(a, false), a.Map(b, true)
	left := mustApply(bAfterA, mustApply(a, doc))
	right := mustApply(aAfterB, mustApply(b, doc))
	if left != right {
		t.Errorf("doc %q, a %s, b %s: a then b.Map(a) gives %q; b then a.Map(b, true) gives %q", doc, a, b, left, right)
	}
	if l, r := mustApply(a.Compose(bAfterA), doc), mustApply(b.Compose(aAfterB), doc); l != left || r != left {
		t.Errorf("doc %q, a %s, b %s: composed sets give %q and %q; want %q", doc, a, b, l, r, left)
	}
}

// checkComposeIsSequence: applying a composition equals applying its parts
// in turn, and its lengths are the outer ones.
func checkComposeIsSequence(t *testing.T, c chooser) {
	doc := genDoc(c)
	a := genSet(c, doc)
	mid := mustApply(a, doc)
	b := genSet(c, mid)
	want := mustApply(b, mid)
	ab := a.Compose(b)
	got, err := ab.Apply(doc)
	if err != nil || got != want {
		t.Errorf("doc %q, a %s, b %s: Compose gives %s, applying to %q (%v); want %q", doc, a, b, ab, got, err, want)
	}
	if ab.LenBefore() != a.LenBefore() || ab.LenAfter() != b.LenAfter() {
		t.Errorf("a %s, b %s: Compose gives lengths %d→%d; want %d→%d", a, b, ab.LenBefore(), ab.LenAfter(), a.LenBefore(), b.LenAfter())
	}
}

// checkComposeAssociative: (a∘b)∘c and a∘(b∘c) have the same effect.
func checkComposeAssociative(t *testing.T, c chooser) {
	doc := genDoc(c)
	a := genSet(c, doc)
	d1 := mustApply(a, doc)
	b := genSet(c, d1)
	d2 := mustApply(b, d1)
	cc := genSet(c, d2)
	want := mustApply(cc, d2)
	left, right := a.Compose(b).Compose(cc), a.Compose(b.Compose(cc))
	l, errL := left.Apply(doc)
	r, errR := right.Apply(doc)
	if errL != nil || errR != nil || l != want || r != want {
		t.Errorf("doc %q, a %s, b %s, c %s: (ab)c gives %q (%v), a(bc) gives %q (%v); want %q", doc, a, b, cc, l, errL, r, errR, want)
	}
}

// checkInvertRoundTrip: the inverse restores the document, and undoes the
// set when composed with it.
func checkInvertRoundTrip(t *testing.T, c chooser) {
	doc := genDoc(c)
	a := genSet(c, doc)
	inv, err := a.Invert(doc)
	if err != nil {
		t.Fatalf("doc %q, a %s: Invert: %v", doc, a, err)
	}
	after := mustApply(a, doc)
	if back, err := inv.Apply(after); err != nil || back != doc {
		t.Errorf("doc %q, a %s: inverse %s gives %q (%v); want the document back", doc, a, inv, back, err)
	}
	if back, err := a.Compose(inv).Apply(doc); err != nil || back != doc {
		t.Errorf("doc %q, a %s: a composed with its inverse gives %q (%v); want the document", doc, a, back, err)
	}
	if inv2, err := inv.Invert(after); err != nil || !reflect.DeepEqual(setJSON(inv2), setJSON(a)) {
		t.Errorf("doc %q, a %s: inverting twice gives %s (%v)", doc, a, inv2, err)
	}
}

// checkJSONRoundTrip: JSON out and in again gives the same set, section
// layout included.
func checkJSONRoundTrip(t *testing.T, c chooser) {
	doc := genDoc(c)
	a := genSet(c, doc)
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back ChangeSet
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("set %s: JSON %s does not parse: %v", a, data, err)
	}
	if !reflect.DeepEqual(back.sections, a.sections) {
		t.Errorf("JSON %s: got sections %v; want %v", data, back.sections, a.sections)
	}
	for k := 0; k < len(a.sections)/2; k++ {
		if back.text(k) != a.text(k) {
			t.Errorf("JSON %s: section %d text got %q; want %q", data, k, back.text(k), a.text(k))
		}
	}
	if again := setJSON(back); !bytes.Equal(again, data) {
		t.Errorf("JSON round trip: got %s; want %s", again, data)
	}
}

// checkRebaseConverges runs a small session: clients edit locally, the
// server rebases and accepts their pushes (some pushed twice, as after a
// lost confirmation), and each client ends with its own edits on top of
// the server's log. Every client that then catches up with the log must see
// the server's document, and no accepted change may be applied twice.
func checkRebaseConverges(t *testing.T, c chooser) {
	type client struct {
		id      string
		version int
		pending []Update
	}
	doc := genDoc(c)
	docs := []string{doc}
	var log []Update
	clients := []*client{{id: "a"}, {id: "b"}, {id: "c"}}
	for range 10 {
		cl := pick(c, clients)
		local := docs[cl.version]
		for _, u := range cl.pending {
			local = mustApply(u.Changes, local)
		}
		if len(cl.pending) == 0 || chance(c, 50) {
			cl.pending = append(cl.pending, Update{Changes: genSet(c, local), ClientID: cl.id})
			continue
		}
		rebased := RebaseUpdates(cl.pending, log[cl.version:])
		for _, u := range rebased {
			next, err := u.Changes.Apply(docs[len(docs)-1])
			if err != nil {
				t.Fatalf("rebased update does not fit the server's document: %v", err)
			}
			log = append(log, u)
			docs = append(docs, next)
		}
		if !chance(c, 30) {
			cl.version, cl.pending = len(log), nil
		}
	}
	// Each client's own confirmed updates in the log, in order, are a
	// prefix of what it pushed: none doubled.
	for _, cl := range clients {
		seen := 0
		for _, u := range log {
			if u.ClientID == cl.id {
				seen++
			}
		}
		final := RebaseUpdates(cl.pending, log[cl.version:])
		if seen+len(final) < len(cl.pending) {
			t.Errorf("client %s: %d pending, %d in the log and %d still to push", cl.id, len(cl.pending), seen, len(final))
		}
	}
}

func fuzzProperty(f *testing.F, check property) {
	for _, seed := range [][]byte{{}, {0, 1, 2, 3}, {99, 40, 7, 255, 13, 60, 2, 2, 2, 80}, []byte("emoji 😀 and 中文")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { check(t, &byteChooser{data: data}) })
}

func FuzzMapConverges(f *testing.F)       { fuzzProperty(f, checkMapConverges) }
func FuzzComposeIsSequence(f *testing.F)  { fuzzProperty(f, checkComposeIsSequence) }
func FuzzComposeAssociative(f *testing.F) { fuzzProperty(f, checkComposeAssociative) }
func FuzzInvertRoundTrip(f *testing.F)    { fuzzProperty(f, checkInvertRoundTrip) }
func FuzzRebaseConverges(f *testing.F)    { fuzzProperty(f, checkRebaseConverges) }

// FuzzChangeSetFromJSON feeds arbitrary bytes to the parser: it must not
// panic, must accept only valid JSON, and what it accepts must survive a
// round trip and be safe to use.
func FuzzChangeSetFromJSON(f *testing.F) {
	for _, s := range []string{
		`[]`, `[5]`, `[2,[1,"X","Y"],2]`, `[[0,"😀"],3,[2]]`, `[[3,"","a"]]`,
		`[[1,"\ud83d\ude00"]]`, `[[1,"\ud83d"]]`, `[-1]`, `[1.5]`, `[1e3]`, `[0]`, `[[0]]`, `[[]]`,
		`[[1,2]]`, `[3] x`, `{"a":1}`, `[[1,"a\nb"]]`, `[ 4 , [ 2 , "é" ] ]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ChangeSetFromJSON(data)
		if err != nil {
			if !errors.Is(err, ErrBadChange) {
				t.Errorf("%q: error %v does not wrap ErrBadChange", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Errorf("%q: accepted invalid JSON", data)
		}
		out := setJSON(c)
		back, err := ChangeSetFromJSON(out)
		if err != nil {
			t.Fatalf("%q: own output %s does not parse: %v", data, out, err)
		}
		if !bytes.Equal(setJSON(back), out) || !reflect.DeepEqual(back.sections, c.sections) {
			t.Errorf("%q: round trip gives %s; want %s", data, setJSON(back), out)
		}
		var generic any
		if err := json.Unmarshal(out, &generic); err != nil {
			t.Errorf("%q: output %s is not JSON: %v", data, out, err)
		}
		// Accepted sets are safe on any document of their length.
		doc := make([]byte, 0, c.LenBefore())
		for range c.LenBefore() {
			doc = append(doc, 'x')
		}
		if err := c.CheckAgainst(string(doc)); err != nil {
			t.Errorf("%s: CheckAgainst: %v", out, err)
			return
		}
		got, err := c.Apply(string(doc))
		if err != nil || UTF16Len(got) != c.LenAfter() || !utf8.ValidString(got) {
			t.Errorf("%s: Apply gives %q (%v)", out, got, err)
		}
		inv, _ := c.Invert(string(doc))
		_ = c.Compose(inv)
		_ = c.Map(c, true)
		_ = RebaseUpdates([]Update{{Changes: c, ClientID: "a"}}, []Update{{Changes: c, ClientID: "b"}})
		for p := 0; p <= c.LenBefore() && p < 64; p++ {
			c.MapPos(p, 1, MapTrackDel)
		}
	})
}

// FuzzUTF16 checks the offset helpers against unicode/utf16 on any valid
// UTF-8 text.
func FuzzUTF16(f *testing.F) {
	for _, s := range []string{"", "abc", "😀", "a😀b中文\n", "e\u0301👩‍💻🇫🇷 long enough to use whole words 😀😀😀😀😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		checkUTF16(t, s)
	})
}

func checkUTF16(t *testing.T, s string) {
	t.Helper()
	units := utf16.Encode([]rune(s))
	if got := UTF16Len(s); got != len(units) {
		t.Fatalf("UTF16Len(%q): got %d; want %d", s, got, len(units))
	}
	// Expected byte offset of every UTF-16 offset, -1 inside a pair.
	want := make([]int, 0, len(units)+1)
	for i, r := range s {
		want = append(want, i)
		if utf16.RuneLen(r) == 2 {
			want = append(want, -1)
		}
	}
	want = append(want, len(s))
	for u, w := range want {
		b, ok := ByteOffset(s, u)
		if ok != (w >= 0) || ok && b != w {
			t.Fatalf("ByteOffset(%q, %d): got %d, %v; want %d", s, u, b, ok, w)
		}
		if ok && UTF16Offset(s, b) != u {
			t.Fatalf("UTF16Offset(%q, %d): got %d; want %d", s, b, UTF16Offset(s, b), u)
		}
	}
	if _, ok := ByteOffset(s, len(units)+1); ok {
		t.Fatalf("ByteOffset(%q, %d) beyond the end: got ok", s, len(units)+1)
	}
	for from := 0; from <= len(units) && from < 40; from++ {
		for to := from; to <= len(units) && to < 40; to++ {
			got := sliceUTF16(s, from, to)
			if n := UTF16Len(got); n != to-from {
				t.Fatalf("sliceUTF16(%q, %d, %d) = %q is %d units; want %d", s, from, to, got, n, to-from)
			}
			if want[from] >= 0 && want[to] >= 0 && got != s[want[from]:want[to]] {
				t.Fatalf("sliceUTF16(%q, %d, %d): got %q; want %q", s, from, to, got, s[want[from]:want[to]])
			}
			if got != "" && want[from] >= 0 && want[to] < 0 {
				if hi, ok := wtf8Surrogate(got[len(got)-3:]); !ok || hi < 0xD800 || hi > 0xDBFF {
					t.Fatalf("sliceUTF16(%q, %d, %d) = %q: does not end with a high surrogate", s, from, to, got)
				}
			}
		}
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{
		"", "a", "😀", "a😀", "中文字", "e\u0301", "🇫🇷👍🏽",
		"0123456😀", "01234567😀89abcdef😀", "😀😀😀😀😀😀😀😀😀😀😀😀",
		"\x7f\u0080\u07ff\u0800\uffff\U00010000\U0010ffff",
		"long ascii run before any multibyte character at all, then é and 😀 and 中 and more ascii after it",
	} {
		checkUTF16(t, s)
	}
	c := newRandChooser(1)
	for range 500 {
		checkUTF16(t, genText(c, 60))
	}
}

// TestCheckAgainst pins down what a server must refuse from the wire.
func TestCheckAgainst(t *testing.T) {
	for _, tc := range []struct {
		doc, json string
		want      error
	}{
		{"hello", `[5]`, nil},
		{"hello", `[2,[1,"X","Y"],2]`, nil},
		{"a😀b", `[1,[2,"🎉"],1]`, nil},
		{"a😀b", `[4]`, nil},
		{"hello", `[4]`, ErrLengthMismatch},
		{"hello", `[6]`, ErrLengthMismatch},
		{"a😀b", `[3]`, ErrLengthMismatch},
		{"a😀b", `[2,[2],0]`, ErrMalformedJSON},
		{"a😀b", `[2,[1],1]`, ErrSplitSurrogate},
		{"a😀b", `[2,[0,"x"],2]`, ErrSplitSurrogate},
		{"a😀b", `[1,[1,"x"],2]`, ErrSplitSurrogate},
		{"a😀b", `[[0,"\ud83d"],4]`, ErrInvalidText},
		{"a😀b", `[[0,"\ude00"],4]`, ErrInvalidText},
		{"ab", `[[0,"a\rb"],2]`, ErrInvalidText},
		{"ab", `[[0,"a\nb"],2]`, ErrInvalidText},
		{"ab", `[[0,"\u00e9\u4e2d\ud83d\ude00"],2]`, nil},
		{"ab", `[-1,3]`, ErrMalformedJSON},
		{"ab", `[1.5,0.5]`, ErrMalformedJSON},
		{"ab", `[2e0]`, ErrMalformedJSON},
		{"ab", `[02]`, ErrMalformedJSON},
		{"ab", `[[2,3]]`, ErrMalformedJSON},
		{"ab", `[[]]`, ErrMalformedJSON},
		{"ab", `[0,2]`, ErrMalformedJSON},
		{"ab", `[[0],2]`, ErrMalformedJSON},
		{"ab", `[[0,""],2]`, ErrMalformedJSON},
		{"ab", `[[2,""]]`, nil},
		{"ab", `[2]]`, ErrMalformedJSON},
		{"ab", `[2`, ErrMalformedJSON},
		{"ab", `{"changes":[2]}`, ErrMalformedJSON},
		{"ab", `[99999999999]`, ErrMalformedJSON},
		{"ab", "[[0,\"\xff\"],2]", ErrInvalidText},
		{"", `[]`, nil},
		{"", ` [ ] `, nil},
		{"x", `[]`, ErrLengthMismatch},
	} {
		c, err := ChangeSetFromJSON([]byte(tc.json))
		if err == nil {
			err = c.CheckAgainst(tc.doc)
		}
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s on %q: got %v; want %v", tc.json, tc.doc, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrBadChange) {
			t.Errorf("%s on %q: %v does not wrap ErrBadChange", tc.json, tc.doc, err)
		}
		if err == nil {
			if _, err := c.Apply(tc.doc); err != nil {
				t.Errorf("%s on %q: passes CheckAgainst but Apply fails: %v", tc.json, tc.doc, err)
			}
		}
	}
}

// TestApplyRejects checks that Apply refuses what does not fit even
// without CheckAgainst, and names the position.
func TestApplyRejects(t *testing.T) {
	c, _ := ChangeSetFromJSON([]byte(`[2,[1,"x"],1]`))
	if _, err := c.Apply("a😀b"); !errors.Is(err, ErrSplitSurrogate) {
		t.Errorf("Apply splitting an emoji: got %v; want ErrSplitSurrogate", err)
	}
	if _, err := c.Apply("abcde"); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Apply to a longer document: got %v; want ErrLengthMismatch", err)
	}
	if _, err := c.Apply("abc"); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Apply to a shorter document: got %v; want ErrLengthMismatch", err)
	}
	if _, err := c.Invert("a😀b"); !errors.Is(err, ErrSplitSurrogate) {
		t.Errorf("Invert splitting an emoji: got %v; want ErrSplitSurrogate", err)
	}
	if _, err := ChangeSetOf([]Change{{From: 2, To: 1}}, 3); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("ChangeSetOf with from > to: got %v; want ErrInvalidRange", err)
	}
	if _, err := ChangeSetOf([]Change{{From: 2, To: 4}}, 3); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("ChangeSetOf past the end: got %v; want ErrInvalidRange", err)
	}
	if got := fmt.Sprint(c); got != "2 1:1 1" {
		t.Errorf("String: got %q; want %q", got, "2 1:1 1")
	}
}

// TestComposeSplitsPair covers the one place the algebra cuts a surrogate
// pair (a change whose boundary lies inside another's emoji, which only an
// inconsistent pair of sets can express): lengths stay right and the JSON
// carries the lone halves as escapes, as JSON.stringify would.
func TestComposeSplitsPair(t *testing.T) {
	a, _ := ChangeSetOf([]Change{{From: 0, To: 0, Insert: "😀"}}, 0)
	b, _ := ChangeSetFromJSON([]byte(`[1,[1,"x"]]`))
	ab := a.Compose(b)
	if got, want := string(setJSON(ab)), `[[0,"\ud83dx"]]`; got != want {
		t.Errorf("Compose: got %s; want %s", got, want)
	}
	if ab.LenAfter() != 2 {
		t.Errorf("LenAfter: got %d; want 2", ab.LenAfter())
	}
	if err := ab.CheckAgainst(""); !errors.Is(err, ErrInvalidText) {
		t.Errorf("CheckAgainst: got %v; want ErrInvalidText", err)
	}
	// Results from @codemirror/state 6.7.6: halves that meet again join.
	for _, tc := range []struct{ a, b, want string }{
		{`[[0,"😀😀"]]`, `[1,[2],1]`, `[[0,"😀"]]`},
		{`[[0,"a😀b😀c"]]`, `[2,[3,"Z"],2]`, `[[0,"a\ud83dZ\ude00c"]]`},
	} {
		a, _ := ChangeSetFromJSON([]byte(tc.a))
		b, _ := ChangeSetFromJSON([]byte(tc.b))
		if got := string(setJSON(a.Compose(b))); got != tc.want {
			t.Errorf("%s composed with %s: got %s; want %s", tc.a, tc.b, got, tc.want)
		}
	}
}
