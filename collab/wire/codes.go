package wire

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// ProtocolJSON is protocol.json: the protocol version, the message types,
// the close codes and every error code with its kind. It is the one table
// the server, the Go client and the browser app (which imports the same
// file) read; docs/protocol.md shows it, and tests keep all of them equal.
//
//go:embed protocol.json
var ProtocolJSON []byte

// Table is protocol.json decoded.
type Table struct {
	Protocol int `json:"protocol"`
	Messages struct {
		Client []string `json:"client"`
		Server []string `json:"server"`
	} `json:"messages"`
	Close struct {
		Reconnect int `json:"reconnect"`
		Terminal  int `json:"terminal"`
		Resync    int `json:"resync"`
	} `json:"close"`
	Kinds map[string]string `json:"kinds"`
	Codes []struct {
		Code    string `json:"code"`
		Kind    string `json:"kind"`
		Meaning string `json:"meaning"`
	} `json:"codes"`
}

// Protocol is the decoded table.
var Protocol = mustTable()

// kinds maps each error code to its kind.
var kinds = map[string]string{}

func mustTable() Table {
	var t Table
	if err := json.Unmarshal(ProtocolJSON, &t); err != nil {
		panic(fmt.Sprintf("wire: protocol.json: %v", err))
	}
	for _, c := range t.Codes {
		kinds[c.Code] = c.Kind
	}
	return t
}

// ProtocolVersion is the version of the websocket protocol. A hello with
// another version is refused.
const ProtocolVersion = 2

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

// Error codes. Each has a kind (KindOf): terminal, reconnect or resync.
// Codes are never renamed.
const (
	CodeBadMessage     = "bad_message"
	CodeBadProtocol    = "bad_protocol"
	CodeNotHello       = "hello_first"
	CodeBadClient      = "bad_client"
	CodeUnknownSection = "unknown_section"
	CodeBadChanges     = "bad_changes"
	CodeTooLarge       = "too_large"
	CodeForbidden      = "forbidden"
	CodeNotFound       = "not_found"
	CodeReplaced       = "replaced"
	CodeFutureVersion  = "future_version"
	CodeTooOld         = "too_old"
	CodeSlowConsumer   = "slow_consumer"
	CodeShuttingDown   = "shutting_down"
	CodeUnavailable    = "unavailable"
	CodeIdle           = "idle"
	CodeRateLimited    = "rate_limited"
	CodeDiverged       = "diverged"
)

// The kinds of error codes.
const (
	KindTerminal  = "terminal"
	KindReconnect = "reconnect"
	KindResync    = "resync"
)

// KindOf returns the kind of an error code; an unknown code is terminal.
func KindOf(code string) string {
	if k, ok := kinds[code]; ok {
		return k
	}
	return KindTerminal
}

// Close codes the server ends a connection with, by kind.
const (
	CloseReconnect = 4000
	CloseTerminal  = 4001
	CloseResync    = 4002
)

// CloseCodeOf returns the close code for an error code's kind.
func CloseCodeOf(code string) int {
	switch KindOf(code) {
	case KindReconnect:
		return CloseReconnect
	case KindResync:
		return CloseResync
	}
	return CloseTerminal
}

// ClientID derives a client's public id from its secret key (a hello's
// key): the first 16 bytes of the key's SHA-256, in unpadded base64url,
// 22 characters. Everyone sees the id (in presence, on every update); only
// the holder of the key can say hello as it.
func ClientID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
