package comments

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

const (
	para1 = "Best practice forums gather evidence from the multistakeholder community on cybersecurity."
	para2 = "The forum on gender and access published its first output in 2015, after a long consultation."
	para3 = "Comments are welcome until the end of the public comment period announced by the Secretariat."
	text3 = para1 + "\n\n" + para2 + "\n\n" + para3
)

// setup returns a document with text3 in custom-1 and para2 in custom-2,
// and a set holding the given anchors (as ids "a0", "a1", …).
func setup(t *testing.T, make ...func(t testing.TB, d *editor.Document) Anchor) (*editor.Document, *Anchors) {
	t.Helper()
	d := newDoc(text3, "Other section.\n\n"+para3)
	s := NewAnchors(d.Seq)
	for i, mk := range make {
		if err := s.Add("a"+string(rune('0'+i)), mk(t, d)); err != nil {
			t.Fatal(err)
		}
	}
	return d, s
}

func q(sec, exact string, n int) func(testing.TB, *editor.Document) Anchor {
	return func(t testing.TB, d *editor.Document) Anchor { return quoteOn(t, d, sec, exact, n) }
}

func TestMapTyping(t *testing.T) {
	quoted := "evidence from the multistakeholder"
	d, s := setup(t, q("custom-1", quoted, 0))
	a0 := get(t, s, "a0")

	// Typing before the quote shifts it.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "gather", "gather and weigh", 0))
	a := get(t, s, "a0")
	if a.State != Anchored || a.Start != a0.Start+10 || a.End != a0.End+10 || textAt(d, a) != quoted || a.Version != 1 || a.Seq != 1 {
		t.Fatalf("typing before: %+v", a)
	}
	// Typing after it changes nothing but the version.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "community", "wide community", 0))
	if b := get(t, s, "a0"); b.Start != a.Start || b.End != a.End || b.State != Anchored || b.Version != 2 {
		t.Fatalf("typing after: %+v", b)
	}
	// Typing at either end of the quote stays outside it.
	a = get(t, s, "a0")
	mustApply(t, s, d, textStep(t, d, "custom-1", editor.Change{From: a.Start, To: a.Start, Insert: "new "}, editor.Change{From: a.End, To: a.End, Insert: " old"}))
	if b := get(t, s, "a0"); b.Start != a.Start+4 || b.End != a.End+4 || b.State != Anchored {
		t.Fatalf("typing at the ends: %+v", b)
	}
	// Typing inside it: the quote is found approximately, over the new
	// word.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "the multi", "the whole multi", 0))
	a = get(t, s, "a0")
	if a.State != Fuzzy || textAt(d, a) != "evidence from the whole multistakeholder" || a.Score != Similarity(quoted, textAt(d, a)) {
		t.Fatalf("typing inside: %+v %q", a, textAt(d, a))
	}
	// Undoing it anchors it exactly again.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "whole ", "", 0))
	if a = get(t, s, "a0"); a.State != Anchored || a.Score != 0 || textAt(d, a) != quoted {
		t.Fatalf("after undo: %+v", a)
	}
}

func TestMapRewriteOneWord(t *testing.T) {
	quoted := "published its first output in 2015"
	d, s := setup(t, q("custom-1", quoted, 0))
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "first", "second", 0))
	a := get(t, s, "a0")
	want := "published its second output in 2015"
	if a.State != Fuzzy || textAt(d, a) != want || a.Score < FuzzyThreshold || a.Score >= 1 {
		t.Fatalf("rewritten word: %+v %q", a, textAt(d, a))
	}
	if a.Para != d.Sections[0].Paras[1] || *a.Quote != *quoteOn(t, newDoc(text3), "custom-1", quoted, 0).Quote {
		t.Fatalf("para or quote changed: %+v", a)
	}
	// Rewriting most of it loses it.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", want, "released a report", 0))
	if a = get(t, s, "a0"); a.State != Orphaned || a.Version != 1 || a.Seq != 1 || a.Quote.Exact != quoted {
		t.Fatalf("rewritten sentence: %+v", a)
	}
}

