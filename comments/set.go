package comments

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Anchors is the set of open anchors of one document, keyed by comment
// id, mapped over every step the document accepts. It keeps the anchors
// in a bucket per section, so that a text change touches only the
// anchors of its section (and the orphaned quotes of that section, which
// it may bring back), and no anchor costs work in proportion to the
// document unless its quoted text was changed and must be searched for.
//
// Anchors of sections a step did not touch are not rewritten: Get states
// every live anchor as of the set's Seq (nothing about them changed), and
// orphans as of their last state found.
//
// Clone is cheap: a clone shares the buckets, and each set copies a
// bucket the first time it changes it (copy on write), so keeping a copy
// for every batch of updates costs what the batch touches, not the set.
//
// The set is not safe for concurrent use; sets that share buckets may be
// used from different goroutines only if just one of them changes.
type Anchors struct {
	seq int64
	// where says which bucket holds each id: the section of a live anchor
	// or of an orphaned quote, goneBucket for the orphans that can never
	// be found again. Shared between clones until one of them changes it.
	where      map[string]string
	ownWhere   bool
	buckets    map[string]*bucket
	ownBuckets map[string]bool
}

// goneBucket holds the orphans no change can reach (of removed sections,
// and orphaned paragraph and section anchors).
const goneBucket = "\x00gone"

// bucket is the anchors of one section: live ones, and orphaned quotes
// (which a later change to the section may bring back).
type bucket struct {
	live, orphans map[string]*Anchor
}

// NewAnchors returns an empty set for a document at seq.
func NewAnchors(seq int64) *Anchors {
	return &Anchors{seq: seq, where: map[string]string{}, ownWhere: true, buckets: map[string]*bucket{}, ownBuckets: map[string]bool{}}
}

// Clone returns a set equal to s that shares its buckets until either
// changes one.
func (s *Anchors) Clone() *Anchors {
	n := &Anchors{seq: s.seq, where: s.where, buckets: make(map[string]*bucket, len(s.buckets)), ownBuckets: map[string]bool{}}
	for sec, b := range s.buckets {
		n.buckets[sec] = b
	}
	s.ownWhere, s.ownBuckets = false, map[string]bool{}
	return n
}

// writeWhere makes the id index the set's own to change.
func (s *Anchors) writeWhere() map[string]string {
	if !s.ownWhere {
		s.where = maps.Clone(s.where)
		s.ownWhere = true
	}
	return s.where
}

// write returns the bucket of sec for the set to change, copying it (and
// its anchors) if it is shared; it makes one if there is none.
func (s *Anchors) write(sec string) *bucket {
	b := s.buckets[sec]
	if b != nil && s.ownBuckets[sec] {
		return b
	}
	n := &bucket{live: map[string]*Anchor{}, orphans: map[string]*Anchor{}}
	if b != nil {
		n.live = make(map[string]*Anchor, len(b.live))
		n.orphans = make(map[string]*Anchor, len(b.orphans))
		// One allocation for all the copies (a Quote is never changed in
		// place: shared).
		copies := make([]Anchor, 0, len(b.live)+len(b.orphans))
		for _, pair := range [][2]map[string]*Anchor{{b.live, n.live}, {b.orphans, n.orphans}} {
			for id, a := range pair[0] {
				copies = append(copies, *a)
				pair[1][id] = &copies[len(copies)-1]
			}
		}
	}
	s.buckets[sec] = n
	s.ownBuckets[sec] = true
	return n
}

// find returns the anchor of id, read-only.
func (s *Anchors) find(id string) (*Anchor, bool) {
	sec, ok := s.where[id]
	if !ok {
		return nil, false
	}
	b := s.buckets[sec]
	if a, ok := b.live[id]; ok {
		return a, true
	}
	return b.orphans[id], true
}

// Seq returns the document seq the set is as of.
func (s *Anchors) Seq() int64 { return s.seq }

// Len returns the number of anchors, orphans included.
func (s *Anchors) Len() int { return len(s.where) }

