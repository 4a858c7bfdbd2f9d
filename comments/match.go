package comments

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Finding a quote again. Two searches serve: an exact one, which judges
// each occurrence of the quoted text by how much of the quote's context
// still surrounds it, and an approximate one (Sellers' algorithm: the
// substring of a window of text at the least edit distance from the
// quote), for quotes whose words were rewritten. Both count characters
// (code points), so that an emoji or an accented letter is one edit, and
// both break ties the same way every time. Sellers' algorithm has no
// limit on the quote's length (Bitap, diff-match-patch's match, takes
// patterns of at most 32 characters, and its Go port counts bytes); its
// cost, the quote's length times the window's, is bounded by
// MaxQuoteUnits and the window.

// Similarity says how close b is to a: 1 − d/max(|a|, |b|), where d is the
// Levenshtein distance between them and lengths count characters. It is 1
// for equal strings (two empty ones included) and 0 for strings with
// nothing in common. A Fuzzy anchor's Score is the Similarity of its quote
// and the text at its range.
func Similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	return similarity(levenshtein(ra, rb), len(ra), len(rb))
}

func similarity(d, la, lb int) float64 {
	n := max(la, lb)
	if n == 0 {
		return 1
	}
	return 1 - float64(d)/float64(n)
}

// levenshtein is the edit distance between a and b (insertions, deletions
// and substitutions of one character, each costing one).
func levenshtein(a, b []rune) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := diag
			if a[i-1] != b[j-1] {
				cost++
			}
			diag = row[j]
			row[j] = min(cost, row[j]+1, row[j-1]+1)
		}
	}
	return row[len(b)]
}

// quoteInfo is a quote with the lengths the searches need.
type quoteInfo struct {
	q *Quote
	// runes is the length of Exact in characters; ctxTotal that of Prefix
	// and Suffix together.
	runes, ctxTotal int
}

func newQuoteInfo(q *Quote) quoteInfo {
	return quoteInfo{
		q:        q,
		runes:    utf8.RuneCountInString(q.Exact),
		ctxTotal: utf8.RuneCountInString(q.Prefix) + utf8.RuneCountInString(q.Suffix),
	}
}

// accepts reports whether an exact occurrence whose surroundings match
// ctx characters of the quote's context is evidence enough: enough of
// the context (MinContext), or a quote distinctive on its own
// (DistinctiveRunes), or a quote that never had any context.
func (qi quoteInfo) accepts(ctx int) bool {
	return qi.ctxTotal == 0 || float64(ctx) >= MinContext*float64(qi.ctxTotal) || qi.runes >= DistinctiveRunes
}

// contextMatch counts the characters of the quote's prefix that end the
// text before byte b0, and those of its suffix that start the text after
// b1.
func (qi quoteInfo) contextMatch(text string, b0, b1 int) int {
	n := 0
	p, t := qi.q.Prefix, text[:b0]
	for p != "" && t != "" {
		r1, s1 := utf8.DecodeLastRuneInString(p)
		r2, s2 := utf8.DecodeLastRuneInString(t)
		if r1 != r2 {
			break
		}
		n++
		p, t = p[:len(p)-s1], t[:len(t)-s2]
	}
	s, t := qi.q.Suffix, text[b1:]
	for s != "" && t != "" {
		r1, s1 := utf8.DecodeRuneInString(s)
		r2, s2 := utf8.DecodeRuneInString(t)
		if r1 != r2 {
			break
		}
		n++
		s, t = s[s1:], t[s2:]
	}
	return n
}

// match is a place a quote was found in a section's text.
type match struct {
	b0, b1 int // bytes
	u0, u1 int // UTF-16 units
	ctx    int // context characters matched (exact search)
	// dist and runes are the edit distance to the quote and the length
	// in characters (approximate search), score their similarity.
	dist, runes int
	score       float64
}

// bestExact returns the best acceptable occurrence of the quote's exact
// text within text[lo:hi] (bytes; ulo is lo in UTF-16 units): the one
// with the most context matched, then the nearest to hint (UTF-16; a
// negative hint means none), then the first.
func (qi quoteInfo) bestExact(text string, lo, hi, ulo, hint int) (match, bool) {
	exact := qi.q.Exact
	var best match
	found := false
	u, last := ulo, lo
	for from := lo; from <= hi-len(exact); {
		i := strings.Index(text[from:hi], exact)
		if i < 0 {
			break
		}
		b := from + i
		u += editor.UTF16Len(text[last:b])
		last = b
		if ctx := qi.contextMatch(text, b, b+len(exact)); qi.accepts(ctx) {
			m := match{b0: b, b1: b + len(exact), u0: u, ctx: ctx}
			if !found || better(m, best, hint) {
				best, found = m, true
			}
		}
		_, size := utf8.DecodeRuneInString(text[b:])
		from = b + size
	}
	if found {
		best.u1 = best.u0 + editor.UTF16Len(exact)
	}
	return best, found
}

