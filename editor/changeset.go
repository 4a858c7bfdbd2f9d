package editor

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors for change sets that are malformed or do not fit their document.
// Every error returned for such a change wraps ErrBadChange and one of the
// more specific errors below; check them with errors.Is.
var (
	// ErrBadChange is wrapped by every error that rejects a change set, so
	// that a client's bad change can be told apart from other failures.
	ErrBadChange = errors.New("bad change")

	// ErrMalformedJSON means the JSON is not a change set in CodeMirror's
	// toJSON form, or holds a negative, fractional or oversized number.
	ErrMalformedJSON = errors.New("malformed change set JSON")

	// ErrLengthMismatch means the change set's length before (LenBefore)
	// is not the UTF-16 length of the document it is applied to.
	ErrLengthMismatch = errors.New("change set length does not match the document")

	// ErrSplitSurrogate means a replaced range starts or ends between the
	// two UTF-16 halves of a character outside the Basic Multilingual Plane
	// (an emoji, say), which a UTF-8 document cannot represent.
	ErrSplitSurrogate = errors.New("change splits a surrogate pair")

	// ErrInvalidText means inserted text is not valid UTF-8, which includes
	// a lone surrogate, or that a JSON line holds a line break.
	ErrInvalidText = errors.New("invalid inserted text")

	// ErrInvalidRange means a Change given to ChangeSetOf has From > To or
	// lies outside the document.
	ErrInvalidRange = errors.New("invalid change range")
)

// changeError carries a specific sentinel, ErrBadChange and context.
type changeError struct {
	kind   error
	detail string
}

func (e *changeError) Error() string   { return "editor: " + e.kind.Error() + ": " + e.detail }
func (e *changeError) Unwrap() []error { return []error{e.kind, ErrBadChange} }
func badChange(kind error, format string, args ...any) error {
	return &changeError{kind: kind, detail: fmt.Sprintf(format, args...)}
}

// maxLen bounds every length read from JSON. JavaScript strings cannot be
// longer, and it keeps sums of lengths far from overflow.
const maxLen = 1<<31 - 1

// ChangeSet is a set of replacements on a text, CodeMirror 6's ChangeSet
// from @codemirror/state: every method gives exactly the result of the
// library's method of the same name for the same input, including the
// internal section layout, so that JSON produced here and in the browser
// is identical. Positions and lengths are UTF-16 code units.
//
// The zero value is the empty change set of a zero-length document. A
// ChangeSet is immutable and safe to share between goroutines.
type ChangeSet struct {
	// sections holds pairs (len, ins): len is a length in the document
	// before the change; ins is -1 for a kept range, otherwise the length
	// of the text replacing that range.
	sections []int
	// inserted[k] is the text of section k, lines joined with "\n". It may
	// be shorter than the number of sections; missing entries are "".
	inserted []string
}

// Change is one replacement for ChangeSetOf: the range From–To of the
// document (UTF-16 units) is replaced by Insert.
type Change struct {
	From, To int
	Insert   string
}

// MapMode says how MapPos treats a position whose surroundings are deleted,
// like CodeMirror's MapMode.
type MapMode int

const (
	// MapSimple maps every position to a valid position, even when its
	// context was deleted.
	MapSimple MapMode = iota
	// MapTrackDel reports deletion when a deletion spans the position.
	MapTrackDel
	// MapTrackBefore reports deletion when the character before the
	// position is deleted.
	MapTrackBefore
	// MapTrackAfter reports deletion when the character after the position
	// is deleted.
	MapTrackAfter
)

// EmptyChangeSet returns the change set that keeps a document of the given
// length unchanged, like ChangeSet.empty(length).
func EmptyChangeSet(length int) ChangeSet {
	if length == 0 {
		return ChangeSet{}
	}
	return ChangeSet{sections: []int{length, -1}}
}

