package editor

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Targets of a heading in an import besides a template section's key.
const (
	// AssignCustom makes the heading a custom section of its own.
	AssignCustom = "custom"
	// AssignSub keeps the heading as a sub-heading of the section it falls in.
	AssignSub = "sub"
	// AssignTitle makes the heading the document's title.
	AssignTitle = "title"
)

// ImportOptions are the choices of the person importing.
type ImportOptions struct {
	// Title, when not empty, is the document title; it wins over a title
	// heading in the draft.
	Title string
	// Assign overrides the proposed target of headings, by the heading's
	// line number in the draft (from 1): a template section key,
	// AssignCustom, AssignSub or AssignTitle.
	Assign map[int]string
}

// ImportReport says what ImportMarkdown did with each part of the draft.
type ImportReport struct {
	// Title is the document title and TitleFrom where it came from.
	Title     string `json:"title"`
	TitleFrom string `json:"title_from"`
	// Mappings has one entry per heading of the draft (outside code), in
	// the order of the draft.
	Mappings []ImportMapping `json:"mappings"`
	// Blocks accounts for every block of the draft: where it went.
	Blocks []ImportBlock `json:"blocks"`
	// Empty lists the template sections ("N. Title") left without text.
	Empty []string `json:"empty"`
	// Notes are other remarks, such as blocks that will show as plain text.
	Notes []string `json:"notes,omitempty"`
}

// ImportMapping says where one heading of the draft went.
type ImportMapping struct {
	// Heading is the heading line as written; Line its line number in the
	// draft (from 1) and Level its number of "#".
	Heading string `json:"heading"`
	Line    int    `json:"line"`
	Level   int    `json:"level"`
	// Target is what the heading became: a template section key,
	// AssignCustom, AssignSub or AssignTitle.
	Target string `json:"target"`
	// SectionID, Number and SectionTitle name the section of the imported
	// document the heading starts or falls in; Number is its final
	// position. Empty for the title.
	SectionID    string `json:"section_id,omitempty"`
	Number       int    `json:"number,omitempty"`
	SectionTitle string `json:"section_title,omitempty"`
	// Match says how the target was chosen: "number", "title", "number and
	// title" (template sections), "custom" (no template section matched;
	// Why says why), "sub-heading" (inside a section and not naming
	// another), "title heading", "export marker" (a bpfdraft export's own
	// identity) or "assigned" (the person chose).
	Match string `json:"match"`
	Why   string `json:"why,omitempty"`
	// SubLevel is the heading's level in the section text for a
	// sub-heading: 3 right under the section heading, 4 below that...
	SubLevel int `json:"sub_level,omitempty"`
	// Appended is true when an earlier heading had already filled the
	// same template section: this one was added to its end as a
	// sub-heading.
	Appended bool `json:"appended,omitempty"`
}

// ImportBlock is one block of the draft (a run of non-blank lines, a
// heading line on its own) and where it went.
type ImportBlock struct {
	// Line and Lines locate it in the draft (first line from 1, count).
	Line  int `json:"line"`
	Lines int `json:"lines"`
	// Kind is "heading", "paragraph", "list", "table", "quote", "code",
	// "footnote", "html" or "marker" (a bpfdraft export marker, consumed).
	Kind string `json:"kind"`
	// As is how it was kept: "title", "section heading", "sub-heading",
	// "text" or "marker".
	As string `json:"as"`
	// SectionID and Number name the section it went to (none for the
	// title and markers).
	SectionID string `json:"section_id,omitempty"`
	Number    int    `json:"number,omitempty"`
}

