package editor

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Heading matching for ImportMarkdown. Drafts written elsewhere number and
// word their headings freely ("Section 3 — Case studies", "9. Lessons
// learned"), so a heading is matched by its number when its words do not
// contradict it, and otherwise by the overlap of its words with the titles
// and aliases of the template sections.

const (
	// titleThreshold is the least score for a match on words alone.
	titleThreshold = 0.5
	// numberThreshold is the least score for words that confirm a number:
	// lower, because the number already points at the section.
	numberThreshold = 0.25
	// ambiguityMargin: a best match this close to the runner-up is
	// ambiguous and left unmatched rather than guessed.
	ambiguityMargin = 0.1
	// maxHeadingWords bounds the words of a heading that are compared.
	maxHeadingWords = 30
)

// decimalNumber is a subsection number before a heading's words.
var decimalNumber = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,3})+\.?[ \t]+`)

var romans = map[string]int{
	"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
	"xi": 11, "xii": 12, "xiii": 13, "xiv": 14, "xv": 15,
}

// splitNumber returns a heading's leading section number (0 if none), the
// rest of the heading, and whether the number was marked as one by
// punctuation or a word such as "Section" (so that a custom section titled
// "3 Ways forward" keeps its "3"). It reads "3.", "3)", "3:", "3 -", "3 Case
// studies", "Section 3 — ...", "Part IV. ..."; a decimal such as "3.1" is
// not a section number, and a Roman numeral needs punctuation or a
// "Section" before it, so that "I think" or "V shaped" stay words.
func splitNumber(heading string) (n int, rest string, marked bool) {
	h := strings.TrimSpace(heading)
	s := h
	prefixed := false
	for _, p := range []string{"section", "part", "chapter", "element"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) && (s[len(p)] == ' ' || s[len(p)] == '\t') {
			s, prefixed = strings.TrimLeft(s[len(p):], " \t"), true
			break
		}
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	digits := end > 0
	if !digits {
		for end < len(s) && strings.IndexByte("ivxIVX", s[end]) >= 0 {
			end++
		}
	}
	if end == 0 || end > 3 && digits || end > 5 {
		return 0, h, false
	}
	tok, after := s[:end], s[end:]
	sep := false
	switch {
	case after == "":
	case after[0] == '.' && len(after) > 1 && after[1] >= '0' && after[1] <= '9':
		return 0, h, false // 3.1
	case strings.IndexByte(".):", after[0]) >= 0:
		after, sep = after[1:], true
	case after[0] == ' ' || after[0] == '\t':
		after = strings.TrimLeft(after, " \t")
		for _, d := range []string{"-", "–", "—", ":"} {
			if strings.HasPrefix(after, d) {
				after, sep = after[len(d):], true
				break
			}
		}
	default:
		return 0, h, false // "3rd", "Ivory"
	}
	rest = strings.TrimSpace(after)
	if digits {
		n, _ = strconv.Atoi(tok)
		return n, rest, prefixed || sep
	}
	if n, ok := romans[strings.ToLower(tok)]; ok && (prefixed || sep || rest == "") {
		return n, rest, true
	}
	return 0, h, false
}

var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "and": true, "or": true, "in": true, "on": true,
	"to": true, "for": true, "as": true, "with": true, "by": true, "from": true, "at": true, "its": true,
	"their": true, "our": true, "this": true, "that": true, "these": true, "those": true, "is": true,
	"are": true, "be": true, "e": true, "g": true, "eg": true, "ie": true, "etc": true, "bpf": true,
	"bpfs": true, "s": true,
}

// titleTokens normalises a title into comparable words: lower case,
// punctuation dropped, "&" read as "and", stop words removed, plurals
// folded.
func titleTokens(s string) []string {
	s = strings.ReplaceAll(strings.ToLower(s), "&", " and ")
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var out []string
	for _, w := range words {
		if stopWords[w] {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:len(w)-1]
	}
	return w
}

// sameWord tolerates the small differences of wording between drafts:
// "method"/"methodology", "specificites"/"specificities".
func sameWord(a, b string) bool {
	if a == b {
		return true
	}
	short := min(len(a), len(b))
	if short >= 5 && (strings.HasPrefix(a, b) || strings.HasPrefix(b, a)) {
		return true
	}
	return short >= 6 && len(a)-len(b) <= 1 && len(b)-len(a) <= 1 && editDistance(a, b) <= 1
}

// editDistance is the Levenshtein distance between two words, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// similarity scores how well heading words h name a title with words t,
// from 0 to 1: the mean of the Dice coefficient (both sides covered) and
// the share of the heading's words found in the title (a short heading
// such as "Case studies" naming a long title).
func similarity(h, t []string) float64 {
	if len(h) == 0 || len(t) == 0 {
		return 0
	}
	used := make([]bool, len(t))
	overlap := 0
	for _, hw := range h {
		for j, tw := range t {
			if !used[j] && sameWord(hw, tw) {
				used[j] = true
				overlap++
				break
			}
		}
	}
	dice := 2 * float64(overlap) / float64(len(h)+len(t))
	cover := float64(overlap) / float64(len(h))
	return (dice + cover) / 2
}

// headingMatcher holds a template's titles and aliases as words, made once
// per import rather than once per heading.
type headingMatcher struct {
	tmpl  *Template
	names [][][]string // per section: the words of its title and of each alias
}

func newHeadingMatcher(tmpl *Template) *headingMatcher {
	m := &headingMatcher{tmpl: tmpl, names: make([][][]string, len(tmpl.Sections))}
	for i, ts := range tmpl.Sections {
		m.names[i] = append(m.names[i], titleTokens(ts.Title))
		for _, a := range ts.Aliases {
			m.names[i] = append(m.names[i], titleTokens(a))
		}
	}
	return m
}

// sectionScore is the best similarity of a heading to the title or any
// alias of template section i.
func (m *headingMatcher) sectionScore(h []string, i int) float64 {
	best := 0.0
	for _, name := range m.names[i] {
		best = max(best, similarity(h, name))
	}
	return best
}

// matchHow says how a heading was matched to a section.
type matchHow string

const (
	byNumber         matchHow = "number"
	byNumberAndTitle matchHow = "number and title"
	byTitle          matchHow = "title"
	noMatch          matchHow = ""
)

// matchHeading finds the template section (index into tmpl.Sections) a
// heading names, or -1. It also returns the score of the words and, for a
// heading left unmatched, why.
func matchHeading(heading string, tmpl *Template) (idx int, how matchHow, score float64, why string) {
	return newHeadingMatcher(tmpl).match(heading)
}

func (m *headingMatcher) match(heading string) (idx int, how matchHow, score float64, why string) {
	tmpl := m.tmpl
	num, rest, _ := splitNumber(heading)
	if isGrouping(heading) {
		num = 0 // "Part II" groups sections; its number is not theirs
	}
	if num == 0 {
		rest = decimalNumber.ReplaceAllString(rest, "") // "1.2 Methodology"
	}
	words := titleTokens(rest)
	if len(words) > maxHeadingWords {
		words = words[:maxHeadingWords] // a heading that long is prose; keep matching cheap
	}
	best, second, bestScore, secondScore := -1, -1, 0.0, 0.0
	scores := make([]float64, len(tmpl.Sections))
	for i := range tmpl.Sections {
		s := m.sectionScore(words, i)
		scores[i] = s
		switch {
		case s > bestScore:
			second, secondScore = best, bestScore
			best, bestScore = i, s
		case s > secondScore:
			second, secondScore = i, s
		}
	}
	if num >= 1 && num <= len(tmpl.Sections) {
		n := num - 1
		switch {
		case len(words) == 0:
			return n, byNumber, 0, ""
		case best != n && bestScore >= titleThreshold && bestScore >= scores[n]+ambiguityMargin:
			// The words clearly name another section: the draft numbers
			// its sections differently.
		case scores[n] >= numberThreshold:
			if scores[n] >= titleThreshold {
				return n, byNumberAndTitle, scores[n], ""
			}
			return n, byNumber, scores[n], ""
		}
	}
	if bestScore < titleThreshold {
		return -1, noMatch, bestScore, "no template section with a similar title"
	}
	if secondScore > bestScore-ambiguityMargin {
		return -1, noMatch, bestScore, "ambiguous between " + strconv.Quote(tmpl.Sections[best].Title) + " and " + strconv.Quote(tmpl.Sections[second].Title)
	}
	return best, byTitle, bestScore, ""
}
