package editor

import (
	"fmt"
	"strings"
	"testing"
)

// paraBenchSection returns a section of about 50 KB in 300 paragraphs, some
// of two lines, with accents, CJK and emoji as in forum drafts.
func paraBenchSection() string {
	var b strings.Builder
	for i := range 300 {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "Paragraph %d: the Best Practice Forum discussed normes de sécurité, 网络安全 and capacity building 👍🏽 with stakeholders from every region.", i)
		if i%3 == 0 {
			b.WriteString("\nA second line keeps the paragraph going for a while longer.")
		}
	}
	return b.String()
}

// paraBenchKeystroke returns the section, a one-character insertion in its
// middle, the text after it and the section's ids.
func paraBenchKeystroke(b *testing.B) (before string, cs ChangeSet, after string, ids []string) {
	before = paraBenchSection()
	at := UTF16Len(before[:len(before)/2])
	if len(before) < 50_000 || len(Paragraphs(before)) != 300 {
		b.Fatalf("section of %d bytes, %d paragraphs; want 50 KB, 300", len(before), len(Paragraphs(before)))
	}
	cs, err := ChangeSetOf([]Change{{From: at, To: at, Insert: "x"}}, UTF16Len(before))
	if err != nil {
		b.Fatal(err)
	}
	after, err = cs.Apply(before)
	if err != nil {
		b.Fatal(err)
	}
	return before, cs, after, paraIDs(300)
}

func BenchmarkTrackParagraphsKeystroke50KB(b *testing.B) {
	before, cs, after, ids := paraBenchKeystroke(b)
	newID := paraCounter("n")
	b.SetBytes(int64(len(before)))
	b.ReportAllocs()
	for b.Loop() {
		TrackParagraphs(before, after, ids, cs, newID)
	}
}

// BenchmarkApplyChangesKeystroke50KB is the hub's whole cost of a keystroke
// in the document model: check, apply and paragraph ids.
func BenchmarkApplyChangesKeystroke50KB(b *testing.B) {
	before, cs, _, ids := paraBenchKeystroke(b)
	undo, err := cs.Invert(before)
	if err != nil {
		b.Fatal(err)
	}
	d := &Document{Sections: []Section{{ID: "s", Text: before, Paras: ids}}}
	b.SetBytes(int64(len(before)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		set := cs
		if i%2 == 1 {
			set = undo
		}
		if _, err := d.ApplyChanges("s", set); err != nil {
			b.Fatal(err)
		}
	}
}
