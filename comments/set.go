package comments

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Anchors is the set of open anchors of one document, keyed by comment
// id, mapped over every step the document accepts. It keeps an index per
// section, so that a text change touches only the anchors of its section
// (and the orphaned quotes of that section, which it may bring back), and
// no anchor costs work in proportion to the document unless its quoted
// text was changed and must be searched for.
//
// Anchors of sections a step did not touch are not rewritten: Get states
// every live anchor as of the set's Seq (nothing about them changed), and
// orphans as of their last state found.
//
// The set is not safe for concurrent use.
type Anchors struct {
	seq  int64
	byID map[string]*Anchor
	// live holds the anchors that are not orphaned, by section ("" for the
	// document), then id. orphans holds the orphaned quotes of sections
	// that still exist, which a later change may bring back.
	live    map[string]map[string]*Anchor
	orphans map[string]map[string]*Anchor
}

// NewAnchors returns an empty set for a document at seq.
func NewAnchors(seq int64) *Anchors {
	return &Anchors{
		seq:     seq,
		byID:    make(map[string]*Anchor),
		live:    make(map[string]map[string]*Anchor),
		orphans: make(map[string]map[string]*Anchor),
	}
}

// Seq returns the document seq the set is as of.
func (s *Anchors) Seq() int64 { return s.seq }

// Len returns the number of anchors, orphans included.
func (s *Anchors) Len() int { return len(s.byID) }

// Add puts the anchor of comment id into the set. The anchor must be
// valid (Anchor.Validate) and, unless orphaned, stated as of the set's
// seq: an anchor made on an older version is mapped first. It fails,
// wrapping editor.ErrInvalid, for an empty or taken id.
func (s *Anchors) Add(id string, a Anchor) error {
	if id == "" {
		return fmt.Errorf("%w: anchor without a comment id", editor.ErrInvalid)
	}
	if _, dup := s.byID[id]; dup {
		return fmt.Errorf("%w: comment %q already has an anchor", editor.ErrInvalid, id)
	}
	if err := a.Validate(); err != nil {
		return err
	}
	if a.State != Orphaned && a.Seq != s.seq {
		return fmt.Errorf("%w: anchor of comment %q is as of seq %d, the set of seq %d", editor.ErrInvalid, id, a.Seq, s.seq)
	}
	if a.Quote != nil {
		q := *a.Quote // the set owns its quotes
		a.Quote = &q
	}
	s.byID[id] = &a
	s.index(id, &a)
	return nil
}

// Remove takes the anchor of comment id out of the set (the comment was
// withdrawn or closed); it reports whether there was one.
func (s *Anchors) Remove(id string) bool {
	a, ok := s.byID[id]
	if !ok {
		return false
	}
	s.unindex(id, a)
	delete(s.byID, id)
	return true
}

// Get returns the anchor of comment id, stated as of the set's seq unless
// orphaned.
func (s *Anchors) Get(id string) (Anchor, bool) {
	a, ok := s.byID[id]
	if !ok {
		return Anchor{}, false
	}
	return s.stated(a), true
}

// IDs returns the comment ids in the set, sorted.
func (s *Anchors) IDs() []string {
	return slices.Sorted(maps.Keys(s.byID))
}

// All returns a copy of every anchor, by comment id, as Get states them.
func (s *Anchors) All() map[string]Anchor {
	out := make(map[string]Anchor, len(s.byID))
	for id, a := range s.byID {
		out[id] = s.stated(a)
	}
	return out
}

func (s *Anchors) stated(a *Anchor) Anchor {
	out := *a
	if out.State != Orphaned {
		out.Seq = s.seq
	}
	if out.Quote != nil {
		q := *out.Quote
		out.Quote = &q
	}
	return out
}

// index files a under its section.
func (s *Anchors) index(id string, a *Anchor) {
	idx := s.live
	if a.State == Orphaned {
		if a.Kind() != KindQuote {
			return // never found again: only in byID
		}
		idx = s.orphans
	}
	m := idx[a.Section]
	if m == nil {
		m = make(map[string]*Anchor)
		idx[a.Section] = m
	}
	m[id] = a
}

func (s *Anchors) unindex(id string, a *Anchor) {
	for _, idx := range []map[string]map[string]*Anchor{s.live, s.orphans} {
		if m := idx[a.Section]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(idx, a.Section)
			}
		}
	}
}