// Lines renders the report for people, one line per finding.
func (r ImportReport) Lines() []string {
	out := []string{fmt.Sprintf("title: %q (%s)", r.Title, r.TitleFrom)}
	for _, m := range r.Mappings {
		var how string
		switch m.Target {
		case AssignTitle:
			how = "document title"
		case AssignSub:
			how = fmt.Sprintf("sub-heading (level %d) in %d. %s", m.SubLevel, m.Number, m.SectionTitle)
		case AssignCustom:
			how = fmt.Sprintf("custom section %d. %s", m.Number, m.SectionTitle)
		default:
			how = fmt.Sprintf("%d. %s", m.Number, m.SectionTitle)
		}
		why := m.Match
		if m.Why != "" {
			why += ": " + m.Why
		}
		if m.Appended {
			why += "; appended to the text already there"
		}
		out = append(out, fmt.Sprintf("line %d '%s' -> %s (%s)", m.Line, m.Heading, how, why))
	}
	kept := 0
	for _, b := range r.Blocks {
		if b.As == "text" {
			kept++
		}
	}
	out = append(out, fmt.Sprintf("%d blocks of the draft, %d of them text, every one placed", len(r.Blocks), kept))
	out = append(out, r.Notes...)
	if len(r.Empty) > 0 {
		out = append(out, "no text for: "+strings.Join(r.Empty, "; "))
	}
	return out
}

// exportMarker is the line ExportMarkdown writes under each heading so
// that an export reads back to the same sections: "<!-- bpfdraft: title -->"
// or "<!-- bpfdraft: section ID -->".
var exportMarker = regexp.MustCompile(`^<!-- bpfdraft: (title|section ([a-z0-9-]{1,64})) -->$`)

// ImportMarkdown makes a document of the template from a markdown draft
// written elsewhere. Nothing of the draft is lost: every line other than
// the title heading and section headings ends up, unchanged, in some
// section's text (sub-headings with their level adjusted), and the report
// accounts for every block.
//
// Every heading level is considered. A heading is matched to a template
// section by its number ("3.", "Section 3 —"; not "Part III", which
// groups), its words, and the template's aliases, wherever it sits in the
// outline; a heading nested inside a section needs a close match to be
// taken out of it. A heading that matches nothing becomes a sub-heading of
// the section it falls in, or, at the top of the outline, a custom section
// with the author's title unchanged. A second heading naming an already
// filled template section is appended to it as a sub-heading. Template
// sections come in template order, custom ones after the template section
// they followed in the draft; the text before the first heading opens the
// first section. A first-line "#" heading that names no section is the
// title; opts.Title wins over it. opts.Assign overrides any of this per
// heading. A bpfdraft export (see ExportMarkdown) reads back to the same
// sections, titles, ids and texts.
//
// Sub-headings keep their level relative to their section: right under it
// is "###", then "####". Fenced code is respected; setext (underlined)
// headings are text. Empty input, invalid UTF-8, control characters, an
// unknown assignment and a result over the Limits are errors (a
// *LimitError for the limits, wrapping ErrInvalid otherwise).
func ImportMarkdown(src string, tmpl *Template, id string, opts ImportOptions, now time.Time) (*Document, ImportReport, error) {
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
	for line, target := range opts.Assign {
		if !slices.ContainsFunc(heads, func(h mdHeading) bool { return h.line+1 == line }) {
			return nil, rep, fmt.Errorf("%w: no heading on line %d to assign", ErrInvalid, line)
		}
		if target != AssignCustom && target != AssignSub && target != AssignTitle && tmpl.Section(target) == nil {
			return nil, rep, fmt.Errorf("%w: line %d: %q is neither a section of template %s nor custom, sub or title", ErrInvalid, line, target, tmpl.Name)
		}
	}
	p := newImportPlan(tmpl, lines, heads, opts)
	p.assign()
	d := p.build(id, now)
	rep = p.report(d)
	switch {
	case strings.TrimSpace(opts.Title) != "":
		t, err := CheckTitle(opts.Title, "document title")
		if err != nil {
			return nil, rep, err
		}
		d.Title, rep.Title, rep.TitleFrom = t, t, "given"
		if p.title != nil && p.title.text != t {
			rep.Notes = append(rep.Notes, fmt.Sprintf("'%s' (line %d) is the draft's title heading; the given title %q was used instead", p.title.raw, p.title.line+1, t))
		}
	case p.title != nil:
		t := p.title.text
		if p.markers[p.title.line] == AssignTitle {
			t = p.title.content // an export's title, exactly as written
		}
		d.Title, rep.Title, rep.TitleFrom = t, t, fmt.Sprintf("from '%s'", p.title.raw)
	default:
		d.Title, rep.Title, rep.TitleFrom = "Untitled draft", "Untitled draft", "no title given or found"
	}
	if len(d.Title) > Limits.TitleBytes {
		// A title heading is one line of the draft; cut it rather than refuse.
		cut := Limits.TitleBytes
		for cut > 0 && !utf8.RuneStart(d.Title[cut]) {
			cut--
		}
		d.Title = strings.TrimSpace(d.Title[:cut])
		rep.Title = d.Title
		rep.Notes = append(rep.Notes, fmt.Sprintf("the title heading is longer than the title length limit (%d bytes) and was cut", Limits.TitleBytes))
	}
	if err := d.CheckLimits(); err != nil {
		return nil, rep, err
	}
	for i := range d.Sections {
		s := &d.Sections[i]
		spans := Paragraphs(s.Text)
		for j, e := range checkBlocks(s.Text, spans) {
			line := strings.Count(s.Text[:spans[j].Start], "\n") + 1
			rep.Notes = append(rep.Notes, fmt.Sprintf("%d. %s, line %d of its text, will show as plain text: %v", i+1, s.Title, line, e))
		}
	}
	return d, rep, nil
}

