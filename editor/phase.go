package editor

import (
	"fmt"
	"time"
)

// CommentWindow is how long before the annual meeting a BPF's draft is
// open for public comment: about six weeks, in the IGF modalities.
const CommentWindow = 42 * 24 * time.Hour

// Phase names where a BPF's output stands in the year's timeline.
type Phase struct {
	// Name is "drafting", "public-comment" or "revision".
	Name string `json:"name"`
	// Label says it to readers, with the dates that matter: for a live
	// page, since it goes stale.
	Label string `json:"label"`
	// Status says what a version written in this phase is, without dates,
	// for a title page that may be printed or saved ("Draft for public
	// comment").
	Status string `json:"status"`
	// CommentOpens and CommentCloses bound the public comment window; zero
	// when the annual meeting date is not known.
	CommentOpens  time.Time `json:"comment_opens,omitzero"`
	CommentCloses time.Time `json:"comment_closes,omitzero"`
}

// PhaseAt returns the phase of a BPF's output at the given time. The draft
// is written by the team until the comment window opens six weeks before
// the annual meeting; it is open for public comment until the meeting; after
// the meeting the team updates it with the comments. Without a meeting date
// (or without a BPF) the document is in drafting.
func PhaseAt(b *BPF, now time.Time) Phase {
	if b == nil || b.MeetingDate == "" {
		return Phase{Name: "drafting", Label: "Draft in preparation", Status: "Draft"}
	}
	meeting, err := time.Parse(time.DateOnly, b.MeetingDate)
	if err != nil {
		return Phase{Name: "drafting", Label: "Draft in preparation", Status: "Draft"}
	}
	opens := meeting.Add(-CommentWindow)
	p := Phase{CommentOpens: opens, CommentCloses: meeting}
	day := func(t time.Time) string { return t.Format("2 January 2006") }
	switch {
	case now.Before(opens):
		p.Name, p.Status = "drafting", "Draft"
		p.Label = fmt.Sprintf("Draft in preparation; open for public comment from %s to %s", day(opens), day(meeting))
	case now.Before(meeting):
		p.Name, p.Status = "public-comment", "Draft for public comment"
		p.Label = fmt.Sprintf("Open for public comment until %s, the first day of the annual meeting", day(meeting))
	default:
		p.Name, p.Status = "revision", "Draft, being updated after public comment"
		p.Label = fmt.Sprintf("Being updated with the comments received; public comment closed on %s", day(meeting))
	}
	return p
}
