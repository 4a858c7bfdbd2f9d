package comments

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bpfdraft/bpfdraft/editor"
)

// TextStep is one accepted change to a section's text, as anchors need
// it: the section as it was, the change, and the paragraph ids the change
// merged away (editor.ParaChange.Merged). The section as it is after the
// change is read from the document.
type TextStep struct {
	Section string
	// Before is the section before the change; its Text, Paras and
	// Version are used.
	Before  editor.Section
	Changes editor.ChangeSet
	Merged  map[string]string
}

// MapText maps one anchor over one accepted text change. d is the
// document after the change (its section st.Section changed, Seq counted
// it). The rules:
//
//   - Anchors of other sections, and document anchors, are unchanged but
//     for Seq (orphans keep theirs).
//   - A section anchor takes the new Version and Seq.
//   - A paragraph anchor follows its id: to the paragraph it was merged
//     into, if it was. When its paragraph is gone (all of its text
//     deleted or replaced), its old text, with its context, is searched
//     for in the section as a quote is (see below; not in the other
//     sections, and approximately only for a paragraph of at most
//     MaxQuoteUnits): the anchor moves to the paragraph where it is found,
//     Anchored if exactly, Fuzzy if approximately, or else it is orphaned.
//   - A quote's range is mapped with MapPos (text typed at either end
//     stays outside it). If the change did not touch the range, the
//     anchor keeps its state. If it did and the text there is still the
//     quote, it is Anchored. Otherwise the quote is searched for: exactly
//     in its paragraph, then in its section, then in the other sections
//     in document order (accepting only occurrences with enough of their
//     context, see MinContext and DistinctiveRunes; within a scope, the
//     most context wins, then the nearest to the mapped range), giving
//     Anchored; then approximately, as text overlapping the mapped range
//     and reaching at most ContextRunes characters beyond it, giving
//     Fuzzy when its similarity reaches FuzzyThreshold (Anchored if it is
//     the exact text); else the anchor is orphaned.
//   - An orphaned quote is found again, Anchored, when a change to its
//     section puts its exact text back (an undo, a paste, retyping it):
//     when the text within the quote's length of a changed range holds
//     it, the section (only) is searched exactly, as above. Other orphans
//     (paragraphs, sections, quotes of removed sections) stay orphaned.
//
// A quote's Para is the first paragraph its range overlaps; a range may
// come to span a paragraph break when one is typed inside the quote.
// MapText fails, wrapping editor.ErrInvalid, when d has no such section.
func MapText(a Anchor, d *editor.Document, st TextStep) (Anchor, error) {
	c, err := newTextCtx(d, st)
	if err != nil {
		return a, err
	}
	return c.mapAnchor(a), nil
}

// MapStructure maps one anchor over one accepted structural change; d is
// the document after it. Removing a section orphans the anchors in it;
// every other change (adding a section, renaming or moving one, renaming
// the document, the workflow) changes nothing but the Seq of live
// anchors.
func MapStructure(a Anchor, d *editor.Document, sc *editor.Structure) Anchor {
	if a.State == Orphaned {
		return a
	}
	if sc != nil && sc.Op == editor.OpRemoveSection && sc.Section != nil && a.Section != "" && a.Section == sc.Section.ID {
		a.State, a.Score = Orphaned, 0
		a.Seq = d.Seq - 1
		return a
	}
	a.Seq = d.Seq
	return a
}

// change is one replaced range of a change set, before (A) and after (B).
type change struct {
	fromA, toA, fromB, toB int
	ins                    string
}

// paraSpan is a paragraph of a text, in bytes and UTF-16 units.
type paraSpan struct{ b0, b1, u0, u1 int }

// textCtx is what mapping the anchors of one section over one change
// needs, shared by all of them; the costly parts are computed once, when
// an anchor first needs them.
type textCtx struct {
	doc     *editor.Document
	sec     *editor.Section // after the change
	st      TextStep
	changes []change
	// sameIDs: the paragraph ids are the same list as before. inLine: the
	// change was typing inside one line, so every paragraph also keeps its
	// place in the list and its text (the editor's fast path).
	sameIDs, inLine bool

	spans   []paraSpan // of sec.Text, once computed
	ids     map[string]int
	bSpans  []editor.Span // of st.Before.Text, once computed
	chBytes [][2]int      // byte offsets of each change's fromB and toB
}