// Apply applies the step to d (editor.Document.Apply) and maps every
// anchor over it. d must be the document at the set's seq. On an error
// from Apply nothing is changed.
func (s *Anchors) Apply(d *editor.Document, st editor.Step) (editor.Effect, error) {
	if d.Seq != s.seq {
		return editor.Effect{}, fmt.Errorf("%w: anchors are as of seq %d, the document is at %d", editor.ErrInvalid, s.seq, d.Seq)
	}
	var before editor.Section
	if st.Structure == nil {
		if sec := d.Section(st.Section); sec != nil {
			before = *sec
		}
	}
	eff, err := d.Apply(st)
	if err != nil {
		return eff, err
	}
	if st.Structure != nil {
		s.MapStructure(d, st.Structure)
		return eff, nil
	}
	err = s.MapText(d, TextStep{Section: st.Section, Before: before, Changes: st.Changes, Merged: eff.Paras.Merged})
	return eff, err
}

// MapText maps the anchors over a text change the caller has applied to
// d (see the function MapText for the rules): those of the changed
// section, and its orphaned quotes. The set then is as of d.Seq.
func (s *Anchors) MapText(d *editor.Document, st TextStep) error {
	if d != nil && d.Section(st.Section) != nil && len(s.live[st.Section]) == 0 && len(s.orphans[st.Section]) == 0 {
		s.seq = d.Seq // nothing to map
		return nil
	}
	c, err := newTextCtx(d, st)
	if err != nil {
		return err
	}
	type moved struct {
		id string
		a  *Anchor
	}
	var moves []moved
	for id, a := range s.live[st.Section] {
		if a.State != Orphaned {
			a.Seq = s.seq // as Get would state it
		}
		*a = c.mapAnchor(*a)
		if a.State == Orphaned || a.Section != st.Section {
			moves = append(moves, moved{id, a})
		}
	}
	for id, a := range s.orphans[st.Section] {
		*a = c.mapAnchor(*a)
		if a.State != Orphaned {
			moves = append(moves, moved{id, a})
		}
	}
	for _, m := range moves {
		// Drop it from both indexes under the section it was in.
		for _, idx := range []map[string]map[string]*Anchor{s.live, s.orphans} {
			if x := idx[st.Section]; x != nil {
				delete(x, m.id)
			}
		}
		s.index(m.id, m.a)
	}
	s.tidy(st.Section)
	s.seq = d.Seq
	return nil
}

// MapStructure maps the anchors over a structural change the caller has
// applied to d (see the function MapStructure). The set then is as of
// d.Seq.
func (s *Anchors) MapStructure(d *editor.Document, sc *editor.Structure) {
	if sc != nil && sc.Op == editor.OpRemoveSection && sc.Section != nil {
		id := sc.Section.ID
		for _, a := range s.live[id] {
			a.Seq = s.seq
			*a = MapStructure(*a, d, sc)
		}
		// Orphans of a removed section are never found again.
		delete(s.live, id)
		delete(s.orphans, id)
	}
	s.seq = d.Seq
}

func (s *Anchors) tidy(section string) {
	if len(s.live[section]) == 0 {
		delete(s.live, section)
	}
	if len(s.orphans[section]) == 0 {
		delete(s.orphans, section)
	}
}

// anchorsJSON is the stored form of a set.
type anchorsJSON struct {
	Seq     int64             `json:"seq"`
	Anchors map[string]Anchor `json:"anchors"`
}

// MarshalJSON writes the set as {"seq": …, "anchors": {id: anchor}}, each
// anchor as Get states it.
func (s *Anchors) MarshalJSON() ([]byte, error) {
	return json.Marshal(anchorsJSON{Seq: s.seq, Anchors: s.All()})
}

// UnmarshalJSON reads a set written by MarshalJSON, checking each anchor
// as Add does. An orphaned quote is indexed under its section, which the
// set cannot check still exists; one of a removed section is never
// brought back, as no change can reach it.
func (s *Anchors) UnmarshalJSON(b []byte) error {
	var v anchorsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n := NewAnchors(v.Seq)
	for _, id := range slices.Sorted(maps.Keys(v.Anchors)) {
		if err := n.Add(id, v.Anchors[id]); err != nil {
			return err
		}
	}
	*s = *n
	return nil
}
