package editor

import (
	"slices"
	"testing"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestTypedInLineAgreesWithTrackParagraphs: whenever the keystroke fast
// path of ApplyChanges is taken, TrackParagraphs would have kept the ids
// too.
func TestTypedInLineAgreesWithTrackParagraphs(t *testing.T) {
	seed := testseed.Seed(t)
	gen := newRandChooser(seed)
	taken := 0
	for i := 0; i < 20000; i++ {
		doc := genDoc(gen)
		cs := genSet(gen, doc)
		after := mustApply(cs, doc)
		if !typedInLine(doc, after, cs) {
			continue
		}
		taken++
		ids := make([]string, len(Paragraphs(doc)))
		for k := range ids {
			ids[k] = string(rune('A' + k%26))
			ids[k] += string(rune('a' + k/26%26))
		}
		fresh := 0
		got, merged := TrackParagraphs(doc, after, ids, cs, func() string { fresh++; return "new" })
		if !slices.Equal(got, ids) || len(merged) > 0 || fresh > 0 {
			t.Fatalf("doc %q change %s: TrackParagraphs gives %v (merged %v); the fast path keeps %v", doc, cs, got, merged, ids)
		}
	}
	if taken < 200 {
		t.Fatalf("the fast path was taken only %d times; the generator no longer exercises it", taken)
	}
	t.Logf("fast path taken %d times", taken)
}
