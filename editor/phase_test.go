package editor

import (
	"strings"
	"testing"
	"time"
)

func TestPhaseOf(t *testing.T) {
	opens := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	closes := opens.Add(CommentWindow)
	open := Workflow{Stage: StagePublicComment, Opens: opens, Closes: closes, Published: 7}
	for _, tc := range []struct {
		w      Workflow
		now    time.Time
		stage  Stage
		window bool
		label  string
	}{
		{Workflow{}, opens, StageDrafting, false, "Draft in preparation"},
		{open, opens.Add(-time.Second), StagePublicComment, false, "comments open on 20 October 2026, 00:00 UTC"},
		{open, opens, StagePublicComment, true, "until 1 December 2026, 00:00 UTC (42 days left)"},
		{open, closes.Add(-3 * time.Hour), StagePublicComment, true, "(3 hours left)"},
		{open, closes.Add(-time.Second), StagePublicComment, true, "(1 minute left)"},
		{open, closes, StagePublicComment, false, "Public comment closed on 1 December 2026"},
		{Workflow{Stage: StageRevision, Opens: opens, Closes: closes}, closes, StageRevision, false, "closed on 1 December 2026"},
		{Workflow{Stage: StageFinal}, closes, StageFinal, false, "Final output"},
	} {
		p := PhaseOf(tc.w, tc.now)
		if p.Stage != tc.stage || p.WindowOpen != tc.window || !strings.Contains(p.Label, tc.label) || p.Status == "" {
			t.Errorf("PhaseOf(%+v, %s) = %+v; want %s, open %v, a label with %q", tc.w, tc.now, p, tc.stage, tc.window, tc.label)
		}
	}
}
