package editor

import (
	"errors"
	"testing"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestTextApply edits one Text through long random sessions and checks it
// against ChangeSet.Apply on strings after every change, including changes
// that must be refused without effect.
func TestTextApply(t *testing.T) {
	seed := testseed.Seed(t)
	c := newRandChooser(seed)
	for range 200 {
		doc := genDoc(c)
		text := NewText(doc)
		for step := range 30 {
			set := genSet(c, doc)
			if chance(c, 10) {
				// A change for a different length must be refused.
				bad := EmptyChangeSet(UTF16Len(doc) + 1)
				if err := text.Apply(bad); !errors.Is(err, ErrLengthMismatch) {
					t.Fatalf("Apply of a set for length %d to a text of %d: got %v; want ErrLengthMismatch", bad.LenBefore(), text.Len(), err)
				}
			}
			want := mustApply(set, doc)
			if err := text.Apply(set); err != nil {
				t.Fatalf("step %d: Text.Apply(%s) on %q: %v", step, set, doc, err)
			}
			if got := text.String(); got != want || text.Len() != UTF16Len(want) {
				t.Fatalf("step %d: Text.Apply(%s) on %q: got %q (length %d); want %q", step, set, doc, got, text.Len(), want)
			}
			doc = want
		}
	}
}

func TestTextRefuses(t *testing.T) {
	for _, tc := range []struct {
		json string
		want error
	}{
		{`[1,[1,"x"],2]`, ErrSplitSurrogate},   // one change, ending inside the pair
		{`[2,[1,"x"],1]`, ErrSplitSurrogate},   // one change, starting inside the pair
		{`[[1],[1,"x"],2]`, ErrSplitSurrogate}, // several changes
		{`[[0,"\ud83d"],4]`, ErrInvalidText},   // lone surrogate
		{`[[0,"ok"],1,[0,"\ude00"],3]`, ErrInvalidText},
		{`[5]`, ErrLengthMismatch},
	} {
		text := NewText("a😀b")
		c, err := ChangeSetFromJSON([]byte(tc.json))
		if err == nil {
			err = text.Apply(c)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.json, err, tc.want)
		}
		if text.String() != "a😀b" || text.Len() != 4 {
			t.Errorf("%s: refused change left %q (length %d)", tc.json, text.String(), text.Len())
		}
	}
}
