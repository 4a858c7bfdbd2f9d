package wire

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestTableMatchesGo: the Go names of the protocol are protocol.json's.
func TestTableMatchesGo(t *testing.T) {
	if Protocol.Protocol != ProtocolVersion {
		t.Errorf("protocol.json says protocol %d; ProtocolVersion is %d", Protocol.Protocol, ProtocolVersion)
	}
	if c := Protocol.Close; c.Reconnect != CloseReconnect || c.Terminal != CloseTerminal || c.Resync != CloseResync {
		t.Errorf("close codes %+v", c)
	}
	client := []string{MsgHello, MsgPush, MsgPresence, MsgPing}
	server := []string{MsgWelcome, MsgUpdates, MsgPeers, MsgError, MsgPong}
	if !slices.Equal(Protocol.Messages.Client, client) || !slices.Equal(Protocol.Messages.Server, server) {
		t.Errorf("message types %+v; Go has %v and %v", Protocol.Messages, client, server)
	}
	goCodes := []string{CodeBadMessage, CodeBadProtocol, CodeNotHello, CodeBadClient, CodeUnknownSection, CodeBadChanges,
		CodeTooLarge, CodeForbidden, CodeNotFound, CodeReplaced, CodeFutureVersion, CodeTooOld, CodeSlowConsumer,
		CodeShuttingDown, CodeUnavailable, CodeIdle, CodeRateLimited, CodeDiverged}
	var table []string
	for _, c := range Protocol.Codes {
		table = append(table, c.Code)
		if _, ok := Protocol.Kinds[c.Kind]; !ok {
			t.Errorf("code %s has kind %q, which is not in kinds", c.Code, c.Kind)
		}
	}
	if !slices.Equal(table, goCodes) {
		t.Errorf("protocol.json codes %v; Go has %v", table, goCodes)
	}
	for code, want := range map[string]int{CodeDiverged: CloseResync, CodeIdle: CloseReconnect, CodeReplaced: CloseTerminal, "no_such_code": CloseTerminal} {
		if got := CloseCodeOf(code); got != want {
			t.Errorf("CloseCodeOf(%s) = %d; want %d", code, got, want)
		}
	}
}

// TestDocsMatchTable: docs/protocol.md lists every code with its kind and
// meaning as protocol.json has them, and nothing else.
func TestDocsMatchTable(t *testing.T) {
	data, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z]+) \\| (.+) \\|$")
	var rows []string
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		rows = append(rows, m[1]+" "+m[2]+" "+m[3])
	}
	var want []string
	for _, c := range Protocol.Codes {
		want = append(want, c.Code+" "+c.Kind+" "+c.Meaning)
	}
	if !slices.Equal(rows, want) {
		t.Errorf("docs/protocol.md's code table:\n%s\nprotocol.json:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	kindRow := regexp.MustCompile("(?m)^\\| `(terminal|reconnect|resync)` \\| (.+) \\|$")
	kinds := map[string]string{}
	for _, m := range kindRow.FindAllStringSubmatch(string(data), -1) {
		kinds[m[1]] = m[2]
	}
	for k, v := range Protocol.Kinds {
		if kinds[k] != v {
			t.Errorf("kind %s: docs say %q; protocol.json %q", k, kinds[k], v)
		}
	}
}

func TestClientID(t *testing.T) {
	// The first 16 bytes of SHA-256("abc") in unpadded base64url.
	if got := ClientID("abc"); got != "ungWv48Bz-pBQUDeXa4iIw" {
		t.Fatalf("ClientID(abc) = %s", got)
	}
}
