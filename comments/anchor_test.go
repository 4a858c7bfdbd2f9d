package comments

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

const sample = "The IGF 😀 convenes stakeholders.\n\nBest practice forums gather evidence from the multistakeholder community.\n   \nA third paragraph."

func TestNewAnchors(t *testing.T) {
	d := newDoc(sample, "")
	d.Seq, d.Sections[0].Version = 7, 5
	s := &d.Sections[0]

	a, err := NewDocumentAnchor(d)
	if err != nil || a != (Anchor{Seq: 7, State: Anchored}) || a.Kind() != KindDocument {
		t.Errorf("document anchor %+v, %v", a, err)
	}
	a, err = NewSectionAnchor(d, "custom-2")
	if err != nil || a != (Anchor{Section: "custom-2", Seq: 7, State: Anchored}) || a.Kind() != KindSection {
		t.Errorf("section anchor %+v, %v", a, err)
	}
	a, err = NewParagraphAnchor(d, "custom-1", s.Paras[1])
	if err != nil || a != (Anchor{Section: "custom-1", Para: s.Paras[1], Version: 5, Seq: 7, State: Anchored}) || a.Kind() != KindParagraph {
		t.Errorf("paragraph anchor %+v, %v", a, err)
	}

	start := u16(t, sample, "convenes", 0)
	a, err = NewQuoteAnchor(d, "custom-1", s.Paras[0], start, start+8)
	if err != nil {
		t.Fatal(err)
	}
	want := Quote{Exact: "convenes", Prefix: "The IGF 😀 ", Suffix: " stakeholders.\n\nBest practice fo"}
	if *a.Quote != want || a.Start != start || a.End != start+8 || a.Para != s.Paras[0] || a.Version != 5 || a.Seq != 7 || a.State != Anchored || a.Kind() != KindQuote {
		t.Errorf("quote anchor %+v %+v", a, *a.Quote)
	}
	if start != 11 { // "The IGF " is 8 units, the emoji 2, the space 1
		t.Errorf("start %d, want 11", start)
	}
	// Context is 32 characters, counted as characters, not bytes.
	start = u16(t, sample, "multistakeholder", 0)
	a, err = NewQuoteAnchor(d, "custom-1", s.Paras[1], start, start+16)
	if err != nil {
		t.Fatal(err)
	}
	if a.Quote.Prefix != "actice forums gather evidence from the "[len("actice forums gather evidence from the ")-32:] || a.Quote.Suffix != " community.\n   \nA third paragrap" {
		t.Errorf("context %q / %q", a.Quote.Prefix, a.Quote.Suffix)
	}
	if err := a.Validate(); err != nil {
		t.Error(err)
	}
}

func TestNewAnchorRejects(t *testing.T) {
	d := newDoc(sample)
	p := d.Sections[0].Paras
	emoji := u16(t, sample, "😀", 0)
	second := u16(t, sample, "Best", 0)
	n := editor.UTF16Len(sample)
	long := newDoc(strings.Repeat("x", MaxQuoteUnits+1))
	legacy := newDoc("one\n\ntwo")
	legacy.Sections[0].Paras = legacy.Sections[0].Paras[:1]

	for _, tc := range []struct {
		name string
		make func() (Anchor, error)
		msg  string
	}{
		{"document nil", func() (Anchor, error) { return NewDocumentAnchor(nil) }, "no document"},
		{"section nil document", func() (Anchor, error) { return NewSectionAnchor(nil, "custom-1") }, "no document"},
		{"section empty id", func() (Anchor, error) { return NewSectionAnchor(d, "") }, "no section given"},
		{"section unknown", func() (Anchor, error) { return NewSectionAnchor(d, "custom-9") }, `no section "custom-9"`},
		{"paragraph unknown section", func() (Anchor, error) { return NewParagraphAnchor(d, "nope", p[0]) }, `no section "nope"`},
		{"paragraph empty id", func() (Anchor, error) { return NewParagraphAnchor(d, "custom-1", "") }, "no paragraph given"},
		{"paragraph unknown", func() (Anchor, error) { return NewParagraphAnchor(d, "custom-1", "p99") }, `no paragraph "p99"`},
		{"paragraph ids out of step", func() (Anchor, error) {
			return NewParagraphAnchor(legacy, "custom-1", legacy.Sections[0].Paras[0])
		}, "2 paragraphs but 1 ids"},
		{"quote unknown section", func() (Anchor, error) { return NewQuoteAnchor(d, "x", p[0], 0, 3) }, `no section "x"`},
		{"quote unknown paragraph", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", "p99", 0, 3) }, `no paragraph "p99"`},
		{"quote empty", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], 4, 4) }, "empty or reversed"},
		{"quote reversed", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], 5, 4) }, "empty or reversed"},
		{"quote negative", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], -1, 4) }, "empty or reversed"},
		{"quote beyond the end", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[2], n-3, n+1) }, "beyond the end"},
		{"quote cuts emoji at start", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], emoji+1, emoji+5) }, "surrogate pair"},
		{"quote cuts emoji at end", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], 0, emoji+1) }, "surrogate pair"},
		{"quote outside its paragraph", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], second, second+4) }, "not within paragraph"},
		{"quote across paragraphs", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], 4, second+4) }, "not within paragraph"},
		{"quote of white space", func() (Anchor, error) { return NewQuoteAnchor(d, "custom-1", p[0], 3, 4) }, "only white space"},
		{"quote too long", func() (Anchor, error) {
			return NewQuoteAnchor(long, "custom-1", long.Sections[0].Paras[0], 0, MaxQuoteUnits+1)
		}, "at most 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.make()
			if !errors.Is(err, editor.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %+v, %v; want an invalid error saying %q", a, err, tc.msg)
			}
		})
	}
}