func TestMapShortQuoteDoesNotJump(t *testing.T) {
	// "the" occurs many times; rewriting the quoted one must not move the
	// comment to another "the" whose context is different.
	d, s := setup(t, q("custom-1", "the", 1)) // "until the end", in para3
	a := get(t, s, "a0")
	mustApply(t, s, d, textStep(t, d, "custom-1", editor.Change{From: a.Start, To: a.End, Insert: "xyz"}))
	if b := get(t, s, "a0"); b.State != Orphaned {
		t.Fatalf("short quote moved: %+v %q", b, textAt(d, b))
	}
}

func TestMapDeleteQuote(t *testing.T) {
	quoted := "after a long consultation"
	d, s := setup(t, q("custom-1", quoted, 0))
	before := get(t, s, "a0")
	mustApply(t, s, d, replaceStep(t, d, "custom-1", ", "+quoted, "", 0))
	a := get(t, s, "a0")
	want := before
	want.State = Orphaned
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("deleted quote: %+v, want %+v", a, want)
	}
	// Typing elsewhere leaves it orphaned and as it was.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "Best", "Good", 0))
	if b := get(t, s, "a0"); !reflect.DeepEqual(b, want) {
		t.Fatalf("orphan changed: %+v", b)
	}
	// Undoing the deletion finds it again.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "2015.", "2015, "+quoted+".", 0))
	if b := get(t, s, "a0"); b.State != Anchored || textAt(d, b) != quoted || b.Para != d.Sections[0].Paras[1] {
		t.Fatalf("after undo: %+v", b)
	}
}

func TestMapSplitParagraph(t *testing.T) {
	quoted := "its first output"
	d, s := setup(t, q("custom-1", quoted, 0), func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewParagraphAnchor(d, "custom-1", d.Sections[0].Paras[1])
		return a
	})
	p2 := d.Sections[0].Paras[1]
	// Split before the quote: the quote is in the new second part.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", " published", "\n\npublished", 0))
	ids := d.Sections[0].Paras
	if len(ids) != 4 || ids[1] != p2 {
		t.Fatalf("ids %v", ids)
	}
	a := get(t, s, "a0")
	if a.State != Anchored || a.Para != ids[2] || textAt(d, a) != quoted {
		t.Fatalf("split before: %+v (ids %v)", a, ids)
	}
	if p := get(t, s, "a1"); p.Para != p2 || p.State != Anchored {
		t.Fatalf("paragraph anchor after split: %+v", p)
	}
	// Split inside the quote: it now spans the break, fuzzily, and
	// belongs to the first part.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "its first", "its\n\nfirst", 0))
	a = get(t, s, "a0")
	if a.State != Fuzzy || textAt(d, a) != "its\n\nfirst output" || a.Para != ids[2] {
		t.Fatalf("split inside: %+v %q (ids %v)", a, textAt(d, a), d.Sections[0].Paras)
	}
}

func TestMapMergeParagraphs(t *testing.T) {
	d, s := setup(t, q("custom-1", "gender and access", 0), func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewParagraphAnchor(d, "custom-1", d.Sections[0].Paras[1])
		return a
	})
	p1 := d.Sections[0].Paras[0]
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "cybersecurity.\n\nThe", "cybersecurity. The", 0))
	if a := get(t, s, "a0"); a.State != Anchored || a.Para != p1 || textAt(d, a) != "gender and access" {
		t.Fatalf("quote after merge: %+v", a)
	}
	if p := get(t, s, "a1"); p.State != Anchored || p.Para != p1 {
		t.Fatalf("paragraph after merge: %+v", p)
	}
}