// LenBefore returns the length of the document the set applies to
// (CodeMirror's length).
func (c ChangeSet) LenBefore() int {
	n := 0
	for i := 0; i < len(c.sections); i += 2 {
		n += c.sections[i]
	}
	return n
}

// LenAfter returns the length of the document the set produces
// (CodeMirror's newLength).
func (c ChangeSet) LenAfter() int {
	n := 0
	for i := 0; i < len(c.sections); i += 2 {
		if ins := c.sections[i+1]; ins < 0 {
			n += c.sections[i]
		} else {
			n += ins
		}
	}
	return n
}

// Empty reports whether the set is written as no change, with CodeMirror's
// definition: no sections, or a single kept one. (A set of only zero-length
// deletions is not Empty, as in CodeMirror.)
func (c ChangeSet) Empty() bool {
	return len(c.sections) == 0 || len(c.sections) == 2 && c.sections[1] < 0
}

// text returns the inserted text of section k.
func (c ChangeSet) text(k int) string {
	if k < len(c.inserted) {
		return c.inserted[k]
	}
	return ""
}

// String returns CodeMirror's debugging form, e.g. "5 0:3 2:0".
func (c ChangeSet) String() string {
	var b strings.Builder
	for i := 0; i < len(c.sections); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, c.sections[i])
		if ins := c.sections[i+1]; ins >= 0 {
			fmt.Fprintf(&b, ":%d", ins)
		}
	}
	return b.String()
}

// IterChanges calls f for each changed range in order: fromA–toA in the
// document before, fromB–toB in the document after, and the text inserted
// there. Adjacent changes are reported together, as CodeMirror's
// iterChanges does by default.
func (c ChangeSet) IterChanges(f func(fromA, toA, fromB, toB int, inserted string)) {
	c.iterChanges(f, false)
}

// IterChangesIndividual is IterChanges with adjacent changes reported one
// by one (CodeMirror's iterChanges with individual set).
func (c ChangeSet) IterChangesIndividual(f func(fromA, toA, fromB, toB int, inserted string)) {
	c.iterChanges(f, true)
}

func (c ChangeSet) iterChanges(f func(fromA, toA, fromB, toB int, inserted string), individual bool) {
	s := c.sections
	for posA, posB, i := 0, 0, 0; i < len(s); {
		l, ins := s[i], s[i+1]
		i += 2
		if ins < 0 {
			posA += l
			posB += l
			continue
		}
		endA, endB, text := posA, posB, ""
		for {
			endA += l
			endB += ins
			if ins > 0 {
				text = joinText(text, c.text(i/2-1))
			}
			if individual || i == len(s) || s[i+1] < 0 {
				break
			}
			l, ins = s[i], s[i+1]
			i += 2
		}
		f(posA, endA, posB, endB, text)
		posA, posB = endA, endB
	}
}

// Apply returns doc with the changes applied. It fails with
// ErrLengthMismatch when doc's UTF-16 length is not LenBefore and with
// ErrSplitSurrogate when a section boundary would cut an emoji in half
// (CodeMirror itself only ever puts boundaries there when asked to). It does not check the inserted text (CheckAgainst
// does). Its cost is one pass over doc.
func (c ChangeSet) Apply(doc string) (string, error) {
	grow := len(doc)
	for _, t := range c.inserted {
		grow += len(t)
	}
	var b strings.Builder
	b.Grow(grow)
	i, pos := 0, 0
	for k := 0; k < len(c.sections); k += 2 {
		l, ins := c.sections[k], c.sections[k+1]
		j, split, short := advance(doc, i, l)
		if short {
			return "", badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
		}
		if split {
			return "", badChange(ErrSplitSurrogate, "section boundary at %d", pos+l)
		}
		if ins < 0 {
			b.WriteString(doc[i:j])
		} else if ins > 0 {
			b.WriteString(c.text(k / 2))
		}
		i, pos = j, pos+l
	}
	if i != len(doc) {
		return "", badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
	}
	return b.String(), nil
}

