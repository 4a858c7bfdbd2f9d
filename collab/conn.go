package collab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/collab/wire"
)

// Roles a connection can have. Editors push changes; viewers only read
// and appear in no presence list.
const (
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// Conn is one websocket connection to one document. It has a reader only
// while there is something to read (readLoop, readReady) and a writer
// goroutine only while something is waiting to be sent (writeLoop); the
// hub queues frames with queue and never blocks on a slow client.
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

	// The read side, owned by the one reader running at a time (see
	// readLoop); token and raw belong to the poller, under its lock.
	// lastRead is when the last whole frame arrived, in UnixNano; the hub
	// closes connections silent for too long.
	fr       frameReader
	pending  []byte // the bytes of an incomplete frame
	joined   bool
	polled   bool // handed to the server's poller
	token    int32
	raw      syscall.RawConn
	lastRead atomic.Int64

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

// closeWith ends the connection with a close frame of the given code and
// no error message (for protocol errors below the JSON messages).
func (c *Conn) closeWith(code int, reason string) {
	c.once.Do(func() {
		c.mu.Lock()
		c.code, c.reason = code, reason
		c.mu.Unlock()
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
			c.closed()
			return
		}
	}
}

var newline = []byte{'\n'}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// The read side. A connection's first reader is a goroutine of its own
// (readLoop): it reads the hello, with a deadline, and hands the joined
// connection to the server's poller. From then on the connection holds no
// goroutine while it waits: when bytes arrive the poller starts readReady,
// which reads what is there without blocking, handles the whole frames and
// re-arms. Where there is no poller (not Linux) readLoop goes on reading.
// Either way one reader at a time owns fr, pending, joined and polled, and
// the hub closes a connection it has not heard from (lastRead) for the
// silence limit.

// readBuffers hold what one read returns; a waiting connection keeps only
// the bytes of an incomplete frame, usually none.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// errWouldBlock: nothing more to read now (readNow).
var errWouldBlock = errors.New("nothing to read")

// readLoop is the connection's first reader.
func (c *Conn) readLoop() {
	bp := readBuffers.Get().(*[]byte)
	defer func() {
		if bp != nil {
			readBuffers.Put(bp)
		}
	}()
	buf := *bp
	nc := c.ws.NetConn()
	nc.SetReadDeadline(time.Now().Add(c.srv.hubCfg.silence()))
	handOff := true
	for {
		n, err := nc.Read(buf)
		if !c.handleRead(buf[:n], err) {
			return
		}
		if c.joined && handOff {
			handOff = false
			// From now on the hub watches for silence.
			nc.SetReadDeadline(time.Time{})
			if p := c.srv.poller(); p != nil && p.add(c) {
				return
			}
			// Reading on here, blocked most of the time: a small buffer
			// of its own rather than a pooled one held for hours.
			readBuffers.Put(bp)
			bp, buf = nil, make([]byte, 2048)
		}
	}
}

// readReady is started by the poller when a waiting connection has
// something to read.
func (c *Conn) readReady() {
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	buf := *bp
	// A few reads at most, then back to the poller (which is level
	// triggered: it comes straight back if more is there), so one busy
	// client cannot keep a reader to itself.
	for range 4 {
		n, err := c.readNow(buf)
		if err == errWouldBlock {
			break
		}
		if !c.handleRead(buf[:n], err) {
			return
		}
		if n < len(buf) {
			break
		}
	}
	if !c.srv.poll.Load().rearm(c) {
		c.stopReading()
	}
}

// handleRead acts on what one read returned; false means reading is
// over and the connection is ending.
func (c *Conn) handleRead(data []byte, err error) bool {
	if len(data) > 0 && !c.consume(data) {
		c.stopReading()
		return false
	}
	if err != nil {
		if c.srv.log.Enabled(context.Background(), slog.LevelDebug) {
			c.logger().Debug("read ended", "err", err)
		}
		c.stopReading()
		return false
	}
	return true
}

// stopReading ends the connection once its reader has stopped and tells
// the hub it left. A connection waiting in the poller is told off by
// whoever takes it out: its reader here, or the writer that closed it.
func (c *Conn) stopReading() {
	c.end()
	if c.joined && (!c.polled || c.srv.poll.Load().forget(c)) {
		c.hub.send(context.Background(), hubMsg{conn: c, kind: msgLeave})
	}
}

// closed is called by the writer after it closed the socket.
func (c *Conn) closed() {
	if p := c.srv.poll.Load(); p != nil && p.forget(c) {
		c.hub.send(context.Background(), hubMsg{conn: c, kind: msgLeave})
	}
}

// consume handles the whole frames in data, after the bytes kept from
// the last read, and keeps what is left of an incomplete frame. It
// reports false when the connection is to stop reading.
func (c *Conn) consume(data []byte) bool {
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		data = c.pending
	}
	ok := true
	n, err := c.fr.parse(data, func(ev frameEvent) bool {
		ok = c.handleFrame(ev)
		return ok
	})
	if err != nil {
		fe := err.(*frameError)
		c.closeWith(fe.code, fe.msg)
		return false
	}
	if !ok {
		return false
	}
	rest := data[n:]
	switch {
	case len(rest) == 0:
		c.pending = nil
	case len(c.pending) > 0 && cap(c.pending) <= 2*len(rest)+4096:
		c.pending = append(c.pending[:0], rest...)
	default:
		c.pending = append([]byte(nil), rest...)
	}
	return true
}