func TestMapMoveParagraph(t *testing.T) {
	para := func(i int) func(_ testing.TB, d *editor.Document) Anchor {
		return func(_ testing.TB, d *editor.Document) Anchor {
			a, _ := NewParagraphAnchor(d, "custom-1", d.Sections[0].Paras[i])
			return a
		}
	}
	t.Run("one change set", func(t *testing.T) {
		d, s := setup(t, q("custom-1", "first output", 0), para(1))
		// Cut the second paragraph and paste it at the end, at once.
		from := u16(t, text3, para2, 0)
		n := editor.UTF16Len(text3)
		mustApply(t, s, d, textStep(t, d, "custom-1",
			editor.Change{From: from, To: from + editor.UTF16Len(para2+"\n\n")},
			editor.Change{From: n, To: n, Insert: "\n\n" + para2}))
		if d.Section("custom-1").Text != para1+"\n\n"+para3+"\n\n"+para2 {
			t.Fatalf("text %q", d.Section("custom-1").Text)
		}
		last := d.Sections[0].Paras[2]
		if a := get(t, s, "a0"); a.State != Anchored || a.Para != last || textAt(d, a) != "first output" {
			t.Fatalf("quote after move: %+v", a)
		}
		if p := get(t, s, "a1"); p.State != Anchored || p.Para != last {
			t.Fatalf("paragraph after move: %+v (ids %v)", p, d.Sections[0].Paras)
		}
	})
	t.Run("cut then paste", func(t *testing.T) {
		d, s := setup(t, q("custom-1", "first output", 0), para(1))
		mustApply(t, s, d, replaceStep(t, d, "custom-1", para2+"\n\n", "", 0))
		if a, p := get(t, s, "a0"), get(t, s, "a1"); a.State != Orphaned || p.State != Orphaned {
			t.Fatalf("after cut: %+v %+v", a, p)
		}
		n := editor.UTF16Len(d.Section("custom-1").Text)
		mustApply(t, s, d, textStep(t, d, "custom-1", editor.Change{From: n, To: n, Insert: "\n\n" + para2}))
		if a := get(t, s, "a0"); a.State != Anchored || a.Para != d.Sections[0].Paras[2] || textAt(d, a) != "first output" {
			t.Fatalf("quote after paste: %+v", a)
		}
		// A paragraph anchor keeps no text to be found by: it stays
		// orphaned.
		if p := get(t, s, "a1"); p.State != Orphaned {
			t.Fatalf("paragraph after paste: %+v", p)
		}
	})
}

func TestMapParagraphReplacedWholesale(t *testing.T) {
	d, s := setup(t, func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewParagraphAnchor(d, "custom-1", d.Sections[0].Paras[1])
		return a
	})
	// Select the paragraph and paste a version with one word changed:
	// every character is replaced, so the id goes; the text is close.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", para2, strings.Replace(para2, "long", "lengthy", 1), 0))
	p := get(t, s, "a0")
	if p.State != Fuzzy || p.Para != d.Sections[0].Paras[1] || p.Score < FuzzyThreshold {
		t.Fatalf("paragraph replaced: %+v (ids %v)", p, d.Sections[0].Paras)
	}
	// Deleted outright, it is orphaned.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "\n\n"+strings.Replace(para2, "long", "lengthy", 1), "", 0))
	if p := get(t, s, "a0"); p.State != Orphaned {
		t.Fatalf("paragraph deleted: %+v", p)
	}
}