// importPlan is the work of one import: the draft's headings, what each
// becomes, and the text of each destination.
type importPlan struct {
	tmpl    *Template
	lines   []string
	heads   []mdHeading
	opts    ImportOptions
	matcher *headingMatcher

	title   *mdHeading
	markers map[int]string // heading line (from 0) -> marker target, for exports
	maps    []ImportMapping
	mapOf   map[int]int // heading line (from 0) -> index in maps
	blocks  []ImportBlock
}

func newImportPlan(tmpl *Template, lines []string, heads []mdHeading, opts ImportOptions) *importPlan {
	p := &importPlan{tmpl: tmpl, lines: lines, heads: heads, opts: opts, matcher: newHeadingMatcher(tmpl), markers: map[int]string{}, mapOf: map[int]int{}}
	for _, h := range heads {
		if h.line+1 < len(lines) {
			if m := exportMarker.FindStringSubmatch(lines[h.line+1]); m != nil {
				if m[1] == "title" {
					p.markers[h.line] = AssignTitle
				} else {
					p.markers[h.line] = m[2]
				}
			}
		}
	}
	return p
}

// assign decides what every heading becomes.
func (p *importPlan) assign() {
	// The title: an export's marked one, or a first-line "#" heading that
	// names no template section, or the only heading of the top level
	// with deeper ones after it.
	titleAt := -1
	for i, h := range p.heads {
		if p.markers[h.line] == AssignTitle {
			titleAt = i
		}
	}
	if titleAt < 0 && len(p.heads) > 0 && p.opts.Assign[p.heads[0].line+1] == "" {
		h := p.heads[0]
		firstLine := strings.TrimSpace(strings.Join(p.lines[:h.line], "")) == ""
		idx, _, _, _ := p.matcher.match(h.text)
		top, count := 7, 0
		for _, o := range p.heads {
			if o.level < top {
				top, count = o.level, 0
			}
			if o.level == top {
				count++
			}
		}
		grouping := isGrouping(h.text) || genericHeading(h.text)
		switch {
		case h.level == 1 && firstLine && idx < 0 && !grouping:
			titleAt = 0
		case h.level == top && count == 1 && len(p.heads) > 1 && idx < 0 && !grouping:
			titleAt = 0
		}
	}
	for line, target := range p.opts.Assign {
		if target == AssignTitle {
			for i, h := range p.heads {
				if h.line+1 == line {
					titleAt = i
				}
			}
		}
	}
	if titleAt >= 0 {
		p.title = &p.heads[titleAt]
	}

	taken := map[string]bool{}
	curLevel := 0 // level of the heading that started the current section, 0 before any
	for i, h := range p.heads {
		m := ImportMapping{Heading: h.raw, Line: h.line + 1, Level: h.level}
		target, forced := p.opts.Assign[h.line+1], true
		if target == "" {
			target, forced = p.markers[h.line], false
			if target != "" {
				m.Match = "export marker"
				if target != AssignTitle && target != AssignSub && p.tmpl.Section(target) == nil {
					target = AssignCustom
				}
			}
		} else {
			m.Match = "assigned"
		}
		if i == titleAt {
			target = AssignTitle
			if m.Match == "" {
				m.Match = "title heading"
			}
		} else if target == AssignTitle {
			target = AssignCustom // a second title: keep it as a section
		}
		if target == "" && !forced && len(p.markers) > 0 {
			// A bpfdraft export: its sections are marked, every other
			// heading is a sub-heading of the section it is in.
			target, m.Match = AssignSub, "sub-heading"
		}
		if target == "" && !forced {
			inside := curLevel > 0 && h.level > curLevel
			idx, how, score, why := p.matcher.match(h.text)
			strong := how != byTitle || score >= nestedThreshold
			if isGrouping(h.text) {
				strong = score >= groupingThreshold
			}
			switch {
			case idx >= 0 && (!inside && !isGrouping(h.text) || strong):
				target, m.Match = p.tmpl.Sections[idx].Key, string(how)
			case inside:
				target, m.Match = AssignSub, "sub-heading"
			default:
				target, m.Match, m.Why = AssignCustom, "custom", why
				if isGrouping(h.text) && idx >= 0 {
					m.Why = "a part heading groups sections; it takes a section's place only when its words are that section's"
				}
			}
		}
		switch target {
		case AssignTitle:
		case AssignSub:
			if curLevel == 0 {
				curLevel = max(h.level-1, 0)
			}
		default:
			if target != AssignCustom && taken[target] {
				m.Appended = true
			}
			taken[target] = true
			curLevel = h.level
		}
		m.Target = target
		p.mapOf[h.line] = len(p.maps)
		p.maps = append(p.maps, m)
	}
}

