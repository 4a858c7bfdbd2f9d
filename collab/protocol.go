package collab

import (
	"encoding/json"

	"github.com/bpfdraft/bpfdraft/collab/wire"
)

// ProtocolVersion is the version of the websocket protocol this server
// speaks (docs/protocol.md). A hello with another version is refused.
const ProtocolVersion = wire.ProtocolVersion

// Message types, client to server.
const (
	MsgHello    = "hello"
	MsgPush     = "push"
	MsgPresence = "presence"
	MsgPing     = "ping"
)

// Message types, server to client.
const (
	MsgWelcome = "welcome"
	MsgUpdates = "updates"
	MsgPeers   = "peers"
	MsgError   = "error"
	MsgPong    = "pong"
)

// Error codes sent to clients. Each is either "reconnect" (the client
// should reconnect and catch up; its unconfirmed updates are kept) or
// "terminal" (repeating the same message will fail the same way). The
// table in docs/protocol.md is the contract; codes are never renamed.
const (
	CodeBadMessage     = "bad_message"     // terminal: malformed JSON, unknown type or fields
	CodeBadProtocol    = "bad_protocol"    // terminal: hello with an unsupported protocol version
	CodeNotHello       = "hello_first"     // terminal: a message before hello, or a second hello
	CodeBadClient      = "bad_client"      // terminal: client id missing or malformed
	CodeUnknownSection = "unknown_section" // terminal: push or presence for a section that does not exist
	CodeFutureVersion  = "future_version"  // reconnect: push based on a version the server has not reached
	CodeBadChanges     = "bad_changes"     // terminal: changes malformed, of the wrong length, splitting a surrogate pair
	CodeTooLarge       = "too_large"       // terminal: message or resulting section over the size limit
	CodeForbidden      = "forbidden"       // terminal: the connection's role may not do this
	CodeSlowConsumer   = "slow_consumer"   // reconnect: the client did not read fast enough
	CodeShuttingDown   = "shutting_down"   // reconnect: the server is stopping
	CodeUnavailable    = "unavailable"     // reconnect: storage failed; nothing was accepted
	CodeReplaced       = "replaced"        // terminal: another connection said hello with the same client id
	CodeIdle           = "idle"            // reconnect: no message (not even ping) for too long
	CodeNotFound       = "not_found"       // terminal: the document does not exist
	CodeRateLimited    = "rate_limited"    // reconnect: too many messages; slow down
)

// reconnectCodes lists the codes marked "reconnect"; all others are terminal.
var reconnectCodes = map[string]bool{
	CodeFutureVersion: true, CodeSlowConsumer: true, CodeShuttingDown: true,
	CodeUnavailable: true, CodeIdle: true, CodeRateLimited: true,
}

// Websocket close codes used when the server ends a connection.
const (
	CloseReconnect = 4000 // catch up by reconnecting
	CloseTerminal  = 4001 // do not reconnect without a change
)

// inMsg is any client message; Type selects which fields matter.
type inMsg struct {
	Type string `json:"type"`
	// hello
	Protocol int    `json:"protocol,omitempty"`
	Client   string `json:"client,omitempty"`
	Name     string `json:"name,omitempty"`
	// Seq is the last document sequence number the client has applied;
	// absent asks for a snapshot.
	Seq *int64 `json:"seq,omitempty"`
	// push and presence
	Section string       `json:"section,omitempty"`
	Version *int         `json:"version,omitempty"`
	Updates []pushUpdate `json:"updates,omitempty"`
	// presence: ranges at Version of Section; nil Section means "not in a section".
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
	Seq      int64  `json:"seq"`
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

type updatesMsg struct {
	Type    string      `json:"type"`
	Updates []outUpdate `json:"updates"`
}

type peersMsg struct {
	Type  string   `json:"type"`
	Peers []Peer   `json:"peers,omitempty"`
	Left  []string `json:"left,omitempty"`
}

type errorMsg struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Reconnect bool   `json:"reconnect"`
	// Section and Version echo the push that failed, when one did.
	Section string `json:"section,omitempty"`
	Version *int   `json:"version,omitempty"`
}

type pongMsg struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}
