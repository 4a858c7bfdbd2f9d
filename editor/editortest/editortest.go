// Package editortest helps tests of what is built on the editor: random
// edits of a text, as people make them, at character boundaries.
package editortest

import (
	"math/rand/v2"
	"strings"
	"unicode/utf16"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Snippets are what RandomEdit types: letters, spaces, line breaks
// (paragraph splits among them), accents, a combining mark, CJK, emoji
// made of surrogate pairs and of several code points, a flag, a dash.
var Snippets = []string{"a", "bc", " ", "\n", "\n\n", "é", "e\u0301", "漢字", "😀", "👩‍💻", "policy ", "IGF", "🇺🇳", "—", "multistakeholder "}

// Boundaries returns the UTF-16 offsets of text that fall between
// characters (never inside a surrogate pair).
func Boundaries(text string) []int {
	out := []int{0}
	n := 0
	for _, r := range text {
		n += len(utf16.Encode([]rune{r}))
		out = append(out, n)
	}
	return out
}

// RandomEdit makes one random change to text: an insertion, a deletion or
// a replacement, at character boundaries.
func RandomEdit(rng *rand.Rand, text string) []editor.Change {
	b := Boundaries(text)
	from := b[rng.IntN(len(b))]
	to := from
	if rng.IntN(3) == 0 && len(b) > 1 {
		i := rng.IntN(len(b))
		j := min(len(b)-1, i+rng.IntN(6))
		from, to = b[i], b[j]
	}
	var ins strings.Builder
	if to == from || rng.IntN(2) == 0 {
		for k := rng.IntN(3) + 1; k > 0; k-- {
			ins.WriteString(Snippets[rng.IntN(len(Snippets))])
		}
	}
	return []editor.Change{{From: from, To: to, Insert: ins.String()}}
}