func newTextCtx(d *editor.Document, st TextStep) (*textCtx, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: no document", editor.ErrInvalid)
	}
	sec := d.Section(st.Section)
	if sec == nil {
		return nil, fmt.Errorf("%w: no section %q in document %q", editor.ErrInvalid, st.Section, d.ID)
	}
	c := &textCtx{doc: d, sec: sec, st: st}
	st.Changes.IterChanges(func(fromA, toA, fromB, toB int, ins string) {
		c.changes = append(c.changes, change{fromA, toA, fromB, toB, ins})
	})
	c.sameIDs = slices.Equal(st.Before.Paras, sec.Paras)
	c.inLine = c.sameIDs && typedInLine(st.Before.Text, sec.Text, c.changes)
	return c, nil
}

// mapAnchor applies MapText's rules to a.
func (c *textCtx) mapAnchor(a Anchor) Anchor {
	if a.Section != c.st.Section {
		if a.State != Orphaned {
			a.Seq = c.doc.Seq
		}
		return a
	}
	switch a.Kind() {
	case KindSection:
		if a.State != Orphaned {
			a.Version, a.Seq = c.sec.Version, c.doc.Seq
		}
		return a
	case KindParagraph:
		if a.State == Orphaned {
			return a
		}
		return c.mapParagraph(a)
	}
	if a.State == Orphaned {
		return c.revive(a)
	}
	return c.mapQuote(a)
}

// orphan returns a, as it was before the change, orphaned.
func (c *textCtx) orphan(a Anchor) Anchor {
	a.State, a.Score = Orphaned, 0
	a.Version, a.Seq = c.st.Before.Version, c.doc.Seq-1
	return a
}

// touches reports whether the change altered any text of [s, e): a
// replaced range overlaps it or text was inserted strictly inside it.
func (c *textCtx) touches(s, e int) bool {
	for _, ch := range c.changes {
		if ch.fromA >= e {
			break
		}
		if ch.toA > s {
			return true
		}
	}
	return false
}

func (c *textCtx) mapQuote(a Anchor) Anchor {
	n := c.st.Changes.LenBefore()
	s, e := min(max(a.Start, 0), n), min(max(a.End, 0), n)
	touched := s != a.Start || e != a.End || c.touches(s, e)
	ns, _ := c.st.Changes.MapPos(s, 1, editor.MapSimple)
	ne, _ := c.st.Changes.MapPos(e, -1, editor.MapSimple)
	ne = max(ne, ns)
	text := c.sec.Text
	if !touched {
		para := a.Para
		if !c.inLine {
			para = c.paraAt(ns, ne)
		}
		if para != "" {
			a.Para, a.Start, a.End = para, ns, ne
			a.Version, a.Seq = c.sec.Version, c.doc.Seq
			return a
		}
	}
	qi := newQuoteInfo(a.Quote)
	b0, ok0 := editor.ByteOffset(text, ns)
	b1, ok1 := editor.ByteOffset(text, ne)
	if ok0 && ok1 && text[b0:b1] == a.Quote.Exact {
		if para := c.paraAt(ns, ne); para != "" {
			return c.found(a, c.sec.ID, para, match{u0: ns, u1: ne}, Anchored)
		}
	}
	// Search, exactly: the paragraph, the section, the other sections.
	para := a.Para
	if to, ok := c.st.Merged[para]; ok {
		para = to
	}
	if i, ok := c.paraIndex(para); ok {
		sp := c.spans[i]
		if m, ok := qi.bestExact(text, sp.b0, sp.b1, sp.u0, ns); ok {
			if p := c.paraAt(m.u0, m.u1); p != "" {
				return c.found(a, c.sec.ID, p, m, Anchored)
			}
		}
	}
	if r, ok := c.searchSection(qi, ns); ok {
		return c.found(a, c.sec.ID, r.para, r.match, Anchored)
	}
	if r, ok := c.searchOthers(qi); ok {
		return c.found(a, r.section, r.para, r.match, Anchored)
	}
	if ok0 && ok1 {
		if m, ok := qi.bestFuzzy(text, b0, b1); ok {
			if p := c.paraAt(m.u0, m.u1); p != "" {
				if m.score == 1 {
					// The exact text, overlapping the quote's place.
					return c.found(a, c.sec.ID, p, m, Anchored)
				}
				a.Score = m.score
				return c.found(a, c.sec.ID, p, m, Fuzzy)
			}
		}
	}
	return c.orphan(a)
}

