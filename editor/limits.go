package editor

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LimitTable is the one table of bpfdraft's limits. Import, editing and
// rendering all read Limits, so that what cannot be rendered cannot be
// imported or typed, and the numbers are documented in one place
// (docs/api.md and docs/operations.md list them, and a test keeps those
// lists equal to this table).
//
// Sizes of text are in UTF-16 code units, the unit CodeMirror and the
// collaborative protocol count in; sizes of files and messages in bytes.
// The render limits are per block (a run of non-blank lines, the unit of
// paragraph ids) or per inline run (a block's lines up to the next list
// item, quote or table row): they bound the inputs goldmark is slow on, and
// a block over one is rendered as preformatted text with a note instead.
type LimitTable struct {
	// ImportBytes caps an imported Markdown file.
	ImportBytes int
	// BodyBytes caps a JSON request body (the server's --max-body default).
	BodyBytes int
	// MessageBytes caps one websocket message.
	MessageBytes int
	// TitleBytes caps a document or section title (one line).
	TitleBytes int
	// Sections caps the sections of a document.
	Sections int
	// SectionUnits caps one section's text.
	SectionUnits int
	// DocumentUnits caps the sum of a document's section texts.
	DocumentUnits int
	// Paragraphs caps the blocks of a document, each of which carries an id
	// and a number when rendered.
	Paragraphs int
	// Nesting caps the quotes and list levels one line of a block opens
	// (markers, and indentation counted two columns a level).
	Nesting int
	// DelimiterRuns caps the runs of *, _ and ~ in one inline run.
	DelimiterRuns int
	// LinkOpeners caps the [ of one inline run (links, images, footnote
	// references).
	LinkOpeners int
	// TableCells caps the cells of a table: columns times rows, as goldmark
	// pads every row to the header's width.
	TableCells int
	// FootnoteRefs caps the footnote references rendered as links in a
	// document; later ones show as typed.
	FootnoteRefs int
	// RenderBytes caps the HTML of a rendered document; sections beyond it
	// are replaced by a note.
	RenderBytes int
}

// Limits is the table in force.
var Limits = LimitTable{
	ImportBytes:   4 << 20,
	BodyBytes:     1 << 20,
	MessageBytes:  1 << 20,
	TitleBytes:    300,
	Sections:      100,
	SectionUnits:  256 << 10,
	DocumentUnits: 1 << 20,
	Paragraphs:    10000,
	Nesting:       32,
	DelimiterRuns: 128,
	LinkOpeners:   128,
	TableCells:    10000,
	FootnoteRefs:  5000,
	RenderBytes:   8 << 20,
}

// LimitRow describes one limit for people: its name as used in error
// messages and the docs, its value, its unit and where it applies.
type LimitRow struct {
	Name  string
	Value int
	Unit  string
	Where string
}

// Rows lists the table for documentation, in a fixed order.
func (l LimitTable) Rows() []LimitRow {
	return []LimitRow{
		{"import size", l.ImportBytes, "bytes", "an imported Markdown file (413)"},
		{"request body", l.BodyBytes, "bytes", "a JSON request body; the server's --max-body (413)"},
		{"websocket message", l.MessageBytes, "bytes", "one message on the live editing websocket"},
		{"title length", l.TitleBytes, "bytes", "a document or section title, one line (422)"},
		{"sections", l.Sections, "sections", "sections of one document: import, adding a section (422)"},
		{"section size", l.SectionUnits, "UTF-16 units", "one section's text: import, adding a section, typing (413)"},
		{"document size", l.DocumentUnits, "UTF-16 units", "all section texts of a document: import, adding a section, typing (413)"},
		{"paragraphs", l.Paragraphs, "blocks", "blocks of one document: import, adding a section (413); rendering"},
		{"nesting", l.Nesting, "levels", "quotes and lists one line opens; a deeper block renders as plain text"},
		{"emphasis runs", l.DelimiterRuns, "runs", "runs of *, _ and ~ per inline run; more renders the block as plain text"},
		{"link openers", l.LinkOpeners, "openers", "[ per inline run; more renders the block as plain text"},
		{"table cells", l.TableCells, "cells", "columns times rows of one table; more renders the block as plain text"},
		{"footnote references", l.FootnoteRefs, "references", "per document; later ones show as typed"},
		{"rendered size", l.RenderBytes, "bytes of HTML", "per document; later sections show a note instead"},
	}
}

// ErrLimit reports input over one of the Limits. The error wrapping it
// (a *LimitError) names the limit.
var ErrLimit = errors.New("over a limit")

// LimitError is input over one of the Limits.
type LimitError struct {
	// Limit is the row name, as in LimitTable.Rows ("section size").
	Limit string
	// Got and Max are the measured value and the limit.
	Got, Max int
	// What says where: "section \"Methodology\"", "the file".
	What string
	// TooLarge is true for limits of size (answered 413 over HTTP); the
	// others are limits of shape (422).
	TooLarge bool
}

func (e *LimitError) Error() string {
	unit := ""
	for _, r := range Limits.Rows() {
		if r.Name == e.Limit {
			unit = " " + r.Unit
		}
	}
	return fmt.Sprintf("%s has %d%s; the %s limit is %d", e.What, e.Got, unit, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// NormalizeText turns every line break of text entering the system (an
// import, a section text, a title) into "\n", as CodeMirror does in the
// browser: a "\r\n" stored on the server would put every later position
// one unit off. A leading byte order mark is dropped.
func NormalizeText(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// CheckTitle normalises a document or section title and checks it: one
// non-empty line within the title limit. what names it in errors
// ("document title", "section title").
func CheckTitle(title, what string) (string, error) {
	title = oneLine(strings.TrimSpace(NormalizeText(title)))
	switch {
	case title == "":
		return "", fmt.Errorf("%w: a %s is required", ErrInvalid, what)
	case strings.ContainsFunc(title, unicode.IsControl):
		return "", fmt.Errorf("%w: a %s is one line of text", ErrInvalid, what)
	case !utf8.ValidString(title):
		return "", fmt.Errorf("%w: a %s must be UTF-8 text", ErrInvalid, what)
	case len(title) > Limits.TitleBytes:
		return "", &LimitError{Limit: "title length", Got: len(title), Max: Limits.TitleBytes, What: "the " + what}
	}
	return title, nil
}

// CheckLimits checks a whole document against the limits of its shape and
// size: section count, titles, section and document size, paragraphs. It is
// what an import or a new section must pass before it is stored.
func (d *Document) CheckLimits() error {
	if _, err := CheckTitle(d.Title, "document title"); err != nil {
		return err
	}
	if n := len(d.Sections); n > Limits.Sections {
		return &LimitError{Limit: "sections", Got: n, Max: Limits.Sections, What: "the document"}
	}
	units, paras := 0, 0
	for i := range d.Sections {
		s := &d.Sections[i]
		if _, err := CheckTitle(s.Title, "section title"); err != nil {
			return err
		}
		n := UTF16Len(s.Text)
		if n > Limits.SectionUnits {
			return &LimitError{Limit: "section size", Got: n, Max: Limits.SectionUnits, What: fmt.Sprintf("section %q", s.Title), TooLarge: true}
		}
		units += n
		paras += len(Paragraphs(s.Text))
	}
	if units > Limits.DocumentUnits {
		return &LimitError{Limit: "document size", Got: units, Max: Limits.DocumentUnits, What: "the document", TooLarge: true}
	}
	if paras > Limits.Paragraphs {
		return &LimitError{Limit: "paragraphs", Got: paras, Max: Limits.Paragraphs, What: "the document", TooLarge: true}
	}
	return nil
}
