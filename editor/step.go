package editor

import (
	"fmt"
	"strings"
	"time"
)

// Structure is a change to a document's list of sections, as the log keeps
// it and clients receive it.
type Structure struct {
	Op string `json:"op"`
	// Section is the section concerned. For OpAddSection it is the new
	// section as added (id, title, kind, text, paras); only its title and
	// text are needed to apply the step, the rest is checked.
	Section *Section `json:"section,omitempty"`
	// Workflow is the document's new workflow, for OpWorkflow.
	Workflow *Workflow `json:"workflow,omitempty"`
}

// Structural operations.
const (
	// OpAddSection appends a custom section, version 0, to the document.
	OpAddSection = "add_section"
	// OpWorkflow sets the document's stage and comment window
	// (Workflow.CheckTransition); moving to public comment or to final
	// publishes the document as it is at this step's seq.
	OpWorkflow = "workflow"
)

// Step is one accepted change to a document: a text change to one section
// (Section and Changes) or a structural change (Structure), made at Time.
type Step struct {
	Section   string
	Changes   ChangeSet
	Structure *Structure
	Time      time.Time
}

// Effect is what a step did to the document.
type Effect struct {
	// Paras reports what a text step did to the section's paragraph ids.
	Paras ParaChange
	// Added is the section an OpAddSection step added; it shares nothing
	// with the document.
	Added *Section
}

// Apply applies one step and counts it in Seq. It is the one way an
// accepted change reaches a document, for the live engine and for replay
// from the log alike, so both give the same texts, versions and paragraph
// ids: the result depends only on d and s.
//
// A text step is ApplyChanges. An OpAddSection step appends a custom
// section with the title and text it carries (CheckNewSection is for
// whoever accepts it); when s.Structure.Section carries an id
// (a step read back from the log) it must be the id the document would
// give, or nothing is changed. On any error d is left untouched.
func (d *Document) Apply(s Step) (Effect, error) {
	if s.Structure == nil {
		pc, err := d.ApplyChanges(s.Section, s.Changes)
		if err != nil {
			return Effect{}, err
		}
		d.Updated = s.Time
		return Effect{Paras: pc}, nil
	}
	switch s.Structure.Op {
	case OpAddSection:
		want := s.Structure.Section
		if want == nil {
			return Effect{}, fmt.Errorf("%w: add_section without a section", ErrInvalid)
		}
		if id := fmt.Sprintf("custom-%d", d.NextCustom+1); want.ID != "" && want.ID != id {
			return Effect{}, fmt.Errorf("%w: add_section of %q where the next custom section is %q", ErrInvalid, want.ID, id)
		}
		title := strings.TrimSpace(want.Title)
		if title == "" || strings.ContainsAny(title, "\r\n") {
			return Effect{}, fmt.Errorf("%w: add_section needs a one-line title", ErrInvalid)
		}
		// No limits here: a step is checked when it is accepted, and a
		// replay must give back what was accepted under any limits.
		sec := d.appendSection(title, want.Text)
		added := *sec
		added.Paras = append([]string(nil), sec.Paras...)
		d.Seq++
		d.Updated = s.Time
		return Effect{Added: &added}, nil
	case OpWorkflow:
		w := s.Structure.Workflow
		if w == nil {
			return Effect{}, fmt.Errorf("%w: workflow without a workflow", ErrInvalid)
		}
		if err := d.Workflow.CheckTransition(*w); err != nil {
			return Effect{}, err
		}
		next := *w
		next.Stage = w.StageOf()
		if next.Stage != d.Workflow.StageOf() {
			next.Since = s.Time
			if next.Stage == StagePublicComment || next.Stage == StageFinal {
				next.Published = d.Seq + 1
			} else {
				next.Published = d.Workflow.Published
			}
		} else {
			next.Since, next.Published = d.Workflow.Since, d.Workflow.Published
		}
		d.Workflow = next
		d.Seq++
		d.Updated = s.Time
		return Effect{}, nil
	default:
		return Effect{}, fmt.Errorf("%w: unknown structural change %q", ErrInvalid, s.Structure.Op)
	}
}
