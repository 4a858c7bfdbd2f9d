package collab

import (
	"encoding/json"

	"github.com/bpfdraft/bpfdraft/collab/wire"
)

// The websocket protocol (docs/protocol.md): its version, message types,
// error codes and close codes are defined once, in collab/wire.
const (
	ProtocolVersion = wire.ProtocolVersion

	MsgHello    = wire.MsgHello
	MsgPush     = wire.MsgPush
	MsgPresence = wire.MsgPresence
	MsgPing     = wire.MsgPing
	MsgWelcome  = wire.MsgWelcome
	MsgUpdates  = wire.MsgUpdates
	MsgPeers    = wire.MsgPeers
	MsgError    = wire.MsgError
	MsgPong     = wire.MsgPong

	CodeBadMessage     = wire.CodeBadMessage
	CodeBadProtocol    = wire.CodeBadProtocol
	CodeNotHello       = wire.CodeNotHello
	CodeBadClient      = wire.CodeBadClient
	CodeUnknownSection = wire.CodeUnknownSection
	CodeBadChanges     = wire.CodeBadChanges
	CodeTooLarge       = wire.CodeTooLarge
	CodeForbidden      = wire.CodeForbidden
	CodeNotFound       = wire.CodeNotFound
	CodeReplaced       = wire.CodeReplaced
	CodeFutureVersion  = wire.CodeFutureVersion
	CodeTooOld         = wire.CodeTooOld
	CodeSlowConsumer   = wire.CodeSlowConsumer
	CodeShuttingDown   = wire.CodeShuttingDown
	CodeUnavailable    = wire.CodeUnavailable
	CodeIdle           = wire.CodeIdle
	CodeRateLimited    = wire.CodeRateLimited
	CodeDiverged       = wire.CodeDiverged

	CloseReconnect = wire.CloseReconnect
	CloseTerminal  = wire.CloseTerminal
	CloseResync    = wire.CloseResync
)

// inMsg is any client message; Type selects which fields matter.
type inMsg struct {
	Type string `json:"type"`
	// hello
	Protocol int `json:"protocol,omitempty"`
	// Key is the client's secret; its client id is derived from it
	// (wire.ClientID). Absent, the server issues one in the welcome.
	Key  string `json:"key,omitempty"`
	Name string `json:"name,omitempty"`
	// Seq is the last document sequence number the client has applied
	// (0 included); absent asks for a snapshot.
	Seq *int64 `json:"seq,omitempty"`
	// push and presence
	Section string `json:"section,omitempty"`
	Version *int   `json:"version,omitempty"`
	// Check is the CRC-32 of the client's text of the section after the
	// pushed updates.
	Check   *uint32      `json:"check,omitempty"`
	Updates []pushUpdate `json:"updates,omitempty"`
	// presence: ranges at Version of Section; no Section means "not in a
	// section".
	Ranges []Range `json:"ranges,omitempty"`
	// ping
	ID int64 `json:"id,omitempty"`
}

type pushUpdate struct {
	Changes json.RawMessage `json:"changes"`
}

// The shapes the Go client shares (collab/wire).
type (
	Range     = wire.Range
	Peer      = wire.Peer
	outUpdate = wire.Update
)

type welcomeMsg struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	Client   string `json:"client"`
	// Key is sent only when the server issued it (the hello had none).
	Key string `json:"key,omitempty"`
	Seq int64  `json:"seq"`
	// Document is the encoded *editor.Document, encoded once per version
	// of the document for every newcomer.
	Document json.RawMessage `json:"document,omitempty"`
	Peers    []Peer          `json:"peers"`
	Limits   limitsInfo      `json:"limits"`
}

type limitsInfo struct {
	MaxMessageBytes int `json:"max_message_bytes"`
	MaxSectionUnits int `json:"max_section_units"`
}

type peersMsg struct {
	Type  string   `json:"type"`
	Peers []Peer   `json:"peers,omitempty"`
	Left  []string `json:"left,omitempty"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Kind is the code's kind: terminal, reconnect or resync.
	Kind string `json:"kind"`
	// Section and Version echo the push that failed, when one did.
	Section string `json:"section,omitempty"`
	Version *int   `json:"version,omitempty"`
}

type pongMsg struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}
