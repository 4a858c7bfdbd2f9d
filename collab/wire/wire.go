// Package wire holds the shapes of the websocket protocol that both the
// server (collab) and the Go client (collab/client) read or write, so the
// two cannot drift apart. docs/protocol.md is the contract.
package wire

import "encoding/json"

// Update is one accepted update as clients receive it.
type Update struct {
	Seq     int64           `json:"seq"`
	Section string          `json:"section"`
	Version int             `json:"version"`
	Client  string          `json:"client"`
	Changes json.RawMessage `json:"changes,omitempty"`
	// Paras is the section's paragraph id list after this update, sent only
	// when it changed; Merged maps ids merged away to the id they joined.
	Paras  []string          `json:"paras,omitempty"`
	Merged map[string]string `json:"merged,omitempty"`
	// Structure carries a structural change (a new section) instead of Changes.
	Structure json.RawMessage `json:"structure,omitempty"`
}

// Peer is one person present in a document, as sent to the others.
type Peer struct {
	Client  string  `json:"client"`
	Name    string  `json:"name"`
	Color   string  `json:"color"`
	Section string  `json:"section,omitempty"`
	Version int     `json:"version,omitempty"`
	Ranges  []Range `json:"ranges,omitempty"`
}

// Range is a selection range in UTF-16 units of a section's text; Anchor
// equals Head for a cursor.
type Range struct {
	Anchor int `json:"anchor"`
	Head   int `json:"head"`
}
