package comments

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

// newDoc returns a document with one custom section per text, with
// paragraph ids: "custom-1", "custom-2", …
func newDoc(texts ...string) *editor.Document {
	d := &editor.Document{ID: "doc", Title: "Doc"}
	for i, t := range texts {
		d.Sections = append(d.Sections, editor.Section{ID: fmt.Sprintf("custom-%d", i+1), Title: fmt.Sprintf("S%d", i+1), Kind: editor.Custom, Text: t})
	}
	d.NextCustom = len(texts)
	d.AssignParagraphIDs()
	return d
}

// u16 returns the UTF-16 offset of the n-th (from 0) occurrence of sub in
// text, failing the test if there is none.
func u16(t testing.TB, text, sub string, n int) int {
	t.Helper()
	from := 0
	for {
		i := strings.Index(text[from:], sub)
		if i < 0 {
			t.Fatalf("%q not found %d times in %q", sub, n+1, text)
		}
		if n == 0 {
			return editor.UTF16Len(text[:from+i])
		}
		n--
		from += i + 1
	}
}

// paraOf returns the id of the paragraph of section sec holding the
// UTF-16 offset u (the first overlapping [u, u+1)).
func paraOf(sec *editor.Section, u int) string {
	return paraIn(sec, spansOf(sec.Text), u, u+1)
}

// quoteOn makes a quote anchor on the n-th occurrence of exact in section
// sec of d.
func quoteOn(t testing.TB, d *editor.Document, sec, exact string, n int) Anchor {
	t.Helper()
	s := d.Section(sec)
	start := u16(t, s.Text, exact, n)
	a, err := NewQuoteAnchor(d, sec, paraOf(s, start), start, start+editor.UTF16Len(exact))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// textStep builds a text step of section sec from changes given in the
// section's current text.
func textStep(t testing.TB, d *editor.Document, sec string, changes ...editor.Change) editor.Step {
	t.Helper()
	cs, err := editor.ChangeSetOf(changes, editor.UTF16Len(d.Section(sec).Text))
	if err != nil {
		t.Fatal(err)
	}
	return editor.Step{Section: sec, Changes: cs}
}

// replaceStep replaces the n-th occurrence of old in section sec by new.
func replaceStep(t testing.TB, d *editor.Document, sec, old, new string, n int) editor.Step {
	t.Helper()
	from := u16(t, d.Section(sec).Text, old, n)
	return textStep(t, d, sec, editor.Change{From: from, To: from + editor.UTF16Len(old), Insert: new})
}

// textAt returns the text of the anchor's range in d.
func textAt(d *editor.Document, a Anchor) string {
	s := d.Section(a.Section)
	if s == nil {
		return ""
	}
	b0, ok0 := editor.ByteOffset(s.Text, a.Start)
	b1, ok1 := editor.ByteOffset(s.Text, a.End)
	if !ok0 || !ok1 || b1 < b0 {
		return ""
	}
	return s.Text[b0:b1]
}

// checkAnchor checks the invariants every mapped anchor keeps against d:
// anchored quotes are their exact text, fuzzy ones close to it, paragraph
// and section anchors point at what exists, and all are stated as of d.
func checkAnchor(d *editor.Document, id string, a Anchor) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%s: %v", id, err)
	}
	if a.State == Orphaned {
		if a.Seq > d.Seq {
			return fmt.Errorf("%s: orphan as of seq %d, after the document's %d", id, a.Seq, d.Seq)
		}
		return nil
	}
	if a.Seq != d.Seq {
		return fmt.Errorf("%s: seq %d, document at %d", id, a.Seq, d.Seq)
	}
	if a.Kind() == KindDocument {
		return nil
	}
	s := d.Section(a.Section)
	if s == nil {
		return fmt.Errorf("%s: %s anchor on missing section %q", id, a.State, a.Section)
	}
	if a.Version != s.Version {
		return fmt.Errorf("%s: version %d, section at %d", id, a.Version, s.Version)
	}
	switch a.Kind() {
	case KindParagraph:
		if !contains(s.Paras, a.Para) {
			return fmt.Errorf("%s: paragraph %q not in section %q %v", id, a.Para, s.ID, s.Paras)
		}
	case KindQuote:
		got := textAt(d, a)
		if a.State == Anchored && got != a.Quote.Exact {
			return fmt.Errorf("%s: anchored at %d-%d on %q, quote %q", id, a.Start, a.End, got, a.Quote.Exact)
		}
		if a.State == Fuzzy {
			if sim := Similarity(a.Quote.Exact, got); sim < FuzzyThreshold || abs64(sim-a.Score) > 1e-9 {
				return fmt.Errorf("%s: fuzzy score %v, but %q is %v like %q", id, a.Score, got, sim, a.Quote.Exact)
			}
		}
		if want := paraIn(s, spansOf(s.Text), a.Start, a.End); a.Para != want {
			return fmt.Errorf("%s: para %q, the range %d-%d starts in %q", id, a.Para, a.Start, a.End, want)
		}
	}
	return nil
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// mustApply applies the step to d and the set, failing on error and on a
// broken invariant.
func mustApply(t testing.TB, s *Anchors, d *editor.Document, st editor.Step) {
	t.Helper()
	if _, err := s.Apply(d, st); err != nil {
		t.Fatal(err)
	}
	for id, a := range s.All() {
		if err := checkAnchor(d, id, a); err != nil {
			t.Fatal(err)
		}
	}
}

// get returns the anchor of id, failing if there is none.
func get(t testing.TB, s *Anchors, id string) Anchor {
	t.Helper()
	a, ok := s.Get(id)
	if !ok {
		t.Fatalf("no anchor %q", id)
	}
	return a
}
