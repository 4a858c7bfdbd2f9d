// Package comments is the pure model of public comments on a document:
// what a comment says and who wrote it (Comment), where it points (Anchor)
// and how those anchors follow the text while people keep editing it
// (MapText, MapStructure and the set type Anchors). It does no I/O; the
// server feeds it the steps it accepts, and a replay of the log feeds it
// the same steps, with the same result.
//
// # Targets
//
// An anchor points at the whole document, at a section, at a paragraph
// (by its paragraph id, see editor.TrackParagraphs) or at a quote inside a
// paragraph. A quote follows the W3C Web Annotation selector model, as
// Hypothesis uses it: a TextQuoteSelector (the exact text with up to
// ContextRunes characters of prefix and suffix) together with a
// TextPositionSelector (Start and End, UTF-16 offsets into the section's
// text, kept up to date as a hint).
//
// # Following the text
//
// Every accepted change is mapped over the open anchors (see MapText for
// the rules). An anchor is then in one of three states:
//
//   - Anchored: its target is there; for a quote, the section's text at
//     [Start, End) is exactly the quote.
//   - Fuzzy: a quote whose words were rewritten, or a paragraph whose
//     text was replaced, found again approximately; Score says how close
//     (at least FuzzyThreshold).
//   - Orphaned: its target is gone. An orphan keeps its quote and the
//     place it was last found (Section, Para, Start, End, Version, Seq as
//     of then) and is never dropped; an orphaned quote is found again
//     when its text comes back (an undo, a paste).
//
// Mapping is deterministic: the same anchors and the same steps give the
// same anchors, so a replay from the log equals the live set.
package comments
