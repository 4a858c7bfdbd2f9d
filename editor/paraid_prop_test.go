package editor

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// Properties of TrackParagraphs on random texts and changes, checked by
// TestTrackParagraphsProperties (seeded, printing its seed) and by
// FuzzTrackParagraphs. Both also compare it with paraReference, a slow
// transcription of the rules that looks at every character.

// paraPieces make up random texts: paragraph breaks of every kind, CJK,
// emoji (surrogate pairs in UTF-16) and whitespace-only lines.
var paraPieces = []string{"a", "bc", "Forum ", "中", "文", "🙂", "👍🏽", "é", " ", "\t", "\n", "\n", "\n\n", " \n", "\r\n"}

func paraRandText(r *rand.Rand, max int) string {
	var b strings.Builder
	for range r.IntN(max + 1) {
		b.WriteString(paraPieces[r.IntN(len(paraPieces))])
	}
	return b.String()
}

// paraBoundaries returns the UTF-16 offsets of s's character boundaries,
// 0 and the length included: the places a valid change may start or end.
func paraBoundaries(s string) []int {
	out := []int{0}
	u := 0
	for _, c := range s {
		u += utf16Units(c)
		out = append(out, u)
	}
	return out
}

func utf16Units(c rune) int {
	if c >= 0x10000 {
		return 2
	}
	return 1
}

// paraUnitSpan returns the UTF-16 range of the byte span sp of s.
func paraUnitSpan(s string, sp Span) (int, int) {
	return UTF16Len(s[:sp.Start]), UTF16Len(s[:sp.End])
}

func TestTrackParagraphsProperties(t *testing.T) {
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	confined := 0
	for i := 0; i < 3000 && !t.Failed(); i++ {
		before := paraRandText(r, 30)
		bs := paraBoundaries(before)
		changes := make([]Change, r.IntN(4))
		for k := range changes {
			a, b := bs[r.IntN(len(bs))], bs[r.IntN(len(bs))]
			changes[k] = Change{From: min(a, b), To: max(a, b), Insert: paraRandText(r, 4)}
		}
		n := len(Paragraphs(before))
		if r.IntN(5) == 0 {
			n = r.IntN(n + 1) // legacy data: too few ids
		}
		checkTrack(t, before, changes, paraIDs(n))
		if checkConfined(t, r, before) {
			confined++
		}
	}
	// Guards against a generator that stops producing the case.
	if !t.Failed() && confined < 300 {
		t.Errorf("only %d confined changes kept the paragraph count; want at least 300", confined)
	}
}

func FuzzTrackParagraphs(f *testing.F) {
	f.Add(paraText, uint16(3), uint16(3), "x", uint16(0), uint16(0), "", uint8(255))
	f.Add("aaa\n\nbbb\n\nccc", uint16(3), uint16(5), "", uint16(8), uint16(10), "", uint8(255))
	f.Add("one\r\ntwo\r\n\r\nthree", uint16(5), uint16(5), "\n", uint16(1), uint16(2), "🙂\n\n", uint8(4))
	f.Add("", uint16(0), uint16(0), "new\n\npara", uint16(0), uint16(0), "", uint8(0))
	f.Fuzz(func(t *testing.T, before string, a1, b1 uint16, ins1 string, a2, b2 uint16, ins2 string, keep uint8) {
		before = strings.ToValidUTF8(before, "?")
		if len(before) > 2000 {
			return
		}
		bs := paraBoundaries(before)
		pos := func(v uint16) int { return bs[int(v)%len(bs)] }
		changes := []Change{
			{From: min(pos(a1), pos(b1)), To: max(pos(a1), pos(b1)), Insert: strings.ToValidUTF8(ins1, "?")},
			{From: min(pos(a2), pos(b2)), To: max(pos(a2), pos(b2)), Insert: strings.ToValidUTF8(ins2, "?")},
		}
		n := len(Paragraphs(before))
		if keep != 255 {
			n = min(n, int(keep))
		}
		checkTrack(t, before, changes, paraIDs(n))
	})
}

