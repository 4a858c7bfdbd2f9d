package editor

import (
	"fmt"
	"slices"
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
	paras, merged := TrackParagraphs(s.Text, text, s.Paras, cs, d.NewParaID)
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
