package collab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Roles a connection can have. Editors push changes; viewers only read
// and appear in no presence list.
const (
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// Conn is one websocket connection to one document. It has exactly one
// reader goroutine at a time (readLoop) and a writer goroutine only while
// something is waiting to be sent (writeLoop); the hub queues frames with
// queue and never blocks on a slow client.
type Conn struct {
	srv *Server
	hub *Hub
	ws  *websocket.Conn
	// doc and remote name the connection in logs; the logger is built when
	// something is logged, so idle connections do not each hold one.
	doc, remote string
	role        string

	// ctx is cancelled when the connection is over, for whatever reason;
	// closeCode/closeText say what the writer tells the client.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	mu     sync.Mutex
	code   int
	reason string

	// The write side. out holds frames for the writer, at most max of
	// them; it grows on demand, so an idle connection holds no queue. A
	// writer goroutine runs only while there is something to send (frames,
	// a ping, the close), so an idle viewer costs one goroutine, its
	// reader. All guarded by qmu.
	qmu     sync.Mutex
	out     [][][]byte // messages, each in one or more parts
	max     int
	writing bool // a writer goroutine is running
	ping    bool // a ping is due
	closing bool // ctx is done: flush, send the close frame, close

	// set by the reader before the connection joins, then owned by the hub
	clientID string
	peer     Peer
	lastSeen time.Time
	hidden   bool // presence hidden after PresenceIdle without a message
}

// logger returns the server's logger with the connection's attributes.
func (c *Conn) logger() *slog.Logger {
	return c.srv.log.With("doc", c.doc, "remote", c.remote, "client", c.clientID)
}

// queue offers a frame to the writer without blocking; false means the
// queue is full and the connection must go.
func (c *Conn) queue(frame []byte) bool { return c.queueParts(frame) }

// queueParts queues one message given in parts, written one after the
// other, so a large shared part (the encoded document) is not copied for
// every connection.
func (c *Conn) queueParts(parts ...[]byte) bool {
	c.qmu.Lock()
	if len(c.out) >= c.max || c.closing {
		c.qmu.Unlock()
		return false
	}
	c.out = append(c.out, parts)
	c.wake()
	c.qmu.Unlock()
	return true
}

// wake starts a writer unless one is running; qmu is held.
func (c *Conn) wake() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

// end finishes the connection, whoever sees the reason first: ctx is
// cancelled (the hub and the reader stop on it) and the writer flushes
// what is queued, sends the close frame and closes the socket.
func (c *Conn) end() {
	c.cancel()
	c.qmu.Lock()
	if !c.closing {
		c.closing = true
		c.wake()
	}
	c.qmu.Unlock()
}

// pingNow has the writer send a ping; the hub calls it for all its
// connections every HubConfig.PingEvery, so no connection needs a timer
// of its own.
func (c *Conn) pingNow() {
	c.qmu.Lock()
	if !c.closing {
		c.ping = true
		c.wake()
	}
	c.qmu.Unlock()
}

// kick ends the connection with a final error message and a close frame:
// reconnect codes close with CloseReconnect, others with CloseTerminal.
func (c *Conn) kick(code, msg string) {
	c.once.Do(func() {
		data, _ := json.Marshal(errorMsg{Type: MsgError, Code: code, Message: msg, Reconnect: reconnectCodes[code]})
		c.mu.Lock()
		c.code = CloseTerminal
		if reconnectCodes[code] {
			c.code = CloseReconnect
		}
		c.reason = code
		c.mu.Unlock()
		// The final message may not fit a full queue; the close frame
		// carries the code regardless.
		c.queue(data)
		c.end()
	})
}

// sendError reports a refused message without ending the connection.
func (c *Conn) sendError(code, msg, section string, version *int) {
	data, _ := json.Marshal(errorMsg{Type: MsgError, Code: code, Message: msg, Reconnect: reconnectCodes[code], Section: section, Version: version})
	if !c.queue(data) {
		c.kick(CodeSlowConsumer, "too many messages waiting; reconnect to catch up")
	}
}

const (
	writeWait = 10 * time.Second
)

// writeLoop sends what is due and exits when nothing is: queued frames,
// all that are waiting joined into one websocket frame (messages are
// separated by newlines), a ping, and at the end the close frame.
func (c *Conn) writeLoop() {
	write := func(msgs [][][]byte) error {
		c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if len(msgs) == 1 && len(msgs[0]) == 1 {
			return c.ws.WriteMessage(websocket.TextMessage, msgs[0][0])
		}
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		for i, parts := range msgs {
			if i > 0 {
				w.Write(newline)
			}
			for _, p := range parts {
				w.Write(p)
			}
		}
		return w.Close()
	}
	failed := false
	for {
		c.qmu.Lock()
		frames, ping, closing := c.out, c.ping, c.closing
		c.out, c.ping = nil, false
		if len(frames) == 0 && !ping && !closing {
			c.writing = false
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		if !failed && len(frames) > 0 && write(frames) != nil {
			failed = true
			c.end()
		}
		if !failed && ping {
			c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if c.ws.WriteMessage(websocket.PingMessage, nil) != nil {
				failed = true
				c.end()
			}
		}
		if closing {
			c.qmu.Lock()
			rest := c.out
			c.out = nil
			c.qmu.Unlock()
			if !failed && len(rest) > 0 && write(rest) != nil {
				failed = true
			}
			if !failed {
				c.mu.Lock()
				code, reason := c.code, c.reason
				c.mu.Unlock()
				if code == 0 {
					code, reason = websocket.CloseNormalClosure, ""
				}
				c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			}
			// The writer stays marked as running: nothing is written after
			// the close.
			c.ws.Close()
			return
		}
	}
}

var newline = []byte{'\n'}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// readLoop reads the client's messages and hands them to the hub. The
// first message must be hello.
//
// Once the connection has joined, reading goes on in a fresh goroutine:
// the hello and the welcome grow this one's stack, and an idle viewer's
// reader, blocked in its read for hours, should not keep that size.
func (c *Conn) readLoop(joined bool) {
	handedOff := false
	defer func() {
		if !handedOff {
			c.end()
		}
	}()
	// The hard limit makes gorilla drop the connection; below it, a
	// message over the soft limit is refused with an error the client can
	// read.
	soft := c.srv.cfg.MaxMessageBytes
	if !joined {
		c.ws.SetReadLimit(4 * soft)
		c.ws.SetReadDeadline(time.Now().Add(c.srv.hubCfg.silence()))
		c.ws.SetPongHandler(func(string) error {
			c.ws.SetReadDeadline(time.Now().Add(c.srv.hubCfg.silence()))
			return nil
		})
	}
	for {
		wasJoined := joined
		typ, data, err := readMessage(c.ws, soft)
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
				c.logger().Debug("client closed")
			} else {
				c.logger().Debug("read ended", "err", err)
			}
			if joined {
				c.hub.send(context.Background(), hubMsg{conn: c, kind: msgLeave})
			}
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(c.srv.hubCfg.silence()))
		if data == nil {
			c.sendError(CodeTooLarge, fmt.Sprintf("a message may be at most %d bytes", soft), "", nil)
			continue
		}
		if typ != websocket.TextMessage {
			c.sendError(CodeBadMessage, "messages are JSON text frames", "", nil)
			continue
		}
		msgs, err := decodeFrame(data)
		if err != nil {
			c.sendError(CodeBadMessage, err.Error(), "", nil)
			continue
		}
		for _, m := range msgs {
			if !joined {
				if m.Type != MsgHello {
					c.kick(CodeNotHello, "the first message must be hello")
					return
				}
				if !c.hello(m) {
					return
				}
				if !c.hub.send(c.ctx, hubMsg{conn: c, kind: msgJoin, in: m}) {
					c.kick(CodeShuttingDown, "the document is closing; reconnect")
					return
				}
				joined = true
				continue
			}
			var kind int
			switch m.Type {
			case MsgHello:
				c.sendError(CodeNotHello, "hello was already said on this connection", "", nil)
				continue
			case MsgPush:
				if m.Section == "" || m.Version == nil || len(m.Updates) == 0 {
					c.sendError(CodeBadMessage, "push needs section, version and at least one update", m.Section, m.Version)
					continue
				}
				if *m.Version < 0 {
					c.sendError(CodeBadMessage, "version cannot be negative", m.Section, m.Version)
					continue
				}
				kind = msgPush
			case MsgPresence:
				if m.Section != "" && m.Version == nil {
					c.sendError(CodeBadMessage, "presence in a section needs the version its ranges refer to", m.Section, nil)
					continue
				}
				kind = msgPresence
			case MsgPing:
				data, _ := json.Marshal(pongMsg{Type: MsgPong, ID: m.ID})
				c.queue(data)
				kind = msgActivity
			default:
				c.sendError(CodeBadMessage, fmt.Sprintf("unknown message type %q", m.Type), "", nil)
				continue
			}
			if !c.hub.send(c.ctx, hubMsg{conn: c, kind: kind, in: m}) {
				c.kick(CodeShuttingDown, "the document is closing; reconnect")
				return
			}
		}
		if joined && !wasJoined {
			handedOff = true
			go c.readLoop(true)
			return
		}
	}
}

