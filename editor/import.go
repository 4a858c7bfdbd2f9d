package editor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxImportSize is the largest markdown file ImportMarkdown accepts, in
// bytes. Output documents run to tens of kilobytes; the cap keeps a
// mistaken upload from becoming a document nobody can edit.
const MaxImportSize = 4 << 20

// MaxImportSections is the most section headings ImportMarkdown accepts.
// The ten sections of an output document and a few custom ones are far
// below it; beyond it the draft is not structured as sections at all.
const MaxImportSections = 500

// PreambleTitle is the title of the custom section that receives the text
// found before the first section heading of an imported draft.
const PreambleTitle = "Introduction"

// ImportReport says what ImportMarkdown did with each part of the draft.
type ImportReport struct {
	// Title is the document title and TitleFrom where it came from.
	Title     string `json:"title"`
	TitleFrom string `json:"title_from"`
	// Mappings has one entry per section heading of the draft, and one for
	// text before the first heading, in the order of the draft.
	Mappings []ImportMapping `json:"mappings"`
	// Empty lists the template sections ("N. Title") left without text.
	Empty []string `json:"empty"`
	// Notes are other remarks, such as sections found out of order.
	Notes []string `json:"notes,omitempty"`
}

// ImportMapping says where one part of the draft went.
type ImportMapping struct {
	// Heading is the heading line as written, or "" for the preamble.
	Heading string `json:"heading"`
	// Line is the heading's line number in the draft, from 1.
	Line int `json:"line"`
	// SectionID, Number and SectionTitle name the section of the imported
	// document that received the text; Number is its final position.
	SectionID    string `json:"section_id"`
	Number       int    `json:"number"`
	SectionTitle string `json:"section_title"`
	// Match is how: "number", "title", "number and title", "custom" (no
	// template section matched) or "preamble".
	Match string `json:"match"`
	// Why explains a custom section ("no template section with a similar
	// title", "ambiguous between ...").
	Why string `json:"why,omitempty"`
	// Appended is true when an earlier heading had already mapped to the
	// same section: the text was appended under its heading, one level
	// deeper.
	Appended bool `json:"appended,omitempty"`
}

// Lines renders the report for people, one line per finding.
func (r ImportReport) Lines() []string {
	out := []string{fmt.Sprintf("title: %q (%s)", r.Title, r.TitleFrom)}
	for _, m := range r.Mappings {
		from := "text before the first section heading"
		if m.Heading != "" {
			from = fmt.Sprintf("'%s'", m.Heading)
		}
		how := "matched by " + m.Match
		switch m.Match {
		case "custom":
			how = "custom section: " + m.Why
		case "preamble":
			how = "custom section"
		}
		if m.Appended {
			how += "; appended to the text already there"
		}
		out = append(out, fmt.Sprintf("%s -> %d. %s (%s)", from, m.Number, m.SectionTitle, how))
	}
	out = append(out, r.Notes...)
	if len(r.Empty) > 0 {
		out = append(out, "no text for: "+strings.Join(r.Empty, "; "))
	}
	return out
}

