package comments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/editor/editortest"
	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// words make up random documents: repeated words (so that quotes have
// look-alikes), accents, a combining mark, CJK, emoji of one and of
// several code points, a flag.
var words = []string{"forum", "policy", "IGF", "multistakeholder", "access", "gender", "the", "the", "of", "and", "é", "e\u0301", "漢字", "😀", "👩‍💻", "🇺🇳", "norms", "data", "—", "cybersecurity"}

func randWords(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if r.IntN(8) == 0 {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

var separators = []string{"\n\n", "\n\n", "\n \n", "\n\n\n"}

func randSection(r *rand.Rand) string {
	var paras []string
	for range r.IntN(5) + 1 {
		paras = append(paras, randWords(r, r.IntN(14)+2))
	}
	return strings.Join(paras, separators[r.IntN(len(separators))])
}

// boundaryIn returns a random character boundary of text within the
// UTF-16 range [lo, hi].
func boundaryIn(r *rand.Rand, text string, lo, hi int) int {
	var in []int
	for _, b := range editortest.Boundaries(text) {
		if b >= lo && b <= hi {
			in = append(in, b)
		}
	}
	return in[r.IntN(len(in))]
}

// randAnchor makes a random anchor of any kind on d, or false.
func randAnchor(r *rand.Rand, d *editor.Document) (Anchor, bool) {
	if len(d.Sections) == 0 {
		a, err := NewDocumentAnchor(d)
		return a, err == nil
	}
	sec := &d.Sections[r.IntN(len(d.Sections))]
	k := r.IntN(8)
	switch {
	case k == 0:
		a, err := NewDocumentAnchor(d)
		return a, err == nil
	case k == 1:
		a, err := NewSectionAnchor(d, sec.ID)
		return a, err == nil
	case len(sec.Paras) == 0:
		return Anchor{}, false
	case k == 2:
		a, err := NewParagraphAnchor(d, sec.ID, sec.Paras[r.IntN(len(sec.Paras))])
		return a, err == nil
	}
	spans := spansOf(sec.Text)
	i := r.IntN(len(spans))
	for range 10 {
		s := boundaryIn(r, sec.Text, spans[i].u0, spans[i].u1)
		e := boundaryIn(r, sec.Text, s, min(spans[i].u1, s+60))
		if a, err := NewQuoteAnchor(d, sec.ID, sec.Paras[i], s, e); err == nil {
			return a, true
		}
	}
	return Anchor{}, false
}

// event is one thing done in a run: a step, or a comment added.
type event struct {
	step editor.Step
	id   string
	add  *Anchor
}

// randStep makes a random step for d, given the anchors (to rewrite and
// delete quoted words) and the last text step with the text it applied to
// (to undo it).
func randStep(r *rand.Rand, d *editor.Document, s *Anchors, last *editor.Step, lastText string) (editor.Step, bool) {
	if len(d.Sections) == 0 || r.IntN(12) == 0 {
		return randStructure(r, d)
	}
	sec := &d.Sections[r.IntN(len(d.Sections))]
	text := sec.Text
	n := editor.UTF16Len(text)
	spans := spansOf(text)
	step := func(changes ...editor.Change) (editor.Step, bool) {
		cs, err := editor.ChangeSetOf(changes, n)
		if err != nil {
			panic(err)
		}
		return editor.Step{Section: sec.ID, Changes: cs}, true
	}
	switch k := r.IntN(12); {
	case k < 4: // typing
		return step(editortest.RandomEdit(r, text)...)
	case k == 4: // a split
		p := boundaryIn(r, text, 0, n)
		return step(editor.Change{From: p, To: p, Insert: "\n\n"})
	case k == 5 && len(spans) > 1: // a merge
		i := r.IntN(len(spans) - 1)
		return step(editor.Change{From: spans[i].u1, To: spans[i+1].u0, Insert: " "})
	case k == 6 && len(spans) > 1: // a paragraph moved, cut and pasted at once
		i, j := r.IntN(len(spans)), r.IntN(len(spans))
		if i == j {
			return editor.Step{}, false
		}
		p := spans[i]
		moved := text[p.b0:p.b1]
		if i < len(spans)-1 {
			return step(editor.Change{From: p.u0, To: spans[i+1].u0}, editor.Change{From: spans[j].u0, To: spans[j].u0, Insert: moved + "\n\n"})
		}
		return step(editor.Change{From: spans[i-1].u1, To: p.u1}, editor.Change{From: spans[j].u0, To: spans[j].u0, Insert: moved + "\n\n"})
	case k == 7 && last != nil && last.Structure == nil && d.Section(last.Section) != nil: // undo
		inv, err := last.Changes.Invert(lastText)
		if err != nil || inv.LenBefore() != editor.UTF16Len(d.Section(last.Section).Text) {
			return editor.Step{}, false
		}
		return editor.Step{Section: last.Section, Changes: inv}, true
	case k == 8 && len(d.Sections) > 1 && len(spans) > 0: // a paragraph copied into another section
		p := spans[r.IntN(len(spans))]
		to := &d.Sections[r.IntN(len(d.Sections))]
		m := editor.UTF16Len(to.Text)
		at := boundaryIn(r, to.Text, 0, m)
		cs, _ := editor.ChangeSetOf([]editor.Change{{From: at, To: at, Insert: "\n\n" + text[p.b0:p.b1] + "\n\n"}}, m)
		return editor.Step{Section: to.ID, Changes: cs}, true
	case k >= 9: // quoted words rewritten or deleted
		var quotes []Anchor
		for _, id := range s.IDs() {
			if a, _ := s.Get(id); a.Kind() == KindQuote && a.State != Orphaned && a.Section == sec.ID {
				quotes = append(quotes, a)
			}
		}
		if len(quotes) == 0 {
			return editor.Step{}, false
		}
		a := quotes[r.IntN(len(quotes))]
		from := boundaryIn(r, text, a.Start, a.End)
		to := boundaryIn(r, text, from, a.End)
		if k == 9 {
			return step(editor.Change{From: a.Start, To: a.End})
		}
		return step(editor.Change{From: from, To: to, Insert: words[r.IntN(len(words))]})
	}
	return editor.Step{}, false
}

func randStructure(r *rand.Rand, d *editor.Document) (editor.Step, bool) {
	st := editor.Step{Structure: &editor.Structure{}}
	sc := st.Structure
	switch k := r.IntN(5); {
	case k == 0 || len(d.Sections) == 0:
		if len(d.Sections) >= 4 {
			return editor.Step{}, false
		}
		sc.Op, sc.Section = editor.OpAddSection, &editor.Section{Title: "Added", Text: randSection(r)}
	case k == 1:
		sc.Op, sc.Title = editor.OpRenameDocument, fmt.Sprintf("Title %d", r.IntN(100))
	case k == 2:
		sc.Op, sc.Section, sc.Title = editor.OpRenameSection, &editor.Section{ID: d.Sections[r.IntN(len(d.Sections))].ID}, "Renamed"
	case k == 3:
		i := r.IntN(len(d.Sections))
		sc.Op, sc.Section, sc.Index = editor.OpMoveSection, &editor.Section{ID: d.Sections[r.IntN(len(d.Sections))].ID}, &i
	default:
		sc.Op, sc.Section = editor.OpRemoveSection, &editor.Section{ID: d.Sections[r.IntN(len(d.Sections))].ID}
	}
	return st, true
}

// run is one random run: a document, its anchors, and everything done.
type run struct {
	t        testing.TB
	d        *editor.Document
	s        *Anchors
	ref      map[string]Anchor // the same anchors, mapped one by one
	quotes   map[string]Quote  // each quote as made
	lost     map[string]bool   // non-quote anchors once orphaned
	events   []event
	next     int
	snapshot struct {
		at   int // events before it
		doc  *editor.Document
		json []byte
	}
}

func newRun(t testing.TB, d *editor.Document) *run {
	return &run{t: t, d: d, s: NewAnchors(d.Seq), ref: map[string]Anchor{}, quotes: map[string]Quote{}, lost: map[string]bool{}}
}

func (x *run) add(a Anchor) {
	id := fmt.Sprintf("c%d", x.next)
	x.next++
	if err := x.s.Add(id, a); err != nil {
		x.t.Fatalf("add %+v: %v", a, err)
	}
	x.ref[id] = a
	if a.Quote != nil {
		x.quotes[id] = *a.Quote
	}
	x.events = append(x.events, event{id: id, add: &a})
}

// apply applies st to the run's document and both copies of the anchors,
// then checks every invariant; it reports whether the document took the
// step.
func (x *run) apply(st editor.Step) bool {
	var before editor.Section
	if st.Structure == nil {
		if sec := x.d.Section(st.Section); sec != nil {
			before = *sec
		}
	}
	eff, err := x.s.Apply(x.d, st)
	if err != nil {
		return false // a structural step the document refuses
	}
	x.events = append(x.events, event{step: st})
	for id, a := range x.ref {
		if st.Structure != nil {
			x.ref[id] = MapStructure(a, x.d, st.Structure)
		} else if x.ref[id], err = MapText(a, x.d, TextStep{Section: st.Section, Before: before, Changes: st.Changes, Merged: eff.Paras.Merged}); err != nil {
			x.t.Fatal(err)
		}
	}
	x.check(st)
	return true
}

func (x *run) check(st editor.Step) {
	t := x.t
	t.Helper()
	all := x.s.All()
	if len(all) != len(x.ref) {
		t.Fatalf("%d anchors, want %d", len(all), len(x.ref))
	}
	for id, a := range all {
		if err := checkAnchor(x.d, id, a); err != nil {
			t.Fatalf("after %s: %v\ntext %q", describe(st), err, sectionText(x.d, a.Section))
		}
		if !reflect.DeepEqual(a, x.ref[id]) {
			t.Fatalf("after %s: %s is %+v in the set, %+v mapped alone", describe(st), id, a, x.ref[id])
		}
		if q, ok := x.quotes[id]; ok && *a.Quote != q {
			t.Fatalf("%s: quote %+v changed from %+v", id, *a.Quote, q)
		}
		if a.Kind() != KindQuote {
			if x.lost[id] && a.State != Orphaned {
				t.Fatalf("%s: %s anchor found again: %+v", id, a.Kind(), a)
			}
			x.lost[id] = a.State == Orphaned
		}
	}
}

func describe(st editor.Step) string {
	if st.Structure != nil {
		return st.Structure.Op
	}
	return fmt.Sprintf("text step %s %s", st.Section, st.Changes)
}

func sectionText(d *editor.Document, id string) string {
	if s := d.Section(id); s != nil {
		return s.Text
	}
	return ""
}

// takeSnapshot keeps the document and the anchors as JSON, to replay the
// rest of the run from.
func (x *run) takeSnapshot() {
	b, err := json.Marshal(x.s)
	if err != nil {
		x.t.Fatal(err)
	}
	x.snapshot.at, x.snapshot.doc, x.snapshot.json = len(x.events), x.d.Clone(), b
}

// replay replays the events after the snapshot on a set read back from
// its JSON and checks it ends equal to the live set.
func (x *run) replay() {
	t := x.t
	var s Anchors
	if err := json.Unmarshal(x.snapshot.json, &s); err != nil {
		t.Fatal(err)
	}
	d := x.snapshot.doc
	for _, ev := range x.events[x.snapshot.at:] {
		if ev.add != nil {
			if err := s.Add(ev.id, *ev.add); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := s.Apply(d, ev.step); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	if !reflect.DeepEqual(s.All(), x.s.All()) {
		t.Fatalf("replay differs:\n%v\n%v", s.All(), x.s.All())
	}
	live, _ := json.Marshal(x.s)
	replayed, _ := json.Marshal(&s)
	if !bytes.Equal(live, replayed) {
		t.Fatalf("replay's JSON differs:\n%s\n%s", replayed, live)
	}
}

// randomRun runs steps random steps on a random document with random
// anchors, checking after each, and replays from a random point.
func randomRun(t testing.TB, r *rand.Rand, steps int) (stats map[State]int) {
	var texts []string
	for range r.IntN(3) + 1 {
		texts = append(texts, randSection(r))
	}
	x := newRun(t, newDoc(texts...))
	for range r.IntN(10) + 4 {
		if a, ok := randAnchor(r, x.d); ok {
			x.add(a)
		}
	}
	snapAt := r.IntN(steps)
	var last *editor.Step
	var lastText string
	for i := 0; i < steps; i++ {
		if i == snapAt {
			x.takeSnapshot()
		}
		if r.IntN(10) == 0 {
			if a, ok := randAnchor(r, x.d); ok {
				x.add(a)
			}
		}
		st, ok := randStep(r, x.d, x.s, last, lastText)
		if !ok {
			continue
		}
		var text string
		if st.Structure == nil {
			text = x.d.Section(st.Section).Text
		}
		if x.apply(st) && st.Structure == nil {
			last, lastText = &st, text
		}
	}
	x.replay()
	stats = map[State]int{}
	for _, a := range x.s.All() {
		stats[a.State]++
	}
	return stats
}

func TestMapProperties(t *testing.T) {
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	runs, steps := 1000, 60
	if testing.Short() {
		runs, steps = 60, 40
	}
	total := map[State]int{}
	for i := 0; i < runs && !t.Failed(); i++ {
		for k, v := range randomRun(t, r, steps) {
			total[k] += v
		}
	}
	t.Logf("anchors at the end of the runs: %v", total)
	// The runs must reach every state, or they test little.
	for _, st := range []State{Anchored, Fuzzy, Orphaned} {
		if total[st] == 0 {
			t.Errorf("no anchor ended %s", st)
		}
	}
}

// FuzzMap runs an edit script read from the fuzzer's bytes: each byte
// pair picks an operation and where it applies.
func FuzzMap(f *testing.F) {
	f.Add(uint64(1), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add(uint64(2), []byte{9, 9, 10, 10, 11, 11, 7, 7})
	f.Add(uint64(3), []byte("split merge move rewrite delete undo"))
	f.Fuzz(func(t *testing.T, seed uint64, script []byte) {
		if len(script) > 400 {
			script = script[:400]
		}
		r := rand.New(rand.NewPCG(seed, 0))
		x := newRun(t, newDoc(randSection(r), randSection(r)))
		for range 8 {
			if a, ok := randAnchor(r, x.d); ok {
				x.add(a)
			}
		}
		x.takeSnapshot()
		var last *editor.Step
		var lastText string
		for _, b := range script {
			// The byte drives the choice: a rand seeded by it, so that
			// the fuzzer's mutations change one step at a time.
			br := rand.New(rand.NewPCG(seed, uint64(b)))
			if b == 255 {
				if a, ok := randAnchor(br, x.d); ok {
					x.add(a)
				}
				continue
			}
			st, ok := randStep(br, x.d, x.s, last, lastText)
			if !ok {
				continue
			}
			var text string
			if st.Structure == nil {
				text = x.d.Section(st.Section).Text
			}
			if x.apply(st) && st.Structure == nil {
				last, lastText = &st, text
			}
		}
		x.replay()
		if !slices.Equal(x.s.IDs(), sortedKeys(x.ref)) {
			t.Fatal("ids differ")
		}
	})
}

func sortedKeys(m map[string]Anchor) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