// found returns a placed at m in section sec, paragraph para.
func (c *textCtx) found(a Anchor, sec, para string, m match, state State) Anchor {
	a.Section, a.Para, a.Start, a.End = sec, para, m.u0, m.u1
	a.State = state
	if state != Fuzzy {
		a.Score = 0
	}
	a.Version, a.Seq = c.doc.Section(sec).Version, c.doc.Seq
	return a
}

// located is an exact occurrence found by a search, with its paragraph.
type located struct {
	section, para string
	match
}

// searchSection looks for the quote exactly anywhere in the changed
// section, nearest hint among equals.
func (c *textCtx) searchSection(qi quoteInfo, hint int) (located, bool) {
	m, ok := qi.bestExact(c.sec.Text, 0, len(c.sec.Text), 0, hint)
	if !ok {
		return located{}, false
	}
	p := c.paraAt(m.u0, m.u1)
	return located{c.sec.ID, p, m}, p != ""
}

// searchOthers looks for the quote exactly in the other sections: the
// one with the most context matched wins, then the first in document
// order.
func (c *textCtx) searchOthers(qi quoteInfo) (located, bool) {
	var best located
	found := false
	for i := range c.doc.Sections {
		s := &c.doc.Sections[i]
		if s.ID == c.sec.ID || !strings.Contains(s.Text, qi.q.Exact) {
			continue
		}
		m, ok := qi.bestExact(s.Text, 0, len(s.Text), 0, -1)
		if !ok || found && m.ctx <= best.ctx {
			continue
		}
		if p := paraIn(s, spansOf(s.Text), m.u0, m.u1); p != "" {
			best, found = located{s.ID, p, m}, true
		}
	}
	return best, found
}

// revive looks for an orphaned quote where the change may have put its
// text back (see MapText).
func (c *textCtx) revive(a Anchor) Anchor {
	text := c.sec.Text
	exact := a.Quote.Exact
	if len(text) < len(exact) {
		return a
	}
	if c.chBytes == nil {
		c.chBytes = make([][2]int, len(c.changes))
		// One pass: the changes are in order.
		u, b := 0, 0
		for k, ch := range c.changes {
			b = advance(text, b, ch.fromB-u)
			b1 := advance(text, b, ch.toB-ch.fromB)
			c.chBytes[k] = [2]int{b, b1}
			u = ch.fromB
		}
	}
	n := len([]rune(exact))
	for k, ch := range c.changes {
		b0, b1 := c.chBytes[k][0], c.chBytes[k][1]
		lo := b0 - len(lastRunes(text[:b0], n))
		hi := b1 + len(firstRunes(text[b1:], n))
		if !strings.Contains(text[lo:hi], exact) {
			continue
		}
		if r, ok := c.searchSection(newQuoteInfo(a.Quote), ch.fromB); ok {
			return c.found(a, c.sec.ID, r.para, r.match, Anchored)
		}
		break
	}
	return a
}

// advance moves n UTF-16 units forward from byte offset b of s.
func advance(s string, b, n int) int {
	j, _ := editor.ByteOffset(s[b:], n)
	return b + j
}

func (c *textCtx) mapParagraph(a Anchor) Anchor {
	id := a.Para
	if to, ok := c.st.Merged[id]; ok {
		id = to
	}
	if c.sameIDs || c.hasID(id) {
		a.Para = id
		a.Version, a.Seq = c.sec.Version, c.doc.Seq
		return a
	}
	// The paragraph is gone: look for its old text.
	before := c.st.Before
	i := slices.Index(before.Paras, a.Para)
	if c.bSpans == nil {
		c.bSpans = editor.Paragraphs(before.Text)
	}
	if i < 0 || i >= len(c.bSpans) {
		return c.orphan(a)
	}
	sp := c.bSpans[i]
	q := &Quote{
		Exact:  before.Text[sp.Start:sp.End],
		Prefix: lastRunes(before.Text[:sp.Start], ContextRunes),
		Suffix: firstRunes(before.Text[sp.End:], ContextRunes),
	}
	qi := newQuoteInfo(q)
	u0 := editor.UTF16Len(before.Text[:sp.Start])
	u1 := u0 + editor.UTF16Len(q.Exact)
	ns, _ := c.st.Changes.MapPos(u0, -1, editor.MapSimple)
	ne, _ := c.st.Changes.MapPos(u1, 1, editor.MapSimple)
	if r, ok := c.searchSection(qi, ns); ok {
		a.Para, a.State, a.Score = r.para, Anchored, 0
		a.Version, a.Seq = c.sec.Version, c.doc.Seq
		return a
	}
	b0, ok0 := editor.ByteOffset(c.sec.Text, ns)
	b1, ok1 := editor.ByteOffset(c.sec.Text, max(ne, ns))
	if u1-u0 <= MaxQuoteUnits && ok0 && ok1 {
		if m, ok := qi.bestFuzzy(c.sec.Text, b0, b1); ok {
			if p := c.paraAt(m.u0, m.u1); p != "" {
				a.Para, a.State, a.Score = p, Fuzzy, m.score
				if m.score == 1 {
					a.State, a.Score = Anchored, 0
				}
				a.Version, a.Seq = c.sec.Version, c.doc.Seq
				return a
			}
		}
	}
	return c.orphan(a)
}