// ImportMarkdown makes a document of the template from a markdown draft
// written elsewhere. It guarantees that no text is dropped: every line of
// the draft other than a section heading or the title heading ends up in
// some section's text.
//
// Sections are the headings of the top level present; a single top-level
// heading followed by deeper ones (a leading "# Title"), or a "#" heading
// that is the only heading, is the document title, and the next level down
// holds the sections. A section heading is
// mapped to a template section by its number ("3.", "3)", "Section 3 —")
// unless its words clearly name another section, or else by the similarity
// of its words to the template titles and aliases. Text under a heading
// that matches nothing becomes a custom section placed after the template
// section it followed; text before the first section heading becomes a
// custom section titled PreambleTitle, placed first. Deeper headings stay
// in the section text. When two headings map to the same section, the
// second one's text is appended under its heading, one level deeper.
// Template sections keep the template's order and titles.
//
// The title argument, when not empty, wins over a title heading. Fenced
// code blocks are respected; setext (underlined) headings are not read as
// headings. Empty input, invalid UTF-8, control characters, input over
// MaxImportSize and more than MaxImportSections section headings are
// errors wrapping ErrInvalid.
func ImportMarkdown(src string, tmpl *Template, id, title string, now time.Time) (*Document, ImportReport, error) {
	var rep ImportReport
	if tmpl == nil {
		return nil, rep, fmt.Errorf("%w: import needs a template", ErrInvalid)
	}
	src, err := cleanImport(src)
	if err != nil {
		return nil, rep, err
	}
	lines := strings.Split(src, "\n")
	heads := scanHeadings(lines)
	titleHead, level := outline(heads)

	type part struct {
		head  *mdHeading // nil for the preamble
		lines []string
	}
	var parts []part
	cur := &part{}
	isHead := map[int]*mdHeading{}
	for i := range heads {
		isHead[heads[i].line] = &heads[i]
	}
	if level > 0 {
		count := 0
		for _, h := range heads {
			if h.level == level {
				count++
			}
		}
		if count > MaxImportSections {
			return nil, rep, fmt.Errorf("%w: %d section headings (level %d); the limit is %d", ErrInvalid, count, level, MaxImportSections)
		}
	}
	for i, l := range lines {
		h := isHead[i]
		switch {
		case h != nil && h == titleHead:
			continue
		case h != nil && h.level == level:
			parts = append(parts, *cur)
			cur = &part{head: h}
		default:
			cur.lines = append(cur.lines, l)
		}
	}
	parts = append(parts, *cur)

	switch {
	case strings.TrimSpace(title) != "":
		rep.Title, rep.TitleFrom = strings.TrimSpace(title), "given"
		if titleHead != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("'%s' (line %d) read as the title heading; the given title %q was used instead", titleHead.raw, titleHead.line+1, rep.Title))
		}
	case titleHead != nil && titleHead.text != "":
		rep.Title, rep.TitleFrom = titleHead.text, fmt.Sprintf("from '%s'", titleHead.raw)
	default:
		rep.Title, rep.TitleFrom = "Untitled draft", "no title given or found"
	}

	// Collect texts by destination before building the document, so that
	// template sections keep template order and custom sections land after
	// the template section they followed in the draft.
	type custom struct {
		title, text string
		after       int // index of the template section before it, -1 for none
		mapping     int // index into rep.Mappings
	}
	var customs []custom
	texts := make([]string, len(tmpl.Sections))
	filled := make([]bool, len(tmpl.Sections))
	last := -1
	matcher := newHeadingMatcher(tmpl)
	for _, p := range parts {
		text := trimBlankLines(strings.Join(p.lines, "\n"))
		if p.head == nil {
			if text == "" {
				continue
			}
			rep.Mappings = append(rep.Mappings, ImportMapping{Match: "preamble", SectionTitle: PreambleTitle})
			customs = append(customs, custom{title: PreambleTitle, text: text, after: last, mapping: len(rep.Mappings) - 1})
			continue
		}
		m := ImportMapping{Heading: p.head.raw, Line: p.head.line + 1}
		idx, how, _, why := matcher.match(p.head.text)
		if idx < 0 {
			m.Match, m.Why = "custom", why
			ct := customTitle(p.head.text)
			m.SectionTitle = ct
			rep.Mappings = append(rep.Mappings, m)
			customs = append(customs, custom{title: ct, text: text, after: last, mapping: len(rep.Mappings) - 1})
			continue
		}
		ts := &tmpl.Sections[idx]
		m.Match, m.SectionID, m.SectionTitle = string(how), ts.Key, ts.Title
		if filled[idx] {
			m.Appended = true
			sub := strings.Repeat("#", min(level+1, 6)) + " " + p.head.text
			texts[idx] = joinBlocks(texts[idx], joinBlocks(sub, text))
		} else {
			filled[idx], texts[idx] = true, text
		}
		if idx < last {
			rep.Notes = append(rep.Notes, fmt.Sprintf("'%s' (line %d) came after %q in the draft; template sections keep the template order", p.head.raw, p.head.line+1, tmpl.Sections[last].Title))
		}
		last = max(last, idx)
		rep.Mappings = append(rep.Mappings, m)
	}

	d := &Document{ID: id, Template: tmpl.Name, Title: rep.Title, Created: now, Updated: now}
	for _, c := range customs {
		if _, err := d.AddCustomSection(c.title, ""); err != nil {
			return nil, ImportReport{}, fmt.Errorf("custom section %q: %w", c.title, err)
		}
	}
	added := slices.Clone(d.Sections) // custom-1.. in draft order
	d.Sections = d.Sections[:0:0]
	byAfter := map[int][]int{}
	for i, c := range customs {
		byAfter[c.after] = append(byAfter[c.after], i)
	}
	place := func(after int) {
		for _, i := range byAfter[after] {
			s := added[i]
			s.Text = customs[i].text
			d.Sections = append(d.Sections, s)
		}
	}
	place(-1)
	for i := range tmpl.Sections {
		s := tmpl.Sections[i].newSection()
		s.Text = texts[i]
		d.Sections = append(d.Sections, s)
		place(i)
	}
	d.AssignParagraphIDs()

	for ci, c := range customs {
		rep.Mappings[c.mapping].SectionID = added[ci].ID
	}
	number := make(map[string]int, len(d.Sections))
	for i, s := range d.Sections {
		number[s.ID] = i + 1
	}
	for i := range rep.Mappings {
		rep.Mappings[i].Number = number[rep.Mappings[i].SectionID]
	}
	rep.Empty = []string{}
	for i, ts := range tmpl.Sections {
		if IsEmptyText(texts[i]) {
			rep.Empty = append(rep.Empty, fmt.Sprintf("%d. %s", number[ts.Key], ts.Title))
		}
	}
	return d, rep, nil
}