// checkTrack applies changes to before and checks every property of the
// ids TrackParagraphs gives for the result.
func checkTrack(t *testing.T, before string, changes []Change, ids []string) {
	t.Helper()
	cs, err := ChangeSetOf(changes, UTF16Len(before))
	if err != nil {
		t.Fatalf("ChangeSetOf(%v) on %q: %v", changes, before, err)
	}
	if err := cs.CheckAgainst(before); err != nil {
		t.Fatalf("%v on %q: %v", changes, before, err)
	}
	after, err := cs.Apply(before)
	if err != nil {
		t.Fatal(err)
	}
	what := fmt.Sprintf("%q with ids %q, changes %v -> %q", before, ids, changes, after)

	var fresh []string
	newID := func() string {
		id := fmt.Sprintf("n%d", len(fresh)+1)
		fresh = append(fresh, id)
		return id
	}
	out, merged := TrackParagraphs(before, after, ids, cs, newID)

	if n := len(Paragraphs(after)); len(out) != n {
		t.Fatalf("%s: %d ids %q; want %d", what, len(out), out, n)
	}
	inOut := make(map[string]bool)
	for _, id := range out {
		if inOut[id] {
			t.Errorf("%s: id %s twice in %q", what, id, out)
		}
		inOut[id] = true
		if !slices.Contains(ids, id) && !slices.Contains(fresh, id) {
			t.Errorf("%s: id %s in %q is neither old nor new", what, id, out)
		}
	}
	for from, to := range merged {
		if !slices.Contains(ids, from) || inOut[from] {
			t.Errorf("%s: merged %s -> %s: want an old id no longer in %q", what, from, to, out)
		}
		if !inOut[to] {
			t.Errorf("%s: merged %s -> %s: want a target in %q", what, from, to, out)
		}
	}

	ref := paraReference(before, after, ids, cs)
	for i, id := range ids[:min(len(ids), len(ref.survives))] {
		if !inOut[id] && merged[id] == "" && ref.survives[i] {
			t.Errorf("%s: id %s dropped though its paragraph has characters in %q", what, id, after)
		}
	}
	if !slices.Equal(out, ref.out) || !maps.Equal(merged, ref.merged) {
		t.Errorf("%s: got %q merged %v; want %q merged %v", what, out, merged, ref.out, ref.merged)
	}

	// Replaying through documents gives the same ids every time.
	d := &Document{ID: "d", Sections: []Section{{ID: "s", Text: before, Paras: ids}}, NextPara: 100}
	d1, d2 := d.Clone(), d.Clone()
	pc1, err1 := d1.ApplyChanges("s", cs)
	pc2, err2 := d2.ApplyChanges("s", cs)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: ApplyChanges: %v, %v", what, err1, err2)
	}
	if !paraSameDocument(d1, d2) || !slices.Equal(pc1.Paras, pc2.Paras) || !maps.Equal(pc1.Merged, pc2.Merged) {
		t.Errorf("%s: ApplyChanges on two clones differs: %+v and %+v", what, d1.Sections[0], d2.Sections[0])
	}
	if d.Sections[0].Text != before || d.NextPara != 100 {
		t.Errorf("%s: ApplyChanges on a clone changed the original", what)
	}
}

// checkConfined makes one change inside a paragraph of before that adds no
// line break and keeps some of the paragraph's text; when the paragraph
// count stays the same (no line left blank inside, so no split), the ids
// must not change. It reports whether it checked anything.
func checkConfined(t *testing.T, r *rand.Rand, before string) bool {
	t.Helper()
	paras := Paragraphs(before)
	if len(paras) == 0 {
		return false
	}
	start, end := paraUnitSpan(before, paras[r.IntN(len(paras))])
	var inside []int
	for _, b := range paraBoundaries(before) {
		if b >= start && b <= end {
			inside = append(inside, b)
		}
	}
	a, b := inside[r.IntN(len(inside))], inside[r.IntN(len(inside))]
	from, to := min(a, b), max(a, b)
	if from == start && to == end {
		return false // replacing all of it is a new paragraph
	}
	insert := strings.NewReplacer("\n", "", "\r", "").Replace(paraRandText(r, 3))
	cs, err := ChangeSetOf([]Change{{From: from, To: to, Insert: insert}}, UTF16Len(before))
	if err != nil {
		t.Fatal(err)
	}
	after, err := cs.Apply(before)
	if err != nil {
		t.Fatal(err)
	}
	if len(Paragraphs(after)) != len(paras) {
		return false
	}
	ids := paraIDs(len(paras))
	out, merged := TrackParagraphs(before, after, ids, cs, paraCounter("n"))
	if !slices.Equal(out, ids) || merged != nil {
		t.Errorf("%q, %d-%d -> %q gives %q: ids %q merged %v; want %q unchanged",
			before, from, to, insert, after, out, merged, ids)
	}
	return true
}

