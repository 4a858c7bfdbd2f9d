package editor

import (
	"encoding/json"
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
	// Title is the new title, for OpRenameDocument and OpRenameSection.
	Title string `json:"title,omitempty"`
	// Index is where OpMoveSection puts the section (0 first).
	Index *int `json:"index,omitempty"`
	// Comment is the event of an OpComment step, opaque to this package.
	Comment json.RawMessage `json:"comment,omitempty"`
}

// Structural operations.
const (
	// OpAddSection appends a custom section, version 0, to the document.
	OpAddSection = "add_section"
	// OpWorkflow sets the document's stage and comment window
	// (Workflow.CheckTransition); moving to public comment or to final
	// publishes the document as it is at this step's seq.
	OpWorkflow = "workflow"
	// OpRenameDocument sets the document's title (Title).
	OpRenameDocument = "rename_document"
	// OpRenameSection sets a custom section's title (Section.ID, Title).
	OpRenameSection = "rename_section"
	// OpMoveSection moves a custom section (Section.ID) to Index in the
	// list of sections; the template's sections keep their order.
	OpMoveSection = "move_section"
	// OpRemoveSection removes a custom section (Section.ID). In the log
	// its Section holds the section as it was (title, text, paragraph
	// ids), so its text stays in the history.
	OpRemoveSection = "remove_section"
	// OpComment is an event of the document's comments (a comment, a
	// reply, an edit, a withdrawal, a moderation): it changes no text and
	// counts in Seq, so comments are ordered with the edits. Its Comment
	// is the server's to read.
	OpComment = "comment"
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
	// Removed is the section an OpRemoveSection step removed.
	Removed *Section
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
		} else if next.Republish {
			next.Since, next.Published = s.Time, d.Seq+1 // a correction of the final output
		} else {
			next.Since, next.Published = d.Workflow.Since, d.Workflow.Published
		}
		next.Republish = false
		d.Workflow = next
		d.Seq++
		d.Updated = s.Time
		return Effect{}, nil
	case OpComment:
		if len(s.Structure.Comment) == 0 {
			return Effect{}, fmt.Errorf("%w: comment without an event", ErrInvalid)
		}
	case OpRenameDocument:
		title, err := CheckTitle(s.Structure.Title, "document title")
		if err != nil {
			return Effect{}, err
		}
		d.Title = title
	case OpRenameSection, OpMoveSection, OpRemoveSection:
		sc := s.Structure
		if sc.Section == nil {
			return Effect{}, fmt.Errorf("%w: %s without a section", ErrInvalid, sc.Op)
		}
		i := d.sectionIndex(sc.Section.ID)
		if i < 0 {
			return Effect{}, fmt.Errorf("%w: no section %q", ErrInvalid, sc.Section.ID)
		}
		if d.Sections[i].Kind != Custom {
			return Effect{}, fmt.Errorf("%w: the sections of the template stay as the modalities set them; only custom sections are renamed, moved or removed", ErrInvalid)
		}
		switch sc.Op {
		case OpRenameSection:
			title := strings.TrimSpace(sc.Title)
			if title == "" || strings.ContainsAny(title, "\r\n") || len(title) > Limits.TitleBytes {
				return Effect{}, fmt.Errorf("%w: a section's title is one line of at most %d bytes", ErrInvalid, Limits.TitleBytes)
			}
			d.Sections[i].Title = title
		case OpMoveSection:
			if sc.Index == nil || *sc.Index < 0 || *sc.Index >= len(d.Sections) {
				return Effect{}, fmt.Errorf("%w: move_section to a place between 0 and %d", ErrInvalid, len(d.Sections)-1)
			}
			sec := d.Sections[i]
			rest := append(d.Sections[:i:i], d.Sections[i+1:]...)
			d.Sections = append(rest[:*sc.Index:*sc.Index], append([]Section{sec}, rest[*sc.Index:]...)...)
		case OpRemoveSection:
			removed := d.Sections[i]
			removed.Paras = append([]string(nil), removed.Paras...)
			d.Sections = append(d.Sections[:i:i], d.Sections[i+1:]...)
			d.Seq++
			d.Updated = s.Time
			return Effect{Removed: &removed}, nil
		}
	default:
		return Effect{}, fmt.Errorf("%w: unknown structural change %q", ErrInvalid, s.Structure.Op)
	}
	d.Seq++
	d.Updated = s.Time
	return Effect{}, nil
}

// sectionIndex returns the index of the section with the id, or -1.
func (d *Document) sectionIndex(id string) int {
	for i := range d.Sections {
		if d.Sections[i].ID == id {
			return i
		}
	}
	return -1
}
