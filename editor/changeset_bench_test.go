package editor

import (
	"strings"
	"testing"
)

// Benchmarks on the sizes the hub sees: documents of tens of KB, single
// keystrokes and large pasted or rebased sets.

// benchDoc returns a ~50 KB document: mostly ASCII prose with some
// accented letters, CJK and emoji, as in forum drafts.
func benchDoc(ascii bool) string {
	var b strings.Builder
	para := "The Best Practice Forum discussed cybersecurity norms and capacity building. "
	if !ascii {
		para = "The Best Practice Forum discussed normes de sécurité, 网络安全 and capacity building 👍🏽. "
	}
	for b.Len() < 50_000 {
		b.WriteString(para)
		if b.Len()%7 == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// keystroke inserts one character in the middle of doc.
func keystroke(b *testing.B, doc string) ChangeSet {
	n := UTF16Len(doc)
	pos := boundaries(doc)[len(boundaries(doc))/2]
	set, err := ChangeSetOf([]Change{{From: pos, To: pos, Insert: "x"}}, n)
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// manyChanges returns a set of n replacements spread over doc.
func manyChanges(b *testing.B, doc string, n int, seed uint64) ChangeSet {
	bs := boundaries(doc)
	c := newRandChooser(seed)
	changes := make([]Change, 0, n)
	step := len(bs) / (n + 1)
	for i := range n {
		from := bs[(i+1)*step]
		to := bs[(i+1)*step+c.intn(3)]
		changes = append(changes, Change{From: from, To: to, Insert: genText(c, 2)})
	}
	set, err := ChangeSetOf(changes, UTF16Len(doc))
	if err != nil {
		b.Fatal(err)
	}
	return set
}

func benchApply(b *testing.B, doc string, set ChangeSet) {
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := set.Apply(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyKeystroke50KB(b *testing.B) {
	doc := benchDoc(false)
	benchApply(b, doc, keystroke(b, doc))
}

func BenchmarkApplyKeystroke50KBASCII(b *testing.B) {
	doc := benchDoc(true)
	benchApply(b, doc, keystroke(b, doc))
}

func BenchmarkApply1kChanges50KB(b *testing.B) {
	doc := benchDoc(false)
	benchApply(b, doc, manyChanges(b, doc, 1000, 1))
}

func BenchmarkCheckAgainstKeystroke50KB(b *testing.B) {
	doc := benchDoc(false)
	set := keystroke(b, doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := set.CheckAgainst(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUTF16Len50KB(b *testing.B) {
	doc := benchDoc(false)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		UTF16Len(doc)
	}
}

func BenchmarkMapKeystroke(b *testing.B) {
	doc := benchDoc(false)
	a := keystroke(b, doc)
	n := UTF16Len(doc)
	other, _ := ChangeSetOf([]Change{{From: n / 3, To: n/3 + 1, Insert: "yz"}}, n)
	b.ReportAllocs()
	for b.Loop() {
		a.Map(other, false)
	}
}

func BenchmarkMap1kOver1k(b *testing.B) {
	doc := benchDoc(false)
	a, other := manyChanges(b, doc, 1000, 1), manyChanges(b, doc, 1000, 2)
	b.ReportAllocs()
	for b.Loop() {
		a.Map(other, true)
	}
}

func BenchmarkComposeKeystrokes(b *testing.B) {
	doc := benchDoc(false)
	a := keystroke(b, doc)
	next, _ := ChangeSetOf([]Change{{From: 100, To: 100, Insert: "y"}}, a.LenAfter())
	b.ReportAllocs()
	for b.Loop() {
		a.Compose(next)
	}
}

func BenchmarkCompose1kWith1k(b *testing.B) {
	doc := benchDoc(false)
	a := manyChanges(b, doc, 1000, 1)
	mid := mustApply(a, doc)
	next := manyChanges(b, mid, 1000, 2)
	b.ReportAllocs()
	for b.Loop() {
		a.Compose(next)
	}
}

func BenchmarkChangeSetFromJSONKeystroke(b *testing.B) {
	data := []byte(`[25013,[0,"x"],24987]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ChangeSetFromJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebaseKeystroke is a keystroke pushed ten updates behind.
func BenchmarkRebaseKeystroke(b *testing.B) {
	doc := benchDoc(false)
	var over []Update
	cur := doc
	for i := range 10 {
		n := UTF16Len(cur)
		set, _ := ChangeSetOf([]Change{{From: n / (i + 2), To: n / (i + 2), Insert: "o"}}, n)
		over = append(over, Update{Changes: set, ClientID: "other"})
		cur = mustApply(set, cur)
	}
	mine := []Update{{Changes: keystroke(b, doc), ClientID: "me"}}
	b.ReportAllocs()
	for b.Loop() {
		RebaseUpdates(mine, over)
	}
}

func benchText(b *testing.B, doc string, sets ...ChangeSet) {
	text := NewText(doc)
	inverses := make([]ChangeSet, len(sets))
	for i, set := range sets {
		inv, err := set.Invert(doc)
		if err != nil {
			b.Fatal(err)
		}
		inverses[i] = inv
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		// Apply and undo, so the text keeps its size.
		for i, set := range sets {
			if err := text.Apply(set); err != nil {
				b.Fatal(err)
			}
			if err := text.Apply(inverses[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTextKeystroke50KB is a keystroke and its undo on a Text: the
// hub's path.
func BenchmarkTextKeystroke50KB(b *testing.B) {
	doc := benchDoc(false)
	benchText(b, doc, keystroke(b, doc))
}

func BenchmarkText1kChanges50KB(b *testing.B) {
	doc := benchDoc(false)
	benchText(b, doc, manyChanges(b, doc, 1000, 1))
}
