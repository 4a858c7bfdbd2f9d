package comments

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Anchoring constants. They are part of the rules: a replay under other
// values would anchor differently.
const (
	// ContextRunes is how many characters (code points) of text a quote
	// keeps on each side of its exact text, as prefix and suffix.
	ContextRunes = 32
	// MaxQuoteUnits caps the exact text of a quote, in UTF-16 units (a
	// long paragraph); a longer selection is commented as a paragraph.
	MaxQuoteUnits = 1000
	// FuzzyThreshold is the least similarity (see Similarity) at which a
	// quote whose words were rewritten is still found, as Fuzzy.
	FuzzyThreshold = 0.6
	// MinContext is the share of a quote's context (prefix and suffix
	// characters together) that must still surround an exact occurrence
	// found away from the quote's own place before the anchor moves there.
	MinContext = 0.5
	// DistinctiveRunes is the length (in characters) from which an exact
	// occurrence of a quote is evidence enough on its own, whatever its
	// context.
	DistinctiveRunes = 32
)

// Quote is the text a comment points at: W3C's TextQuoteSelector.
type Quote struct {
	// Exact is the quoted text.
	Exact string `json:"exact"`
	// Prefix and Suffix are up to ContextRunes characters of the section's
	// text just before and just after it, as it was when the quote was
	// made. They may reach into the neighbouring paragraphs.
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
}

// State says whether an anchor's target was found after the latest
// change.
type State string

// The states of an anchor.
const (
	Anchored State = "anchored"
	Fuzzy    State = "fuzzy"
	Orphaned State = "orphaned"
)

// Kind is what an anchor points at; it follows from which fields are set.
type Kind string

// The kinds of target.
const (
	KindDocument  Kind = "document"  // no Section
	KindSection   Kind = "section"   // Section, no Para
	KindParagraph Kind = "paragraph" // Section and Para, no Quote
	KindQuote     Kind = "quote"     // Section, Para and Quote
)

// Anchor is where a comment points, kept up to date with the text.
type Anchor struct {
	// Section is the section's id; empty for the whole document.
	Section string `json:"section,omitempty"`
	// Para is the paragraph id: the paragraph commented on, or for a
	// quote the first paragraph its range [Start, End) overlaps.
	Para string `json:"para,omitempty"`
	// Quote is the quoted text, for a quote.
	Quote *Quote `json:"quote,omitempty"`
	// Start and End are the quote's range in the section's text, in
	// UTF-16 units (W3C's TextPositionSelector), as of Version. Zero for
	// other kinds.
	Start int `json:"start,omitempty"`
	End   int `json:"end,omitempty"`
	// Version is the section's version the anchor is stated for; Seq the
	// document's seq. For an orphan both are those of the last state in
	// which its target was found (Start and End refer to that text).
	Version int   `json:"version"`
	Seq     int64 `json:"seq"`
	// State is Anchored, Fuzzy or Orphaned.
	State State `json:"state"`
	// Score is, for Fuzzy, the similarity of the text at [Start, End) to
	// the quote (FuzzyThreshold ≤ Score < 1); zero otherwise.
	Score float64 `json:"score,omitempty"`
}

// Kind returns what the anchor points at.
func (a Anchor) Kind() Kind {
	switch {
	case a.Section == "":
		return KindDocument
	case a.Para == "":
		return KindSection
	case a.Quote == nil:
		return KindParagraph
	}
	return KindQuote
}

// Validate checks the anchor's own consistency (not against a document):
// its kind is well formed, its state known, its range and score fit its
// kind and state. Errors wrap editor.ErrInvalid.
func (a Anchor) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: anchor: "+format, append([]any{editor.ErrInvalid}, args...)...)
	}
	switch a.State {
	case Anchored, Fuzzy, Orphaned:
	default:
		return bad("unknown state %q", a.State)
	}
	if a.Version < 0 || a.Seq < 0 {
		return bad("negative version or seq")
	}
	if a.Section == "" && a.Para != "" {
		return bad("a paragraph %q without a section", a.Para)
	}
	if a.Para == "" && a.Quote != nil {
		return bad("a quote without a paragraph")
	}
	kind := a.Kind()
	if kind == KindDocument && a.State == Orphaned {
		return bad("a document anchor cannot be orphaned")
	}
	if kind != KindQuote {
		if a.Start != 0 || a.End != 0 {
			return bad("a %s anchor has no range", kind)
		}
	} else {
		if a.Quote.Exact == "" {
			return bad("a quote with no exact text")
		}
		if a.Start < 0 || a.End <= a.Start {
			return bad("quote range %d-%d is empty or negative", a.Start, a.End)
		}
		for _, s := range []string{a.Quote.Exact, a.Quote.Prefix, a.Quote.Suffix} {
			if !utf8.ValidString(s) {
				return bad("quote text is not valid UTF-8")
			}
		}
	}
	if a.State == Fuzzy {
		if kind != KindQuote && kind != KindParagraph {
			return bad("a %s anchor cannot be fuzzy", kind)
		}
		if !(a.Score >= FuzzyThreshold && a.Score < 1) {
			return bad("fuzzy score %v outside [%v, 1)", a.Score, FuzzyThreshold)
		}
	} else if a.Score != 0 {
		return bad("score %v on a %s anchor", a.Score, a.State)
	}
	return nil
}