// nestedThreshold is the least word score for a heading nested inside a
// section to be taken out of it into a template section: "Methodology"
// inside "Part I" is; "Lessons" under a case study stays a sub-heading.
const nestedThreshold = 0.9

// groupingThreshold is the least word score for a heading that groups
// sections ("Part II: Case studies") to become a template section.
const groupingThreshold = 0.9

// genericHeading reports headings that name a part of any report, never
// its title: a draft that starts with "# Introduction" has no title heading.
func genericHeading(heading string) bool {
	switch strings.ToLower(strings.Trim(plainHeading(heading), " .:")) {
	case "introduction", "executive summary", "summary", "background", "overview", "context", "abstract",
		"foreword", "preface", "contents", "table of contents", "acknowledgements", "acknowledgments",
		"conclusions", "conclusion", "recommendations", "annex", "annexes", "appendix", "references":
		return true
	}
	return false
}

// isGrouping reports a heading that groups sections ("Part II: ...",
// "Chapter 3"): its number is not a section number.
func isGrouping(heading string) bool {
	h := strings.ToLower(strings.TrimSpace(heading))
	return strings.HasPrefix(h, "part ") || strings.HasPrefix(h, "chapter ")
}

// dest is one destination of the draft's text.
type dest struct {
	key   string // template key, or "" for a custom section
	title string // a custom section's title
	id    string // a custom section's id from an export marker
	lines []string
	after int // a custom section: index of the template section before it
	order int // a custom section: its place among the custom ones
}