// hasID reports whether the section now has a paragraph with the id.
func (c *textCtx) hasID(id string) bool {
	_, ok := c.paraIndex(id)
	return ok
}

// paraIndex returns the index of the paragraph id in the section after
// the change, computing the paragraphs if needed.
func (c *textCtx) paraIndex(id string) (int, bool) {
	if c.ids == nil {
		c.paragraphs()
		c.ids = make(map[string]int, len(c.sec.Paras))
		for i, id := range c.sec.Paras {
			if i < len(c.spans) {
				c.ids[id] = i
			}
		}
	}
	i, ok := c.ids[id]
	return i, ok
}

func (c *textCtx) paragraphs() []paraSpan {
	if c.spans == nil {
		c.spans = spansOf(c.sec.Text)
	}
	return c.spans
}

// paraAt returns the id of the first paragraph of the changed section
// that overlaps [u0, u1), or "".
func (c *textCtx) paraAt(u0, u1 int) string {
	return paraIn(c.sec, c.paragraphs(), u0, u1)
}

// spansOf returns the paragraphs of text with their UTF-16 offsets.
func spansOf(text string) []paraSpan {
	ps := editor.Paragraphs(text)
	out := make([]paraSpan, len(ps))
	u, b := 0, 0
	for i, p := range ps {
		u += editor.UTF16Len(text[b:p.Start])
		u0 := u
		u += editor.UTF16Len(text[p.Start:p.End])
		out[i] = paraSpan{p.Start, p.End, u0, u}
		b = p.End
	}
	return out
}

// paraIn returns the id of the first paragraph of s (spans) overlapping
// [u0, u1), or "".
func paraIn(s *editor.Section, spans []paraSpan, u0, u1 int) string {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].u1 > u0 })
	if i < len(spans) && i < len(s.Paras) && spans[i].u0 < u1 {
		return s.Paras[i]
	}
	return ""
}

// typedInLine is the editor's test for a change that leaves every
// paragraph in place (editor.ApplyChanges' fast path): one replacement
// inside one line that is not blank before or after it, adding or
// removing no line break and leaving some of the line in place.
func typedInLine(before, after string, changes []change) bool {
	if len(changes) != 1 || strings.ContainsAny(changes[0].ins, "\n\r") {
		return false
	}
	ch := changes[0]
	a0, ok1 := editor.ByteOffset(before, ch.fromA)
	a1, ok2 := editor.ByteOffset(before, ch.toA)
	b0, ok3 := editor.ByteOffset(after, ch.fromB)
	b1, ok4 := editor.ByteOffset(after, ch.toB)
	if !ok1 || !ok2 || !ok3 || !ok4 || strings.ContainsAny(before[a0:a1], "\n\r") {
		return false
	}
	la0, la1 := lineAround(before, a0, a1)
	if a0 == la0 && a1 == la1 {
		return false
	}
	lb0, lb1 := lineAround(after, b0, b1)
	return !blank(before[la0:la1]) && !blank(after[lb0:lb1])
}

// lineAround returns the byte range of the line holding [from, to),
// without its line break.
func lineAround(s string, from, to int) (int, int) {
	start := strings.LastIndexByte(s[:from], '\n') + 1
	end := strings.IndexByte(s[to:], '\n')
	if end < 0 {
		return start, len(s)
	}
	return start, to + end
}

func blank(line string) bool { return strings.Trim(line, " \t\r") == "" }
