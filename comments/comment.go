package comments

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/editor"
)

// Limits of a comment.
const (
	// MaxTextRunes caps a comment's text, in characters.
	MaxTextRunes = 5000
	// MaxNameRunes caps the display name shown with a comment.
	MaxNameRunes = 100
)

// Comment is one public comment, or a reply in a comment's thread.
type Comment struct {
	ID  string `json:"id"`
	Doc string `json:"doc"`
	// Parent is the id of the thread's first comment; empty for that
	// comment itself.
	Parent string `json:"parent,omitempty"`
	// Author is the account id of the writer; Name their display name as
	// shown with the comment, kept as it was when they wrote it.
	Author string `json:"author"`
	Name   string `json:"name"`
	// Team marks a reply by the team writing the document.
	Team bool `json:"team,omitempty"`
	// Text is plain text (see CheckText).
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
	// Edits holds the earlier texts, oldest first, each with the time it
	// was replaced.
	Edits []Edit `json:"edits,omitempty"`
	// Withdrawn is set when the author took the comment back; its text is
	// then no longer shown.
	Withdrawn bool `json:"withdrawn,omitempty"`
	// Suggestion is new wording proposed for what the anchor points at (a
	// paragraph, or words in it), and Original that text as it was when
	// the suggestion was made; Merged is set once it was merged into the
	// text.
	Suggestion string `json:"suggestion,omitempty"`
	Original   string `json:"original,omitempty"`
	Merged     bool   `json:"merged,omitempty"`
	// Resolved is set when the team has dealt with a thread (its first
	// comment); it can be reopened.
	Resolved bool `json:"resolved,omitempty"`
	// Disposition is what was done with a thread's first comment (one of
	// Dispositions) and Response the public answer to it; Proposed marks
	// one the team proposed and the Secretariat has not decided yet.
	Disposition string `json:"disposition,omitempty"`
	Response    string `json:"response,omitempty"`
	Proposed    bool   `json:"proposed,omitempty"`
	// Hidden is set by a moderator, who gives HiddenReason.
	Hidden       bool   `json:"hidden,omitempty"`
	HiddenReason string `json:"hidden_reason,omitempty"`
	// Anchor is where the first comment of a thread points, as it was
	// made (the live, mapped anchor is kept in an Anchors set). Replies
	// have none.
	Anchor *Anchor `json:"anchor,omitempty"`
}

// Edit is an earlier text of a comment.
type Edit struct {
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// CheckText checks and normalises a comment's text: line breaks become
// \n, white space around the text is trimmed, and the result must not be
// empty, must be valid UTF-8 of at most MaxTextRunes characters, and must
// hold no control characters other than line breaks and tabs. Errors wrap
// editor.ErrInvalid.
func CheckText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("%w: comment text is not valid UTF-8", editor.ErrInvalid)
	}
	text = strings.TrimSpace(editor.NormalizeLineBreaks(text))
	if text == "" {
		return "", fmt.Errorf("%w: comment text is empty", editor.ErrInvalid)
	}
	if n := utf8.RuneCountInString(text); n > MaxTextRunes {
		return "", fmt.Errorf("%w: comment text has %d characters, at most %d", editor.ErrInvalid, n, MaxTextRunes)
	}
	for i, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", fmt.Errorf("%w: comment text has control character %U at byte %d", editor.ErrInvalid, r, i)
		}
	}
	return text, nil
}

// CheckName checks and trims a display name: one line of at most
// MaxNameRunes characters, not empty, no control characters.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: name is empty", editor.ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: name is not valid UTF-8", editor.ErrInvalid)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameRunes {
		return "", fmt.Errorf("%w: name has %d characters, at most %d", editor.ErrInvalid, n, MaxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: name has control character %U", editor.ErrInvalid, r)
		}
	}
	return name, nil
}

// Validate reports the first rule the comment breaks, wrapped around
// editor.ErrInvalid: ids, author and name present, text and name as
// CheckText and CheckName leave them, a thread's first comment anchored
// and a reply not, a team comment only as a reply, a hidden comment with
// a reason and only a hidden one.
func (c *Comment) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: comment: "+format, append([]any{editor.ErrInvalid}, args...)...)
	}
	switch {
	case c.ID == "":
		return bad("no id")
	case c.Doc == "":
		return bad("no document")
	case c.Author == "":
		return bad("no author")
	case c.Parent == c.ID:
		return bad("%q is its own parent", c.ID)
	case c.Created.IsZero():
		return bad("no creation time")
	}
	if name, err := CheckName(c.Name); err != nil {
		return err
	} else if name != c.Name {
		return bad("name is not trimmed")
	}
	if text, err := CheckText(c.Text); err != nil {
		return err
	} else if text != c.Text {
		return bad("text is not normalised")
	}
	for i, e := range c.Edits {
		if _, err := CheckText(e.Text); err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
	}
	if c.Parent == "" && c.Anchor == nil {
		return bad("a thread's first comment needs an anchor")
	}
	if c.Parent != "" && c.Anchor != nil {
		return bad("a reply has no anchor of its own")
	}
	if c.Team && c.Parent == "" {
		return bad("a team comment is a reply")
	}
	if c.Suggestion != "" || c.Original != "" {
		if c.Anchor == nil || (c.Anchor.Kind() != KindParagraph && c.Anchor.Kind() != KindQuote) {
			return bad("a suggestion is made on a paragraph or on words in it")
		}
		if c.Suggestion == c.Original {
			return bad("a suggestion changes nothing")
		}
	}
	if c.Hidden != (strings.TrimSpace(c.HiddenReason) != "") {
		return bad("a hidden comment, and only one, has a reason")
	}
	if c.Anchor != nil {
		if err := c.Anchor.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Edit replaces the comment's text with text (checked by CheckText),
// keeping the old one in Edits. Editing to the same text changes
// nothing; a withdrawn comment cannot be edited.
func (c *Comment) Edit(text string, at time.Time) error {
	if c.Withdrawn {
		return fmt.Errorf("%w: comment %q was withdrawn", editor.ErrInvalid, c.ID)
	}
	text, err := CheckText(text)
	if err != nil {
		return err
	}
	if text == c.Text {
		return nil
	}
	c.Edits = append(c.Edits, Edit{Text: c.Text, Time: at})
	c.Text = text
	return nil
}

// Dispositions are what can be done with a comment, as a public
// consultation's disposition report says it.
var Dispositions = []string{"accepted", "accepted-with-changes", "rejected", "noted", "out-of-scope", "addressed-elsewhere"}

// DispositionLabel says a disposition in words.
func DispositionLabel(d string) string {
	switch d {
	case "accepted":
		return "Accepted"
	case "accepted-with-changes":
		return "Accepted with changes"
	case "rejected":
		return "Rejected"
	case "noted":
		return "Noted"
	case "out-of-scope":
		return "Out of scope"
	case "addressed-elsewhere":
		return "Addressed elsewhere"
	}
	return "Not decided yet"
}
