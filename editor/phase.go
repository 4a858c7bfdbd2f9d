package editor

import (
	"fmt"
	"time"
)

// CommentWindow is how long before the annual meeting a BPF's draft is
// open for public comment: about six weeks, in the IGF modalities.
const CommentWindow = 42 * 24 * time.Hour

// Phase says where a document stands, for readers: from its workflow,
// as the Secretariat set it, and the clock.
type Phase struct {
	// Stage is the document's stage.
	Stage Stage `json:"stage"`
	// Label says it to readers, with the dates that matter (in UTC): for
	// a live page, since it goes stale.
	Label string `json:"label"`
	// Status says what a version in this stage is, without dates, for a
	// title page that may be printed or saved ("Draft for public
	// comment").
	Status string `json:"status"`
	// Opens and Closes bound the comment window, when there is one;
	// WindowOpen says whether it is open now, and Left how long it stays
	// open (zero when it is not).
	Opens, Closes time.Time
	WindowOpen    bool
	Left          time.Duration
}

// PhaseOf returns the phase of a document in workflow w at now.
func PhaseOf(w Workflow, now time.Time) Phase {
	p := Phase{Stage: w.StageOf(), Opens: w.Opens, Closes: w.Closes, WindowOpen: w.WindowOpen(now)}
	at := func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }
	switch p.Stage {
	case StageDrafting:
		p.Status, p.Label = "Draft", "Draft in preparation"
	case StagePublicComment:
		p.Status = "Draft for public comment"
		switch {
		case now.Before(w.Opens):
			p.Label = fmt.Sprintf("Published for public comment; comments open on %s", at(w.Opens))
		case p.WindowOpen:
			p.Left = w.Closes.Sub(now)
			p.Label = fmt.Sprintf("Open for public comment until %s (%s left)", at(w.Closes), left(p.Left))
		default:
			p.Label = fmt.Sprintf("Public comment closed on %s", at(w.Closes))
		}
	case StageRevision:
		p.Status = "Draft, being updated after public comment"
		p.Label = "Being updated with the comments received"
		if !w.Closes.IsZero() {
			p.Label += fmt.Sprintf("; public comment closed on %s", at(w.Closes))
		}
	case StageFinal:
		p.Status, p.Label = "Final output", "Final output"
	}
	return p
}

// left says a duration as people do: days, or hours, or minutes.
func left(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(max(1, int(d/time.Minute)), "minute")
}

// Stage is where a document stands, as the Secretariat sets it: the
// stages follow each other in this order.
type Stage string

// The stages.
const (
	// StageDrafting: the team writes; the draft is theirs.
	StageDrafting Stage = "drafting"
	// StagePublicComment: a version is published for the public to
	// comment on while the comment window is open; the team may go on
	// editing the live text unless the Secretariat froze it.
	StagePublicComment Stage = "public-comment"
	// StageRevision: the team updates the text with the comments.
	StageRevision Stage = "revision"
	// StageFinal: the final output is published, read-only.
	StageFinal Stage = "final"
)

// Stages lists the stages in order.
var Stages = []Stage{StageDrafting, StagePublicComment, StageRevision, StageFinal}

// next returns the stage after s, or "" after the final one.
func (s Stage) next() Stage {
	for i, x := range Stages {
		if x == s && i+1 < len(Stages) {
			return Stages[i+1]
		}
	}
	return ""
}

// Workflow is a document's stage and comment window as the Secretariat
// set them; it is part of the document, changed by structural steps
// (OpWorkflow) ordered with the edits.
type Workflow struct {
	Stage Stage     `json:"stage,omitempty"`
	Since time.Time `json:"since,omitzero"`
	// Opens and Closes bound the public comment window.
	Opens  time.Time `json:"opens,omitzero"`
	Closes time.Time `json:"closes,omitzero"`
	// Frozen: during public comment the team may not edit the live text.
	Frozen bool `json:"frozen,omitempty"`
	// PublicDraft: anyone may read the live draft before it is published.
	PublicDraft bool `json:"public_draft,omitempty"`
	// Published is the seq of the published version: the one opened for
	// comment, then the final (then each correction of it); 0 while
	// nothing is.
	Published int64 `json:"published,omitempty"`
	// Republish, in a change of workflow that stays final, publishes the
	// text as it is now as a correction of the final output. It is never
	// kept in the document's workflow.
	Republish bool `json:"republish,omitempty"`
}

// StageOf returns the document's stage (drafting when never set).
func (w Workflow) StageOf() Stage {
	if w.Stage == "" {
		return StageDrafting
	}
	return w.Stage
}

// WindowOpen reports whether the comment window is open at now: the
// document is open for comment and now is within [Opens, Closes).
func (w Workflow) WindowOpen(now time.Time) bool {
	return w.StageOf() == StagePublicComment && !now.Before(w.Opens) && now.Before(w.Closes)
}

// DefaultWindow returns the comment window the IGF modalities describe
// for a BPF: opening six weeks before the first day of its annual
// meeting, closing on that day (at 00:00 UTC). false without a meeting date.
func DefaultWindow(b *BPF) (opens, closes time.Time, ok bool) {
	if b == nil || b.MeetingDate == "" {
		return time.Time{}, time.Time{}, false
	}
	meeting, err := time.Parse(time.DateOnly, b.MeetingDate)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return meeting.Add(-CommentWindow), meeting, true
}

// CheckTransition reports whether a document in workflow w may take
// next: the stage may only move to the one after it (or stay, to change
// the window or the flags); opening public comment needs a window that
// closes after it opens; a window can be set only for public comment.
func (w Workflow) CheckTransition(next Workflow) error {
	from, to := w.StageOf(), next.StageOf()
	if to != from && to != from.next() {
		return fmt.Errorf("%w: a document in %s can move only to %s", ErrInvalid, from, orNothing(from.next()))
	}
	if to == StagePublicComment && (next.Opens.IsZero() || !next.Opens.Before(next.Closes)) {
		return fmt.Errorf("%w: the comment window must open before it closes", ErrInvalid)
	}
	if next.Frozen && to != StagePublicComment {
		return fmt.Errorf("%w: the text can be frozen only while it is open for comment", ErrInvalid)
	}
	if next.Republish && (from != StageFinal || to != StageFinal) {
		return fmt.Errorf("%w: only the final output is corrected", ErrInvalid)
	}
	return nil
}

func orNothing(s Stage) string {
	if s == "" {
		return "nothing (it is final)"
	}
	return string(s)
}

// Next returns the stage after s, or "" after the final one.
func (s Stage) Next() Stage { return s.next() }