// better ranks exact occurrences: more context, then nearer the hint,
// then earlier.
func better(a, b match, hint int) bool {
	if a.ctx != b.ctx {
		return a.ctx > b.ctx
	}
	if hint >= 0 {
		da, db := abs(a.u0-hint), abs(b.u0-hint)
		if da != db {
			return da < db
		}
	}
	return a.u0 < b.u0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fuzzyWindow is the most text the approximate search looks at, in
// multiples of the quote's length: a longer mapped range is searched at
// its two ends only, each a window of this size.
const fuzzyWindow = 2

// bestFuzzy finds the text closest to the quote around the range [h0, h1)
// (bytes) of text, where the quote's surviving characters and whatever
// replaced them now are: a match must overlap the range, and may reach
// ContextRunes characters beyond it on each side. Of the matches it takes
// the one at the least edit distance from the quote, then the shortest,
// then the one starting nearest h0, then the first, and returns it if its
// similarity reaches FuzzyThreshold; an empty range has no match.
func (qi quoteInfo) bestFuzzy(text string, h0, h1 int) (match, bool) {
	if h1 <= h0 {
		return match{}, false
	}
	pat := []rune(qi.q.Exact)
	lo := h0 - len(lastRunes(text[:h0], ContextRunes))
	hi := h1 + len(firstRunes(text[h1:], ContextRunes))
	limit := fuzzyWindow*len(pat) + 2*ContextRunes
	var wins [][2]int
	if utf8.RuneCountInString(text[lo:hi]) <= limit {
		wins = [][2]int{{lo, hi}}
	} else {
		// The quoted words are no longer together; look at either end.
		wins = [][2]int{
			{lo, h0 + len(firstRunes(text[h0:], limit-ContextRunes))},
			{h1 - len(lastRunes(text[:h1], limit-ContextRunes)), hi},
		}
	}
	var best match
	found := false
	for _, w := range wins {
		m, ok := approx(pat, text, w[0], w[1], h0, h1)
		if ok && (!found || closer(m, best, h0)) {
			best, found = m, true
		}
	}
	if !found || best.score < FuzzyThreshold {
		return match{}, false
	}
	// A match that starts or ends inside a word takes the whole word when
	// that is no further from the quote ("safety advice", not "ety
	// advice", for a rewritten "security advice").
	b0, b1 := best.b0, best.b1
	for b0 > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:b0])
		c, _ := utf8.DecodeRuneInString(text[b0:])
		if !isWord(r) || !isWord(c) {
			break
		}
		b0 -= n
	}
	for b1 < len(text) {
		r, n := utf8.DecodeRuneInString(text[b1:])
		c, _ := utf8.DecodeLastRuneInString(text[:b1])
		if !isWord(r) || !isWord(c) {
			break
		}
		b1 += n
	}
	if b0 != best.b0 || b1 != best.b1 {
		if sc := Similarity(text[b0:b1], qi.q.Exact); sc >= best.score {
			best.b0, best.b1, best.score = b0, b1, sc
		}
	}
	best.u0 = editor.UTF16Len(text[:best.b0])
	best.u1 = best.u0 + editor.UTF16Len(text[best.b0:best.b1])
	return best, true
}

// approx is Sellers' algorithm: the substring of text[lo:hi] (bytes) at
// the least edit distance from pat, any start and end allowed. For each
// end it keeps the latest start of a cheapest alignment, so the shortest
// substring, and of the substrings overlapping [h0, h1) (bytes) it takes
// the closest (see closer).
// The cost is the product of the lengths, which callers bound. It reports
// false when no substring shares anything with pat.
func approx(pat []rune, text string, lo, hi, h0, h1 int) (match, bool) {
	m := len(pat)
	// Column j of the table: cost[i] is the least cost of aligning pat[:i]
	// with a substring of the window ending at its j-th character, which
	// starts at start[i] (an index into offs).
	cost := make([]int, m+1)
	start := make([]int, m+1)
	prevCost := make([]int, m+1)
	prevStart := make([]int, m+1)
	for i := range cost {
		cost[i], start[i] = i, 0
	}
	offs := []int{lo} // byte offset of each character of the window, and its end
	var best match
	found := false
	j := 0
	for b := lo; b < hi; {
		r, size := utf8.DecodeRuneInString(text[b:])
		b += size
		offs = append(offs, b)
		j++
		cost, prevCost = prevCost, cost
		start, prevStart = prevStart, start
		cost[0], start[0] = 0, j
		for i := 1; i <= m; i++ {
			c, s := prevCost[i-1], prevStart[i-1] // match or substitute
			if pat[i-1] != r {
				c++
			}
			// A character of the text left out, or one of the pattern.
			if d, ds := prevCost[i]+1, prevStart[i]; d < c || d == c && ds > s {
				c, s = d, ds
			}
			if d, ds := cost[i-1]+1, start[i-1]; d < c || d == c && ds > s {
				c, s = d, ds
			}
			cost[i], start[i] = c, s
		}
		cand := match{b0: offs[start[m]], b1: b, dist: cost[m], runes: j - start[m]}
		cand.score = similarity(cand.dist, m, cand.runes)
		if cand.score <= 0 || cand.b0 >= h1 || cand.b1 <= h0 {
			continue
		}
		if !found || closer(cand, best, h0) {
			best, found = cand, true
		}
	}
	return best, found
}

// closer ranks approximate matches: the least edit distance, then the
// fewest characters (no text around the quote taken in for nothing),
// then the nearest to h0, then the first.
func closer(a, b match, h0 int) bool {
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.runes != b.runes {
		return a.runes < b.runes
	}
	if da, db := abs(a.b0-h0), abs(b.b0-h0); da != db {
		return da < db
	}
	return a.b0 < b.b0
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