// build cuts the draft into its destinations and makes the document.
func (p *importPlan) build(id string, now time.Time) *Document {
	templ := make([]*dest, len(p.tmpl.Sections))
	index := map[string]int{}
	for i, ts := range p.tmpl.Sections {
		index[ts.Key] = i
		templ[i] = &dest{key: ts.Key}
	}
	var customs []*dest
	preamble := &dest{}
	cur := preamble
	base := 0          // level of the heading that started cur
	lastTmpl := -1     // greatest template index seen so far
	where := []*dest{} // per map entry: its destination
	skip := map[int]bool{}
	for _, h := range p.heads {
		if p.markers[h.line] != "" {
			skip[h.line+1] = true
		}
	}
	headAt := map[int]*mdHeading{}
	for i := range p.heads {
		headAt[p.heads[i].line] = &p.heads[i]
	}
	lineDest := make([]*dest, len(p.lines))
	for i, l := range p.lines {
		if skip[i] {
			continue
		}
		h := headAt[i]
		if h == nil {
			cur.lines = append(cur.lines, l)
			lineDest[i] = cur
			continue
		}
		m := &p.maps[p.mapOf[i]]
		switch m.Target {
		case AssignTitle:
			where = append(where, nil)
			continue
		case AssignSub:
			m.SubLevel = min(max(3+h.level-base-1, 3), 6)
			if m.SubLevel == h.level {
				cur.lines = append(cur.lines, l) // as written
			} else {
				cur.lines = append(cur.lines, strings.Repeat("#", m.SubLevel)+" "+h.content)
			}
		case AssignCustom:
			cur = &dest{title: h.text, after: lastTmpl, order: len(customs)}
			if mk := p.markers[h.line]; mk != "" && mk != AssignTitle && customID.MatchString(mk) {
				cur.id = mk
				cur.title = exportedTitle(h.content)
			}
			customs = append(customs, cur)
			base = h.level
		default:
			ti := index[m.Target]
			lastTmpl = max(lastTmpl, ti)
			cur = templ[ti]
			if m.Appended {
				cur.lines = append(cur.lines, "", "### "+h.content)
				base = h.level - 1
			} else {
				base = h.level
			}
		}
		lineDest[i] = cur
		where = append(where, cur)
	}

	d := &Document{ID: id, Template: p.tmpl.Name, Created: now, Updated: now}
	// Custom ids: those an export carried are kept; the others are
	// numbered after them, in draft order.
	used := map[string]bool{}
	for _, c := range customs {
		if c.id != "" && !used[c.id] {
			used[c.id] = true
			n, _ := strconv.Atoi(strings.TrimPrefix(c.id, "custom-"))
			d.NextCustom = max(d.NextCustom, n)
		} else {
			c.id = ""
		}
	}
	for _, c := range customs {
		if c.id == "" {
			d.NextCustom++
			c.id = fmt.Sprintf("custom-%d", d.NextCustom)
		}
	}
	byAfter := map[int][]*dest{}
	for _, c := range customs {
		byAfter[c.after] = append(byAfter[c.after], c)
	}
	place := func(after int) {
		for _, c := range byAfter[after] {
			d.Sections = append(d.Sections, Section{ID: c.id, Title: c.title, Kind: Custom, Text: trimBlankLines(strings.Join(c.lines, "\n"))})
		}
	}
	place(-1)
	for i, ts := range p.tmpl.Sections {
		s := ts.newSection()
		s.Text = trimBlankLines(strings.Join(templ[i].lines, "\n"))
		d.Sections = append(d.Sections, s)
		place(i)
	}
	// The text before the first heading opens the first section.
	if pre := trimBlankLines(strings.Join(preamble.lines, "\n")); pre != "" && len(d.Sections) > 0 {
		d.Sections[0].Text = joinBlocks(pre, d.Sections[0].Text)
		first := d.Sections[0]
		for i, l := range lineDest {
			if l == preamble {
				lineDest[i] = &dest{key: first.ID, id: first.ID}
			}
		}
		for i := range where {
			if where[i] == preamble {
				where[i] = &dest{key: first.ID, id: first.ID}
			}
		}
	}
	d.AssignParagraphIDs()

	number := map[string]int{}
	titleOf := map[string]string{}
	for i, s := range d.Sections {
		number[s.ID] = i + 1
		titleOf[s.ID] = s.Title
	}
	idOf := func(x *dest) string {
		if x == nil {
			return ""
		}
		if x.key != "" {
			return x.key
		}
		return x.id
	}
	for i := range p.maps {
		if sid := idOf(where[i]); sid != "" {
			p.maps[i].SectionID, p.maps[i].Number, p.maps[i].SectionTitle = sid, number[sid], titleOf[sid]
		}
	}
	// Every block of the draft and where it went.
	p.blocks = nil
	for i := 0; i < len(p.lines); {
		if strings.Trim(p.lines[i], " \t") == "" {
			i++
			continue
		}
		start := i
		b := ImportBlock{Line: i + 1}
		if h := headAt[i]; h != nil {
			b.Lines, b.Kind = 1, "heading"
			m := p.maps[p.mapOf[i]]
			switch m.Target {
			case AssignTitle:
				b.As = "title"
			case AssignSub:
				b.As = "sub-heading"
			default:
				b.As = "section heading"
			}
			b.SectionID, b.Number = m.SectionID, m.Number
			p.blocks = append(p.blocks, b)
			i++
			continue
		}
		if skip[i] {
			p.blocks = append(p.blocks, ImportBlock{Line: i + 1, Lines: 1, Kind: "marker", As: "marker"})
			i++
			continue
		}
		for i < len(p.lines) && strings.Trim(p.lines[i], " \t") != "" && headAt[i] == nil && !skip[i] {
			i++
		}
		b.Lines, b.Kind, b.As = i-start, blockKind(p.lines[start]), "text"
		b.SectionID = idOf(lineDest[start])
		b.Number = number[b.SectionID]
		p.blocks = append(p.blocks, b)
	}
	return d
}

