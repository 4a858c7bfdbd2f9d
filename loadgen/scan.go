package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// scanned is one update of an updates message as a light editor reads it.
// The byte slices point into the message (or, for a string with escapes or
// invalid UTF-8, into fresh memory) and are valid until the next frame is
// read.
type scanned struct {
	seq     int64
	version int
	section []byte
	client  []byte
	// changes and structure are the raw JSON values; nil when absent.
	changes   []byte
	structure []byte
}

// scanMessage reads one server message (one line of a frame) as the light
// editor needs it, without encoding/json on the usual path: its type and,
// for an updates message, each update's seq, version, section, client,
// changes and structure. It reads what encoding/json reads from the same
// line into map[string]json.RawMessage (the fuzz test holds it to that):
//
//   - the line must be exactly one JSON object, with the JSON grammar
//     checked throughout and nesting at most 10,000 deep (encoding/json's
//     limit); anything else is an error;
//   - "type", when present, must be a string; "updates", when present
//     (whatever the type), an array of objects;
//   - in an update, "seq" and "version" must be integers (no fraction or
//     exponent, within range) and "section" and "client" strings; changes
//     and structure may be any JSON value, returned raw; other fields are
//     skipped;
//   - of a repeated key the last wins, and only its value must have the
//     right shape;
//   - strings are decoded as encoding/json decodes them (invalid UTF-8 and
//     lone surrogate escapes become U+FFFD).
//
// ups is reused for the result.
func scanMessage(line []byte, ups []scanned) (typ []byte, _ []scanned, err error) {
	s := scanner{b: line}
	ups = ups[:0]
	if s.peek() != '{' {
		return nil, ups, s.fail("not an object")
	}
	var typRaw []byte
	updatesBad := ""
	more, err := s.open('{', '}')
	for err == nil && more {
		var key []byte
		if key, err = s.key(); err != nil {
			break
		}
		switch string(key) {
		case "type":
			typRaw, _, err = s.value()
		case "updates":
			ups, updatesBad, err = s.updates(ups[:0])
		default:
			_, _, err = s.value()
		}
		if err == nil {
			more, err = s.next('}')
		}
	}
	if err != nil {
		return nil, ups, err
	}
	if s.space(); s.i != len(s.b) {
		return nil, ups, s.fail("data after the message")
	}
	if updatesBad != "" {
		return nil, ups, fmt.Errorf("loadgen: malformed message: %s", updatesBad)
	}
	if typRaw != nil {
		if typ, err = decodeString(typRaw); err != nil {
			return nil, ups, fmt.Errorf("loadgen: malformed message: type: %w", err)
		}
	}
	return typ, ups, nil
}

// scanner walks JSON; i is the offset of the next byte.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxScanDepth is encoding/json's nesting limit.
const maxScanDepth = 10000

func (s *scanner) fail(what string) error {
	return fmt.Errorf("loadgen: malformed message at byte %d: %s", s.i, what)
}

func (s *scanner) space() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // the usual case: the server writes no white space
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space without consuming it, or 0
// at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// open consumes the opening bracket c of an object or array; more is false
// when it is empty (its closing bracket end is consumed too).
func (s *scanner) open(c, end byte) (more bool, err error) {
	if s.peek() != c {
		return false, s.fail(fmt.Sprintf("want %q", c))
	}
	s.i++
	if s.depth++; s.depth > maxScanDepth {
		return false, s.fail("nested too deep")
	}
	if s.peek() == end {
		s.i++
		s.depth--
		return false, nil
	}
	return true, nil
}

// next consumes the ',' before another element (more) or the closing end.
func (s *scanner) next(end byte) (more bool, err error) {
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case end:
		s.i++
		s.depth--
		return false, nil
	}
	return false, s.fail(fmt.Sprintf("want ',' or %q", end))
}

// key reads an object's key and the ':' after it.
func (s *scanner) key() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("want a key")
	}
	raw, plain, err := s.str()
	if err != nil {
		return nil, err
	}
	if s.peek() != ':' {
		return nil, s.fail("want ':'")
	}
	s.i++
	if plain {
		return raw[1 : len(raw)-1], nil
	}
	k, err := decodeString(raw)
	if err != nil {
		return nil, s.fail(err.Error())
	}
	return k, nil
}

// value checks the next value's grammar and returns it raw; plain says it
// is a string with nothing to decode (no escape, only ASCII).
func (s *scanner) value() (raw []byte, plain bool, err error) {
	s.space()
	start := s.i
	switch c := s.peek(); {
	case c == '"':
		raw, plain, err = s.str()
		return raw, plain, err
	case c == '{':
		more, err1 := s.open('{', '}')
		for err = err1; err == nil && more; {
			if _, err = s.key(); err == nil {
				if _, _, err = s.value(); err == nil {
					more, err = s.next('}')
				}
			}
		}
	case c == '[':
		more, err1 := s.open('[', ']')
		for err = err1; err == nil && more; {
			if _, _, err = s.value(); err == nil {
				more, err = s.next(']')
			}
		}
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		err = s.number()
	default:
		err = s.fail("want a value")
	}
	if err != nil {
		return nil, false, err
	}
	return s.b[start:s.i], false, nil
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("want " + word)
	}
	s.i += len(word)
	return nil
}