func TestMapFindsQuoteElsewhere(t *testing.T) {
	quoted := "public comment period"
	d, s := setup(t, q("custom-1", quoted, 0))
	// The sentence is rewritten around the quote in one replacement of
	// the whole paragraph: the quote is found exactly, with its context.
	edited := strings.Replace(para3, "Comments are", "All comments are", 1)
	mustApply(t, s, d, replaceStep(t, d, "custom-1", para3, edited, 0))
	if a := get(t, s, "a0"); a.State != Anchored || textAt(d, a) != quoted || a.Section != "custom-1" {
		t.Fatalf("paragraph replaced: %+v", a)
	}
	// The paragraph is deleted here; the same text, with the same
	// context, is in the other section.
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "\n\n"+edited, "", 0))
	a := get(t, s, "a0")
	if a.State != Anchored || a.Section != "custom-2" || textAt(d, a) != quoted || a.Para != d.Sections[1].Paras[1] || a.Version != d.Sections[1].Version {
		t.Fatalf("moved to the other section: %+v", a)
	}
	// It now follows changes there, and no longer those of custom-1.
	mustApply(t, s, d, replaceStep(t, d, "custom-2", "Other", "Another", 0))
	if b := get(t, s, "a0"); b.Start != a.Start+2 || textAt(d, b) != quoted {
		t.Fatalf("after typing in its new section: %+v", b)
	}
}

func TestMapStructure(t *testing.T) {
	d, s := setup(t, q("custom-2", "public comment", 0), func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewSectionAnchor(d, "custom-2")
		return a
	}, func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewParagraphAnchor(d, "custom-2", d.Sections[1].Paras[0])
		return a
	}, func(_ testing.TB, d *editor.Document) Anchor {
		a, _ := NewDocumentAnchor(d)
		return a
	}, q("custom-1", "public comment", 0))
	before := s.All()
	idx := 0
	for _, sc := range []*editor.Structure{
		{Op: editor.OpRenameSection, Section: &editor.Section{ID: "custom-2"}, Title: "New title"},
		{Op: editor.OpMoveSection, Section: &editor.Section{ID: "custom-2"}, Index: &idx},
		{Op: editor.OpRenameDocument, Title: "Renamed"},
		{Op: editor.OpAddSection, Section: &editor.Section{Title: "Added", Text: "public comment"}},
	} {
		mustApply(t, s, d, editor.Step{Structure: sc})
		for id, a := range s.All() {
			want := before[id]
			want.Seq = d.Seq
			if !reflect.DeepEqual(a, want) {
				t.Fatalf("%s after %s: %+v, want %+v", id, sc.Op, a, want)
			}
		}
	}
	mustApply(t, s, d, editor.Step{Structure: &editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: "custom-2"}}})
	for _, id := range []string{"a0", "a1", "a2"} {
		a := get(t, s, id)
		want := before[id]
		want.State, want.Seq = Orphaned, d.Seq-1
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("%s after remove: %+v, want %+v", id, a, want)
		}
	}
	if a := get(t, s, "a3"); a.State != Anchored || a.Seq != d.Seq {
		t.Fatalf("document anchor after remove: %+v", a)
	}
	if a := get(t, s, "a4"); a.State != Anchored || a.Section != "custom-1" {
		t.Fatalf("other section's anchor after remove: %+v", a)
	}
	if s.Len() != 5 {
		t.Fatalf("%d anchors, want 5", s.Len())
	}
}

func TestMapSingleEqualsSet(t *testing.T) {
	// The functions on one anchor and the set agree.
	d, s := setup(t, q("custom-1", "first output", 0), q("custom-2", "Other", 0))
	a0, a1 := get(t, s, "a0"), get(t, s, "a1")
	before := *d.Section("custom-1")
	st := replaceStep(t, d, "custom-1", "first", "1st", 0)
	mustApply(t, s, d, st)
	// Rebuild the step as the set saw it.
	eff := editor.ParaChange{}
	got0, err := MapText(a0, d, TextStep{Section: "custom-1", Before: before, Changes: st.Changes, Merged: eff.Merged})
	if err != nil {
		t.Fatal(err)
	}
	got1, _ := MapText(a1, d, TextStep{Section: "custom-1", Before: before, Changes: st.Changes})
	if !reflect.DeepEqual(got0, get(t, s, "a0")) || !reflect.DeepEqual(got1, get(t, s, "a1")) {
		t.Fatalf("single %+v %+v, set %+v %+v", got0, got1, get(t, s, "a0"), get(t, s, "a1"))
	}
	if _, err := MapText(a0, d, TextStep{Section: "nope"}); err == nil {
		t.Fatal("no error for an unknown section")
	}
}

