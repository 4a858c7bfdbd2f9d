package editor

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// paraAt returns the UTF-16 offset of the first sub in s, so that table
// rows can say where a change goes without counting emoji halves.
func paraAt(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		panic(fmt.Sprintf("%q not in %q", sub, s))
	}
	return UTF16Len(s[:i])
}

// paraEnd returns the UTF-16 offset just after the first sub in s.
func paraEnd(s, sub string) int { return paraAt(s, sub) + UTF16Len(sub) }

// paraCounter returns a newID that hands out prefix1, prefix2, ...
func paraCounter(prefix string) func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("%s%d", prefix, n)
	}
}

// paraIDs returns p1 ... pn.
func paraIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i+1)
	}
	return ids
}

const paraText = "Hello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one"

func TestTrackParagraphs(t *testing.T) {
	ins := func(at int, text string) Change { return Change{From: at, To: at, Insert: text} }
	del := func(s, sub string) Change { return Change{From: paraAt(s, sub), To: paraEnd(s, sub)} }
	rep := func(s, sub, text string) Change {
		return Change{From: paraAt(s, sub), To: paraEnd(s, sub), Insert: text}
	}
	b := paraText
	tests := []struct {
		name    string
		before  string
		ids     []string // nil: p1 ... pn, one per paragraph
		changes []Change
		after   string // what the changes make, to keep the rows honest
		want    []string
		merged  map[string]string
	}{
		{
			name: "typing inside", before: b,
			changes: []Change{ins(paraEnd(b, "🙂"), "x")},
			after:   "Hello 🙂x world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "typing at the start", before: b,
			changes: []Change{ins(paraAt(b, "中"), "¡")},
			after:   "Hello 🙂 world\n\n¡中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "typing at the end", before: b,
			changes: []Change{ins(paraEnd(b, "world"), " 🎉")},
			after:   "Hello 🙂 world 🎉\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "typing at the end of the text", before: b,
			changes: []Change{ins(UTF16Len(b), "!")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one!",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "deleting inside", before: b,
			changes: []Change{del(b, "👍🏽 ")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n\nLast one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "typing in two paragraphs at once", before: b,
			changes: []Change{ins(paraAt(b, "world"), "big "), rep(b, "one", "two")},
			after:   "Hello 🙂 big world\n\n中文段落，网络安全\n\nLast 👍🏽 two",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "a line break inside", before: b,
			changes: []Change{ins(paraEnd(b, "段落"), "\n")},
			after:   "Hello 🙂 world\n\n中文段落\n，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "spaces on a blank line", before: b,
			changes: []Change{ins(paraEnd(b, "world\n"), " \t ")},
			after:   "Hello 🙂 world\n \t \n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "split", before: b,
			changes: []Change{ins(paraEnd(b, "段落，"), "\n\n")},
			after:   "Hello 🙂 world\n\n中文段落，\n\n网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "n1", "p3"},
		},
		{
			name: "split by a whitespace-only line", before: b,
			changes: []Change{ins(paraEnd(b, "🙂"), "\n \t\n")},
			after:   "Hello 🙂\n \t\n world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "p2", "p3"},
		},
		{
			name: "split in three", before: b,
			changes: []Change{ins(paraEnd(b, "Hello"), "\n\n"), ins(paraEnd(b, "🙂"), "\n\n")},
			after:   "Hello\n\n 🙂\n\n world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "n2", "p2", "p3"},
		},
		{
			name: "split at the very start keeps the id on the text", before: b,
			changes: []Change{ins(paraAt(b, "Last"), "New\n\n")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n\nNew\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "n1", "p3"},
		},
		{
			name: "merge", before: b,
			changes: []Change{rep(b, "world\n\n", "world ")},
			after:   "Hello 🙂 world 中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p3"},
			merged:  map[string]string{"p2": "p1"},
		},
		{
			name: "merge of three", before: b,
			changes: []Change{del(b, "\n\n中"), rep(b, "安全\n\n", "安全")},
			after:   "Hello 🙂 world文段落，网络安全Last 👍🏽 one",
			want:    []string{"p1"},
			merged:  map[string]string{"p2": "p1", "p3": "p1"},
		},
		{
			name: "merge by typing on the blank line", before: b,
			changes: []Change{ins(paraEnd(b, "安全\n"), "—")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n—\nLast 👍🏽 one",
			want:    []string{"p1", "p2"},
			merged:  map[string]string{"p3": "p2"},
		},
		{
			name: "merge where the first paragraph is deleted", before: b,
			changes: []Change{del(b, "Hello 🙂 world\n\n")},
			after:   "中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p2", "p3"},
		},
		{
			name: "merge where the first paragraph is replaced", before: b,
			changes: []Change{rep(b, "Hello 🙂 world\n\n", "Neu: ")},
			after:   "Neu: 中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p2", "p3"},
		},
		{
			name: "boundary moved forward", before: "aaa\n\nbbb",
			changes: []Change{{From: 3, To: 5}, {From: 6, To: 6, Insert: "\n\n"}},
			after:   "aaab\n\nbb",
			want:    []string{"p1", "p2"},
		},
		{
			name: "boundary moved back", before: "aa AA\n\nbb",
			changes: []Change{{From: 2, To: 3, Insert: "\n\n"}, {From: 5, To: 7}},
			after:   "aa\n\nAAbb",
			want:    []string{"p1", "p2"},
		},
		{
			name: "delete a paragraph", before: b,
			changes: []Change{del(b, "中文段落，网络安全\n\n")},
			after:   "Hello 🙂 world\n\nLast 👍🏽 one",
			want:    []string{"p1", "p3"},
		},
		{
			name: "delete the text of a paragraph, keeping blank lines", before: b,
			changes: []Change{del(b, "中文段落，网络安全")},
			after:   "Hello 🙂 world\n\n\n\nLast 👍🏽 one",
			want:    []string{"p1", "p3"},
		},
		{
			name: "delete everything", before: b,
			changes: []Change{{From: 0, To: UTF16Len(b)}},
			after:   "",
			want:    []string{},
		},
		{
			name: "replace a whole paragraph", before: b,
			changes: []Change{rep(b, "中文段落，网络安全", "完全不同")},
			after:   "Hello 🙂 world\n\n完全不同\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "p3"},
		},
		{
			name: "replace everything", before: b,
			changes: []Change{{From: 0, To: UTF16Len(b), Insert: "One\n\nTwo"}},
			after:   "One\n\nTwo",
			want:    []string{"n1", "n2"},
		},
		{
			name: "new paragraph at the start", before: b,
			changes: []Change{ins(0, "Intro 🙂\n\n")},
			after:   "Intro 🙂\n\nHello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"n1", "p1", "p2", "p3"},
		},
		{
			name: "new paragraph in the middle", before: b,
			changes: []Change{ins(paraEnd(b, "world"), "\n\n新的")},
			after:   "Hello 🙂 world\n\n新的\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "p2", "p3"},
		},
		{
			name: "new paragraph at the end", before: b,
			changes: []Change{ins(UTF16Len(b), "\n\nEnd")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one\n\nEnd",
			want:    []string{"p1", "p2", "p3", "n1"},
		},
		{
			name: "first paragraph of an empty text", before: "",
			changes: []Change{ins(0, "🙂")},
			after:   "🙂",
			want:    []string{"n1"},
		},
		{
			name: "first paragraph after blank lines", before: "\n \n",
			changes: []Change{ins(3, "x")},
			after:   "\n \nx",
			want:    []string{"n1"},
		},
		{
			name: "CRLF typing", before: "one\r\ntwo\r\n\r\nthree",
			changes: []Change{ins(1, "n")},
			after:   "onne\r\ntwo\r\n\r\nthree",
			want:    []string{"p1", "p2"},
		},
		{
			name: "CRLF split", before: "one\r\ntwo\r\n\r\nthree",
			changes: []Change{ins(5, "\n")},
			after:   "one\r\n\ntwo\r\n\r\nthree",
			want:    []string{"p1", "n1", "p2"},
		},
		{
			name: "CRLF merge", before: "one\r\ntwo\r\n\r\nthree",
			changes: []Change{{From: 10, To: 12}},
			after:   "one\r\ntwo\r\nthree",
			want:    []string{"p1"},
			merged:  map[string]string{"p2": "p1"},
		},
		{
			name: "legacy: missing ids are filled", before: b, ids: []string{"p1"},
			changes: []Change{ins(1, "e")},
			after:   "Heello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "n2"},
		},
		{
			name: "legacy: no ids at all", before: b, ids: []string{},
			changes: []Change{del(b, "Hello 🙂 world\n\n")},
			after:   "中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"n1", "n2"},
		},
		{
			name: "legacy: a paragraph without id merged away is not recorded", before: b, ids: []string{"p1", "p2"},
			changes: []Change{rep(b, "安全\n\n", "安全 ")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全 Last 👍🏽 one",
			want:    []string{"p1", "p2"},
		},
		{
			name: "legacy: extra ids are dropped", before: b, ids: []string{"p1", "p2", "p3", "p4"},
			changes: []Change{ins(0, "¿")},
			after:   "¿Hello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "p2", "p3"},
		},
		{
			name: "a repeated id counts as missing", before: b, ids: []string{"p1", "p1", ""},
			changes: []Change{ins(0, "¿")},
			after:   "¿Hello 🙂 world\n\n中文段落，网络安全\n\nLast 👍🏽 one",
			want:    []string{"p1", "n1", "n2"},
		},
		{
			name: "an orphaned id is never handed out again", before: b, ids: []string{"p1", "p2", "n1"},
			changes: []Change{rep(b, "Last 👍🏽 one", "Replaced")},
			after:   "Hello 🙂 world\n\n中文段落，网络安全\n\nReplaced",
			want:    []string{"p1", "p2", "n2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ChangeSetOf(tt.changes, UTF16Len(tt.before))
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.CheckAgainst(tt.before); err != nil {
				t.Fatal(err)
			}
			after, err := cs.Apply(tt.before)
			if err != nil {
				t.Fatal(err)
			}
			if after != tt.after {
				t.Fatalf("the changes give %q; the row says %q", after, tt.after)
			}
			ids := tt.ids
			if ids == nil {
				ids = paraIDs(len(Paragraphs(tt.before)))
			}
			got, merged := TrackParagraphs(tt.before, after, ids, cs, paraCounter("n"))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids %q; want %q", got, tt.want)
			}
			if !maps.Equal(merged, tt.merged) {
				t.Errorf("merged %v; want %v", merged, tt.merged)
			}
		})
	}
}

// TestTrackParagraphsNoNewIDs checks that newID is called only for the
// paragraphs that need one, so typing does not use up ids.
func TestTrackParagraphsNoNewIDs(t *testing.T) {
	before := paraText
	cs, err := ChangeSetOf([]Change{{From: 3, To: 4, Insert: "L"}}, UTF16Len(before))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := cs.Apply(before)
	calls := 0
	TrackParagraphs(before, after, paraIDs(3), cs, func() string { calls++; return "x" })
	if calls != 0 {
		t.Errorf("newID called %d times; want 0", calls)
	}
}

// TestTrackParagraphsMismatch checks that a change that does not belong to
// the texts still gives one unique id per paragraph, without panicking.
func TestTrackParagraphsMismatch(t *testing.T) {
	cs, err := ChangeSetOf([]Change{{From: 1, To: 30, Insert: "\n\n"}}, 40)
	if err != nil {
		t.Fatal(err)
	}
	after := "a\n\nb\n\nc\n\nd"
	got, _ := TrackParagraphs("x\n\ny", after, []string{"p1", "p2"}, cs, paraCounter("n"))
	if len(got) != 4 {
		t.Fatalf("%d ids %q; want 4", len(got), got)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != 4 {
		t.Errorf("ids %q are not unique", got)
	}
}
