package editor

// Paragraph identity. Comments anchor to paragraph ids, so the ids must
// follow the text through every change by rules people can predict; see
// TrackParagraphs. The rules look only at which characters a change left
// untouched, never at what the new text says, so they cost one pass over
// the text however the change was made.

// TrackParagraphs carries paragraph ids across one change. before and after
// are a section's text before and after cs; ids holds one id per paragraph
// of before (see Paragraphs), in order. It returns one id per paragraph of
// after, in order, and the ids merged away, each mapped to the id of the
// paragraph it joined.
//
// A paragraph of after inherits from the paragraphs of before that have at
// least one character surviving unchanged into it (characters outside every
// replaced range, mapped to their new places):
//
//   - typing, pasting or deleting inside a paragraph, at its very start or
//     end included, keeps its id;
//   - a split keeps the id on the first part; later parts get new ids;
//   - a join keeps the id of the first paragraph joined and records the
//     others in merged (merged[second] = first), for joins of any number;
//   - a paragraph that loses all of its characters (deleted, or replaced
//     wholesale) loses its id: it is neither in out nor in merged;
//   - a paragraph of after without surviving characters (typed from
//     nothing, or a replacement) gets a new id.
//
// Precisely: the paragraphs of after are taken in order, and each takes
// the id of the first paragraph it inherits from whose id no earlier one
// has taken, or a new id when there is none. An id left over that way
// whose paragraph has surviving characters is merged into the first
// paragraph holding some of them, which by then has always taken an id:
// every value in merged is in out, and merged is nil when it would be
// empty. So when a boundary moves (the end of one paragraph joined to the
// next), both keep their ids.
//
// Where ids is shorter than the paragraphs of before (data from before ids
// were kept), the paragraphs without an id, and those whose id is empty or
// repeats an earlier one, count as having none: a paragraph of after that
// would take theirs gets a new id instead, and they are never in merged.
// That is filling the list with new ids first, except that no id is spent
// on a paragraph that is then merged away or deleted. Extra ids are
// ignored.
//
// New ids come from newID, which is called only for paragraphs that need
// one. An id it returns that is already among ids is skipped, so that an
// orphaned id is never handed out again; newID must not repeat itself.
// With that, out holds no id twice, and the result depends only on the
// arguments and on what newID returns. When cs does not turn before into
// after the result still has one unique id per paragraph of after, but
// which ids it keeps is unspecified.
//
// The cost is linear in the lengths of the texts and the number of
// changes.
func TrackParagraphs(before, after string, ids []string, cs ChangeSet, newID func() string) (out []string, merged map[string]string) {
	oldP, newP := Paragraphs(before), Paragraphs(after)
	links := linkParagraphs(before, after, oldP, newP, cs)

	// usable[i] says whether old paragraph i has an id of its own; known
	// holds every id present, to refuse duplicates and reused fresh ids.
	known := make(map[string]struct{}, len(ids))
	usable := make([]bool, len(oldP))
	for i, id := range ids {
		if _, dup := known[id]; id != "" && !dup && i < len(oldP) {
			usable[i] = true
		}
		known[id] = struct{}{}
	}
	fresh := func() string {
		// Bounded so that a newID breaking its contract cannot hang the hub.
		for tries := 0; ; tries++ {
			id := newID()
			if _, dup := known[id]; !dup || tries > len(known) {
				known[id] = struct{}{}
				return id
			}
		}
	}

	out = make([]string, len(newP))
	taken := make([]bool, len(oldP))
	k := 0
	for j := range newP {
		first := k
		for k < len(links) && links[k].new == j {
			k++
		}
		chosen := -1
		for _, l := range links[first:k] {
			if !taken[l.old] {
				chosen = l.old
				taken[chosen] = true
				break
			}
		}
		if chosen >= 0 && usable[chosen] {
			out[j] = ids[chosen]
		} else {
			out[j] = fresh()
		}
	}
	// links are ordered by new paragraph, so the first link of an old
	// paragraph names the first new paragraph it survives into.
	for _, l := range links {
		if taken[l.old] || !usable[l.old] {
			continue
		}
		if merged == nil {
			merged = make(map[string]string)
		}
		if _, ok := merged[ids[l.old]]; !ok {
			merged[ids[l.old]] = out[l.new]
		}
	}
	return out, merged
}

// paraLink says that some character of old paragraph old survives,
// unchanged, into new paragraph new.
type paraLink struct{ old, new int }

// linkParagraphs returns every pair of an old and a new paragraph linked by
// a surviving character, each once. Because a change keeps the order of the
// characters it leaves alone, the pairs are ordered by old and by new index
// at once, which lets one sweep find them all.
func linkParagraphs(before, after string, oldP, newP []Span, cs ChangeSet) []paraLink {
	w := linkWalk{before: before, after: after, oldP: oldP, newP: newP}
	posA, posB := 0, 0
	cs.IterChanges(func(fromA, toA, fromB, toB int, _ string) {
		w.kept(posA, fromA, posB)
		posA, posB = toA, toB
	})
	w.kept(posA, max(cs.LenBefore(), posA), posB)
	return w.links
}

// linkWalk holds the state of linkParagraphs' sweep: cursors that only move
// forward, so the whole sweep is one pass over both texts.
type linkWalk struct {
	before, after string
	oldP, newP    []Span
	// unitA, byteA: a UTF-16 position in before and its byte offset;
	// likewise unitB, byteB in after.
	unitA, byteA, unitB, byteB int
	i, j                       int // the first old and new paragraphs not passed yet
	links                      []paraLink
}

// kept handles the range fromA–toA (UTF-16) of before, which the change
// keeps unchanged at fromB in after.
func (w *linkWalk) kept(fromA, toA, fromB int) {
	if toA <= fromA {
		return
	}
	// Kept text is the same bytes on both sides, so one byte length serves.
	startA, _, _ := advance(w.before, w.byteA, fromA-w.unitA)
	endA, _, _ := advance(w.before, startA, toA-fromA)
	startB, _, _ := advance(w.after, w.byteB, fromB-w.unitB)
	n := endA - startA
	w.unitA, w.byteA = toA, endA
	w.unitB, w.byteB = fromB+toA-fromA, min(startB+n, len(w.after))

	// Each turn passes a paragraph or ends the range, so the sweep is
	// linear; paragraphs ending before the range are passed like others.
	for w.i < len(w.oldP) && w.j < len(w.newP) {
		// Both paragraphs in offsets from the start of the kept range.
		o, p := w.oldP[w.i], w.newP[w.j]
		oStart, oEnd := o.Start-startA, o.End-startA
		pStart, pEnd := p.Start-startB, p.End-startB
		if oStart >= n || pStart >= n {
			return
		}
		if max(oStart, pStart, 0) < min(oEnd, pEnd, n) {
			w.link(w.i, w.j)
		}
		if oEnd >= n && pEnd >= n {
			return // both go on into the next kept range
		}
		if oEnd <= pEnd {
			w.i++
		} else {
			w.j++
		}
	}
}

func (w *linkWalk) link(old, new int) {
	if k := len(w.links) - 1; k >= 0 && w.links[k] == (paraLink{old, new}) {
		return // the same pair seen again in a later kept range
	}
	w.links = append(w.links, paraLink{old, new})
}
