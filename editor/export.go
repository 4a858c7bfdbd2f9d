package editor

import (
	"fmt"
	"strings"
)

// ExportMarkdown writes the document as one markdown file: "# Title", then
// "## N. Section title" and the section's text for each section in order.
// Under each heading a comment line ("<!-- bpfdraft: section issues -->")
// carries the section's identity, so that ImportMarkdown reads the file
// back to the same sections — ids, titles, kinds, order and texts — and a
// second export is byte for byte the first: export(import(export(d))) ==
// export(d) for every document. Markdown readers do not show the comments.
//
// Sub-headings in the texts are written at their level under the section
// (### right under it, as the reading view shows them): a text whose
// shallowest heading is # or ## is moved down as a whole. Texts come back
// from an import without leading and trailing blank lines and with those
// headings moved; template sections keep the template's titles.
func ExportMarkdown(doc *Document) string {
	var b strings.Builder
	title := oneLine(doc.Title)
	if title == "" {
		title = "Untitled"
	}
	fmt.Fprintf(&b, "# %s\n<!-- bpfdraft: title -->\n", headingText(title))
	for i, s := range doc.Sections {
		fmt.Fprintf(&b, "\n## %d. %s\n", i+1, headingText(oneLine(s.Title)))
		if exportMarker.MatchString("<!-- bpfdraft: section " + s.ID + " -->") {
			fmt.Fprintf(&b, "<!-- bpfdraft: section %s -->\n", s.ID)
		}
		if text := trimBlankLines(SubHeadings(exportText(doc, s))); text != "" {
			b.WriteString("\n")
			b.WriteString(text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// SubHeadings moves the headings of a section text down as a whole so that
// the shallowest is ### (h3, under the section's h2), as the renderer
// shows them; a text whose headings start at ### or deeper is returned as
// it is. Headings in code fences are not headings.
func SubHeadings(text string) string {
	lines := strings.Split(text, "\n")
	heads := scanHeadings(lines)
	top := 7
	for _, h := range heads {
		top = min(top, h.level)
	}
	shift := max(0, 3-top)
	if shift == 0 {
		return text
	}
	for _, h := range heads {
		l := lines[h.line]
		at := strings.IndexByte(l, '#')
		lines[h.line] = l[:at] + strings.Repeat("#", min(h.level+shift, 6)) + l[at+h.level:]
	}
	return strings.Join(lines, "\n")
}

// headingText keeps a title whole on its ATX heading line: a title ending
// in " #" would otherwise lose it as a closing sequence.
func headingText(s string) string {
	if strings.HasSuffix(s, "#") {
		return s + " #"
	}
	return s
}

// oneLine trims a title and collapses its runs of spaces and tabs (not
// other spaces, such as no-break ones, which authors put there on purpose).
// A line break stays: CheckTitle refuses it.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
}

// exportText is a section's text as exported: without the starter comment
// that templates once put in a new section's text ("<!-- prompt -->"),
// which documents made before prompts became placeholders still hold.
// Guidance is not content.
func exportText(doc *Document, s Section) string {
	prompt := s.Prompt
	if prompt == "" {
		if t, err := LookupTemplate(doc.Template); err == nil {
			for _, ts := range t.Sections {
				if ts.Key == s.ID {
					prompt = ts.Prompt
				}
			}
		}
	}
	if prompt == "" {
		return s.Text
	}
	starter := "<!-- " + prompt + " -->"
	for _, p := range Paragraphs(s.Text) {
		if strings.TrimSpace(s.Text[p.Start:p.End]) == starter {
			return s.Text[:p.Start] + s.Text[p.End:]
		}
	}
	return s.Text
}