func TestAnchorValidate(t *testing.T) {
	q := &Quote{Exact: "x"}
	for _, tc := range []struct {
		name string
		a    Anchor
		msg  string
	}{
		{"unknown state", Anchor{State: "lost"}, "unknown state"},
		{"no state", Anchor{}, "unknown state"},
		{"negative seq", Anchor{State: Anchored, Seq: -1}, "negative"},
		{"negative version", Anchor{Section: "s", State: Anchored, Version: -1}, "negative"},
		{"para without section", Anchor{Para: "p1", State: Anchored}, "without a section"},
		{"quote without para", Anchor{Section: "s", Quote: q, Start: 0, End: 1, State: Anchored}, "without a paragraph"},
		{"orphaned document", Anchor{State: Orphaned}, "cannot be orphaned"},
		{"range on a paragraph", Anchor{Section: "s", Para: "p1", Start: 1, End: 2, State: Anchored}, "has no range"},
		{"quote without text", Anchor{Section: "s", Para: "p1", Quote: &Quote{}, Start: 0, End: 1, State: Anchored}, "no exact text"},
		{"quote empty range", Anchor{Section: "s", Para: "p1", Quote: q, Start: 2, End: 2, State: Anchored}, "empty or negative"},
		{"quote negative range", Anchor{Section: "s", Para: "p1", Quote: q, Start: -1, End: 2, State: Anchored}, "empty or negative"},
		{"quote bad UTF-8", Anchor{Section: "s", Para: "p1", Quote: &Quote{Exact: "x", Prefix: "\xff"}, Start: 0, End: 1, State: Anchored}, "UTF-8"},
		{"fuzzy section", Anchor{Section: "s", State: Fuzzy, Score: 0.7}, "cannot be fuzzy"},
		{"fuzzy low score", Anchor{Section: "s", Para: "p1", Quote: q, Start: 0, End: 1, State: Fuzzy, Score: 0.5}, "fuzzy score"},
		{"fuzzy score one", Anchor{Section: "s", Para: "p1", Quote: q, Start: 0, End: 1, State: Fuzzy, Score: 1}, "fuzzy score"},
		{"score when anchored", Anchor{Section: "s", Para: "p1", Quote: q, Start: 0, End: 1, State: Anchored, Score: 0.9}, "score 0.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.Validate()
			if !errors.Is(err, editor.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want an invalid error saying %q", err, tc.msg)
			}
		})
	}
	for _, a := range []Anchor{
		{State: Anchored},
		{Section: "s", State: Orphaned, Version: 3, Seq: 9},
		{Section: "s", Para: "p1", State: Fuzzy, Score: 0.8},
		{Section: "s", Para: "p1", Quote: q, Start: 3, End: 4, State: Fuzzy, Score: FuzzyThreshold},
	} {
		if err := a.Validate(); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
}

func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"", "", 1},
		{"abc", "abc", 1},
		{"abc", "", 0},
		{"abc", "xyz", 0},
		{"kitten", "sitting", 1 - 3.0/7},
		{"😀a", "😁a", 0.5}, // characters, not bytes or units
		{"policy network", "policy networks", 1 - 1.0/15},
	} {
		if got := Similarity(tc.a, tc.b); abs64(got-tc.want) > 1e-12 {
			t.Errorf("Similarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
