package editor

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// applyDoc returns a document with two sections, the first holding
// paraText with ids p1-p3.
func applyDoc() *Document {
	return &Document{
		ID: "doc", Title: "Draft", Seq: 7, NextPara: 3,
		Sections: []Section{
			{ID: "issues", Title: "Issues", Kind: Required, Text: paraText, Version: 4, Paras: []string{"p1", "p2", "p3"}},
			{ID: "methods", Title: "Methods", Kind: Required},
		},
	}
}

func applySet(t *testing.T, doc string, changes ...Change) ChangeSet {
	t.Helper()
	cs, err := ChangeSetOf(changes, UTF16Len(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestApplyChanges(t *testing.T) {
	d := applyDoc()
	split := paraEnd(paraText, "🙂")
	pc, err := d.ApplyChanges("issues", applySet(t, paraText, Change{From: split, To: split, Insert: "\n\n"}))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Section("issues")
	if want := "Hello 🙂\n\n world\n\n中文段落，网络安全\n\nLast 👍🏽 one"; s.Text != want {
		t.Errorf("text %q; want %q", s.Text, want)
	}
	if s.Version != 5 || d.Seq != 8 {
		t.Errorf("version %d, seq %d; want 5, 8", s.Version, d.Seq)
	}
	want := []string{"p1", "p4", "p2", "p3"}
	if !pc.Changed || !slices.Equal(pc.Paras, want) || !slices.Equal(s.Paras, want) || pc.Merged != nil {
		t.Errorf("got %+v, section ids %q; want changed, %q, no merges", pc, s.Paras, want)
	}
	if d.NextPara != 4 {
		t.Errorf("NextPara %d; want 4", d.NextPara)
	}

	// Typing changes no id.
	pc, err = d.ApplyChanges("issues", applySet(t, s.Text, Change{From: 0, To: 0, Insert: "¡"}))
	if err != nil {
		t.Fatal(err)
	}
	if pc.Changed || !slices.Equal(pc.Paras, want) || s.Version != 6 || d.Seq != 9 {
		t.Errorf("got %+v, version %d, seq %d; want unchanged %q, 6, 9", pc, s.Version, d.Seq, want)
	}

	// Joining reports the merge.
	join := strings.Index(s.Text, "\n\n中")
	pc, err = d.ApplyChanges("issues", applySet(t, s.Text, Change{From: UTF16Len(s.Text[:join]), To: UTF16Len(s.Text[:join]) + 2}))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"p1", "p4", "p3"}
	if !pc.Changed || !slices.Equal(pc.Paras, want) || !maps.Equal(pc.Merged, map[string]string{"p2": "p4"}) {
		t.Errorf("got %+v; want changed, %q, p2 merged into p4", pc, want)
	}

	// An empty section gets its first id; the other section is untouched.
	pc, err = d.ApplyChanges("methods", applySet(t, "", Change{Insert: "Surveys."}))
	if err != nil {
		t.Fatal(err)
	}
	if !pc.Changed || !slices.Equal(pc.Paras, []string{"p5"}) || d.Sections[1].Version != 1 || d.Seq != 11 {
		t.Errorf("got %+v, version %d, seq %d; want [p5], 1, 11", pc, d.Sections[1].Version, d.Seq)
	}
	if s.Version != 7 {
		t.Errorf("issues version %d; want 7", s.Version)
	}
}

// TestApplyChangesLegacy checks that a section without ids gets them on its
// first update, and that an empty update is still an update.
func TestApplyChangesLegacy(t *testing.T) {
	d := applyDoc()
	d.Sections[0].Paras = nil
	pc, err := d.ApplyChanges("issues", EmptyChangeSet(UTF16Len(paraText)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p4", "p5", "p6"}; !pc.Changed || !slices.Equal(d.Sections[0].Paras, want) {
		t.Errorf("got %+v; want changed to %q", pc, want)
	}
	if d.Sections[0].Version != 5 || d.Seq != 8 {
		t.Errorf("version %d, seq %d; want 5, 8", d.Sections[0].Version, d.Seq)
	}

	pc, err = d.ApplyChanges("methods", EmptyChangeSet(0))
	if err != nil {
		t.Fatal(err)
	}
	if pc.Changed || d.Sections[1].Paras != nil {
		t.Errorf("empty section: got %+v, ids %#v; want unchanged nil", pc, d.Sections[1].Paras)
	}
}

func TestApplyChangesRejects(t *testing.T) {
	long := UTF16Len(paraText)
	emoji := paraAt(paraText, "🙂")
	tests := []struct {
		name    string
		section string
		cs      ChangeSet
		want    error
	}{
		{"unknown section", "nope", EmptyChangeSet(long), ErrInvalid},
		{"too short", "issues", EmptyChangeSet(long - 1), ErrLengthMismatch},
		{"too long", "issues", EmptyChangeSet(long + 1), ErrLengthMismatch},
		{"half an emoji", "issues", mustChangeSet(t, []Change{{From: emoji + 1, To: emoji + 2, Insert: "x"}}, long), ErrSplitSurrogate},
		{"invalid UTF-8", "issues", mustChangeSet(t, []Change{{From: 1, To: 1, Insert: "\xff"}}, long), ErrInvalidText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := applyDoc()
			orig := d.Clone()
			_, err := d.ApplyChanges(tt.section, tt.cs)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v; want %v", err, tt.want)
			}
			if !reflect.DeepEqual(d, orig) {
				t.Errorf("document changed by a rejected update: got %+v; want %+v", d, orig)
			}
		})
	}
}

func TestClone(t *testing.T) {
	d := applyDoc()
	c := d.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("clone %+v; want %+v", c, d)
	}
	if _, err := c.ApplyChanges("issues", applySet(t, paraText, Change{From: 0, To: 0, Insert: "x\n\n"})); err != nil {
		t.Fatal(err)
	}
	c.AssignParagraphIDs()
	c.Sections[0].Paras = append(c.Sections[0].Paras[:0], "changed")
	if !reflect.DeepEqual(d, applyDoc()) {
		t.Errorf("original changed through its clone: %+v", d)
	}
	if _, err := d.AddCustomSection("More", "text"); err != nil {
		t.Fatal(err)
	}
	if len(c.Sections) != 2 {
		t.Errorf("clone has %d sections after the original grew; want 2", len(c.Sections))
	}
	if (*Document)(nil).Clone() != nil {
		t.Errorf("nil.Clone() is not nil")
	}
}

func mustChangeSet(t *testing.T, changes []Change, length int) ChangeSet {
	t.Helper()
	cs, err := ChangeSetOf(changes, length)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
