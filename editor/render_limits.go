package editor

import (
	"html"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// The render limits of Limits (nesting, emphasis runs, link openers, table
// cells) are checked per block before goldmark sees the text: goldmark's
// time grows with the square of those counts, and a table's output with
// its rows times its header's columns. A block over a limit is masked
// (every character but blanks and line breaks becomes "x", so it parses
// as one plain paragraph in linear time) and then shown as it was typed,
// preformatted, with a note saying which limit it broke.

// checkBlocks returns, for each block (span) of text over a render limit,
// the limit it breaks.
func checkBlocks(text string, spans []Span) map[int]*LimitError {
	var over map[int]*LimitError
	for i, sp := range spans {
		if err := checkBlock(text[sp.Start:sp.End]); err != nil {
			if over == nil {
				over = map[int]*LimitError{}
			}
			over[i] = err
		}
	}
	return over
}

// checkBlock measures one block in a single pass over its lines.
func checkBlock(block string) *LimitError {
	runs, openers := 0, 0
	columns, rows := 0, 0 // of the table being read, if any
	lines := strings.Split(block, "\n")
	for li, line := range lines {
		if d := nesting(line); d > Limits.Nesting {
			return &LimitError{Limit: "nesting", Got: d, Max: Limits.Nesting, What: "this block"}
		}
		body := strings.TrimLeft(line, " \t>")
		if startsInlineRun(body) {
			runs, openers = 0, 0
		}
		var prev byte
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch c {
			case '*', '_', '~':
				if c != prev {
					runs++
				}
			case '[':
				openers++
			}
			prev = c
		}
		if runs > Limits.DelimiterRuns {
			return &LimitError{Limit: "emphasis runs", Got: runs, Max: Limits.DelimiterRuns, What: "this block"}
		}
		if openers > Limits.LinkOpeners {
			return &LimitError{Limit: "link openers", Got: openers, Max: Limits.LinkOpeners, What: "this block"}
		}
		switch {
		case columns > 0 && strings.TrimSpace(body) != "":
			rows++
			if columns*rows > Limits.TableCells {
				return &LimitError{Limit: "table cells", Got: columns * (len(lines) - li + rows - 1), Max: Limits.TableCells, What: "this table"}
			}
		case li > 0 && isDelimiterRow(body):
			columns, rows = strings.Count(strings.Trim(strings.TrimSpace(body), "|"), "|")+1, 2
			if columns*rows > Limits.TableCells {
				return &LimitError{Limit: "table cells", Got: columns * (len(lines) - li + 1), Max: Limits.TableCells, What: "this table"}
			}
		}
	}
	return nil
}

// startsInlineRun reports a line that starts a new inline run: a list
// item, a table row or a heading; goldmark parses each as inlines of its own.
func startsInlineRun(body string) bool {
	if body == "" {
		return false
	}
	switch body[0] {
	case '|', '#', '-', '+', '*':
		return true
	}
	i := 0
	for i < len(body) && i < 9 && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	return i > 0 && i < len(body) && (body[i] == '.' || body[i] == ')')
}

// isDelimiterRow reports a table's delimiter row: cells of dashes with
// optional colons, separated by pipes.
func isDelimiterRow(line string) bool {
	t := strings.TrimSpace(line)
	if !strings.Contains(t, "-") || (!strings.Contains(t, "|") && !strings.HasPrefix(t, ":")) {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '|', '-', ':', ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// nesting counts the levels of quotes and lists a line opens: its quote
// and list markers, and its indentation, two columns a level. Lines of
// only "-", "*", "_" and blanks are rules or heading underlines, not lists.
func nesting(line string) int {
	if strings.Trim(line, "-*_ \t\r") == "" {
		return 0
	}
	indent, i := 0, 0
	for ; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
		if line[i] == '\t' {
			indent += 4 - indent%4
		} else {
			indent++
		}
	}
	depth := indent / 2
	for i < len(line) {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '>':
			depth++
			i++
		case c == '-' || c == '*' || c == '+':
			if i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\t' {
				return depth
			}
			depth++
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j >= len(line) || line[j] != '.' && line[j] != ')' ||
				j+1 < len(line) && line[j+1] != ' ' && line[j+1] != '\t' {
				return depth
			}
			depth++
			i = j + 1
		default:
			return depth
		}
	}
	return depth
}