// cleanImport checks an imported file and normalises its line breaks.
func cleanImport(src string) (string, error) {
	if len(src) > MaxImportSize {
		return "", fmt.Errorf("%w: the file is %d bytes; the limit is %d", ErrInvalid, len(src), MaxImportSize)
	}
	if !utf8.ValidString(src) {
		return "", fmt.Errorf("%w: the file is not UTF-8 text", ErrInvalid)
	}
	src = strings.TrimPrefix(src, "\uFEFF")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	line := 1
	for _, r := range src {
		if r == '\n' {
			line++
		} else if r < 0x20 && r != '\t' && r != '\f' && r != '\v' || r == 0x7f {
			return "", fmt.Errorf("%w: control character %U on line %d: the file looks binary, not markdown", ErrInvalid, r, line)
		}
	}
	if strings.TrimSpace(src) == "" {
		return "", fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	return src, nil
}

// mdHeading is one ATX heading of a markdown text.
type mdHeading struct {
	line  int // from 0
	level int
	raw   string // the line, trimmed
	text  string // without the #s
}

var (
	atxHeading   = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	atxClosing   = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	fenceOpening = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
)

// scanHeadings finds the ATX headings outside fenced code blocks. A fence
// left open runs to the end, as CommonMark has it.
func scanHeadings(lines []string) []mdHeading {
	var out []mdHeading
	fence := ""
	for i, l := range lines {
		if t := strings.TrimLeft(l, " "); t == "" || !strings.ContainsRune("#`~", rune(t[0])) {
			continue // the common case: no heading and no fence
		}
		if fence != "" {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" && len(l)-len(strings.TrimLeft(l, " ")) <= 3 {
				fence = ""
			}
			continue
		}
		if m := fenceOpening.FindStringSubmatch(l); m != nil {
			if m[1][0] == '~' || !strings.Contains(l[len(m[0]):], "`") {
				fence = m[1]
				continue
			}
		}
		m := atxHeading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		text := strings.TrimSpace(atxClosing.ReplaceAllString(m[2], ""))
		out = append(out, mdHeading{line: i, level: len(m[1]), raw: strings.TrimSpace(l), text: text})
	}
	return out
}

// outline picks the title heading (or nil) and the level of section
// headings: the top level present, unless a single heading has it and
// deeper headings follow it, or it is a lone "# Title".
func outline(heads []mdHeading) (*mdHeading, int) {
	if len(heads) == 0 {
		return nil, 0
	}
	top, count := 7, 0
	for _, h := range heads {
		if h.level < top {
			top, count = h.level, 0
		}
		if h.level == top {
			count++
		}
	}
	if count != 1 {
		return nil, top
	}
	var title *mdHeading
	next := 7
	for i := range heads {
		switch {
		case heads[i].level == top:
			title = &heads[i]
		case title != nil:
			next = min(next, heads[i].level)
		}
	}
	if next < 7 {
		return title, next
	}
	if top == 1 && len(heads) == 1 {
		return title, 0
	}
	return nil, top
}

// customTitle is the title of a custom section made from a heading: the
// heading without a marked section number ("12. Acknowledgements").
func customTitle(heading string) string {
	n, rest, marked := splitNumber(heading)
	switch {
	case n > 0 && marked && rest != "":
		return rest
	case strings.TrimSpace(heading) != "":
		return strings.TrimSpace(heading)
	}
	return "Untitled section"
}

// trimBlankLines drops blank lines at both ends, keeping the indentation
// of the first line (it may start an indented code block).
func trimBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	blank := func(l string) bool { return strings.Trim(l, " \t") == "" }
	for len(lines) > 0 && blank(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && blank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// joinBlocks joins two markdown texts with a blank line between them.
func joinBlocks(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}
