package editor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func proposal(t *testing.T, facilitators string) *Document {
	t.Helper()
	tm, err := LookupTemplate("bpf-proposal")
	if err != nil {
		t.Fatal(err)
	}
	d := tm.NewDocument("p", "BPF on Local Content", time.Time{})
	for i := range d.Sections {
		d.Sections[i].Text = "Some text."
	}
	d.Section("facilitators").Text = facilitators
	return d
}

func TestProposalFacilitatorsRule(t *testing.T) {
	tests := []struct {
		name, text string
		wantErrs   int
	}{
		{"one MAG facilitator", "- Amina Diallo (Ministry of ICT), MAG member", 1},
		{"two without MAG", "- Amina Diallo (Ministry of ICT)\n- Lukas Berger (NOG)", 1},
		{"non-MAG does not count", "- Amina Diallo (Ministry of ICT), non-MAG\n- Lukas Berger (NOG), non MAG co-facilitator", 1},
		{"two with one MAG", "- Amina Diallo (Ministry of ICT), MAG member\n- Lukas Berger (NOG)", 0},
		{"(MAG) marker", "* Amina Diallo (MAG)\n* Lukas Berger", 0},
		{"MAG facilitator marker, numbered list", "1. Amina Diallo, mag facilitator\n2. Lukas Berger, co-facilitator", 0},
		{"plain lines", "Amina Diallo, MAG member\nLukas Berger", 0},
		{"empty", "", 2},
		{"starter comment only", "<!--\n- Amina Diallo (Ministry), MAG member\n- Lukas Berger\n-->", 2},
		{"one line, none MAG", "Lukas Berger", 2},
		{"former MAG member", "- Amina Diallo, former MAG member\n- Lukas Berger", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check(proposal(t, tt.text))
			sc := c.Sections[0]
			if sc.ID != "facilitators" {
				t.Fatalf("got first section %q; want facilitators", sc.ID)
			}
			ruleErrs := 0
			for _, m := range sc.Messages {
				if strings.HasPrefix(m, "needs at least") {
					ruleErrs++
				}
			}
			if ruleErrs != tt.wantErrs {
				t.Errorf("got rule messages %q; want %d", sc.Messages, tt.wantErrs)
			}
			wantStatus := StatusOK
			if tt.wantErrs > 0 || tt.text == "" || IsEmptyText(tt.text) {
				wantStatus = StatusError
			}
			if sc.Status != wantStatus || c.Complete != (wantStatus == StatusOK) {
				t.Errorf("got status %s, complete %v; want %s", sc.Status, c.Complete, wantStatus)
			}
		})
	}
}

func TestParseFacilitators(t *testing.T) {
	got := ParseFacilitators("<!-- format: Name (Org), MAG member -->\n### Facilitators\n- Amina Diallo\n  (Ministry of ICT), MAG Member\n- Lukas Berger (Magyar Telekom)\n+ Magdalena Ruiz, NON-MAG\n")
	want := []Facilitator{
		{"Amina Diallo (Ministry of ICT), MAG Member", true},
		{"Lukas Berger (Magyar Telekom)", false},
		{"Magdalena Ruiz, NON-MAG", false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
}

func TestCheck(t *testing.T) {
	tm, _ := LookupTemplate("bpf-output")
	d := tm.NewDocument("d", "T", time.Time{})
	d.Section("issues").Text = "The issue."
	d.Section("methodology").Text = "  \n<!-- a note to ourselves -->\n\t"
	d.Section("case-studies").Text = "Cases.\n<!-- unfinished"
	d.Section("regional").Text = "Regions."
	if _, err := d.AddCustomSection("Acknowledgements", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddCustomSection("Annex", "A list."); err != nil {
		t.Fatal(err)
	}
	c := Check(d)
	want := map[string]Status{
		"issues": StatusOK, "methodology": StatusError, "case-studies": StatusOK, "regional": StatusOK,
		"policy-measures": StatusAdvisory, "what-worked": StatusAdvisory, "unintended-consequences": StatusAdvisory,
		"unresolved": StatusAdvisory, "insights": StatusAdvisory, "next-steps": StatusAdvisory,
		"custom-1": StatusAdvisory, "custom-2": StatusOK,
	}
	for i, sc := range c.Sections {
		if sc.Number != i+1 || sc.Title != d.Sections[i].Title || sc.Kind != d.Sections[i].Kind {
			t.Errorf("section %s: got number %d title %q kind %s; want %d %q %s", sc.ID, sc.Number, sc.Title, sc.Kind, i+1, d.Sections[i].Title, d.Sections[i].Kind)
		}
		if sc.Status != want[sc.ID] {
			t.Errorf("section %s: got status %s (%q); want %s", sc.ID, sc.Status, sc.Messages, want[sc.ID])
		}
		if (sc.Status == StatusOK) != (len(sc.Messages) == 0) {
			t.Errorf("section %s: got status %s with messages %q", sc.ID, sc.Status, sc.Messages)
		}
	}
	if c.Errors != 1 || c.Advisories != 7 || c.Complete {
		t.Errorf("got %d errors, %d advisories, complete %v; want 1, 7, false", c.Errors, c.Advisories, c.Complete)
	}

	d.Section("methodology").Text = "Meetings."
	if c := Check(d); !c.Complete || c.Errors != 0 {
		t.Errorf("got complete %v with %d errors; want complete", c.Complete, c.Errors)
	}
}

func TestCheckMissingAndUnknown(t *testing.T) {
	tm, _ := LookupTemplate("bpf-output")
	d := tm.NewDocument("d", "T", time.Time{})
	d.Sections = slices.DeleteFunc(d.Sections, func(s Section) bool { return s.ID == "issues" || s.ID == "insights" })
	c := Check(d)
	var notes []Status
	for _, n := range c.Notes {
		notes = append(notes, n.Status)
	}
	if !slices.Equal(notes, []Status{StatusError, StatusAdvisory}) {
		t.Errorf("got notes %+v; want an error for the missing required section and an advisory for the recommended one", c.Notes)
	}
	if c.Errors != 3 || c.Advisories != 7 {
		t.Errorf("got %d errors, %d advisories; want 3, 7", c.Errors, c.Advisories)
	}

	d.Template = "gone"
	c = Check(d)
	if len(c.Sections) != 8 || c.Errors != 2 || c.Advisories != 6 {
		t.Errorf("unknown template: got %d sections, %d errors, %d advisories; want 8, 2, 6", len(c.Sections), c.Errors, c.Advisories)
	}
	if len(c.Notes) != 1 || c.Notes[0].Status != StatusInfo {
		t.Errorf("unknown template: got notes %+v; want one info note", c.Notes)
	}
}

func TestCompletenessJSON(t *testing.T) {
	d := proposal(t, "- A (MAG)")
	b, err := json.Marshal(Check(d))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"template":"bpf-proposal"`, `"complete":false`, `"errors":1`, `"advisories":0`, `"sections":[{"id":"facilitators","number":1,"title":"Facilitators","kind":"required","status":"error","messages":["needs at least 2 facilitators; found 1"]}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("got %s; want it to contain %s", b, key)
		}
	}
}
