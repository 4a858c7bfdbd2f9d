package comments

import (
	"reflect"
	"testing"

	"github.com/bpfdraft/bpfdraft/editor"
)

// TestCloneIsIndependent: a clone and its original share buckets until
// one changes; then each changes alone, and a clone taken before a run
// of steps, given the same steps, ends equal to the original.
func TestCloneIsIndependent(t *testing.T) {
	d, s := setup(t, q("custom-1", "evidence from the multistakeholder", 0), q("custom-2", "Other section", 0),
		func(_ testing.TB, d *editor.Document) Anchor {
			a, _ := NewDocumentAnchor(d)
			return a
		})
	d2 := d.Clone()
	c := s.Clone()
	frozen := c.All()
	steps := []func(*editor.Document) editor.Step{
		func(d *editor.Document) editor.Step { return replaceStep(t, d, "custom-1", "evidence", "proof", 0) },
		func(d *editor.Document) editor.Step { return replaceStep(t, d, "custom-2", "Other section", "", 0) },
		func(d *editor.Document) editor.Step {
			return editor.Step{Structure: &editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: "custom-1"}}}
		},
	}
	for _, st := range steps {
		mustApply(t, s, d, st(d))
	}
	if got := c.All(); !reflect.DeepEqual(got, frozen) {
		t.Fatalf("changing the original changed the clone:\n%+v\nwas\n%+v", got, frozen)
	}
	// A clone of the clone, changed, leaves the clone as it was too.
	cc := c.Clone()
	mustApply(t, cc, d2.Clone(), steps[0](d2.Clone()))
	if got := c.All(); !reflect.DeepEqual(got, frozen) {
		t.Fatal("changing a clone's clone changed the clone")
	}
	for _, st := range steps {
		mustApply(t, c, d2, st(d2))
	}
	if !reflect.DeepEqual(c.All(), s.All()) || c.Seq() != s.Seq() || c.Len() != s.Len() {
		t.Fatalf("the clone given the same steps:\n%+v\nthe original:\n%+v", c.All(), s.All())
	}
}
