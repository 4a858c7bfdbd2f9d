package editor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// thousands writes 4194304 as 4,194,304, as the docs do.
func thousands(v int) string {
	s := strconv.Itoa(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestLimitsDocumented keeps the tables of docs/api.md and
// docs/operations.md equal to the one table in the code.
func TestLimitsDocumented(t *testing.T) {
	for _, doc := range []string{"../docs/api.md", "../docs/operations.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range Limits.Rows() {
			row := fmt.Sprintf("| %s | %s %s |", r.Name, thousands(r.Value), r.Unit)
			if !strings.Contains(string(data), row) {
				t.Errorf("%s has no row %q", doc, row)
			}
		}
	}
}

func TestLimitErrorNamesTheLimit(t *testing.T) {
	err := error(&LimitError{Limit: "section size", Got: 300000, Max: Limits.SectionUnits, What: `section "Methodology"`, TooLarge: true})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("errors.Is(%v, ErrLimit) = false; want true", err)
	}
	if got, want := err.Error(), `section "Methodology" has 300000 UTF-16 units; the section size limit is 262144`; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestNormalizeText(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\rc\nd": "a\nb\nc\nd",
		"\uFEFFtext":   "text",
		"\r\n\r\n":     "\n\n",
		"plain":        "plain",
	} {
		if got := NormalizeText(in); got != want {
			t.Errorf("NormalizeText(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestCheckTitle(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"  A  title\t here ", "A title here", nil},
		{"Tab\tseparated", "Tab separated", nil},
		{"No\u00a0break", "No\u00a0break", nil},
		{"", "", ErrInvalid},
		{" \t", "", ErrInvalid},
		{"two\nlines", "", ErrInvalid},
		{"two\r\nlines", "", ErrInvalid},
		{"bell\a", "", ErrInvalid},
		{strings.Repeat("t", Limits.TitleBytes), strings.Repeat("t", Limits.TitleBytes), nil},
		{strings.Repeat("t", Limits.TitleBytes+1), "", ErrLimit},
	}
	for _, tt := range tests {
		got, err := CheckTitle(tt.in, "section title")
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("CheckTitle(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// Every way text enters a document normalises its line breaks.
func TestEntryPointsNormalize(t *testing.T) {
	d := &Document{Title: "T"}
	s, err := d.AddCustomSection("Annex\r\n", "one\r\ntwo\rthree")
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "Annex" || s.Text != "one\ntwo\nthree" {
		t.Errorf("AddCustomSection: got %q %q; want line breaks as \\n", s.Title, s.Text)
	}
	doc, _, err := ImportMarkdown("# T\r\n\r\n## Annex\r\n\r\na\r\nb\r\n", outputTemplate(t), "d", ImportOptions{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Sections {
		if strings.Contains(s.Text, "\r") || strings.Contains(s.Title, "\r") {
			t.Errorf("import kept a carriage return in %q: %q", s.Title, s.Text)
		}
	}
}