// readMessage reads one message; one longer than soft bytes is consumed
// and returned as nil data.
func readMessage(ws *websocket.Conn, soft int64) (int, []byte, error) {
	typ, r, err := ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, soft+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(data)) > soft {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return 0, nil, err
		}
		return typ, nil, nil
	}
	return typ, data, nil
}

// hello checks the first message and binds the client id to this
// connection.
func (c *Conn) hello(m *inMsg) bool {
	if m.Protocol != ProtocolVersion {
		c.kick(CodeBadProtocol, fmt.Sprintf("this server speaks protocol %d, not %d", ProtocolVersion, m.Protocol))
		return false
	}
	if !clientIDPattern.MatchString(m.Client) {
		c.kick(CodeBadClient, "client must be 4-64 letters, digits, - or _")
		return false
	}
	if m.Seq != nil && *m.Seq < 0 {
		c.kick(CodeBadMessage, "seq cannot be negative")
		return false
	}
	name := strings.TrimSpace(m.Name)
	if name == "" {
		name = "Anonymous"
	}
	if utf8.RuneCountInString(name) > 60 {
		name = string([]rune(name)[:60])
	}
	c.clientID = m.Client
	c.peer = Peer{Client: m.Client, Name: name}
	return true
}

// decodeFrame splits a frame into its newline-separated messages and
// decodes each strictly: valid UTF-8, no lone surrogate escapes (Go's
// decoder would silently turn them into U+FFFD), known fields only.
func decodeFrame(data []byte) ([]*inMsg, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("the message is not valid UTF-8")
	}
	if err := checkSurrogateEscapes(data); err != nil {
		return nil, err
	}
	var out []*inMsg
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var m inMsg
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("malformed message: %s", jsonProblem(err))
		}
		if dec.More() {
			return nil, fmt.Errorf("malformed message: more than one JSON value on a line")
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

// checkSurrogateEscapes rejects \uD800-\uDFFF escapes that do not form a
// high-low pair.
func checkSurrogateEscapes(data []byte) error {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if i+1 < len(data) && data[i+1] != 'u' {
			i++ // skip the escaped character (it may be a backslash)
			continue
		}
		v, ok := hex4(data, i+2)
		if !ok {
			continue // the JSON decoder reports it
		}
		switch {
		case v >= 0xD800 && v < 0xDC00:
			lo, ok := hex4(data, i+8)
			if !ok || i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return fmt.Errorf("the message holds a lone surrogate escape at byte %d", i)
			}
			i += 11
		case v >= 0xDC00 && v <= 0xDFFF:
			return fmt.Errorf("the message holds a lone surrogate escape at byte %d", i)
		default:
			i += 5
		}
	}
	return nil
}

