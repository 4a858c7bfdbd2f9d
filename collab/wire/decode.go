package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrBadJSON is wrapped by every error of Decode: the input is not one
// strict JSON value of the expected shape.
var ErrBadJSON = errors.New("malformed JSON")

// Decode is the one way bpfdraft reads JSON from outside, over HTTP and
// over the websocket alike. It refuses what Go's decoder would accept
// silently or repair: invalid UTF-8 and \uD800-\uDFFF escapes that do not
// form a high-low pair (both would become U+FFFD), fields v does not
// have, and anything after the one value. The error says what is wrong
// in words a client can act on, without Go type names.
func Decode(data []byte, v any) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not valid UTF-8", ErrBadJSON)
	}
	if at := loneSurrogate(data); at >= 0 {
		return fmt.Errorf("%w: a lone surrogate escape at byte %d", ErrBadJSON, at)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s", ErrBadJSON, problem(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: more than one value", ErrBadJSON)
	}
	return nil
}

// problem turns a decoding error into a message that names the field or
// offset.
func problem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the value must be a %s, not a %s", typ.Type.Kind(), typ.Value)
		}
		return fmt.Sprintf("field %q must be a %s, not a %s", typ.Field, typ.Type.Kind(), typ.Value)
	case errors.Is(err, io.EOF):
		return "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends in the middle of a value"
	default:
		return err.Error()
	}
}

// loneSurrogate returns the offset of the first \uD800-\uDFFF escape that
// is not a high surrogate followed at once by a low one, or -1.
func loneSurrogate(data []byte) int {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if i+1 < len(data) && data[i+1] != 'u' {
			i++ // an escaped character (it may be a backslash)
			continue
		}
		v, ok := hex4(data, i+2)
		if !ok {
			continue // the decoder reports it
		}
		switch {
		case v >= 0xD800 && v < 0xDC00:
			lo, ok := hex4(data, i+8)
			if !ok || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return i
			}
			i += 11
		case v >= 0xDC00 && v <= 0xDFFF:
			return i
		default:
			i += 5
		}
	}
	return -1
}

func hex4(data []byte, at int) (int, bool) {
	if at < 0 || at+4 > len(data) {
		return 0, false
	}
	v := 0
	for _, b := range data[at : at+4] {
		switch {
		case b >= '0' && b <= '9':
			v = v*16 + int(b-'0')
		case b >= 'a' && b <= 'f':
			v = v*16 + int(b-'a'+10)
		case b >= 'A' && b <= 'F':
			v = v*16 + int(b-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