// handleFrame acts on one message or control frame from the client.
func (c *Conn) handleFrame(ev frameEvent) bool {
	if c.ctx.Err() != nil {
		return false
	}
	c.lastRead.Store(time.Now().UnixNano())
	switch ev.op {
	case opClose:
		c.logger().Debug("client closed")
		return false
	case opPing:
		c.ws.WriteControl(websocket.PongMessage, ev.data, time.Now().Add(writeWait))
		return true
	case opPong:
		return true
	}
	if ev.tooBig {
		c.sendError(CodeTooLarge, fmt.Sprintf("a message may be at most %d bytes", c.srv.cfg.MaxMessageBytes), "", nil)
		return true
	}
	if ev.op != opText {
		c.sendError(CodeBadMessage, "messages are JSON text frames", "", nil)
		return true
	}
	msgs, err := decodeFrame(ev.data)
	if err != nil {
		c.sendError(CodeBadMessage, err.Error(), "", nil)
		return true
	}
	for _, m := range msgs {
		if !c.handleMessage(m) {
			return false
		}
	}
	return true
}

// handleMessage checks one client message and passes it to the hub. The
// first must be hello.
func (c *Conn) handleMessage(m *inMsg) bool {
	if !c.joined {
		if m.Type != MsgHello {
			c.kick(CodeNotHello, "the first message must be hello")
			return false
		}
		if !c.hello(m) {
			return false
		}
		if !c.hub.send(c.ctx, hubMsg{conn: c, kind: msgJoin, in: m}) {
			c.kick(CodeShuttingDown, "the document is closing; reconnect")
			return false
		}
		c.joined = true
		return true
	}
	var kind int
	switch m.Type {
	case MsgHello:
		c.sendError(CodeNotHello, "hello was already said on this connection", "", nil)
		return true
	case MsgPush:
		if m.Section == "" || m.Version == nil || len(m.Updates) == 0 {
			c.sendError(CodeBadMessage, "push needs section, version and at least one update", m.Section, m.Version)
			return true
		}
		if *m.Version < 0 {
			c.sendError(CodeBadMessage, "version cannot be negative", m.Section, m.Version)
			return true
		}
		kind = msgPush
	case MsgPresence:
		if m.Section != "" && m.Version == nil {
			c.sendError(CodeBadMessage, "presence in a section needs the version its ranges refer to", m.Section, nil)
			return true
		}
		kind = msgPresence
	case MsgPing:
		data, _ := json.Marshal(pongMsg{Type: MsgPong, ID: m.ID})
		c.queue(data)
		kind = msgActivity
	default:
		c.sendError(CodeBadMessage, fmt.Sprintf("unknown message type %q", m.Type), "", nil)
		return true
	}
	if !c.hub.send(c.ctx, hubMsg{conn: c, kind: kind, in: m}) {
		c.kick(CodeShuttingDown, "the document is closing; reconnect")
		return false
	}
	return true
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
		fr: frameReader{soft: s.cfg.MaxMessageBytes, hard: 4 * s.cfg.MaxMessageBytes},
	}
	c.lastRead.Store(time.Now().UnixNano())
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
	go c.readLoop()
}
