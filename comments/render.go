package comments

import (
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/editor"
)

// LinkRel is the rel of every link in a rendered comment: the link is the
// commenter's, not the site's (nofollow, ugc), and the page it opens gets
// no handle on ours (noopener).
const LinkRel = "nofollow ugc noopener"

// RenderHTML renders a comment's plain text as HTML that is safe to put in
// a page: every character is escaped, paragraphs (separated by blank
// lines) become <p> elements and other line breaks <br>, and http and
// https addresses become links with rel LinkRel. Nothing else is
// interpreted: no Markdown, no HTML. Invalid UTF-8 and control characters
// other than line breaks and tabs come out as U+FFFD.
func RenderHTML(text string) string {
	text = editor.NormalizeLineBreaks(strings.ToValidUTF8(text, "\uFFFD"))
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return utf8.RuneError
		}
		return r
	}, text)
	var b strings.Builder
	for _, para := range splitParagraphs(text) {
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			writeLinked(&b, line)
		}
		b.WriteString("</p>\n")
	}
	return b.String()
}

// splitParagraphs returns the runs of non-blank lines of text, each
// trimmed of white space around it.
func splitParagraphs(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.TrimSpace(strings.Join(cur, "\n")))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

// writeLinked writes line escaped, with its web addresses as links.
func writeLinked(b *strings.Builder, line string) {
	for line != "" {
		start, end := findLink(line)
		if start < 0 {
			b.WriteString(html.EscapeString(line))
			return
		}
		b.WriteString(html.EscapeString(line[:start]))
		u := html.EscapeString(line[start:end])
		b.WriteString(`<a href="` + u + `" rel="` + LinkRel + `">` + u + `</a>`)
		line = line[end:]
	}
}

// findLink returns the byte range of the first http or https address in
// s that starts a word, or -1, -1. An address runs to the next white
// space, quote or angle bracket; punctuation that ends a sentence, and
// closing brackets without their opening one, are left out of it. It
// must parse as an absolute http or https URL with a host.
func findLink(s string) (int, int) {
	from := 0
	for {
		i := indexScheme(s[from:])
		if i < 0 {
			return -1, -1
		}
		start := from + i
		end := start
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if unicode.IsSpace(r) || strings.ContainsRune(`"'<>`+"`", r) || r == utf8.RuneError {
				break
			}
			end += size
		}
		end = start + trimURL(s[start:end])
		if u, err := url.Parse(s[start:end]); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil {
			return start, end
		}
		from = start + 1
	}
}

// indexScheme returns the index of the first "http://" or "https://"
// (any case) in s that does not follow a letter, digit or underscore.
func indexScheme(s string) int {
	lower := asciiLower(s)
	for from := 0; ; {
		i := strings.Index(lower[from:], "http")
		if i < 0 {
			return -1
		}
		i += from
		rest := lower[i:]
		if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") {
			r, _ := utf8.DecodeLastRuneInString(s[:i])
			if i == 0 || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
				return i
			}
		}
		from = i + 1
	}
}

// asciiLower lowers ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// trimURL returns the length of u without the punctuation that ends a
// sentence around it: trailing .,:;!? and closing brackets that close
// nothing opened within u.
func trimURL(u string) int {
	n := len(u)
	for n > 0 {
		c := u[n-1]
		switch c {
		case '.', ',', ':', ';', '!', '?':
			n--
			continue
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if strings.Count(u[:n], string(open)) < strings.Count(u[:n], string(c)) {
				n--
				continue
			}
		}
		break
	}
	return n
}