// CheckAgainst reports whether the set can be applied to doc: its
// LenBefore must be doc's UTF-16 length (ErrLengthMismatch), no replaced
// range (indeed no section) may start or end inside a surrogate pair
// (ErrSplitSurrogate), and
// every inserted text must be valid UTF-8 without lone surrogates or, for
// consistency with CodeMirror's line model, carriage returns
// (ErrInvalidText). A set that passes applies without error and yields a
// valid document. Use it on every change from the wire.
func (c ChangeSet) CheckAgainst(doc string) error {
	for k, t := range c.inserted {
		if k*2+1 < len(c.sections) && c.sections[k*2+1] > 0 {
			if err := checkText(t); err != nil {
				return err
			}
		}
	}
	i, pos := 0, 0
	for k := 0; k < len(c.sections); k += 2 {
		l := c.sections[k]
		j, split, short := advance(doc, i, l)
		if short {
			return badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
		}
		if split {
			return badChange(ErrSplitSurrogate, "at %d", pos+l)
		}
		i, pos = j, pos+l
	}
	if i != len(doc) {
		return badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
	}
	for k := 0; k+1 < len(c.sections); k += 2 {
		if ins := c.sections[k+1]; ins > 0 && UTF16Len(c.text(k/2)) != ins {
			return badChange(ErrInvalidText, "section %d: text is not %d long", k/2, ins)
		}
	}
	return nil
}

// checkText rejects text a CodeMirror document cannot hold as we store it.
func checkText(t string) error {
	if !utf8.ValidString(t) {
		return badChange(ErrInvalidText, "not valid UTF-8 or holds a lone surrogate")
	}
	if strings.IndexByte(t, '\r') >= 0 {
		return badChange(ErrInvalidText, "holds a carriage return")
	}
	return nil
}

// Invert returns the set that undoes c, given the document c applies to
// (CodeMirror's invert). It fails like Apply when doc does not fit.
func (c ChangeSet) Invert(doc string) (ChangeSet, error) {
	sections := append([]int(nil), c.sections...)
	var inserted []string
	i, pos := 0, 0
	for k := 0; k < len(sections); k += 2 {
		l, ins := sections[k], sections[k+1]
		j, split, short := advance(doc, i, l)
		if short {
			return ChangeSet{}, badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
		}
		if split {
			return ChangeSet{}, badChange(ErrSplitSurrogate, "at %d", pos+l)
		}
		if ins >= 0 {
			sections[k], sections[k+1] = ins, l
			for len(inserted) < k/2 {
				inserted = append(inserted, "")
			}
			inserted = append(inserted, doc[i:j])
		}
		i, pos = j, pos+l
	}
	if i != len(doc) {
		return ChangeSet{}, badChange(ErrLengthMismatch, "document is %d long, change set %d", UTF16Len(doc), c.LenBefore())
	}
	return ChangeSet{sections: sections, inserted: inserted}, nil
}

// Compose returns the set that has the effect of c followed by other,
// which must start from the document c produces (CodeMirror's compose).
// It panics when other.LenBefore() != c.LenAfter() and neither is Empty,
// as CodeMirror throws; check lengths of untrusted sets first.
func (c ChangeSet) Compose(other ChangeSet) ChangeSet {
	if c.Empty() {
		return other
	}
	if other.Empty() {
		return c
	}
	return composeSets(c, other, true)
}

// Map returns c rewritten to apply after other, where both start from the
// same document (CodeMirror's map). When both insert at one position, c's
// insertion goes after other's unless before is true. For any a and b
// starting from one document, a.Compose(b.Map(a, false)) and
// b.Compose(a.Map(b, true)) produce the same document. It panics when the
// two sets do not start from documents of the same length.
func (c ChangeSet) Map(other ChangeSet, before bool) ChangeSet {
	if other.Empty() {
		return c
	}
	return mapSet(c, other, before, true)
}

