package editor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of the document model. Callers check them with errors.Is;
// messages wrapped around them say which input was wrong.
var (
	// ErrInvalid reports input that breaks a rule of the model (an empty
	// title, a section that does not exist, a duplicated section id).
	ErrInvalid = errors.New("invalid")
	// ErrUnknownTemplate reports a template name that is not defined.
	ErrUnknownTemplate = errors.New("unknown template")
)

// SectionKind says where a section comes from and how the completeness
// check treats it when it is empty.
type SectionKind string

const (
	// Required sections must have text: empty is an error.
	Required SectionKind = "required"
	// Recommended sections should have text: empty is an advisory.
	Recommended SectionKind = "recommended"
	// Custom sections were added by the writers; empty is an advisory.
	Custom SectionKind = "custom"
)

// BPF is one Best Practice Forum in one year: the body whose output
// documents are written here.
type BPF struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Year int    `json:"year"`
	// MeetingDate is the first day of the IGF annual meeting (a date, no
	// time of day), from which the public comment window is derived.
	MeetingDate string    `json:"meeting_date,omitempty"`
	Created     time.Time `json:"created"`
}

// Validate reports the first rule the BPF breaks, wrapped around ErrInvalid.
func (b *BPF) Validate() error {
	if strings.TrimSpace(b.Name) == "" {
		return fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if b.Year < 2006 || b.Year > 2100 {
		return fmt.Errorf("%w: year %d is outside 2006-2100", ErrInvalid, b.Year)
	}
	if b.MeetingDate != "" {
		d, err := time.Parse(time.DateOnly, b.MeetingDate)
		if err != nil {
			return fmt.Errorf("%w: meeting_date %q is not a YYYY-MM-DD date", ErrInvalid, b.MeetingDate)
		}
		if d.Year() != b.Year {
			return fmt.Errorf("%w: meeting_date %s is not in year %d", ErrInvalid, b.MeetingDate, b.Year)
		}
	}
	return nil
}

// Section is one part of a document: one collaborative markdown text.
type Section struct {
	// ID is stable for the life of the document; template sections use the
	// template's key, custom sections "custom-N".
	ID       string      `json:"id"`
	Title    string      `json:"title"`
	Kind     SectionKind `json:"kind"`
	Guidance string      `json:"guidance,omitempty"`
	// Prompt is the template's starter prompt, shown as a placeholder in
	// the empty editor; it is never part of Text.
	Prompt string `json:"prompt,omitempty"`
	// Text is the section's markdown, without its heading.
	Text string `json:"text"`
	// Version counts the updates accepted into this section's text.
	Version int `json:"version"`
	// Paras holds one paragraph id per block of Text (see Paragraphs), in
	// order. It may be empty for a section never seen by the server; see
	// Document.AssignParagraphIDs.
	Paras []string `json:"paras,omitempty"`
}

// Document is one output document of a BPF, made from a template.
type Document struct {
	ID       string    `json:"id"`
	BPF      string    `json:"bpf,omitempty"`
	Template string    `json:"template"`
	Title    string    `json:"title"`
	Sections []Section `json:"sections"`
	// Seq orders every update to the document; it is the number of updates
	// of any section accepted so far.
	Seq int64 `json:"seq"`
	// NextPara is the number behind the next paragraph id handed out ("p"
	// followed by the number), so ids are never reused.
	NextPara int `json:"next_para"`
	// NextCustom numbers custom sections the same way.
	NextCustom int `json:"next_custom"`
	// Workflow is the document's stage and comment window.
	Workflow Workflow `json:"workflow,omitzero"`
	// Annotations is what the server keeps of the document besides its
	// text, as of Seq: its comments and their anchors. It is opaque to
	// this package, set only in stored snapshots, and never sent to
	// clients.
	Annotations json.RawMessage `json:"annotations,omitempty"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
}

// Section returns the section with the given id, or nil.
func (d *Document) Section(id string) *Section {
	for i := range d.Sections {
		if d.Sections[i].ID == id {
			return &d.Sections[i]
		}
	}
	return nil
}

// Number returns the display number of the section with the given id (its
// position, counting from 1), or 0 when there is no such section.
func (d *Document) Number(id string) int {
	for i := range d.Sections {
		if d.Sections[i].ID == id {
			return i + 1
		}
	}
	return 0
}

// NewParaID hands out the next paragraph id of the document.
func (d *Document) NewParaID() string {
	d.NextPara++
	return fmt.Sprintf("p%d", d.NextPara)
}

// AssignParagraphIDs gives every section a paragraph id per block where it
// has none yet (ids already there are kept, extra ones dropped). Used for
// documents built outside the collaborative engine: new, imported, restored.
func (d *Document) AssignParagraphIDs() {
	for i := range d.Sections {
		s := &d.Sections[i]
		n := len(Paragraphs(s.Text))
		if len(s.Paras) > n {
			s.Paras = s.Paras[:n]
		}
		for len(s.Paras) < n {
			s.Paras = append(s.Paras, d.NewParaID())
		}
	}
}

// AddCustomSection checks a new custom section (CheckNewSection) and
// appends it.
func (d *Document) AddCustomSection(title, text string) (*Section, error) {
	title, text, err := d.CheckNewSection(title, text)
	if err != nil {
		return nil, err
	}
	return d.appendSection(title, text), nil
}

// CheckNewSection checks a custom section about to be added to d against
// the rules and the Limits (its title, the number of sections, its size)
// and returns its title and text normalised (NormalizeText). The size of
// the document as a whole is left to the caller, which knows it.
func (d *Document) CheckNewSection(title, text string) (string, string, error) {
	title, err := CheckTitle(title, "section title")
	if err != nil {
		return "", "", err
	}
	text = NormalizeText(text)
	if n := len(d.Sections) + 1; n > Limits.Sections {
		return "", "", &LimitError{Limit: "sections", Got: n, Max: Limits.Sections, What: "the document"}
	}
	if n := UTF16Len(text); n > Limits.SectionUnits {
		return "", "", &LimitError{Limit: "section size", Got: n, Max: Limits.SectionUnits, What: fmt.Sprintf("section %q", title), TooLarge: true}
	}
	return title, text, nil
}

// appendSection appends a custom section, with new paragraph ids, without
// checking anything.
func (d *Document) appendSection(title, text string) *Section {
	d.NextCustom++
	d.Sections = append(d.Sections, Section{
		ID:    fmt.Sprintf("custom-%d", d.NextCustom),
		Title: title,
		Kind:  Custom,
		Text:  text,
	})
	s := &d.Sections[len(d.Sections)-1]
	for range Paragraphs(text) {
		s.Paras = append(s.Paras, d.NewParaID())
	}
	return s
}

// Span is a half-open range [Start, End) of byte offsets into a text.
type Span struct{ Start, End int }

// Paragraphs splits a section's text into its paragraphs: maximal runs of
// lines that are not blank, where a blank line holds only spaces, tabs and
// carriage returns. Each span runs from the first character of its first line
// to the end of its last line, without that line's break. The split is purely
// textual (a fenced code block with blank lines is several paragraphs) so
// that it stays cheap to keep up to date while people type.
func Paragraphs(text string) []Span {
	var out []Span
	start, end := -1, 0
	for pos := 0; pos <= len(text); {
		lineEnd := strings.IndexByte(text[pos:], '\n')
		if lineEnd < 0 {
			lineEnd = len(text)
		} else {
			lineEnd += pos
		}
		if strings.Trim(text[pos:lineEnd], " \t\r") != "" {
			if start < 0 {
				start = pos
			}
			end = lineEnd
		} else if start >= 0 {
			out = append(out, Span{start, end})
			start = -1
		}
		pos = lineEnd + 1
	}
	if start >= 0 {
		out = append(out, Span{start, end})
	}
	return out
}
