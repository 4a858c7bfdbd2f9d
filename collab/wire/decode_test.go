package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type msg struct {
		Type string `json:"type"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct {
		name, in string
		want     string // substring of the error; "" means accepted
	}{
		{"ok", `{"type":"a","n":2}`, ""},
		{"pair", `{"type":"\ud83d\ude00"}`, ""},
		{"escaped backslash before u", `{"type":"\\ud800"}`, ""},
		{"lone high", `{"type":"\ud800"}`, "lone surrogate escape at byte 9"},
		{"high then text", `{"type":"\ud800abcdef"}`, "lone surrogate"},
		{"lone low", `{"type":"\udc00"}`, "lone surrogate"},
		{"two highs", `{"type":"\ud800\ud800"}`, "lone surrogate"},
		{"high at the end", `{"type":"\ud83d`, "lone surrogate"},
		{"invalid utf-8", "{\"type\":\"\xff\"}", "not valid UTF-8"},
		{"encoded surrogate", "{\"type\":\"\xed\xa0\x80\"}", "not valid UTF-8"},
		{"unknown field", `{"type":"a","x":1}`, `unknown field "x"`},
		{"wrong type", `{"type":"a","n":"2"}`, `field "n" must be a int, not a string`},
		{"two values", `{"type":"a"} {"type":"b"}`, "more than one value"},
		{"empty", ``, "empty"},
		{"cut", `{"type":`, "ends in the middle"},
		{"syntax", `{"type" "a"}`, "at byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m msg
			err := Decode([]byte(tc.in), &m)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Decode(%q) = %v; want nil", tc.in, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadJSON) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode(%q) = %v; want an ErrBadJSON saying %q", tc.in, err, tc.want)
			}
		})
	}
}

// FuzzDecode: whatever Decode accepts is valid UTF-8 without a lone
// surrogate escape, and it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"type":"\ud83d\ude00"}`, `{"type":"\ud800"}`, `"\\u"`, `{"n":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v struct {
			Type string `json:"type"`
			N    int    `json:"n"`
		}
		if Decode(data, &v) == nil && strings.ContainsRune(v.Type, '\uFFFD') && !strings.Contains(string(data), "\uFFFD") && !strings.Contains(strings.ToLower(string(data)), `\ufffd`) {
			t.Fatalf("%q decoded to a replacement character", data)
		}
	})
}
