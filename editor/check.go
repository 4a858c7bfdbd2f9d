package editor

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Status is the outcome of the completeness check for one section.
type Status string

const (
	// StatusOK means nothing to report.
	StatusOK Status = "ok"
	// StatusError means the document is not complete: a required section
	// is empty or a template rule is broken.
	StatusError Status = "error"
	// StatusAdvisory means something the writers should consider (an empty
	// recommended or custom section) but may leave as it is.
	StatusAdvisory Status = "advisory"
	// StatusInfo marks a document-level note that asks nothing of the
	// writers, such as an unknown template.
	StatusInfo Status = "info"
)

// Completeness is the result of Check. It is returned as is by the HTTP
// API, hence the JSON tags.
type Completeness struct {
	Template string `json:"template"`
	// Complete is true when there are no errors; advisories do not count.
	Complete bool `json:"complete"`
	// Errors and Advisories count findings (messages) of each severity,
	// in sections and notes together.
	Errors     int            `json:"errors"`
	Advisories int            `json:"advisories"`
	Sections   []SectionCheck `json:"sections"`
	// Notes are findings about the document as a whole: template sections
	// that are missing from it, or a template that is not known.
	Notes []Note `json:"notes,omitempty"`
}

// SectionCheck is the completeness of one section of the document.
type SectionCheck struct {
	ID string `json:"id"`
	// Number is the section's position in the document, from 1.
	Number int         `json:"number"`
	Title  string      `json:"title"`
	Kind   SectionKind `json:"kind"`
	// Status is the worst severity among the messages, StatusOK if none.
	Status   Status   `json:"status"`
	Messages []string `json:"messages,omitempty"`

	severity []Status // of each message, for the totals
}

// Note is a document-level finding of Check.
type Note struct {
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// Check reports how complete the document is: each section in document
// order with a status, and totals. A required section with no text is an
// error; an empty recommended or custom section is an advisory. Text that
// is only whitespace and HTML comments (such as template starter text)
// counts as empty. When the document's template is known, its rules are
// applied and its sections missing from the document are reported; when it
// is not, the sections present are still checked by their kinds.
func Check(doc *Document) Completeness {
	c := Completeness{Template: doc.Template, Sections: []SectionCheck{}}
	tmpl, err := LookupTemplate(doc.Template)
	if err != nil {
		tmpl = nil
		c.note(StatusInfo, fmt.Sprintf("template %q is not known; sections were checked by their kinds only", doc.Template))
	}
	for i, s := range doc.Sections {
		sc := SectionCheck{ID: s.ID, Number: i + 1, Title: s.Title, Kind: s.Kind, Status: StatusOK}
		if IsEmptyText(s.Text) {
			switch s.Kind {
			case Required:
				sc.add(StatusError, "required section is empty")
			case Recommended:
				sc.add(StatusAdvisory, "recommended section is empty")
			default:
				sc.add(StatusAdvisory, "section is empty")
			}
		}
		if tmpl != nil {
			for _, r := range tmpl.Rules {
				if r.Section == s.ID {
					for _, msg := range r.check(s.Text) {
						sc.add(StatusError, msg)
					}
				}
			}
		}
		c.Sections = append(c.Sections, sc)
	}
	if tmpl != nil {
		for _, ts := range tmpl.Sections {
			if doc.Section(ts.Key) != nil {
				continue
			}
			if ts.Kind == Required {
				c.note(StatusError, fmt.Sprintf("required section %q is missing", ts.Title))
			} else {
				c.note(StatusAdvisory, fmt.Sprintf("recommended section %q is missing", ts.Title))
			}
		}
	}
	for _, sc := range c.Sections {
		for _, st := range sc.severity {
			c.count(st)
		}
	}
	c.Complete = c.Errors == 0
	return c
}

func (c *Completeness) note(st Status, msg string) {
	c.Notes = append(c.Notes, Note{Status: st, Message: msg})
	c.count(st)
}

func (c *Completeness) count(st Status) {
	switch st {
	case StatusError:
		c.Errors++
	case StatusAdvisory:
		c.Advisories++
	}
}

func (sc *SectionCheck) add(st Status, msg string) {
	sc.Messages = append(sc.Messages, msg)
	sc.severity = append(sc.severity, st)
	if st == StatusError || sc.Status == StatusOK {
		sc.Status = st
	}
}

// IsEmptyText reports whether a section text says nothing to a reader: it
// holds only whitespace and HTML comments. An unterminated comment runs to
// the end, as it does when the markdown is rendered.
func IsEmptyText(text string) bool {
	return strings.TrimSpace(stripComments(text)) == ""
}

// stripComments removes HTML comments, each replaced by a line break so
// that lines on either side stay apart.
func stripComments(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "<!--")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		j := strings.Index(text[i+4:], "-->")
		if j < 0 {
			return b.String()
		}
		b.WriteByte('\n')
		text = text[i+4+j+3:]
	}
}

