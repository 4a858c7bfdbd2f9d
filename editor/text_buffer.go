package editor

import (
	"fmt"
	"hash/crc32"
)

// Text is a collaborative text held for editing: UTF-8 bytes that change in
// place, with their UTF-16 length cached. It is the fast way to apply a
// stream of changes to a long text: a keystroke costs a search to its
// position and a move of the bytes after it, with no allocation and no
// copy of the whole text, where ChangeSet.Apply on a string builds a new
// string each time.
//
// A Text is not safe for concurrent use; it is meant to be owned by one
// goroutine (a document's hub). The zero value is an empty text.
type Text struct {
	buf   []byte
	spare []byte // the previous buffer, reused by multi-change applies
	units int    // UTF-16 length of buf
}

// NewText returns a Text holding a copy of s, which should be valid UTF-8.
func NewText(s string) *Text {
	return &Text{buf: []byte(s), units: UTF16Len(s)}
}

// Len returns the text's length in UTF-16 code units, the LenBefore a
// change set must have to apply to it.
func (t *Text) Len() int { return t.units }

// String returns a copy of the text.
func (t *Text) String() string { return string(t.buf) }

// Apply applies c in place, after the checks of CheckAgainst: on
// ErrLengthMismatch, ErrSplitSurrogate or ErrInvalidText the text is left
// unchanged. So a change from the wire can be given to Apply directly.
func (t *Text) Apply(c ChangeSet) error {
	if n := c.LenBefore(); n != t.units {
		return badChange(ErrLengthMismatch, "document is %d long, change set %d", t.units, n)
	}
	changed := -1 // the only changed section, or -2 if several
	for k := 0; k < len(c.sections); k += 2 {
		ins := c.sections[k+1]
		if ins < 0 {
			continue
		}
		if changed == -1 {
			changed = k
		} else {
			changed = -2
		}
		if ins > 0 {
			text := c.text(k / 2)
			if err := checkText(text); err != nil {
				return err
			}
			if UTF16Len(text) != ins {
				return badChange(ErrInvalidText, "section %d: text is not %d long", k/2, ins)
			}
		}
	}
	switch changed {
	case -1:
		return nil
	case -2:
		return t.rebuild(c)
	}
	return t.splice(c, changed)
}

// splice replaces the one changed section k in place.
func (t *Text) splice(c ChangeSet, k int) error {
	from := 0
	for i := 0; i < k; i += 2 {
		from += c.sections[i]
	}
	l, ins := c.sections[k], c.sections[k+1]
	a, split, _ := advance(t.buf, 0, from)
	if split {
		return badChange(ErrSplitSurrogate, "at %d", from)
	}
	b, split, short := advance(t.buf, a, l)
	if short {
		return fmt.Errorf("editor: Text out of step with its length: %w", ErrLengthMismatch)
	}
	if split {
		return badChange(ErrSplitSurrogate, "at %d", from+l)
	}
	text := c.text(k / 2)
	oldLen := len(t.buf)
	newLen := oldLen - (b - a) + len(text)
	if newLen > cap(t.buf) {
		grown := make([]byte, newLen, newLen+newLen/4+64)
		copy(grown, t.buf[:a])
		copy(grown[a+len(text):], t.buf[b:])
		t.buf = grown
	} else {
		t.buf = t.buf[:max(oldLen, newLen)]
		copy(t.buf[a+len(text):], t.buf[b:oldLen])
		t.buf = t.buf[:newLen]
	}
	copy(t.buf[a:], text)
	t.units += ins - l
	return nil
}

// rebuild writes the changed text into the spare buffer and swaps.
func (t *Text) rebuild(c ChangeSet) error {
	out := t.spare[:0]
	i, pos := 0, 0
	for k := 0; k < len(c.sections); k += 2 {
		l, ins := c.sections[k], c.sections[k+1]
		j, split, short := advance(t.buf, i, l)
		if short {
			return fmt.Errorf("editor: Text out of step with its length: %w", ErrLengthMismatch)
		}
		if split {
			return badChange(ErrSplitSurrogate, "section boundary at %d", pos+l)
		}
		if ins < 0 {
			out = append(out, t.buf[i:j]...)
		} else if ins > 0 {
			out = append(out, c.text(k/2)...)
		}
		i, pos = j, pos+l
	}
	t.spare, t.buf = t.buf, out
	t.units = c.LenAfter()
	return nil
}

// Checksum returns Checksum of the text, without copying it.
func (t *Text) Checksum() uint32 { return crc32.ChecksumIEEE(t.buf) }
