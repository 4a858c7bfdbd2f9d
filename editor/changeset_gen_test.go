package editor

import (
	"math/rand/v2"
	"unicode/utf16"
)

// Random documents and change sets for property, fuzz and differential
// tests. A chooser drives every choice, so the same generator serves seeded
// random tests (randChooser) and go test -fuzz (byteChooser, where the
// fuzzer's bytes are the choices).

type chooser interface {
	// intn returns a number in [0, n); n > 0.
	intn(n int) int
}

type randChooser struct{ r *rand.Rand }

func newRandChooser(seed uint64) randChooser {
	return randChooser{rand.New(rand.NewPCG(seed, 0x62706664726166))}
}

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser takes choices from fuzz input; once it runs out every choice
// is 0, which keeps cases small.
type byteChooser struct {
	data []byte
	i    int
}

func (c *byteChooser) intn(n int) int {
	if c.i >= len(c.data) {
		return 0
	}
	v := int(c.data[c.i])
	c.i++
	if n > 256 && c.i < len(c.data) {
		v = v<<8 | int(c.data[c.i])
		c.i++
	}
	return v % n
}

func chance(c chooser, percent int) bool { return c.intn(100) < percent }

func pick[T any](c chooser, xs []T) T { return xs[c.intn(len(xs))] }

// textPieces mixes ASCII, line breaks, surrogate pairs (emoji with
// modifiers, flags, ZWJ sequences, mathematical letters), CJK and
// combining marks.
var textPieces = []string{
	"a", "b", "c", "x", "y", " ", " ", "the ", "forum ", ".", "#", "*",
	"\n", "\n", "\n\n",
	"😀", "👍🏽", "🇫🇷", "👩‍💻", "🎉", "𝕏",
	"中", "文", "字", "論",
	"é", "e\u0301", "a\u0308", "\u0301", "ß", "Ω",
}

func genText(c chooser, maxPieces int) string {
	n := c.intn(maxPieces + 1)
	var b []byte
	for range n {
		b = append(b, pick(c, textPieces)...)
	}
	return string(b)
}

// genDoc returns a document: often short, sometimes empty, sometimes
// thousands of units long.
func genDoc(c chooser) string {
	switch r := c.intn(100); {
	case r < 8:
		return ""
	case r < 85:
		return genText(c, 20)
	case r < 97:
		return genText(c, 200)
	default:
		var b []byte
		for len(b) < 12000 {
			b = append(b, genText(c, 40)...)
			b = append(b, "lorem ipsum dolor sit amet "...)
		}
		return string(b)
	}
}

// boundaries returns the UTF-16 offsets in s that do not split a pair.
func boundaries(s string) []int {
	out := []int{0}
	pos := 0
	for _, r := range s {
		pos += utf16.RuneLen(r)
		out = append(out, pos)
	}
	return out
}

// genChanges returns simple changes on doc in random order, possibly
// overlapping, with boundaries on characters.
func genChanges(c chooser, doc string, most int) []Change {
	bs := boundaries(doc)
	n := c.intn(most + 1)
	changes := make([]Change, 0, n)
	for range n {
		ia := c.intn(len(bs))
		ib := ia
		if !chance(c, 40) {
			ib = min(len(bs)-1, ia+c.intn(10))
			if chance(c, 10) {
				ib = c.intn(len(bs))
			}
		}
		from, to := bs[min(ia, ib)], bs[max(ia, ib)]
		ins := ""
		if !chance(c, 25) {
			ins = genText(c, 5)
		}
		changes = append(changes, Change{From: from, To: to, Insert: ins})
	}
	return changes
}

// genRaw builds a change set section by section, including layouts that
// CodeMirror's own operations never produce but its fromJSON accepts:
// adjacent kept sections, insertions and deletions that addSection would
// have merged. (Zero-length kept sections and empty deletions are left out:
// they make CodeMirror throw, and ChangeSetFromJSON rejects them.)
func genRaw(c chooser, doc string) ChangeSet {
	bs := boundaries(doc)
	var set ChangeSet
	last := len(bs) - 1
	for i, steps := 0, 0; ; steps++ {
		kind := c.intn(5)
		if steps > 2*len(bs)+8 {
			kind = 0 // enough insertions: finish
		}
		if i == last && kind != 2 {
			return set
		}
		j := min(last, i+1+c.intn(5))
		if kind == 2 {
			j = i
		}
		l := bs[j] - bs[i]
		switch kind {
		case 0, 1:
			set.sections = append(set.sections, l, -1)
		case 2, 3:
			t := genText(c, 3)
			if t == "" && l == 0 {
				t = "i"
			}
			if t == "" {
				set.sections = append(set.sections, l, 0)
				break
			}
			for len(set.inserted) < len(set.sections)/2 {
				set.inserted = append(set.inserted, "")
			}
			set.inserted = append(set.inserted, t)
			set.sections = append(set.sections, l, UTF16Len(t))
		case 4:
			set.sections = append(set.sections, l, 0)
		}
		i = j
	}
}

// genSet returns a change set applying to doc.
func genSet(c chooser, doc string) ChangeSet {
	if chance(c, 15) {
		return genRaw(c, doc)
	}
	set, err := ChangeSetOf(genChanges(c, doc, 5), UTF16Len(doc))
	if err != nil {
		panic(err) // the generator keeps changes in range
	}
	return set
}

// genInsertAt returns a set inserting text at a random boundary: two of
// them at the same place exercise Map's tie-breaking.
func genInsertAt(c chooser, doc string, pos int) ChangeSet {
	t := genText(c, 3)
	if t == "" {
		t = "i"
	}
	set, err := ChangeSetOf([]Change{{From: pos, To: pos, Insert: t}}, UTF16Len(doc))
	if err != nil {
		panic(err)
	}
	return set
}

// genPair returns two sets on doc, often inserting at one position.
func genPair(c chooser, doc string) (a, b ChangeSet) {
	if chance(c, 25) {
		p := pick(c, boundaries(doc))
		return genInsertAt(c, doc, p), genInsertAt(c, doc, p)
	}
	return genSet(c, doc), genSet(c, doc)
}

func mustApply(set ChangeSet, doc string) string {
	out, err := set.Apply(doc)
	if err != nil {
		panic(err)
	}
	return out
}