// headingAttr is a heading id as Google Docs and pandoc write it: "{#h.3x9k2p}".
var headingAttr = regexp.MustCompile(`\s*\{#[^{}]*\}$`)

// plainHeading is a heading's text without the markup editors put in
// them: a trailing {#id}, emphasis wrapped around words ("**1. Intro**")
// and backslash escapes ("1\. Introduction", Google Docs' habit). It is
// the heading's title for a custom section and what matching reads.
func plainHeading(s string) string {
	s = headingAttr.ReplaceAllString(s, "")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		case c == '*' || c == '_' && (i+1 < len(s) && s[i+1] == '_' || i > 0 && s[i-1] == '_' || i == 0 || i == len(s)-1):
			// emphasis markers; a lone _ inside a word stays
		default:
			b.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// customID is the shape of a custom section's id.
var customID = regexp.MustCompile(`^custom-[0-9]{1,9}$`)

// exportedTitle is a custom section's title from its exported heading,
// "N. Title": the number ExportMarkdown put before it is dropped.
func exportedTitle(heading string) string {
	i := 0
	for i < len(heading) && heading[i] >= '0' && heading[i] <= '9' {
		i++
	}
	if i > 0 && strings.HasPrefix(heading[i:], ". ") {
		return heading[i+2:]
	}
	return heading
}

// blockKind names what a block is from its first line.
func blockKind(line string) string {
	t := strings.TrimLeft(line, " \t")
	switch {
	case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
		return "code"
	case strings.HasPrefix(t, ">"):
		return "quote"
	case strings.HasPrefix(t, "|"):
		return "table"
	case strings.HasPrefix(t, "[^"):
		return "footnote"
	case strings.HasPrefix(t, "<"):
		return "html"
	case listItem.MatchString(line):
		return "list"
	}
	return "paragraph"
}

func (p *importPlan) report(d *Document) ImportReport {
	rep := ImportReport{Mappings: p.maps, Blocks: p.blocks, Empty: []string{}}
	if rep.Mappings == nil {
		rep.Mappings = []ImportMapping{}
	}
	last := -1
	for _, m := range p.maps {
		ts := p.tmpl.Section(m.Target)
		if ts == nil || m.Appended {
			continue
		}
		i := slices.IndexFunc(p.tmpl.Sections, func(s TemplateSection) bool { return s.Key == m.Target })
		if i < last {
			rep.Notes = append(rep.Notes, fmt.Sprintf("'%s' (line %d) came after %q in the draft; template sections keep the template order", m.Heading, m.Line, p.tmpl.Sections[last].Title))
		}
		last = max(last, i)
	}
	for i, s := range d.Sections {
		if s.Kind != Custom && IsEmptyText(s.Text) {
			rep.Empty = append(rep.Empty, fmt.Sprintf("%d. %s", i+1, s.Title))
		}
	}
	return rep
}

// cleanImport checks an imported file and normalises its line breaks.
func cleanImport(src string) (string, error) {
	if len(src) > Limits.ImportBytes {
		return "", &LimitError{Limit: "import size", Got: len(src), Max: Limits.ImportBytes, What: "the file", TooLarge: true}
	}
	if !utf8.ValidString(src) {
		return "", fmt.Errorf("%w: the file is not UTF-8 text", ErrInvalid)
	}
	src = NormalizeText(src)
	line := 1
	for _, r := range src {
		if r == '\n' {
			line++
		} else if r == 0 {
			return "", fmt.Errorf("%w: a NUL byte on line %d: the file looks binary, not markdown", ErrInvalid, line)
		}
	}
	if strings.TrimSpace(src) == "" {
		return "", fmt.Errorf("%w: the file is empty", ErrInvalid)
	}
	return src, nil
}

// mdHeading is one ATX heading of a markdown text.
type mdHeading struct {
	line    int // from 0
	level   int
	raw     string // the line, trimmed
	content string // without the #s, as written
	text    string // content as plain text (see plainHeading)
}

var (
	atxHeading   = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	atxClosing   = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	fenceOpening = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
)

// scanHeadings finds the ATX headings outside fenced code blocks. A fence
// left open runs to the end, as CommonMark has it. Headings without text
// ("##") are left as text.
func scanHeadings(lines []string) []mdHeading {
	var out []mdHeading
	fence := ""
	for i, l := range lines {
		if t := strings.TrimLeft(l, " "); t == "" || !strings.ContainsRune("#`~", rune(t[0])) {
			continue // the common case: no heading and no fence
		}
		// A bpfdraft export's marked headings are headings even after a
		// fence a section's text left open.
		marked := i+1 < len(lines) && exportMarker.MatchString(lines[i+1]) && atxHeading.MatchString(l)
		if fence != "" && !marked {
			if closesFence(l, fence) {
				fence = ""
			}
			continue
		}
		fence = ""
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
		content := strings.TrimSpace(atxClosing.ReplaceAllString(m[2], ""))
		if content == "" {
			continue
		}
		text := plainHeading(content)
		if text == "" {
			text = content // "**": markup only, kept as written
		}
		out = append(out, mdHeading{line: i, level: len(m[1]), raw: strings.TrimSpace(l), content: content, text: text})
	}
	return out
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

// ParseAssign reads heading assignments written "LINE=TARGET" (as the
// command line's --assign and the API's assign parameter take them) into
// ImportOptions.Assign. ImportMarkdown checks the targets.
func ParseAssign(list []string) (map[int]string, error) {
	out := map[int]string{}
	for _, a := range list {
		l, target, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(strings.TrimSpace(l))
		if !ok || err != nil || n < 1 || strings.TrimSpace(target) == "" {
			return nil, fmt.Errorf("%w: assignment %q: want LINE=TARGET, such as 12=methodology, 30=custom or 41=sub", ErrInvalid, a)
		}
		out[n] = strings.TrimSpace(target)
	}
	return out, nil
}
