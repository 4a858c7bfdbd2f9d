package editor

import (
	"fmt"
	"strings"
)

// ExportMarkdown writes the document as one markdown file: "# Title", then
// "## N. Section title" and the section's text for each section in order.
//
// ImportMarkdown reads it back to the same sections (ids, titles, kinds and
// texts) for any document of its template whose sections are in template
// order, whose custom sections were numbered custom-1, custom-2, ... in
// document order and have titles unlike the template's, and whose texts
// have no "#" or "##" headings and no unclosed code fence. Texts come back
// without leading and trailing blank lines, and template sections with the
// template's titles.
func ExportMarkdown(doc *Document) string {
	var b strings.Builder
	title := strings.TrimSpace(doc.Title)
	if title == "" {
		title = "Untitled"
	}
	fmt.Fprintf(&b, "# %s\n", oneLine(title))
	for i, s := range doc.Sections {
		fmt.Fprintf(&b, "\n## %d. %s\n", i+1, oneLine(s.Title))
		if text := trimBlankLines(s.Text); text != "" {
			b.WriteString("\n")
			b.WriteString(text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// oneLine keeps a title on its heading line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