// number checks JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("want a digit")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("want a digit after '.'")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("want a digit in the exponent")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// str checks a string's grammar and returns it raw, quotes included;
// plain says it has no escape and only ASCII, so it needs no decoding.
func (s *scanner) str() (raw []byte, plain bool, err error) {
	start := s.i
	s.i++ // the opening quote
	plain = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		if plainByte[c] {
			s.i++
			continue
		}
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], plain, nil
		case c == '\\':
			plain = false
			if s.i+1 >= len(s.b) {
				return nil, false, s.fail("unterminated string")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return nil, false, s.fail(`want four hex digits after \u`)
				}
				s.i += 6
			default:
				return nil, false, s.fail("bad escape")
			}
		case c < 0x20:
			return nil, false, s.fail("control character in a string")
		default:
			plain = false
			s.i++
		}
	}
	return nil, false, s.fail("unterminated string")
}

// plainByte marks the bytes a string holds as they are: ASCII, not a
// control character, a quote or a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// updates reads an updates array; bad says what is wrong with its shape
// (the grammar is checked to the end all the same: a later "updates" key
// may replace it, as in encoding/json).
func (s *scanner) updates(ups []scanned) (_ []scanned, bad string, err error) {
	if s.peek() != '[' {
		_, _, err = s.value()
		return ups, "updates is not an array", err
	}
	more, err := s.open('[', ']')
	for err == nil && more {
		if s.peek() != '{' {
			if _, _, err = s.value(); err == nil {
				more, err = s.next(']')
			}
			if bad == "" {
				bad = fmt.Sprintf("update %d is not an object", len(ups))
			}
			continue
		}
		var u scanned
		var seq, version, section, client []byte
		var more2, plain, sectionPlain, clientPlain bool
		more2, err = s.open('{', '}')
		for err == nil && more2 {
			var key, raw []byte
			if key, err = s.key(); err != nil {
				break
			}
			if raw, plain, err = s.value(); err != nil {
				break
			}
			switch string(key) {
			case "seq":
				seq = raw
			case "version":
				version = raw
			case "section":
				section, sectionPlain = raw, plain
			case "client":
				client, clientPlain = raw, plain
			case "changes":
				u.changes = raw
			case "structure":
				u.structure = raw
			}
			more2, err = s.next('}')
		}
		if err != nil {
			break
		}
		// Plain strings need no decoding.
		if sectionPlain {
			u.section, section = section[1:len(section)-1], nil
		}
		if clientPlain {
			u.client, client = client[1:len(client)-1], nil
		}
		if why := u.interpret(seq, version, section, client); why != "" && bad == "" {
			bad = fmt.Sprintf("update %d: %s", len(ups), why)
		}
		ups = append(ups, u)
		more, err = s.next(']')
	}
	return ups, bad, err
}

// interpret fills u from the raw values of its fields (nil when absent).
func (u *scanned) interpret(seq, version, section, client []byte) string {
	var err error
	if seq != nil {
		if u.seq, err = decodeInt(seq, 64); err != nil {
			return "seq: " + err.Error()
		}
	}
	if version != nil {
		var v int64
		if v, err = decodeInt(version, strconv.IntSize); err != nil {
			return "version: " + err.Error()
		}
		u.version = int(v)
	}
	if section != nil {
		if u.section, err = decodeString(section); err != nil {
			return "section: " + err.Error()
		}
	}
	if client != nil {
		if u.client, err = decodeString(client); err != nil {
			return "client: " + err.Error()
		}
	}
	return ""
}

// decodeInt reads a raw JSON value (its grammar already checked) that must
// be an integer of the given bits, as encoding/json reads one into an
// integer type: no fraction or exponent, within range.
func decodeInt(raw []byte, bits int) (int64, error) {
	digits, neg := raw, false
	if len(digits) > 0 && digits[0] == '-' {
		digits, neg = digits[1:], true
	}
	if len(digits) == 0 {
		return 0, fmt.Errorf("not a number")
	}
	limit := uint64(1)<<(bits-1) - 1 // the largest positive value
	if neg {
		limit++
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not an integer")
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, fmt.Errorf("out of range")
		}
		n = n*10 + d
	}
	if neg {
		return -int64(n), nil // for n = 2^63 this is the smallest int64
	}
	return int64(n), nil
}

// decodeString reads a raw JSON value that must be a string (its grammar
// already checked): the bytes between the quotes when there is nothing to
// decode, otherwise what encoding/json makes of it.
func decodeString(raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, fmt.Errorf("not a string")
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return []byte(out), nil
}
