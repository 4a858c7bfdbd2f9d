package comments

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Suggestions: new wording proposed for a paragraph or for words in it.
// A suggestion keeps the text it was made on (Original) and the wording
// proposed (Suggestion); merged, it is a patch from the one to the other
// applied to the text there now, so that what the team changed since,
// around the suggested change, is kept.

// MaxSuggestionRunes caps the wording a suggestion proposes.
const MaxSuggestionRunes = 10000

// CheckSuggestion checks proposed wording: valid UTF-8, no control
// characters but line breaks and tabs, at most MaxSuggestionRunes, line
// breaks as \n, and different from the original. It may be empty (a
// suggestion to delete the words). Errors wrap editor.ErrInvalid.
func CheckSuggestion(original, suggestion string) (string, error) {
	s := strings.ReplaceAll(strings.ReplaceAll(suggestion, "\r\n", "\n"), "\r", "\n")
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: the suggested wording is not valid UTF-8", editor.ErrInvalid)
	}
	if n := utf8.RuneCountInString(s); n > MaxSuggestionRunes {
		return "", fmt.Errorf("%w: the suggested wording has %d characters; at most %d", editor.ErrInvalid, n, MaxSuggestionRunes)
	}
	for _, r := range s {
		if r < ' ' && r != '\n' && r != '\t' || r == 0x7f {
			return "", fmt.Errorf("%w: the suggested wording holds a control character", editor.ErrInvalid)
		}
	}
	if s == original {
		return "", fmt.Errorf("%w: the suggested wording is the text as it is", editor.ErrInvalid)
	}
	return s, nil
}

// Merge applies the change from original to suggestion to current, the
// text where the suggestion points now: exactly when current is still
// original, else hunk by hunk with go-diff's fuzzy patching. ok is false
// when a hunk cannot be placed (its context is gone): a conflict, and
// nothing is merged; result is then what the hunks that could be placed
// give, for the person resolving it to see.
func Merge(original, suggestion, current string) (result string, ok bool) {
	if current == original {
		return suggestion, true
	}
	dmp := diffmatchpatch.New()
	// Strict placing: a hunk goes where its context is found, however
	// far it moved (the distance counts for little), and all but exactly
	// (its context changed means the team rewrote around the suggested
	// change: a conflict for a person to resolve, not a guess).
	dmp.MatchThreshold, dmp.MatchDistance = 0.05, 100000
	patches := patchOf(dmp, original, suggestion)
	out, applied := dmp.PatchApply(patches, current)
	for _, a := range applied {
		if !a {
			return out, false
		}
	}
	// go-diff places a hunk by its context even when the words it deletes
	// are gone (and inserts the new ones all the same): the words the
	// suggestion replaces must still be in the text.
	for _, d := range dmp.DiffCleanupSemantic(dmp.DiffMain(original, suggestion, false)) {
		if d.Type == diffmatchpatch.DiffDelete && !strings.Contains(current, d.Text) {
			return out, false
		}
	}
	return out, true
}

// patchOf is the suggestion as go-diff patches against original.
func patchOf(dmp *diffmatchpatch.DiffMatchPatch, original, suggestion string) []diffmatchpatch.Patch {
	return dmp.PatchMake(original, suggestion)
}

// Patch is the suggestion as go-diff's patch text (a unified-diff-like
// text, %-encoded) against original: what Merge applies to the text as
// it is when the suggestion is accepted.
func Patch(original, suggestion string) string {
	dmp := diffmatchpatch.New()
	return dmp.PatchToText(patchOf(dmp, original, suggestion))
}

// Part is a piece of a redline: text kept ("="), deleted ("-") or
// inserted ("+").
type Part struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// RedlineParts is the change from a to b as kept, deleted and inserted
// pieces, word by word: go-diff runs over the words (each word, and each
// run of spaces or punctuation, one symbol), so a changed word is shown
// deleted and inserted whole, never cut in two.
func RedlineParts(a, b string) []Part {
	dmp := diffmatchpatch.New()
	index := map[string]rune{}
	var tokens []string
	encode := func(s string) string {
		var out []rune
		for _, t := range wordTokens(s) {
			r, ok := index[t]
			if !ok {
				r = rune(0xE000 + len(tokens)) // private use: never in the text's own symbols
				if r > 0xF8FF {
					r = rune(0xF0000 + len(tokens) - 0x1900)
				}
				index[t] = r
				tokens = append(tokens, t)
			}
			out = append(out, r)
		}
		return string(out)
	}
	ea, eb := encode(a), encode(b)
	if len(tokens) > 60000 { // more distinct words than symbols to stand for them
		return charParts(dmp, a, b)
	}
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(ea, eb, false))
	decode := func(s string) string {
		var out strings.Builder
		for _, r := range s {
			i := int(r) - 0xE000
			if r >= 0xF0000 {
				i = int(r) - 0xF0000 + 0x1900
			}
			out.WriteString(tokens[i])
		}
		return out.String()
	}
	out := make([]Part, 0, len(diffs))
	for _, d := range diffs {
		op := "="
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = "-"
		case diffmatchpatch.DiffInsert:
			op = "+"
		}
		out = append(out, Part{op, decode(d.Text)})
	}
	return out
}

// wordTokens splits s into words (letters and digits) and the runs of
// everything else between them.
func wordTokens(s string) []string {
	var out []string
	start, word := 0, false
	for i, r := range s {
		w := unicode.IsLetter(r) || unicode.IsDigit(r)
		if i > start && w != word {
			out = append(out, s[start:i])
			start = i
		}
		word = w
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Redline renders the change from a to b as HTML: deletions in <del>,
// insertions in <ins>, the rest as it is, every text escaped.
func Redline(a, b string) string {
	var out strings.Builder
	for _, p := range RedlineParts(a, b) {
		t := html.EscapeString(p.Text)
		switch p.Op {
		case "-":
			out.WriteString("<del>" + t + "</del>")
		case "+":
			out.WriteString("<ins>" + t + "</ins>")
		default:
			out.WriteString(t)
		}
	}
	return out.String()
}

// ChangesBetween returns the changes that turn a into b (positions in
// UTF-16 units of a, in order), found with go-diff and kept to whole
// words: what restoring an older text pushes, so that what did not
// change keeps its paragraph ids and the anchors on it.
func ChangesBetween(a, b string) []editor.Change {
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(a, b, false))
	var out []editor.Change
	pos := 0
	for _, d := range diffs {
		n := editor.UTF16Len(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			pos += n
		case diffmatchpatch.DiffDelete:
			if k := len(out); k > 0 && out[k-1].To == pos {
				out[k-1].To += n
			} else {
				out = append(out, editor.Change{From: pos, To: pos + n})
			}
			pos += n
		case diffmatchpatch.DiffInsert:
			if k := len(out); k > 0 && out[k-1].To == pos {
				out[k-1].Insert += d.Text
			} else {
				out = append(out, editor.Change{From: pos, To: pos, Insert: d.Text})
			}
		}
	}
	return out
}

// charParts is the redline character by character (semantic cleanup).
func charParts(dmp *diffmatchpatch.DiffMatchPatch, a, b string) []Part {
	var out []Part
	for _, d := range dmp.DiffCleanupSemantic(dmp.DiffMain(a, b, false)) {
		op := map[diffmatchpatch.Operation]string{diffmatchpatch.DiffEqual: "=", diffmatchpatch.DiffDelete: "-", diffmatchpatch.DiffInsert: "+"}[d.Type]
		out = append(out, Part{op, d.Text})
	}
	return out
}