// NewDocumentAnchor returns an anchor on the whole document d.
func NewDocumentAnchor(d *editor.Document) (Anchor, error) {
	if d == nil {
		return Anchor{}, fmt.Errorf("%w: no document", editor.ErrInvalid)
	}
	return Anchor{Seq: d.Seq, State: Anchored}, nil
}

// NewSectionAnchor returns an anchor on the section sectionID of d.
func NewSectionAnchor(d *editor.Document, sectionID string) (Anchor, error) {
	s, err := section(d, sectionID)
	if err != nil {
		return Anchor{}, err
	}
	return Anchor{Section: s.ID, Version: s.Version, Seq: d.Seq, State: Anchored}, nil
}

// NewParagraphAnchor returns an anchor on the paragraph paraID of the
// section sectionID of d.
func NewParagraphAnchor(d *editor.Document, sectionID, paraID string) (Anchor, error) {
	s, err := section(d, sectionID)
	if err != nil {
		return Anchor{}, err
	}
	if _, err := paragraph(s, paraID); err != nil {
		return Anchor{}, err
	}
	return Anchor{Section: s.ID, Para: paraID, Version: s.Version, Seq: d.Seq, State: Anchored}, nil
}

// NewQuoteAnchor returns an anchor on the text [start, end) of the
// section sectionID of d, in UTF-16 units of the section's text. The range
// must be non-empty, no longer than MaxQuoteUnits, lie within the
// paragraph paraID, not cut a surrogate pair and hold more than white
// space. The prefix and suffix are the ContextRunes characters around it
// in the section's text (fewer at its ends), across paragraph breaks.
func NewQuoteAnchor(d *editor.Document, sectionID, paraID string, start, end int) (Anchor, error) {
	s, err := section(d, sectionID)
	if err != nil {
		return Anchor{}, err
	}
	span, err := paragraph(s, paraID)
	if err != nil {
		return Anchor{}, err
	}
	bad := func(format string, args ...any) (Anchor, error) {
		return Anchor{}, fmt.Errorf("%w: quote: "+format, append([]any{editor.ErrInvalid}, args...)...)
	}
	if start < 0 || end <= start {
		return bad("range %d-%d is empty or reversed", start, end)
	}
	if end-start > MaxQuoteUnits {
		return bad("%d units quoted, at most %d; comment on the paragraph instead", end-start, MaxQuoteUnits)
	}
	n := editor.UTF16Len(s.Text)
	if end > n {
		return bad("range %d-%d is beyond the end of section %q (%d units)", start, end, s.ID, n)
	}
	b0, ok0 := editor.ByteOffset(s.Text, start)
	b1, ok1 := editor.ByteOffset(s.Text, end)
	if !ok0 || !ok1 {
		return bad("range %d-%d cuts a character (a surrogate pair) in two", start, end)
	}
	if b0 < span.Start || b1 > span.End {
		return bad("range %d-%d is not within paragraph %q", start, end, paraID)
	}
	exact := s.Text[b0:b1]
	if strings.TrimSpace(exact) == "" {
		return bad("range %d-%d holds only white space", start, end)
	}
	q := &Quote{Exact: exact, Prefix: lastRunes(s.Text[:b0], ContextRunes), Suffix: firstRunes(s.Text[b1:], ContextRunes)}
	return Anchor{Section: s.ID, Para: paraID, Quote: q, Start: start, End: end, Version: s.Version, Seq: d.Seq, State: Anchored}, nil
}

// section returns d's section sectionID, or an error wrapping ErrInvalid.
func section(d *editor.Document, sectionID string) (*editor.Section, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: no document", editor.ErrInvalid)
	}
	if sectionID == "" {
		return nil, fmt.Errorf("%w: no section given", editor.ErrInvalid)
	}
	s := d.Section(sectionID)
	if s == nil {
		return nil, fmt.Errorf("%w: no section %q in document %q", editor.ErrInvalid, sectionID, d.ID)
	}
	return s, nil
}

// paragraph returns the byte span of the paragraph paraID of s.
func paragraph(s *editor.Section, paraID string) (editor.Span, error) {
	if paraID == "" {
		return editor.Span{}, fmt.Errorf("%w: no paragraph given", editor.ErrInvalid)
	}
	for i, id := range s.Paras {
		if id == paraID {
			spans := editor.Paragraphs(s.Text)
			if len(spans) != len(s.Paras) {
				return editor.Span{}, fmt.Errorf("%w: section %q has %d paragraphs but %d ids", editor.ErrInvalid, s.ID, len(spans), len(s.Paras))
			}
			return spans[i], nil
		}
	}
	return editor.Span{}, fmt.Errorf("%w: no paragraph %q in section %q", editor.ErrInvalid, paraID, s.ID)
}

// lastRunes returns the last n characters of s.
func lastRunes(s string, n int) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}
