package comments

// Clone returns a copy of the set that shares nothing with it (the
// authority keeps one for the durable document and one it works on).
func (s *Anchors) Clone() *Anchors {
	n := &Anchors{
		seq:     s.seq,
		byID:    make(map[string]*Anchor, len(s.byID)),
		live:    make(map[string]map[string]*Anchor, len(s.live)),
		orphans: make(map[string]map[string]*Anchor, len(s.orphans)),
	}
	for id, a := range s.byID {
		c := *a
		if a.Quote != nil {
			q := *a.Quote
			c.Quote = &q
		}
		n.byID[id] = &c
	}
	for _, pair := range []struct{ from, to map[string]map[string]*Anchor }{{s.live, n.live}, {s.orphans, n.orphans}} {
		for sec, m := range pair.from {
			x := make(map[string]*Anchor, len(m))
			for id := range m {
				x[id] = n.byID[id]
			}
			pair.to[sec] = x
		}
	}
	return n
}
