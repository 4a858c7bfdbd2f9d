package collab

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/transport"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Roles a connection can have. Editors push changes; viewers only read
// and appear in no presence list.
const (
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// sink is what a hub needs of a connection: queue messages without
// blocking, close it, ping it, and know when it was last heard from. A
// transport.Conn is one; hub tests use one in memory.
type sink interface {
	Queue(parts ...[]byte) bool
	Close(code int, reason string)
	Ping()
	LastRead() time.Time
}

// member is one connection's place in a document.
type member struct {
	conn sink
	role string
	// account, name and access are who the connection's session is: its
	// account ("" for none), the account's name, and its role for the
	// document's BPF.
	account string
	name    string
	access  access.Role
	// clientID is derived from the client's secret key (wire.ClientID), so no
	// other client can claim it; set before the member joins.
	clientID string
	// dropped counts the connection being closed for a full send queue
	// (the server's bpfdraft_fanout_dropped_total; nil in some tests).
	dropped interface{ Inc() }

	// owned by the hub goroutine once joined
	peer     Peer
	lastSeen time.Time
	hidden   bool // presence hidden after PresenceIdle without a message
}

// kick ends the connection with a final error message; the close code
// follows the code's kind.
func (m *member) kick(code, msg string) {
	data, _ := json.Marshal(errorMsg{Type: MsgError, Code: code, Message: msg, Kind: wire.KindOf(code)})
	// The final message may not fit a full queue; the close frame carries
	// the code regardless.
	m.conn.Queue(data)
	m.conn.Close(wire.CloseCodeOf(code), code)
}

// kickSlow closes a connection whose send queue is full: it reconnects
// and catches up.
func (m *member) kickSlow() {
	if m.dropped != nil {
		m.dropped.Inc()
	}
	m.kick(CodeSlowConsumer, "too many messages waiting; reconnect to catch up")
}

// sendError reports a refused message without ending the connection,
// unless it cannot even be queued.
func (m *member) sendError(code, msg, section string, version *int) {
	data, _ := json.Marshal(errorMsg{Type: MsgError, Code: code, Message: msg, Kind: wire.KindOf(code), Section: section, Version: version})
	if !m.conn.Queue(data) {
		m.kickSlow()
	}
}

// keyPattern is what a client's secret key looks like.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)

// newKey returns a fresh secret key for a client that brought none.
func newKey() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// session speaks the protocol on one connection: it decodes what the
// client sends, checks it, and passes it to the document's hub. Its
// methods run on the connection's reader (transport.Handler).
type session struct {
	hub    *Hub
	m      *member
	maxMsg int64
	joined atomic.Bool
	// release gives back the connection's place under the websocket caps;
	// allowPush counts a push under the edit rate limits.
	release   func()
	allowPush func() (bool, time.Duration)
}

// Message implements transport.Handler.
func (s *session) Message(msg transport.Message) bool {
	switch {
	case msg.TooBig:
		s.m.sendError(CodeTooLarge, fmt.Sprintf("a message may be at most %d bytes", s.maxMsg), "", nil)
		return true
	case msg.Binary:
		s.m.sendError(CodeBadMessage, "messages are JSON text frames", "", nil)
		return true
	}
	msgs, err := decodeFrame(msg.Data)
	if err != nil {
		s.m.sendError(CodeBadMessage, err.Error(), "", nil)
		return true
	}
	for _, m := range msgs {
		if !s.handle(m) {
			return false
		}
	}
	return true
}

// Gone implements transport.Handler: a member that joined leaves.
func (s *session) Gone() {
	s.release()
	if s.joined.Load() {
		s.hub.send(leaveMsg{s.m}, nil)
	}
}

// handle checks one client message and passes it to the hub. The first
// must be hello.
func (s *session) handle(in *inMsg) bool {
	m := s.m
	if !s.joined.Load() {
		if in.Type != MsgHello {
			m.kick(CodeNotHello, "the first message must be hello")
			return false
		}
		j, ok := s.hello(in)
		if !ok {
			return false
		}
		// Joined from now on, so that whoever ends the connection tells
		// the hub (which ignores a member it never saw).
		s.joined.Store(true)
		if !s.hub.send(j, nil) {
			m.kick(CodeShuttingDown, "the document is closing; reconnect")
			return false
		}
		return true
	}
	var msg hubMsg
	switch in.Type {
	case MsgHello:
		m.sendError(CodeNotHello, "hello was already said on this connection", "", nil)
		return true
	case MsgPush:
		if ok, wait := s.allowPush(); !ok {
			m.kick(CodeRateLimited, fmt.Sprintf("too many changes in a minute; reconnect in %d s", retrySeconds(wait)))
			return false
		}
		p, ok := s.push(in)
		if !ok {
			return true
		}
		msg = p
	case MsgPresence:
		if in.Section != "" && in.Version == nil {
			m.sendError(CodeBadMessage, "presence in a section needs the version its ranges refer to", in.Section, nil)
			return true
		}
		msg = presenceMsg{m: m, section: in.Section, version: in.Version, ranges: in.Ranges}
	case MsgPing:
		data, _ := json.Marshal(pongMsg{Type: MsgPong, ID: in.ID})
		if !m.conn.Queue(data) {
			m.kickSlow()
			return false
		}
		msg = activityMsg{m}
	default:
		m.sendError(CodeBadMessage, fmt.Sprintf("unknown message type %q", in.Type), "", nil)
		return true
	}
	if !s.hub.send(msg, nil) {
		m.kick(CodeShuttingDown, "the document is closing; reconnect")
		return false
	}
	return true
}

// hello checks the first message and binds the client id derived from
// its key to this connection.
func (s *session) hello(in *inMsg) (joinMsg, bool) {
	m := s.m
	if in.Protocol != ProtocolVersion {
		m.kick(CodeBadProtocol, fmt.Sprintf("this server speaks protocol %d, not %d", ProtocolVersion, in.Protocol))
		return joinMsg{}, false
	}
	j := joinMsg{m: m, seq: in.Seq}
	key := in.Key
	if key == "" {
		key = newKey()
		j.issued = key
	} else if !keyPattern.MatchString(key) {
		m.kick(CodeBadClient, "key must be 16-128 letters, digits, - or _")
		return joinMsg{}, false
	}
	if in.Seq != nil && *in.Seq < 0 {
		m.kick(CodeBadMessage, "seq cannot be negative")
		return joinMsg{}, false
	}
	name := strings.TrimSpace(in.Name)
	if m.name != "" {
		name = m.name // the account's, not what the client says
	}
	if name == "" {
		name = "Anonymous"
	}
	if utf8.RuneCountInString(name) > 60 {
		name = string([]rune(name)[:60])
	}
	m.clientID = wire.ClientID(key)
	m.peer = Peer{Client: m.clientID, Name: name}
	return j, true
}

// push checks a push and decodes its change sets here, on the
// connection's reader, so the hub gets them ready to use.
func (s *session) push(in *inMsg) (pushMsg, bool) {
	m := s.m
	switch {
	case in.Section == "" || in.Version == nil || len(in.Updates) == 0:
		m.sendError(CodeBadMessage, "push needs section, version and at least one update", in.Section, in.Version)
		return pushMsg{}, false
	case *in.Version < 0:
		m.sendError(CodeBadMessage, "version cannot be negative", in.Section, in.Version)
		return pushMsg{}, false
	case in.Check == nil:
		m.sendError(CodeBadMessage, "push needs check, the CRC-32 of the section's text after the updates", in.Section, in.Version)
		return pushMsg{}, false
	}
	p := pushMsg{m: m, section: in.Section, version: *in.Version, check: *in.Check, updates: make([]editor.ChangeSet, len(in.Updates))}
	for i, u := range in.Updates {
		cs, err := editor.ChangeSetFromJSON(u.Changes)
		if err != nil {
			m.sendError(CodeBadChanges, fmt.Sprintf("update %d: %v", i, err), in.Section, in.Version)
			return pushMsg{}, false
		}
		p.updates[i] = cs
	}
	return p, true
}

// decodeFrame splits a frame into its newline-separated messages and
// decodes each strictly (wire.Decode).
func decodeFrame(data []byte) ([]*inMsg, error) {
	var out []*inMsg
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m inMsg
		if err := wire.Decode(line, &m); err != nil {
			return nil, err
		}
		if m.Type == "" {
			return nil, fmt.Errorf("a message needs a type")
		}
		out = append(out, &m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty message")
	}
	return out, nil
}

// serveWS upgrades a request to a websocket on a document, for someone
// who may read its live draft (onDocument checked it). The connection's
// role comes from the session: the BPF's team edits (unless it asks for
// ?mode=view), everyone else only reads. The document is loaded first:
// one that cannot be loaded is answered with a plain HTTP error, never
// with an upgraded connection that nobody serves.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, d docRequest) {
	id := d.doc.ID
	role := RoleViewer
	if access.Check(d.role, access.EditText, access.Context{Stage: editor.StageDrafting}) == nil && r.URL.Query().Get("mode") != "view" {
		role = RoleEditor
	}
	h, err := s.loadedHub(r.Context(), id)
	if err != nil {
		if errors.Is(err, errShuttingDown) {
			writeError(w, http.StatusServiceUnavailable, CodeShuttingDown, "the server is restarting")
			return
		}
		if r.Context().Err() != nil {
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, CodeNotFound, fmt.Sprintf("document %q does not exist", id))
			return
		}
		s.log.Error("load document for a websocket", "doc", id, "err", err)
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the document could not be loaded")
		return
	}
	m := &member{role: role, access: d.role, dropped: s.metrics.fanoutDropped}
	if wh := whoOf(r); wh.account != nil {
		m.account, m.name = wh.account.ID, wh.account.Name
	}
	release, err := s.abuse.sockets.acquire(m.account, s.clientAddress(r))
	if err != nil {
		s.refuse(w, r, "document", err)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		return // the upgrader has answered
	}
	if role == RoleEditor && m.account != "" {
		s.audit(r.Context(), r, "editing session", d.doc.BPF, id, "")
	}
	keys := s.limitKeys(r)
	sess := &session{hub: h, m: m, maxMsg: s.cfg.MaxMessageBytes, release: release,
		allowPush: func() (bool, time.Duration) { return s.abuse.edits.allowAll(keys, s.now()) }}
	// The reader gets a goroutine of its own and the handler returns, so
	// net/http's buffers for this request are not held for the life of
	// the connection; writers come and go with what there is to send.
	s.transport.Serve(ws, r.RemoteAddr, func(c *transport.Conn) transport.Handler {
		m.conn = c
		return sess
	})
}