// Facilitator is one entry of a proposal's facilitators section.
type Facilitator struct {
	// Text is the entry as written, without its list marker.
	Text string `json:"text"`
	// MAG is true when the entry marks the facilitator as a MAG member.
	MAG bool `json:"mag"`
}

// listItem matches a markdown list item marker at the start of a line.
var listItem = regexp.MustCompile(`^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s+`)

// ParseFacilitators reads a facilitators section. The documented format is
// a markdown list, one facilitator per item, "Name (Organisation), MAG
// member" for MAG members; indented lines continue an item. Without any
// list item, each non-blank line is one facilitator. HTML comments and
// headings are ignored.
//
// An entry is a MAG member when the word "MAG" appears in it, in any case,
// not preceded by "non", "not", "ex" or "former": "MAG member", "(MAG)"
// and "MAG facilitator" count; "non-MAG" and "former MAG member" do not. A
// name that is itself the word "Mag" would be miscounted.
func ParseFacilitators(text string) []Facilitator {
	var lines []string
	for l := range strings.SplitSeq(stripComments(text), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			lines = append(lines, l)
		}
	}
	hasList := false
	for _, l := range lines {
		if listItem.MatchString(l) {
			hasList = true
			break
		}
	}
	var out []Facilitator
	for _, l := range lines {
		switch {
		case !hasList:
			out = append(out, Facilitator{Text: strings.TrimSpace(l)})
		case listItem.MatchString(l):
			out = append(out, Facilitator{Text: strings.TrimSpace(listItem.ReplaceAllString(l, ""))})
		case len(out) > 0:
			out[len(out)-1].Text += " " + strings.TrimSpace(l)
		}
	}
	kept := out[:0]
	for _, f := range out {
		if f.Text == "" {
			continue
		}
		f.MAG = marksMAG(f.Text)
		kept = append(kept, f)
	}
	return kept
}

func marksMAG(entry string) bool {
	words := strings.FieldsFunc(strings.ToLower(entry), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for i, w := range words {
		if w != "mag" {
			continue
		}
		negated := false
		for _, p := range words[max(0, i-2):i] {
			switch p {
			case "non", "not", "ex", "former":
				negated = true
			}
		}
		if !negated {
			return true
		}
	}
	return false
}

// check returns the rule's error messages for a section text.
func (r Rule) check(text string) []string {
	switch r.Kind {
	case RuleFacilitators:
		fs := ParseFacilitators(text)
		mag := 0
		for _, f := range fs {
			if f.MAG {
				mag++
			}
		}
		var msgs []string
		if len(fs) < r.Min {
			msgs = append(msgs, fmt.Sprintf("needs at least %d facilitators; found %d", r.Min, len(fs)))
		}
		if mag < r.MinMAG {
			msgs = append(msgs, fmt.Sprintf("needs at least %d MAG member(s) among the facilitators, marked \"MAG member\"; found %d", r.MinMAG, mag))
		}
		return msgs
	}
	return nil
}
