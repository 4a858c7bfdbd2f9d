package editor

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

func TestRestructureSteps(t *testing.T) {
	tmpl, _ := LookupTemplate("bpf-output")
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	d := tmpl.NewDocument("d", "Steps", at)
	template := sectionIDs(d)
	for _, title := range []string{"Annex A", "Annex B"} {
		if _, err := d.Apply(Step{Structure: &Structure{Op: OpAddSection, Section: &Section{Title: title, Text: "Text of " + title + "."}}, Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	idx := func(i int) *int { return &i }
	for _, tc := range []struct {
		name  string
		step  Structure
		ok    bool
		check func(d *Document) bool
	}{
		{"rename the document", Structure{Op: OpRenameDocument, Title: " New title "}, true, func(d *Document) bool { return d.Title == "New title" }},
		{"empty title", Structure{Op: OpRenameDocument, Title: "  "}, false, nil},
		{"rename a custom section", Structure{Op: OpRenameSection, Section: &Section{ID: "custom-1"}, Title: "Case studies"}, true,
			func(d *Document) bool { return d.Section("custom-1").Title == "Case studies" }},
		{"a two-line title", Structure{Op: OpRenameSection, Section: &Section{ID: "custom-1"}, Title: "a\nb"}, false, nil},
		{"rename a template section", Structure{Op: OpRenameSection, Section: &Section{ID: template[0]}, Title: "Mine"}, false, nil},
		{"move a custom section first", Structure{Op: OpMoveSection, Section: &Section{ID: "custom-2"}, Index: idx(0)}, true,
			func(d *Document) bool { return d.Sections[0].ID == "custom-2" }},
		{"move out of range", Structure{Op: OpMoveSection, Section: &Section{ID: "custom-2"}, Index: idx(99)}, false, nil},
		{"move without a place", Structure{Op: OpMoveSection, Section: &Section{ID: "custom-2"}}, false, nil},
		{"move a template section", Structure{Op: OpMoveSection, Section: &Section{ID: template[2]}, Index: idx(0)}, false, nil},
		{"remove a template section", Structure{Op: OpRemoveSection, Section: &Section{ID: template[1]}}, false, nil},
		{"remove a section that is not there", Structure{Op: OpRemoveSection, Section: &Section{ID: "custom-9"}}, false, nil},
		{"remove a custom section", Structure{Op: OpRemoveSection, Section: &Section{ID: "custom-1"}}, true,
			func(d *Document) bool { return d.Section("custom-1") == nil }},
	} {
		before := d.Clone()
		st := tc.step
		eff, err := d.Apply(Step{Structure: &st, Time: at.Add(time.Hour)})
		if tc.ok != (err == nil) {
			t.Fatalf("%s: %v; want ok %v", tc.name, err, tc.ok)
		}
		if !tc.ok {
			if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(d, before) {
				t.Fatalf("%s: refused with %v, and the document changed", tc.name, err)
			}
			continue
		}
		if !tc.check(d) || d.Seq != before.Seq+1 {
			t.Fatalf("%s: %v, seq %d", tc.name, sectionIDs(d), d.Seq)
		}
		if st.Op == OpRemoveSection && (eff.Removed == nil || eff.Removed.Text != "Text of Annex A.") {
			t.Fatalf("remove: effect %+v; want the section as it was", eff.Removed)
		}
		// The template's sections keep their order whatever happens.
		var kept []string
		for _, id := range sectionIDs(d) {
			if slices.Contains(template, id) {
				kept = append(kept, id)
			}
		}
		if !slices.Equal(kept, template) {
			t.Fatalf("%s: template order %v", tc.name, kept)
		}
	}
}

// TestRestructureReplays: random structural and text steps applied live,
// logged as JSON and replayed on a copy of the start give the same
// document; refused steps change nothing.
func TestRestructureReplays(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	tmpl, _ := LookupTemplate("bpf-output")
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	runs := 200
	if testing.Short() {
		runs = 40
	}
	for range runs {
		live := tmpl.NewDocument("d", "Random", at)
		start := live.Clone()
		var log []json.RawMessage
		for i := range 40 {
			var st Structure
			custom := []string{}
			for _, s := range live.Sections {
				if s.Kind == Custom {
					custom = append(custom, s.ID)
				}
			}
			pick := func() *Section {
				if len(custom) == 0 || rng.IntN(8) == 0 {
					return &Section{ID: live.Sections[rng.IntN(len(live.Sections))].ID}
				}
				return &Section{ID: custom[rng.IntN(len(custom))]}
			}
			switch rng.IntN(5) {
			case 0:
				st = Structure{Op: OpAddSection, Section: &Section{Title: "Annex", Text: "One.\n\nTwo."}}
			case 1:
				st = Structure{Op: OpRenameSection, Section: pick(), Title: "Renamed"}
			case 2:
				n := rng.IntN(len(live.Sections)+1) - 1 // -1 and len are refused
				if rng.IntN(4) == 0 {
					n = len(live.Sections)
				}
				st = Structure{Op: OpMoveSection, Section: pick(), Index: &n}
			case 3:
				st = Structure{Op: OpRemoveSection, Section: pick()}
			default:
				st = Structure{Op: OpRenameDocument, Title: "Title " + string(rune('A'+i%26))}
			}
			before := live.Clone()
			eff, err := live.Apply(Step{Structure: &st, Time: at})
			if err != nil {
				if !reflect.DeepEqual(live, before) {
					t.Fatalf("seed %d: refused %+v changed the document", seed, st)
				}
				continue
			}
			switch { // what the log keeps, as the authority writes it
			case eff.Added != nil:
				st.Section = eff.Added
			case eff.Removed != nil:
				st.Section = eff.Removed
			}
			raw, _ := json.Marshal(st)
			log = append(log, raw)
		}
		replayed := start
		for _, raw := range log {
			var st Structure
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatal(err)
			}
			if _, err := replayed.Apply(Step{Structure: &st, Time: at}); err != nil {
				t.Fatalf("seed %d: replay %s: %v", seed, raw, err)
			}
		}
		if !reflect.DeepEqual(replayed, live) {
			t.Fatalf("seed %d: replayed %v, live %v", seed, sectionIDs(replayed), sectionIDs(live))
		}
	}
}
