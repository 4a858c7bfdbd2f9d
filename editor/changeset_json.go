package editor

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The wire form is CodeMirror's ChangeSet.toJSON: an array whose elements
// are a number (a kept length), [n] (a deletion of n) or [n, line, ...]
// (n units replaced by the lines joined with "\n"). A hand-written parser
// is used rather than encoding/json because encoding/json silently turns
// a lone surrogate escape such as "\ud83d" into U+FFFD, which has the same
// UTF-16 length but would make the server's text differ from the browser's.

// ChangeSetFromJSON parses a change set in CodeMirror's JSON form
// (ChangeSet.fromJSON), keeping its section layout exactly. It is stricter
// than CodeMirror, rejecting only what the library never produces: with
// ErrMalformedJSON, lengths that are not integers in [0, 2³¹), syntax
// errors, and the zero-length sections 0 and [0] (on which CodeMirror's
// map and compose throw or misbehave); with ErrInvalidText, lines that hold
// a line break, invalid UTF-8 or a lone surrogate.
// It does not check the set against a document; see CheckAgainst.
func ChangeSetFromJSON(data []byte) (ChangeSet, error) {
	p := jsonParser{data: data}
	c, err := p.changeSet()
	if err != nil {
		return ChangeSet{}, err
	}
	p.space()
	if p.i != len(p.data) {
		return ChangeSet{}, p.fail("trailing data")
	}
	return c, nil
}

// UnmarshalJSON implements json.Unmarshaler with ChangeSetFromJSON.
func (c *ChangeSet) UnmarshalJSON(data []byte) error {
	cs, err := ChangeSetFromJSON(data)
	if err != nil {
		return err
	}
	*c = cs
	return nil
}

// MarshalJSON implements json.Marshaler with CodeMirror's toJSON form; the
// output parses back to an identical set here and in the browser.
func (c ChangeSet) MarshalJSON() ([]byte, error) {
	return c.AppendJSON(nil), nil
}

// AppendJSON appends the JSON form of c (see MarshalJSON) to b.
func (c ChangeSet) AppendJSON(b []byte) []byte {
	b = append(b, '[')
	for k := 0; k < len(c.sections); k += 2 {
		if k > 0 {
			b = append(b, ',')
		}
		l, ins := c.sections[k], c.sections[k+1]
		switch {
		case ins < 0:
			b = strconv.AppendInt(b, int64(l), 10)
		case ins == 0:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(l), 10)
			b = append(b, ']')
		default:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(l), 10)
			text := c.text(k / 2)
			for {
				line, rest, more := strings.Cut(text, "\n")
				b = append(b, ',')
				b = appendJSONString(b, line)
				if !more {
					break
				}
				text = rest
			}
			b = append(b, ']')
		}
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s. Surrogates stored in WTF-8 (only a composed
// set that cut a pair holds them) are written as \u escapes, as
// JSON.stringify writes lone surrogates.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if u, ok := wtf8Surrogate(s[i:]); ok {
				b = append(b, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
				i += 3
				continue
			}
			b = append(b, `\ufffd`...)
			i++
			continue
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return append(b, '"')
}

type jsonParser struct {
	data []byte
	i    int
}

func (p *jsonParser) fail(what string) error {
	return badChange(ErrMalformedJSON, "%s at byte %d", what, p.i)
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (p *jsonParser) peek() byte {
	p.space()
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

// list parses a JSON array, calling elem at the start of each element.
func (p *jsonParser) list(elem func(index int) error) error {
	if p.peek() != '[' {
		return p.fail("expected an array")
	}
	p.i++
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for index := 0; ; index++ {
		if err := elem(index); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return p.fail("expected , or ]")
		}
	}
}

func (p *jsonParser) changeSet() (ChangeSet, error) {
	var c ChangeSet
	err := p.list(func(index int) error {
		if p.peek() != '[' {
			n, err := p.length()
			if err != nil {
				return err
			}
			if n == 0 {
				return p.fail("zero-length kept section")
			}
			c.sections = append(c.sections, n, -1)
			return nil
		}
		var (
			l     int
			text  []byte
			lines int
			parts int
		)
		err := p.list(func(j int) error {
			parts++
			if j == 0 {
				n, err := p.length()
				l = n
				return err
			}
			if j > 1 {
				text = append(text, '\n')
			}
			var err error
			text, err = p.str(text)
			lines++
			return err
		})
		if err != nil {
			return err
		}
		if parts == 0 {
			return p.fail("empty replacement")
		}
		if lines == 0 {
			if l == 0 {
				return p.fail("empty deletion")
			}
			c.sections = append(c.sections, l, 0)
			return nil
		}
		if l == 0 && len(text) == 0 {
			return p.fail("empty change")
		}
		for len(c.inserted) < index {
			c.inserted = append(c.inserted, "")
		}
		t := string(text)
		c.inserted = append(c.inserted, t)
		c.sections = append(c.sections, l, UTF16Len(t))
		return nil
	})
	return c, err
}

// length parses a non-negative integer without fraction or exponent.
func (p *jsonParser) length() (int, error) {
	p.space()
	start := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	digits := p.data[start:p.i]
	if p.i < len(p.data) {
		switch p.data[p.i] {
		case '-':
			return 0, p.fail("negative length")
		case '.', 'e', 'E':
			return 0, p.fail("length is not an integer")
		}
	}
	if len(digits) == 0 {
		return 0, p.fail("expected a length")
	}
	if len(digits) > 1 && digits[0] == '0' {
		return 0, p.fail("leading zero")
	}
	if len(digits) > 10 {
		return 0, p.fail("length too large")
	}
	n, _ := strconv.Atoi(string(digits))
	if n > maxLen {
		return 0, p.fail("length too large")
	}
	return n, nil
}

// str parses a JSON string onto b, rejecting what a CodeMirror line cannot
// hold.
func (p *jsonParser) str(b []byte) ([]byte, error) {
	if p.peek() != '"' {
		return b, p.fail("expected a string")
	}
	p.i++
	for {
		if p.i >= len(p.data) {
			return b, p.fail("unterminated string")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return b, nil
		case c < 0x20:
			return b, p.fail("control character in string")
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return b, err
			}
			if r == '\n' || r == '\r' {
				return b, badChange(ErrInvalidText, "line break inside a line at byte %d", p.i)
			}
			b = utf8.AppendRune(b, r)
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return b, badChange(ErrInvalidText, "invalid UTF-8 at byte %d", p.i)
			}
			b = append(b, p.data[p.i:p.i+size]...)
			p.i += size
		}
	}
}

// escape decodes the escape at p.i, joining surrogate pairs.
func (p *jsonParser) escape() (rune, error) {
	if p.i+1 >= len(p.data) {
		return 0, p.fail("unterminated escape")
	}
	c := p.data[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.fail("bad \\u escape")
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r < 0xDC00 && p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
			save := p.i
			p.i += 2
			lo, ok := p.hex4()
			if ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return utf16.DecodeRune(r, lo), nil
			}
			p.i = save
		}
		return 0, badChange(ErrInvalidText, "lone surrogate at byte %d", p.i)
	}
	return 0, p.fail("bad escape")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, true
}
