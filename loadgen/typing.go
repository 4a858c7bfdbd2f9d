package loadgen

import (
	"math/rand/v2"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/editor"
)

// typing makes small random edits like a person typing: mostly one to
// three characters inserted, sometimes a backspace, sometimes a new line
// or paragraph. Past targetUnits the text is trimmed as often as it grows,
// so a long run does not approach the server's section limit.
type typing struct {
	rng         *rand.Rand
	targetUnits int
}

// letters are what gets typed; the emoji (a surrogate pair in UTF-16) and
// the accented letters make sure positions are computed in UTF-16 units
// on character boundaries.
var letters = []string{
	"e", "t", "a", "o", "i", "n", "s", "r", "h", "l", "d", "c", "u", " ", " ", " ",
	"m", "f", "p", "g", "w", "y", "b", ",", ".", "é", "ã", "ç", "😀", "—",
}

// edit returns one change to text: made under the client's lock, so it is
// kept to one pass over the text.
func (t *typing) edit(text string) []editor.Change {
	runes := utf8.RuneCountInString(text)
	del := 5 // percent of edits that delete
	if editor.UTF16Len(text) > t.targetUnits {
		del = 55
	}
	roll := t.rng.IntN(100)
	switch {
	case roll < del && runes > 0:
		n := min(1+t.rng.IntN(3), runes)
		end := n + t.rng.IntN(runes-n+1)
		from, to := offsets(text, end-n, end)
		return []editor.Change{{From: from, To: to}}
	case roll < del+8:
		nl := "\n"
		if t.rng.IntN(3) == 0 {
			nl = "\n\n"
		}
		at, _ := offsets(text, t.rng.IntN(runes+1), -1)
		return []editor.Change{{From: at, To: at, Insert: nl}}
	default:
		var ins string
		for k := 1 + t.rng.IntN(3); k > 0; k-- {
			ins += letters[t.rng.IntN(len(letters))]
		}
		at, _ := offsets(text, t.rng.IntN(runes+1), -1)
		return []editor.Change{{From: at, To: at, Insert: ins}}
	}
}

// offsets converts rune indexes a <= b (b < 0: not wanted) into UTF-16
// offsets, which always fall between characters, never inside a
// surrogate pair.
func offsets(text string, a, b int) (int, int) {
	units, ra, rb := 0, -1, -1
	i := 0
	for _, r := range text {
		if i == a {
			ra = units
		}
		if i == b {
			rb = units
			break
		}
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		i++
	}
	if ra < 0 {
		ra = units
	}
	if rb < 0 && b >= 0 {
		rb = units
	}
	return ra, rb
}