// Add puts the anchor of comment id into the set. The anchor must be
// valid (Anchor.Validate) and, unless orphaned, stated as of the set's
// seq: an anchor made on an older version is mapped first. It fails,
// wrapping editor.ErrInvalid, for an empty or taken id.
func (s *Anchors) Add(id string, a Anchor) error {
	if id == "" {
		return fmt.Errorf("%w: anchor without a comment id", editor.ErrInvalid)
	}
	if _, dup := s.where[id]; dup {
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
	s.index(id, &a)
	return nil
}

// Remove takes the anchor of comment id out of the set (the comment was
// withdrawn or closed); it reports whether there was one.
func (s *Anchors) Remove(id string) bool {
	sec, ok := s.where[id]
	if !ok {
		return false
	}
	b := s.write(sec)
	delete(b.live, id)
	delete(b.orphans, id)
	delete(s.writeWhere(), id)
	s.tidy(sec)
	return true
}

// Get returns the anchor of comment id, stated as of the set's seq unless
// orphaned.
func (s *Anchors) Get(id string) (Anchor, bool) {
	a, ok := s.find(id)
	if !ok {
		return Anchor{}, false
	}
	return s.stated(a), true
}

// IDs returns the comment ids in the set, sorted.
func (s *Anchors) IDs() []string {
	return slices.Sorted(maps.Keys(s.where))
}

// All returns a copy of every anchor, by comment id, as Get states them.
func (s *Anchors) All() map[string]Anchor {
	out := make(map[string]Anchor, len(s.where))
	for id := range s.where {
		a, _ := s.find(id)
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

// index files a (the set's own) under its bucket.
func (s *Anchors) index(id string, a *Anchor) {
	sec := a.Section
	orphan := a.State == Orphaned
	if orphan && a.Kind() != KindQuote {
		sec = goneBucket // never found again
	}
	b := s.write(sec)
	if orphan {
		b.orphans[id] = a
	} else {
		b.live[id] = a
	}
	if cur, ok := s.where[id]; !ok || cur != sec {
		s.writeWhere()[id] = sec
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
	c, err := newTextCtx(d, st)
	if err != nil {
		return err
	}
	if _, ok := s.buckets[st.Section]; !ok {
		s.seq = d.Seq
		return nil
	}
	b := s.write(st.Section)
	type moved struct {
		id string
		a  *Anchor
	}
	var moves []moved
	// Typing inside one line (one change; every paragraph keeps its id,
	// its place and its text but there): a quote wholly before the change
	// stays, one wholly after it moves by the change's length, with no
	// search and no MapPos: what mapAnchor would give, in a few
	// comparisons. The rest takes the general path.
	fast := c.inLine && len(c.changes) == 1
	var ch change
	delta := 0
	if fast {
		ch = c.changes[0]
		delta = (ch.toB - ch.fromB) - (ch.toA - ch.fromA)
	}
	for id, a := range b.live {
		if fast && a.State != Orphaned && a.Quote != nil && a.Start >= 0 && a.Start < a.End {
			if a.End <= ch.fromA || a.Start >= ch.toA && a.Start > ch.fromA {
				if a.Start >= ch.toA && a.Start > ch.fromA {
					a.Start, a.End = a.Start+delta, a.End+delta
				}
				a.Version, a.Seq = c.sec.Version, d.Seq
				continue
			}
		}
		if a.State != Orphaned {
			a.Seq = s.seq // as Get would state it
		}
		*a = c.mapAnchor(*a)
		if a.State == Orphaned || a.Section != st.Section {
			moves = append(moves, moved{id, a})
		}
	}
	for id, a := range b.orphans {
		*a = c.mapAnchor(*a)
		if a.State != Orphaned || a.Section != st.Section {
			moves = append(moves, moved{id, a})
		}
	}
	for _, m := range moves {
		delete(b.live, m.id)
		delete(b.orphans, m.id)
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
		if _, ok := s.buckets[id]; ok {
			b := s.write(id)
			delete(s.buckets, id)
			delete(s.ownBuckets, id)
			// Its anchors are orphaned, and its orphans are never found
			// again: all go to the bucket of those no change can reach.
			gone := s.write(goneBucket)
			where := s.writeWhere()
			for cid, a := range b.live {
				a.Seq = s.seq
				*a = MapStructure(*a, d, sc)
				gone.orphans[cid], where[cid] = a, goneBucket
			}
			for cid, a := range b.orphans {
				gone.orphans[cid], where[cid] = a, goneBucket
			}
		}
	}
	s.seq = d.Seq
}

// tidy drops a bucket left empty.
func (s *Anchors) tidy(sec string) {
	if b := s.buckets[sec]; b != nil && len(b.live) == 0 && len(b.orphans) == 0 {
		delete(s.buckets, sec)
		delete(s.ownBuckets, sec)
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