func TestAnchorsSet(t *testing.T) {
	d, s := setup(t, q("custom-1", "first output", 0))
	a := get(t, s, "a0")
	if err := s.Add("a0", a); err == nil {
		t.Error("added a taken id")
	}
	if err := s.Add("", a); err == nil {
		t.Error("added an empty id")
	}
	stale := a
	stale.Seq = 3
	if err := s.Add("b", stale); err == nil {
		t.Error("added an anchor of another seq")
	}
	if err := s.Add("b", Anchor{State: "x"}); err == nil {
		t.Error("added an invalid anchor")
	}
	if _, err := s.Apply(&editor.Document{Seq: 4}, editor.Step{}); err == nil {
		t.Error("applied to a document at another seq")
	}
	// The set owns its quotes.
	a.Quote.Exact = "changed"
	if get(t, s, "a0").Quote.Exact != "first output" {
		t.Error("Get shares the quote")
	}
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "Best", "Good", 0))
	mustApply(t, s, d, replaceStep(t, d, "custom-2", "Other", "Another", 0))
	if s.Seq() != 2 || d.Seq != 2 {
		t.Errorf("set at seq %d, document at %d", s.Seq(), d.Seq)
	}
	if _, ok := s.Get("nope"); ok {
		t.Error("Get of an unknown id")
	}
	if !s.Remove("a0") || s.Remove("a0") || s.Len() != 0 || len(s.IDs()) != 0 {
		t.Error("Remove")
	}
	if _, err := s.Apply(d, editor.Step{Section: "nope", Changes: editor.EmptyChangeSet(0)}); err == nil {
		t.Error("no error from a step the document refuses")
	}
}

func TestMapLongInsertionInsideQuote(t *testing.T) {
	quoted := "gather evidence from the multistakeholder" // 41 characters
	filler := strings.Repeat("lorem ipsum ", 20)
	for _, tc := range []struct {
		name, after string
		state       State
		found       string
	}{
		// The quoted words are cut apart: the longer part, with some of
		// the text before it in place of the other (whole words), is
		// close enough.
		{"in the middle", "gather evidence " + filler + "from the multistakeholder", Fuzzy, "lorem ipsum from the multistakeholder"},
		// Only one word is left with the quote's place.
		{"one word left", "gather " + filler, Orphaned, ""},
		// Most of the quote is still together, at one end of a range far
		// longer than the quote: it is found there.
		{"near the start", "ga" + filler + "ther evidence from the multistakeholder", Fuzzy, "ther evidence from the multistakeholder"},
		{"near the end", "gather evidence from the multistakehold" + filler + "er", Fuzzy, "gather evidence from the multistakehold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, s := setup(t, q("custom-1", quoted, 0))
			mustApply(t, s, d, replaceStep(t, d, "custom-1", quoted, tc.after, 0))
			a := get(t, s, "a0")
			if a.State != tc.state || tc.found != "" && textAt(d, a) != tc.found {
				t.Fatalf("%+v %q", a, textAt(d, a))
			}
		})
	}
}

// TestFuzzyWholeWords: a fuzzy match that would start or end inside a
// word takes the whole word when that is no further from the quote.
func TestFuzzyWholeWords(t *testing.T) {
	d := newDoc("Small firms need affordable security advice.\n\nSecond paragraph.")
	s := NewAnchors(d.Seq)
	if err := s.Add("a0", quoteOn(t, d, "custom-1", "security advice", 0)); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, d, replaceStep(t, d, "custom-1", "security", "safety", 0))
	if a := get(t, s, "a0"); a.State != Fuzzy || textAt(d, a) != "safety advice" {
		t.Fatalf("%+v %q; want fuzzy on \"safety advice\"", a, textAt(d, a))
	}
}