func hex4(data []byte, at int) (int, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	v := 0
	for _, b := range data[at : at+4] {
		switch {
		case b >= '0' && b <= '9':
			v = v*16 + int(b-'0')
		case b >= 'a' && b <= 'f':
			v = v*16 + int(b-'a'+10)
		case b >= 'A' && b <= 'F':
			v = v*16 + int(b-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// serveWS upgrades a request to a websocket on a document.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	role := RoleEditor
	if r.URL.Query().Get("mode") == "view" {
		role = RoleViewer
	}
	if s.shuttingDown.Load() {
		writeError(w, http.StatusServiceUnavailable, CodeShuttingDown, "the server is restarting")
		return
	}
	// Before upgrading: an unknown document gets a plain 404.
	if _, err := s.store.Head(r.Context(), id); err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		srv: s, ws: ws, role: role, ctx: ctx, cancel: cancel,
		max: s.hubCfg.SendQueue,
		doc: id, remote: r.RemoteAddr,
	}
	h, err := s.hub(id)
	if err != nil {
		cancel()
		ws.Close()
		return
	}
	c.hub = h
	// The reader gets a goroutine of its own and the handler returns, so
	// net/http's buffers for this request are not held for the life of
	// the connection; writers come and go with what there is to send.
	go c.readLoop(false)
}