// MapPos maps a position in the document before the change to one in the
// document after it (CodeMirror's mapPos). assoc < 0 keeps the position
// before text inserted at it, assoc > 0 after. ok is false when mode
// tracks deletion and the position's context was deleted (CodeMirror
// returns null); the position is then meaningless. MapPos panics when pos
// is outside [0, LenBefore()]: check untrusted positions first.
func (c ChangeSet) MapPos(pos, assoc int, mode MapMode) (mapped int, ok bool) {
	if pos < 0 {
		panic(fmt.Sprintf("editor: MapPos: position %d is negative", pos))
	}
	posA, posB := 0, 0
	s := c.sections
	for i := 0; i < len(s); i += 2 {
		l, ins := s[i], s[i+1]
		endA := posA + l
		if ins < 0 {
			if endA > pos {
				return posB + (pos - posA), true
			}
			posB += l
		} else {
			if mode != MapSimple && endA >= pos &&
				(mode == MapTrackDel && posA < pos && endA > pos ||
					mode == MapTrackBefore && posA < pos ||
					mode == MapTrackAfter && endA > pos) {
				return 0, false
			}
			if endA > pos || endA == pos && assoc < 0 && l == 0 {
				if pos == posA || assoc < 0 {
					return posB, true
				}
				return posB + ins, true
			}
			posB += ins
		}
		posA = endA
	}
	if pos > posA {
		panic(fmt.Sprintf("editor: MapPos: position %d is out of range for change set of length %d", pos, posA))
	}
	return posB, true
}

// ChangeSetOf builds a change set for a document of the given length from
// changes given in any order, with positions in the original document,
// exactly as CodeMirror's ChangeSet.of. Line breaks "\r\n" and "\r" in
// inserted text become "\n", as CodeMirror splits them. It fails with
// ErrInvalidRange for a change outside [0, length] or with From > To.
func ChangeSetOf(changes []Change, length int) (ChangeSet, error) {
	var (
		sections []int
		inserted []string
		pos      int
		total    ChangeSet
		haveTot  bool
	)
	flush := func(force bool) {
		if !force && len(sections) == 0 {
			return
		}
		if pos < length {
			sections = addSection(sections, length-pos, -1, false)
		}
		set := ChangeSet{sections: sections, inserted: inserted}
		if haveTot {
			total = total.Compose(set.Map(total, false))
		} else {
			total, haveTot = set, true
		}
		sections, inserted, pos = nil, nil, 0
	}
	for _, ch := range changes {
		if ch.From > ch.To || ch.From < 0 || ch.To > length {
			return ChangeSet{}, badChange(ErrInvalidRange, "%d to %d in a document of length %d", ch.From, ch.To, length)
		}
		text := NormalizeLineBreaks(ch.Insert)
		insLen := UTF16Len(text)
		if ch.From == ch.To && insLen == 0 {
			continue
		}
		if ch.From < pos {
			flush(false)
		}
		if ch.From > pos {
			sections = addSection(sections, ch.From-pos, -1, false)
		}
		sections = addSection(sections, ch.To-ch.From, insLen, false)
		inserted = addInsert(inserted, sections, text)
		pos = ch.To
	}
	flush(!haveTot)
	return total, nil
}

