package editor

import (
	"fmt"
	"slices"
	"strings"
)

// ParaChange reports what an update did to the paragraph ids of the section
// it changed.
type ParaChange struct {
	// Changed is true when the section's id list differs from before the
	// update; only then do clients need Paras and Merged.
	Changed bool
	// Paras is the section's id list after the update, shared with the
	// section: read it, do not modify it.
	Paras []string
	// Merged maps each id joined into another paragraph to that
	// paragraph's id (see TrackParagraphs). It is nil when none was.
	Merged map[string]string
}

// ApplyChanges applies cs to the text of the section with the given id: it
// checks cs against the text (ChangeSet.CheckAgainst), applies it, counts
// one more version of the section and one more update of the document
// (Seq), and carries the paragraph ids across with TrackParagraphs, taking
// new ids from d.NewParaID.
//
// It is the one way an accepted update changes a document, for the live hub
// and for replaying the log alike, so that both give the same ids: the
// result depends only on d and cs. It fails with an error wrapping
// ErrInvalid for an unknown section, and with CheckAgainst's error for a
// change that does not fit the text; on any error d is left untouched.
func (d *Document) ApplyChanges(sectionID string, cs ChangeSet) (ParaChange, error) {
	s := d.Section(sectionID)
	if s == nil {
		return ParaChange{}, fmt.Errorf("%w: no section %q in document %q", ErrInvalid, sectionID, d.ID)
	}
	if err := cs.CheckAgainst(s.Text); err != nil {
		return ParaChange{}, err
	}
	text, err := cs.Apply(s.Text)
	if err != nil {
		return ParaChange{}, err
	}
	var paras []string
	var merged map[string]string
	if typedInLine(s.Text, text, cs) {
		paras = s.Paras
	} else {
		paras, merged = TrackParagraphs(s.Text, text, s.Paras, cs, d.NewParaID)
	}
	changed := !slices.Equal(paras, s.Paras)
	if !changed {
		paras = s.Paras // keep nil as nil, so an unchanged section looks unchanged
	}
	s.Text, s.Paras = text, paras
	s.Version++
	d.Seq++
	return ParaChange{Changed: changed, Paras: paras, Merged: merged}, nil
}

// Clone returns a copy of d that shares nothing a later ApplyChanges,
// AssignParagraphIDs or AddCustomSection on either would modify: the
// Sections slice and each section's Paras are copied (strings are
// immutable and shared). A nil d gives nil.
func (d *Document) Clone() *Document {
	if d == nil {
		return nil
	}
	c := *d
	c.Sections = slices.Clone(d.Sections)
	for i := range c.Sections {
		// AssignParagraphIDs appends in place, which would write into a
		// shared array's spare capacity.
		c.Sections[i].Paras = slices.Clone(c.Sections[i].Paras)
	}
	return &c
}

// typedInLine reports whether cs is one replacement inside one line that
// is not blank before or after it, adds or removes no line break and
// leaves some of the line's text in place. Such a change (typing, in
// short) keeps every paragraph and its id, as TrackParagraphs would
// decide, without its full scan of both texts on every keystroke.
func typedInLine(before, after string, cs ChangeSet) bool {
	n := 0
	var fromA, toA, fromB, toB int
	var ins string
	cs.IterChanges(func(fa, ta, fb, tb int, inserted string) {
		n++
		fromA, toA, fromB, toB, ins = fa, ta, fb, tb, inserted
	})
	if n != 1 || strings.ContainsAny(ins, "\n\r") {
		return false
	}
	a0, ok1 := ByteOffset(before, fromA)
	a1, ok2 := ByteOffset(before, toA)
	b0, ok3 := ByteOffset(after, fromB)
	b1, ok4 := ByteOffset(after, toB)
	if !ok1 || !ok2 || !ok3 || !ok4 || strings.ContainsAny(before[a0:a1], "\n\r") {
		return false
	}
	lineA0, lineA1 := lineAround(before, a0, a1)
	if a0 == lineA0 && a1 == lineA1 {
		return false // the whole line replaced: nothing of it survives
	}
	lineB0, lineB1 := lineAround(after, b0, b1)
	return !blank(before[lineA0:lineA1]) && !blank(after[lineB0:lineB1])
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
