package editor

import (
	"errors"
	"testing"
	"time"
)

func TestApplyStep(t *testing.T) {
	tmpl, _ := LookupTemplate("bpf-output")
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	live := tmpl.NewDocument("d", "Steps", at)
	replayed := live.Clone()

	add := Step{Structure: &Structure{Op: OpAddSection, Section: &Section{Title: "Annex", Text: "One.\n\nTwo."}}, Time: at.Add(time.Minute)}
	eff, err := live.Apply(add)
	if err != nil {
		t.Fatal(err)
	}
	if eff.Added == nil || eff.Added.ID != "custom-1" || len(eff.Added.Paras) != 2 || live.Seq != 1 || !live.Updated.Equal(add.Time) {
		t.Fatalf("add_section: %+v, seq %d", eff.Added, live.Seq)
	}
	// Effect.Added shares nothing with the document.
	eff.Added.Paras[0] = "changed"
	if live.Section("custom-1").Paras[0] == "changed" {
		t.Fatal("Effect.Added shares its paragraph ids with the document")
	}
	// Replaying the step as logged (with the section's id) gives the same.
	logged := Step{Structure: &Structure{Op: OpAddSection, Section: live.Section("custom-1")}, Time: add.Time}
	if _, err := replayed.Apply(logged); err != nil {
		t.Fatal(err)
	}
	if got, want := replayed.Section("custom-1"), live.Section("custom-1"); got == nil || got.Text != want.Text || got.Paras[1] != want.Paras[1] || replayed.NextPara != live.NextPara {
		t.Fatalf("replayed %+v; live %+v", got, want)
	}
	// A logged id that is not the next one changes nothing.
	wrong := Step{Structure: &Structure{Op: OpAddSection, Section: &Section{ID: "custom-7", Title: "X"}}}
	before := replayed.Clone()
	if _, err := replayed.Apply(wrong); !errors.Is(err, ErrInvalid) || replayed.Seq != before.Seq || len(replayed.Sections) != len(before.Sections) {
		t.Fatalf("wrong id: %v", err)
	}
	for _, bad := range []Step{
		{Structure: &Structure{Op: "rename"}},
		{Structure: &Structure{Op: OpAddSection}},
		{Structure: &Structure{Op: OpAddSection, Section: &Section{Title: " "}}},
		{Section: "nope", Changes: EmptyChangeSet(0)},
	} {
		if _, err := replayed.Apply(bad); err == nil || replayed.Seq != before.Seq {
			t.Fatalf("Apply(%+v) = %v; want an error and no change", bad, err)
		}
	}
	// A text step counts a version and the seq, and stamps the time.
	cs, _ := ChangeSetOf([]Change{{From: 0, Insert: "x"}}, UTF16Len(live.Section("issues").Text))
	if _, err := live.Apply(Step{Section: "issues", Changes: cs, Time: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if s := live.Section("issues"); s.Version != 1 || live.Seq != 2 || !live.Updated.Equal(at.Add(time.Hour)) {
		t.Fatalf("text step: version %d seq %d", s.Version, live.Seq)
	}
}

func TestChecksum(t *testing.T) {
	// CRC-32 (IEEE) of the UTF-8 bytes, as the browser computes it.
	for _, tc := range []struct {
		in   string
		want uint32
	}{{"", 0}, {"a", 0xe8b7be43}, {"123456789", 0xcbf43926}, {"😀", 0x054db544}} {
		if got := Checksum(tc.in); got != tc.want {
			t.Errorf("Checksum(%q) = %#x; want %#x", tc.in, got, tc.want)
		}
	}
}