func paraSameDocument(a, b *Document) bool {
	if a.Seq != b.Seq || a.NextPara != b.NextPara || len(a.Sections) != len(b.Sections) {
		return false
	}
	for i := range a.Sections {
		x, y := a.Sections[i], b.Sections[i]
		if x.ID != y.ID || x.Text != y.Text || x.Version != y.Version || !slices.Equal(x.Paras, y.Paras) {
			return false
		}
	}
	return true
}

// paraRef is what paraReference finds.
type paraRef struct {
	out    []string
	merged map[string]string
	// survives[i]: some character of old paragraph i is unchanged in a
	// paragraph of after.
	survives []bool
}

// paraReference follows TrackParagraphs' documented rules character by
// character, with fresh ids n1, n2, ... It is quadratic and kept simple on
// purpose: it is what the fast sweep is compared with.
func paraReference(before, after string, ids []string, cs ChangeSet) paraRef {
	oldOf, newOf := paraOfUnit(before), paraOfUnit(after)
	nOld, nNew := len(Paragraphs(before)), len(Paragraphs(after))
	// from[j] lists the old paragraphs with a character kept in new
	// paragraph j.
	from := make([][]int, nNew)
	survives := make([]bool, nOld)
	posA, posB := 0, 0
	keep := func(toA int) {
		for u := posA; u < toA; u++ {
			i, j := oldOf[u], newOf[posB+u-posA]
			if i >= 0 && j >= 0 && !slices.Contains(from[j], i) {
				from[j] = append(from[j], i)
				survives[i] = true
			}
		}
	}
	cs.IterChangesIndividual(func(fromA, toA, fromB, toB int, _ string) {
		keep(fromA)
		posA, posB = toA, toB
	})
	keep(len(oldOf))

	usable := func(i int) bool {
		return i < len(ids) && ids[i] != "" && slices.Index(ids, ids[i]) == i
	}
	ref := paraRef{out: make([]string, nNew), survives: survives}
	taken := make(map[int]bool)
	fresh := 0
	for j := range nNew {
		slices.Sort(from[j])
		chosen := -1
		for _, i := range from[j] {
			if !taken[i] {
				chosen = i
				taken[i] = true
				break
			}
		}
		if chosen >= 0 && usable(chosen) {
			ref.out[j] = ids[chosen]
		} else {
			fresh++
			ref.out[j] = fmt.Sprintf("n%d", fresh)
		}
	}
	for i := range nOld {
		if taken[i] || !usable(i) {
			continue
		}
		for j := range nNew {
			if slices.Contains(from[j], i) {
				if ref.merged == nil {
					ref.merged = make(map[string]string)
				}
				ref.merged[ids[i]] = ref.out[j]
				break
			}
		}
	}
	return ref
}

// paraOfUnit returns, for each UTF-16 unit of s, the index of the paragraph
// holding it, or -1.
func paraOfUnit(s string) []int {
	paras := Paragraphs(s)
	var out []int
	for b, c := range s {
		p := -1
		for k, sp := range paras {
			if b >= sp.Start && b < sp.End {
				p = k
			}
		}
		if c == utf8.RuneError {
			c = 0 // invalid bytes count as one unit each, like UTF16Len
		}
		for range utf16Units(c) {
			out = append(out, p)
		}
	}
	return out
}