// maskBlocks returns a copy of src with the blocks over a limit masked:
// every byte but blanks and line breaks becomes "x". A line that closes a
// code fence opened before the block is kept, so the rest of the text
// keeps its structure.
func maskBlocks(src []byte, spans []Span, over map[int]*LimitError) []byte {
	out := append([]byte(nil), src...)
	fence := ""
	si := 0
	for pos := 0; pos <= len(src); {
		end := pos + strings.IndexByte(string(src[pos:]), '\n')
		if end < pos {
			end = len(src)
		}
		line := string(src[pos:end])
		for si < len(spans) && spans[si].End < pos {
			si++
		}
		masked := si < len(spans) && over[si] != nil && spans[si].Start <= pos && pos <= spans[si].End
		switch {
		case masked && fence != "" && closesFence(line, fence):
			fence = ""
		case masked:
			for i := pos; i < end; i++ {
				if c := out[i]; c != ' ' && c != '\t' {
					out[i] = 'x'
				}
			}
		case fence != "":
			if closesFence(line, fence) {
				fence = ""
			}
		default:
			if m := fenceOpening.FindStringSubmatch(line); m != nil && (m[1][0] == '~' || !strings.Contains(line[len(m[0]):], "`")) {
				fence = m[1]
			}
		}
		pos = end + 1
	}
	return out
}

func closesFence(line, fence string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" && len(line)-len(strings.TrimLeft(line, " ")) <= 3
}

// degraded is a block shown as typed because it broke a render limit.
type degraded struct {
	ast.BaseBlock
	text string
	note string
}

var kindDegraded = ast.NewNodeKind("Degraded")

func (n *degraded) Kind() ast.NodeKind { return kindDegraded }

func (n *degraded) Dump(src []byte, level int) {
	ast.DumpHelper(n, src, level, map[string]string{"Note": n.note}, nil)
}

// replaceDegraded puts a degraded node in place of the first block that
// starts in each masked span and removes the others starting there. A
// masked span inside a code block has none: the code shows it as typed.
func replaceDegraded(root ast.Node, spans []Span, over map[int]*LimitError, src []byte) {
	if len(over) == 0 {
		return
	}
	done := map[int]bool{}
	var visit func(parent ast.Node)
	visit = func(parent ast.Node) {
		for n := parent.FirstChild(); n != nil; {
			next := n.NextSibling()
			pos := blockPos(n)
			i := sort.Search(len(spans), func(i int) bool { return spans[i].Start > pos }) - 1
			if pos >= 0 && i >= 0 && over[i] != nil && pos <= spans[i].End {
				if !done[i] {
					done[i] = true
					sp := spans[i]
					d := &degraded{text: string(src[sp.Start:sp.End]), note: "Shown as plain text: " + over[i].Error() + "."}
					d.SetPos(pos)
					parent.ReplaceChild(parent, n, d)
				} else {
					parent.RemoveChild(parent, n)
				}
			} else {
				switch n.Kind() {
				case ast.KindBlockquote, ast.KindList, ast.KindListItem, east.KindFootnote, east.KindFootnoteList:
					visit(n)
				}
			}
			n = next
		}
	}
	visit(root)
}

var degradedAttrs = util.NewBytesFilterString("id,data-para")

func renderDegraded(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*degraded)
	_, _ = w.WriteString(`<div class="degraded"`)
	ghtml.RenderAttributes(w, n, degradedAttrs)
	_, _ = w.WriteString(`><p class="degraded-note">` + html.EscapeString(n.note) + "</p><pre><code>" + html.EscapeString(n.text) + "</code></pre></div>\n")
	return ast.WalkSkipChildren, nil
}
