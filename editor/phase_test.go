package editor

import (
	"testing"
	"time"
)

func TestPhaseAt(t *testing.T) {
	b := &BPF{Name: "Cybersecurity", Year: 2026, MeetingDate: "2026-06-22"}
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		bpf  *BPF
		now  string
		want string
	}{
		{b, "2026-03-01", "drafting"},
		{b, "2026-05-10", "drafting"},       // the day before the window opens
		{b, "2026-05-11", "public-comment"}, // six weeks before 22 June
		{b, "2026-06-21", "public-comment"},
		{b, "2026-06-22", "revision"},
		{b, "2026-12-01", "revision"},
		{&BPF{Name: "X", Year: 2026}, "2026-06-01", "drafting"},
		{nil, "2026-06-01", "drafting"},
	} {
		got := PhaseAt(tc.bpf, day(tc.now))
		if got.Name != tc.want || got.Label == "" {
			t.Errorf("PhaseAt(%v, %s) = %+v; want %s with a label", tc.bpf, tc.now, got, tc.want)
		}
	}
	p := PhaseAt(b, day("2026-06-01"))
	if !p.CommentOpens.Equal(day("2026-05-11")) || !p.CommentCloses.Equal(day("2026-06-22")) {
		t.Errorf("window %v – %v; want 11 May – 22 June 2026", p.CommentOpens, p.CommentCloses)
	}
}
