package editor

import (
	"hash/crc32"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Positions in the collaborative protocol are UTF-16 code units, because
// that is how JavaScript strings (and so CodeMirror) count; the server keeps
// text as UTF-8 Go strings. The helpers here convert between the two without
// decoding: in UTF-8, every byte that is not a continuation byte starts a
// character worth one UTF-16 unit, and a four-byte leader starts one worth
// two (a surrogate pair). That lets eight bytes be counted at a time.

// hiBits masks the top bit of each byte in a word.
const hiBits = 0x8080808080808080

// load64 reads the first eight bytes of s little-endian; the compiler
// turns it into one load.
func load64[T ~string | ~[]byte](s T) uint64 {
	s = s[:8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// units64 counts the UTF-16 units started by the eight bytes in w. A
// character cut by the word boundary is counted in the word holding its
// leading byte.
func units64(w uint64) int {
	if w&hiBits == 0 {
		return 8
	}
	cont := w & hiBits &^ (w << 1)                                  // 10xxxxxx
	four := w & (w << 1) & (w << 2) & (w << 3) &^ (w << 4) & hiBits // 11110xxx
	return 8 - bits.OnesCount64(cont) + bits.OnesCount64(four)
}

// UTF16Len returns the length of s in UTF-16 code units, the unit of every
// position and length in a ChangeSet: what JavaScript's s.length would be
// for the same text. Invalid UTF-8 bytes count as one unit each, except
// stray continuation bytes, which count as none; callers keep documents
// valid.
func UTF16Len(s string) int { return utf16Len(s) }

func utf16Len[T ~string | ~[]byte](s T) int {
	n := 0
	for len(s) >= 32 {
		w0, w1, w2, w3 := load64(s), load64(s[8:]), load64(s[16:]), load64(s[24:])
		if (w0|w1|w2|w3)&hiBits == 0 {
			n += 32
		} else {
			n += units64(w0) + units64(w1) + units64(w2) + units64(w3)
		}
		s = s[32:]
	}
	for len(s) >= 8 {
		n += units64(load64(s))
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		n += byteUnits(s[i])
	}
	return n
}

// byteUnits is the UTF-16 units started by the byte b.
func byteUnits(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b < 0xC0:
		return 0
	case b < 0xF0:
		return 1
	case b < 0xF8:
		return 2
	}
	return 1
}

// advance moves n UTF-16 units forward from byte offset i, which must be at
// a character boundary, and returns the byte offset reached. split is true
// when the target lies between the two halves of a surrogate pair (the
// returned offset is then the start of that character); short is true when
// s ends first.
func advance[T ~string | ~[]byte](s T, i, n int) (j int, split, short bool) {
	// Whole words while they cannot overshoot: no byte starts more than two
	// units, so 32 bytes hold at most 64.
	for n >= 64 && i+32 <= len(s) {
		t := s[i : i+32]
		w0, w1, w2, w3 := load64(t), load64(t[8:]), load64(t[16:]), load64(t[24:])
		if (w0|w1|w2|w3)&hiBits == 0 {
			n -= 32
		} else {
			n -= units64(w0) + units64(w1) + units64(w2) + units64(w3)
		}
		i += 32
	}
	for n >= 16 && i+8 <= len(s) {
		n -= units64(load64(s[i:]))
		i += 8
	}
	// A word may end inside a character whose units it already counted.
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	for n > 0 {
		if i >= len(s) {
			return i, false, true
		}
		b := s[i]
		if b < 0x80 {
			i++
			n--
			continue
		}
		u := byteUnits(b)
		if u > n {
			return i, true, false
		}
		n -= u
		i += utf8Len(b)
		if i > len(s) {
			i = len(s)
		}
	}
	return i, false, false
}

// utf8Len is the byte length of the character led by b (1 for bytes that
// cannot lead one, so that invalid input still makes progress).
func utf8Len(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	case b < 0xF8:
		return 4
	}
	return 1
}

// ByteOffset converts the UTF-16 offset u in s to a byte offset. ok is false
// when u is negative, beyond the end of s, or between the two halves of a
// surrogate pair, where no byte offset corresponds.
func ByteOffset(s string, u int) (b int, ok bool) {
	if u < 0 {
		return 0, false
	}
	j, split, short := advance(s, 0, u)
	return j, !split && !short
}

// UTF16Offset converts the byte offset b in s to a UTF-16 offset. A b inside
// a multi-byte character counts that character as not yet reached; b is
// clamped to [0, len(s)].
func UTF16Offset(s string, b int) int {
	b = max(0, min(b, len(s)))
	// Back off to the character start so a partial character is excluded.
	for b > 0 && b < len(s) && s[b]&0xC0 == 0x80 {
		b--
	}
	return UTF16Len(s[:b])
}

// sliceUTF16 returns s[from:to] with the bounds in UTF-16 units, like
// JavaScript's slice on the same text. A bound inside a surrogate pair cuts
// the pair the way JavaScript does, leaving a lone surrogate, written in
// WTF-8 (a three-byte surrogate encoding) so that UTF16Len still counts it
// as one unit. Valid change sets never need that; CheckAgainst rejects it.
func sliceUTF16(s string, from, to int) string {
	i, splitA, _ := advance(s, 0, from)
	at := from
	if splitA {
		at-- // i is the start of the pair, one unit before from
	}
	j, splitB, _ := advance(s, i, to-at)
	if !splitA && !splitB {
		return s[i:j]
	}
	if from >= to {
		return ""
	}
	var out []byte
	if splitA {
		r, size := utf8.DecodeRuneInString(s[i:])
		_, lo := surrogates(r)
		out = append(out, wtf8(lo)...)
		i += size
	}
	if i < j {
		out = append(out, s[i:j]...)
	}
	if splitB {
		r, _ := utf8.DecodeRuneInString(s[j:])
		hi, _ := surrogates(r)
		out = append(out, wtf8(hi)...)
	}
	return string(out)
}

// surrogates splits a supplementary-plane rune into its UTF-16 halves.
func surrogates(r rune) (hi, lo rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// wtf8 encodes a lone surrogate as the three bytes UTF-8 would use if it
// allowed surrogates.
func wtf8(r rune) string {
	return string([]byte{0xE0 | byte(r>>12), 0x80 | byte(r>>6)&0x3F, 0x80 | byte(r)&0x3F})
}

// joinText concatenates a and b. Where a ends with a lone high surrogate
// and b starts with a lone low one (halves cut apart by sliceUTF16), the
// two become one character again, as they do in JavaScript.
func joinText(a, b string) string {
	if len(a) < 3 || len(b) < 3 {
		return a + b
	}
	hi, okA := wtf8Surrogate(a[len(a)-3:])
	lo, okB := wtf8Surrogate(b)
	if !okA || !okB || hi > 0xDBFF || lo < 0xDC00 {
		return a + b
	}
	return a[:len(a)-3] + string(utf16.DecodeRune(hi, lo)) + b[3:]
}

// wtf8Surrogate decodes a surrogate written as three WTF-8 bytes.
func wtf8Surrogate(s string) (rune, bool) {
	if len(s) < 3 || s[0] != 0xED || s[1] < 0xA0 || s[1] > 0xBF || s[2]&0xC0 != 0x80 {
		return 0, false
	}
	return rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), true
}

// Checksum is the CRC-32 (IEEE) of a text's UTF-8 bytes: what a client
// says its section's text was when it pushes (docs/protocol.md), and what
// the log keeps after each update to prove a replay rebuilt the same text.
func Checksum(text string) uint32 {
	return crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(text), len(text)))
}