// NormalizeLineBreaks turns \r\n and lone \r into \n, as CodeMirror does
// with every text it is given. Text entering a document from outside (an
// import, a new section, a title) goes through it, so that the server's
// copy and every client's have the same length.
func NormalizeLineBreaks(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// addSection appends a section, merging it into the last one where
// CodeMirror does, so that equal changes get equal layouts.
func addSection(sections []int, l, ins int, forceJoin bool) []int {
	if l == 0 && ins <= 0 {
		return sections
	}
	last := len(sections) - 2
	switch {
	case last >= 0 && ins <= 0 && ins == sections[last+1]:
		sections[last] += l
	case last >= 0 && l == 0 && sections[last] == 0:
		sections[last+1] += ins
	case forceJoin && last >= 0:
		sections[last] += l
		sections[last+1] += ins
	default:
		sections = append(sections, l, ins)
	}
	return sections
}

// addInsert records text as the insertion of the last section, joining it
// to text already there.
func addInsert(values []string, sections []int, text string) []string {
	if text == "" {
		return values
	}
	index := (len(sections) - 2) >> 1
	if index < len(values) {
		values[len(values)-1] = joinText(values[len(values)-1], text)
		return values
	}
	for len(values) < index {
		values = append(values, "")
	}
	return append(values, text)
}

// sectionIter walks the sections of a set, possibly part of one at a time.
type sectionIter struct {
	set ChangeSet
	i   int // index of the next pair in set.sections
	// The current section: length left, insertion length left (-1 kept,
	// -2 done) and how much of it was consumed.
	len, ins, off int
	// A byte offset into the current section's text known to be at UTF-16
	// offset cOff, so that consecutive textBit calls do not rescan.
	cSec, cOff, cByte int
}

func newSectionIter(set ChangeSet) *sectionIter {
	it := &sectionIter{set: set, cSec: -1}
	it.next()
	return it
}

func (it *sectionIter) next() {
	if s := it.set.sections; it.i < len(s) {
		it.len, it.ins = s[it.i], s[it.i+1]
		it.i += 2
	} else {
		it.len, it.ins = 0, -2
	}
	it.off = 0
}

func (it *sectionIter) done() bool { return it.ins == -2 }

// len2 is the length left on the side after the change.
func (it *sectionIter) len2() int {
	if it.ins < 0 {
		return it.len
	}
	return it.ins
}

func (it *sectionIter) text() string { return it.set.text((it.i - 2) >> 1) }

// textBit returns n units of the current section's text from off.
func (it *sectionIter) textBit(n int) string {
	k := (it.i - 2) >> 1
	s := it.set.text(k)
	if it.cSec != k || it.off < it.cOff {
		it.cSec, it.cOff, it.cByte = k, 0, 0
	}
	i, splitA, _ := advance(s, it.cByte, it.off-it.cOff)
	j, splitB, _ := advance(s, i, n)
	if splitA || splitB {
		return sliceUTF16(s, it.off, it.off+n)
	}
	it.cOff, it.cByte = it.off+n, j
	return s[i:j]
}

func (it *sectionIter) forward(n int) {
	if n == it.len {
		it.next()
	} else {
		it.len -= n
		it.off += n
	}
}

func (it *sectionIter) forward2(n int) {
	switch {
	case it.ins == -1:
		it.forward(n)
	case n == it.ins:
		it.next()
	default:
		it.ins -= n
		it.off += n
	}
}

// mapSet is CodeMirror's mapSet: a rewritten to apply after b. Without
// mkSet the result carries no text (a ChangeDesc in CodeMirror).
func mapSet(a, b ChangeSet, before, mkSet bool) ChangeSet {
	if la, lb := a.LenBefore(), b.LenBefore(); la != lb {
		panic(fmt.Sprintf("editor: Map: change sets of lengths %d and %d do not start from the same document", la, lb))
	}
	var sections []int
	var insert []string
	ai, bi := newSectionIter(a), newSectionIter(b)
	// inserted is the section index (ai.i) whose text was already emitted,
	// for changes in a that are processed in pieces.
	for inserted := -1; ; {
		switch {
		case ai.done() && bi.len != 0 || bi.done() && ai.len != 0:
			panic("editor: Map: mismatched change set lengths")
		case ai.ins == -1 && bi.ins == -1:
			// Both keep: keep.
			n := min(ai.len, bi.len)
			sections = addSection(sections, n, -1, false)
			ai.forward(n)
			bi.forward(n)
		case bi.ins >= 0 && (ai.ins < 0 || inserted == ai.i || ai.off == 0 && (bi.len < ai.len || bi.len == ai.len && !before)):
			// A change in b comes first (by position, then length, then
			// the before flag): keep its result, dropping what of a it
			// covers except a's insertions.
			n := bi.len
			sections = addSection(sections, bi.ins, -1, false)
			for n > 0 {
				if ai.done() {
					panic("editor: Map: mismatched change set lengths")
				}
				piece := min(ai.len, n)
				if ai.ins >= 0 && inserted < ai.i && ai.len <= piece {
					sections = addSection(sections, 0, ai.ins, false)
					if mkSet {
						insert = addInsert(insert, sections, ai.text())
					}
					inserted = ai.i
				}
				ai.forward(piece)
				n -= piece
			}
			bi.next()
		case ai.ins >= 0:
			// A change in a, up to the next change in b that is not a
			// deletion inside it.
			n, left := 0, ai.len
			for left > 0 {
				if bi.ins == -1 {
					piece := min(left, bi.len)
					n += piece
					left -= piece
					bi.forward(piece)
				} else if bi.ins == 0 && bi.len < left {
					left -= bi.len
					bi.next()
				} else {
					break
				}
			}
			ins := 0
			if inserted < ai.i {
				ins = ai.ins
			}
			sections = addSection(sections, n, ins, false)
			if mkSet && inserted < ai.i {
				insert = addInsert(insert, sections, ai.text())
			}
			inserted = ai.i
			ai.forward(ai.len - left)
		case ai.done() && bi.done():
			return ChangeSet{sections: sections, inserted: insert}
		default:
			panic("editor: Map: mismatched change set lengths")
		}
	}
}

// composeSets is CodeMirror's composeSets: a followed by b.
func composeSets(a, b ChangeSet, mkSet bool) ChangeSet {
	if la, lb := a.LenAfter(), b.LenBefore(); la != lb {
		panic(fmt.Sprintf("editor: Compose: first set produces length %d, second starts from %d", la, lb))
	}
	var sections []int
	var insert []string
	ai, bi := newSectionIter(a), newSectionIter(b)
	for open := false; ; {
		switch {
		case ai.done() && bi.done():
			return ChangeSet{sections: sections, inserted: insert}
		case ai.ins == 0: // deletion in a
			sections = addSection(sections, ai.len, 0, open)
			ai.next()
		case bi.len == 0 && !bi.done(): // insertion in b
			sections = addSection(sections, 0, bi.ins, open)
			if mkSet {
				insert = addInsert(insert, sections, bi.text())
			}
			bi.next()
		case ai.done() || bi.done():
			panic("editor: Compose: mismatched change set lengths")
		default:
			n, sectionLen := min(ai.len2(), bi.len), len(sections)
			switch {
			case ai.ins == -1:
				insB := -1
				if bi.ins != -1 {
					insB = 0
					if bi.off == 0 {
						insB = bi.ins
					}
				}
				sections = addSection(sections, n, insB, open)
				if mkSet && insB != 0 {
					insert = addInsert(insert, sections, bi.text())
				}
			case bi.ins == -1:
				lenA := ai.len
				if ai.off != 0 {
					lenA = 0
				}
				sections = addSection(sections, lenA, n, open)
				if mkSet {
					insert = addInsert(insert, sections, ai.textBit(n))
				}
			default:
				lenA, insB := ai.len, bi.ins
				if ai.off != 0 {
					lenA = 0
				}
				if bi.off != 0 {
					insB = 0
				}
				sections = addSection(sections, lenA, insB, open)
				if mkSet && bi.off == 0 {
					insert = addInsert(insert, sections, bi.text())
				}
			}
			open = (ai.ins > n || bi.ins >= 0 && bi.len > n) && (open || len(sections) > sectionLen)
			ai.forward2(n)
			bi.forward(n)
		}
	}
}
