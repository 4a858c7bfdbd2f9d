// Package client is a Go client of bpfdraft's websocket protocol
// (docs/protocol.md). It keeps a local copy of every section of one
// document the way @codemirror/collab does in the browser: local edits
// apply at once and stay unconfirmed until the server sends them back;
// foreign updates are applied with the unconfirmed ones rebased over them.
// The tests, the load generator and the command line use it.
//
// # Concurrency
//
// A Client is safe for concurrent use. Its reader goroutine applies what
// the server sends; Edit and the accessors take the same lock.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// ProtocolVersion is the protocol this client speaks.
const ProtocolVersion = wire.ProtocolVersion

// Errors of the client.
var (
	// ErrClosed: the connection is closed (Reconnect opens it again).
	ErrClosed = errors.New("connection closed")
	// ErrUnknownSection: the document has no such section.
	ErrUnknownSection = errors.New("unknown section")
	// ErrLostPending: the server sent a snapshot while updates were
	// unconfirmed; they could not be rebased and were dropped.
	ErrLostPending = errors.New("unconfirmed updates lost to a snapshot")
)

// ServerError is an error message from the server.
type ServerError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Kind is terminal, reconnect or resync (docs/protocol.md).
	Kind    string `json:"kind"`
	Section string `json:"section,omitempty"`
	Version *int   `json:"version,omitempty"`
}

func (e *ServerError) Error() string { return e.Code + ": " + e.Message }

// Options configure a Client.
type Options struct {
	// Key is the client's secret: the server derives the client's public
	// id from it, and recognises by it the updates it already accepted, so
	// it stays the same across reconnects. Default: one the server issues
	// with the first welcome.
	Key string
	// Name is shown to others in presence.
	Name string
	// Viewer connects read-only.
	Viewer bool
	// Header is sent with the websocket handshake (Origin, cookies).
	Header http.Header
	// OnUpdate, if set, is called (under the client's lock; keep it short)
	// for every update received, after it is applied.
	OnUpdate func(u Update, own bool)
	// OnError, if set, receives error messages from the server.
	OnError func(e *ServerError)
	// Dialer overrides the websocket dialer.
	Dialer *websocket.Dialer
}

// The protocol's shapes (collab/wire): an accepted update as received
// from the server, another person in the document, a selection in UTF-16
// units.
type (
	Update = wire.Update
	Peer   = wire.Peer
	Range  = wire.Range
)

// section is the local state of one collaborative text.
type section struct {
	id      string
	title   string
	text    *editor.Text // local text: confirmed plus unconfirmed changes, edited in place
	synced  *editor.Text // the server's text at version
	version int          // number of updates of the section received
	pending []editor.Update
	// inflight counts pending updates already sent and not yet confirmed
	// or refused; new edits wait until it is 0.
	inflight int
	paras    []string
}

// Limits of one push; the server refuses messages over 1 MiB by default.
const (
	maxPushUpdates = 500
	maxPushBytes   = 256 << 10
)

// Client is a connection to one document.
type Client struct {
	base, doc string
	opts      Options
	id        string // the client id, from the welcome
	resync    bool   // the server said this copy diverged: keep nothing of it

	mu       sync.Mutex
	cond     *sync.Cond
	ws       *websocket.Conn
	wmu      sync.Mutex // serializes writes to ws
	closed   bool
	err      error // why the connection ended
	seq      int64
	sections map[string]*section
	order    []string
	peers    map[string]Peer
	gen      uint64 // counts notify calls, so waiters miss no change
	received int64  // updates received since Dial
	readDone chan struct{}
}

// Dial connects to document doc on the server at base (http://host:port)
// and waits for the welcome.
func Dial(ctx context.Context, base, doc string, opts Options) (*Client, error) {
	c := &Client{base: base, doc: doc, opts: opts, sections: map[string]*section{}, peers: map[string]Peer{}}
	c.cond = sync.NewCond(&c.mu)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ID returns the client id the server derived from the key.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Key returns the client's secret key (the one it was given, or the one
// the server issued).
func (c *Client) Key() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.Key
}

func (c *Client) wsURL() (string, error) {
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/documents/" + url.PathEscape(c.doc) + "/ws"
	if c.opts.Viewer {
		u.RawQuery = "mode=view"
	}
	return u.String(), nil
}

// connect opens the websocket, says hello with the last sequence number
// seen and waits for the welcome, then re-sends unconfirmed updates.
func (c *Client) connect(ctx context.Context) error {
	u, err := c.wsURL()
	if err != nil {
		return err
	}
	d := c.opts.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	}
	ws, resp, err := d.DialContext(ctx, u, c.opts.Header)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: %w (HTTP %s)", u, err, resp.Status)
		}
		return fmt.Errorf("dial %s: %w", u, err)
	}
	msg := map[string]any{"type": "hello", "protocol": ProtocolVersion, "name": c.opts.Name}
	c.mu.Lock()
	if c.opts.Key != "" {
		msg["key"] = c.opts.Key
	}
	if c.order != nil {
		msg["seq"] = c.seq // catch up from here rather than take a snapshot
	}
	c.mu.Unlock()
	hello, _ := json.Marshal(msg)
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		ws.Close()
		return err
	}
	// Read until the welcome, synchronously.
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
	} else {
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return fmt.Errorf("waiting for welcome: %w", err)
		}
		msgs := bytes.Split(data, []byte{'\n'})
		var welcomed bool
		for i, m := range msgs {
			if !welcomed {
				var head struct{ Type string }
				json.Unmarshal(m, &head)
				switch head.Type {
				case "welcome":
					if err := c.welcome(m); err != nil {
						ws.Close()
						return err
					}
					welcomed = true
				case "error":
					var e ServerError
					json.Unmarshal(m, &e)
					ws.Close()
					return &e
				}
				continue
			}
			c.mu.Lock()
			c.handle(msgs[i])
			c.mu.Unlock()
		}
		if welcomed {
			break
		}
	}
	ws.SetReadDeadline(time.Time{})
	c.mu.Lock()
	c.ws, c.closed, c.err = ws, false, nil
	c.readDone = make(chan struct{})
	for _, s := range c.sections {
		s.inflight = 0
	}
	c.mu.Unlock()
	go c.readLoop(ws, c.readDone)
	c.flush()
	return nil
}

// welcome applies the welcome: a snapshot replaces everything (pending
// updates are dropped and reported), otherwise only updates follow.
func (c *Client) welcome(data []byte) error {
	var w struct {
		Client   string `json:"client"`
		Key      string `json:"key"`
		Seq      int64  `json:"seq"`
		Document *struct {
			Sections []struct {
				ID      string   `json:"id"`
				Title   string   `json:"title"`
				Text    string   `json:"text"`
				Version int      `json:"version"`
				Paras   []string `json:"paras"`
			} `json:"sections"`
		} `json:"document"`
		Peers []Peer `json:"peers"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("bad welcome: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id = w.Client
	if w.Key != "" {
		c.opts.Key = w.Key
	}
	var lost error
	if w.Document != nil {
		old := c.sections
		c.sections = map[string]*section{}
		c.order = c.order[:0]
		for _, s := range w.Document.Sections {
			ns := &section{id: s.ID, title: s.Title, text: editor.NewText(s.Text), synced: editor.NewText(s.Text), version: s.Version, paras: s.Paras}
			if o := old[s.ID]; o != nil && len(o.pending) > 0 {
				if !c.resync && o.version == s.Version && o.synced.String() == s.Text {
					// Still at that version: what is unconfirmed stays.
					o.title, o.paras = s.Title, s.Paras
					ns = o
				} else {
					lost = ErrLostPending
				}
			}
			c.sections[s.ID] = ns
			c.order = append(c.order, s.ID)
		}
		for id, o := range old {
			if c.sections[id] == nil && len(o.pending) > 0 {
				lost = ErrLostPending
			}
		}
		c.seq, c.resync = w.Seq, false
	}
	c.peers = map[string]Peer{}
	for _, p := range w.Peers {
		c.peers[p.Client] = p
	}
	c.notify()
	if lost != nil && c.opts.OnError != nil {
		c.opts.OnError(&ServerError{Code: "lost_pending", Message: lost.Error()})
	}
	return nil
}

func (c *Client) readLoop(ws *websocket.Conn, done chan struct{}) {
	defer close(done)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			if c.ws == ws {
				c.closed = true
				if c.err == nil {
					c.err = err
				}
			}
			c.notify()
			c.mu.Unlock()
			ws.Close()
			return
		}
		c.mu.Lock()
		for _, m := range bytes.Split(data, []byte{'\n'}) {
			c.handle(m)
		}
		c.mu.Unlock()
		c.flush()
	}
}

// handle applies one server message; c.mu is held.
func (c *Client) handle(data []byte) {
	// One decode for every kind of message: the fields of each type.
	var m struct {
		Type    string   `json:"type"`
		Updates []Update `json:"updates"`
		Peers   []Peer   `json:"peers"`
		Left    []string `json:"left"`
		ServerError
	}
	if err := json.Unmarshal(data, &m); err != nil {
		if bytes.Contains(data, []byte(`"updates"`)) {
			c.fatal(fmt.Errorf("bad updates message: %w", err))
		}
		return
	}
	switch m.Type {
	case "updates":
		for _, u := range m.Updates {
			if err := c.receive(u); err != nil {
				c.fatal(err)
				return
			}
		}
		c.notify()
	case "peers":
		for _, p := range m.Peers {
			c.peers[p.Client] = p
		}
		for _, id := range m.Left {
			delete(c.peers, id)
		}
		c.notify()
	case "error":
		e := m.ServerError
		if e.Kind == KindResync {
			// This copy is not the server's: the next connection takes a
			// snapshot (what is unconfirmed is reported lost then).
			c.order, c.resync = nil, true
		}
		if s := c.sections[e.Section]; s != nil {
			// The push was refused: its updates are not in flight any more.
			// A terminal refusal would fail the same way again, so they
			// are dropped.
			s.inflight = 0
			if e.Kind == KindTerminal {
				c.err = &e
				s.pending = nil
			}
		}
		if c.opts.OnError != nil {
			c.opts.OnError(&e)
		}
		c.notify()
	}
}

func (c *Client) fatal(err error) {
	c.err = err
	if c.ws != nil {
		c.ws.Close()
	}
}

// receive applies one accepted update, as @codemirror/collab's
// receiveUpdates does: our own first pending update is confirmed, a
// foreign one is applied with our pending updates rebased over it.
func (c *Client) receive(u Update) error {
	if u.Seq <= c.seq {
		return nil // seen before a reconnect
	}
	if u.Seq != c.seq+1 {
		return fmt.Errorf("update %d after %d: a gap in the stream", u.Seq, c.seq)
	}
	c.seq = u.Seq
	c.received++
	if len(u.Structure) > 0 {
		var sc struct {
			Op      string `json:"op"`
			Title   string `json:"title"`
			Index   *int   `json:"index"`
			Section struct {
				ID    string   `json:"id"`
				Title string   `json:"title"`
				Text  string   `json:"text"`
				Paras []string `json:"paras"`
			} `json:"section"`
		}
		if err := json.Unmarshal(u.Structure, &sc); err != nil {
			return err
		}
		if sc.Op == "add_section" && c.sections[sc.Section.ID] == nil {
			c.sections[sc.Section.ID] = &section{id: sc.Section.ID, title: sc.Section.Title, text: editor.NewText(sc.Section.Text),
				synced: editor.NewText(sc.Section.Text), paras: sc.Section.Paras}
			c.order = append(c.order, sc.Section.ID)
		}
		c.restructure(sc.Op, sc.Section.ID, sc.Title, sc.Index)
		if c.opts.OnUpdate != nil {
			c.opts.OnUpdate(u, false)
		}
		return nil
	}
	s := c.sections[u.Section]
	if s == nil {
		return fmt.Errorf("update %d for unknown section %q", u.Seq, u.Section)
	}
	if u.Version != s.version+1 {
		return fmt.Errorf("update %d takes section %s to version %d from %d", u.Seq, u.Section, u.Version, s.version)
	}
	s.version = u.Version
	if u.Paras != nil {
		s.paras = u.Paras
	}
	own := len(s.pending) > 0 && u.Client == c.id
	if own {
		// The server rebased it over what we received before it, as we
		// did: it is our oldest unconfirmed update as it stands.
		if err := s.synced.Apply(s.pending[0].Changes); err != nil {
			return fmt.Errorf("update %d (ours) does not apply to the synced text: %w", u.Seq, err)
		}
		s.pending = s.pending[1:]
		if s.inflight > 0 {
			s.inflight--
		}
	} else {
		cs, err := editor.ChangeSetFromJSON(u.Changes)
		if err != nil {
			return fmt.Errorf("update %d: %w", u.Seq, err)
		}
		if err := s.synced.Apply(cs); err != nil {
			return fmt.Errorf("update %d does not apply to the synced text: %w", u.Seq, err)
		}
		// Rebase pending over the foreign change, and the foreign change
		// over pending, then apply it to the local text.
		changes := cs
		for i, p := range s.pending {
			mapped := p.Changes.Map(changes, false)
			changes = changes.Map(p.Changes, true)
			s.pending[i] = editor.Update{Changes: mapped, ClientID: p.ClientID}
		}
		if err := s.text.Apply(changes); err != nil {
			return fmt.Errorf("update %d does not apply to the local text: %w", u.Seq, err)
		}
	}
	if c.opts.OnUpdate != nil {
		c.opts.OnUpdate(u, own)
	}
	return nil
}

// Edit applies changes, made with the section's current local text in
// view, as one update: locally at once, confirmed by the server later.
func (c *Client) Edit(sectionID string, edit func(text string) []editor.Change) error {
	c.mu.Lock()
	s := c.sections[sectionID]
	if s == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownSection, sectionID)
	}
	changes := edit(s.text.String())
	cs, err := editor.ChangeSetOf(changes, s.text.Len())
	if err == nil {
		if err = s.text.Apply(cs); err == nil {
			s.pending = append(s.pending, editor.Update{Changes: cs})
		}
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.flush()
	return nil
}

// flush pushes the unconfirmed updates of every section that has none in
// flight.
func (c *Client) flush() {
	type push struct {
		Type    string            `json:"type"`
		Section string            `json:"section"`
		Version int               `json:"version"`
		Check   uint32            `json:"check"`
		Updates []json.RawMessage `json:"updates"`
	}
	var frames [][]byte
	c.mu.Lock()
	if c.closed || c.ws == nil || c.opts.Viewer {
		c.mu.Unlock()
		return
	}
	ws := c.ws
	for _, id := range c.order {
		s := c.sections[id]
		if s == nil || s.inflight > 0 || len(s.pending) == 0 {
			continue
		}
		// A push stays well under the server's message limit; what does
		// not fit goes in the next one, once these are confirmed.
		p := push{Type: "push", Section: id, Version: s.version}
		size := 0
		for _, u := range s.pending {
			raw, _ := json.Marshal(map[string]any{"changes": u.Changes})
			if len(p.Updates) > 0 && (len(p.Updates) == maxPushUpdates || size+len(raw) > maxPushBytes) {
				break
			}
			p.Updates = append(p.Updates, raw)
			size += len(raw)
		}
		s.inflight = len(p.Updates)
		p.Check = s.check(len(p.Updates))
		data, _ := json.Marshal(p)

		frames = append(frames, data)
	}
	c.mu.Unlock()
	if len(frames) == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	ws.WriteMessage(websocket.TextMessage, bytes.Join(frames, []byte{'\n'}))
}

// check is the checksum of the section's text after its first n
// unconfirmed updates: the local text when they are all of them.
func (s *section) check(n int) uint32 {
	if n == len(s.pending) {
		return s.text.Checksum()
	}
	cs := s.pending[0].Changes
	for _, u := range s.pending[1:n] {
		cs = cs.Compose(u.Changes)
	}
	after, err := cs.Apply(s.synced.String())
	if err != nil {
		return 0 // cannot happen: pending follows synced
	}
	return editor.Checksum(after)
}

// Send writes a raw message (for tests of bad input).
func (c *Client) Send(msg []byte) error {
	c.mu.Lock()
	ws, closed := c.ws, c.closed
	c.mu.Unlock()
	if closed || ws == nil {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, msg)
}

// SetPresence tells the others where this client is; ranges refer to the
// section's local text, so they are sent only while nothing is pending
// (otherwise they would be off by the unconfirmed changes).
func (c *Client) SetPresence(sectionID string, ranges []Range) error {
	c.mu.Lock()
	s := c.sections[sectionID]
	if s == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownSection, sectionID)
	}
	version := s.version
	if len(s.pending) > 0 {
		ranges = nil
	}
	c.mu.Unlock()
	data, _ := json.Marshal(map[string]any{"type": "presence", "section": sectionID, "version": version, "ranges": ranges})
	return c.Send(data)
}

// Close ends the connection; the local state stays for Reconnect.
func (c *Client) Close() error {
	c.mu.Lock()
	ws, done := c.ws, c.readDone
	c.closed = true
	c.mu.Unlock()
	if ws == nil {
		return nil
	}
	c.wmu.Lock()
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	err := ws.Close()
	if done != nil {
		<-done
	}
	return err
}

// Drop ends the connection abruptly, without a close frame, as a network
// failure would.
func (c *Client) Drop() {
	c.mu.Lock()
	ws, done := c.ws, c.readDone
	c.closed = true
	c.mu.Unlock()
	if ws != nil {
		ws.UnderlyingConn().Close()
		if done != nil {
			<-done
		}
	}
}

// Reconnect opens a new connection, catches up from the last update seen
// and re-sends what is unconfirmed.
func (c *Client) Reconnect(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.mu.Unlock()
		c.Drop()
		c.mu.Lock()
	}
	c.mu.Unlock()
	return c.connect(ctx)
}

// ReconnectTo is Reconnect to another server at base (another node
// serving the same documents, when the one it was connected to is gone).
func (c *Client) ReconnectTo(ctx context.Context, base string) error {
	c.mu.Lock()
	c.base = base
	c.mu.Unlock()
	return c.Reconnect(ctx)
}

// Err returns why the connection ended or the last terminal error.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Closed reports whether the connection has ended.
func (c *Client) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Text returns the local text of a section (confirmed and pending).
func (c *Client) Text(sectionID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sections[sectionID]; s != nil {
		return s.text.String()
	}
	return ""
}

// Version returns the number of updates of the section received.
func (c *Client) Version(sectionID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sections[sectionID]; s != nil {
		return s.version
	}
	return -1
}

// Paras returns the paragraph ids of a section as last received.
func (c *Client) Paras(sectionID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sections[sectionID]; s != nil {
		return append([]string(nil), s.paras...)
	}
	return nil
}

// restructure applies a rename, move or removal of a section the server
// accepted to the client's copy (the document's title is not kept).
func (c *Client) restructure(op, id, title string, index *int) {
	i := slices.Index(c.order, id)
	if i < 0 {
		return
	}
	switch op {
	case "rename_section":
		c.sections[id].title = title
	case "move_section":
		if index != nil && *index >= 0 && *index < len(c.order) {
			c.order = slices.Insert(slices.Delete(c.order, i, i+1), *index, id)
		}
	case "remove_section":
		c.order = slices.Delete(c.order, i, i+1)
		delete(c.sections, id)
	}
}

// Sections returns the section ids in document order.
func (c *Client) Sections() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// Seq returns the last document sequence number received.
func (c *Client) Seq() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// Pending returns the number of unconfirmed updates over all sections.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.sections {
		n += len(s.pending)
	}
	return n
}

// Peers returns the other people present, by client id.
func (c *Client) Peers() map[string]Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Peer, len(c.peers))
	for k, v := range c.peers {
		out[k] = v
	}
	return out
}

// notify wakes waiters after a change; c.mu is held.
func (c *Client) notify() {
	c.gen++
	c.cond.Broadcast()
}

// WaitFor blocks until cond holds, the connection ends or ctx is done.
// cond is called without the client's lock, so it may use the accessors;
// it is called again after every message from the server.
func (c *Client) WaitFor(ctx context.Context, cond func(c *Client) bool) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.notify()
		c.mu.Unlock()
	})
	defer stop()
	for {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		if cond(c) {
			return nil
		}
		c.mu.Lock()
		for gen == c.gen && ctx.Err() == nil && !c.closed {
			c.cond.Wait()
		}
		closed, err := c.closed, c.err
		c.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if closed {
			if cond(c) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%w: %v", ErrClosed, err)
			}
			return ErrClosed
		}
	}
}

// WaitSeq waits until the client has received every update up to seq.
func (c *Client) WaitSeq(ctx context.Context, seq int64) error {
	return c.WaitFor(ctx, func(c *Client) bool { return c.Seq() >= seq })
}

// WaitConfirmed waits until nothing is unconfirmed.
func (c *Client) WaitConfirmed(ctx context.Context) error {
	return c.WaitFor(ctx, func(c *Client) bool { return c.Pending() == 0 })
}

// Locked runs f with the client's lock held, for reading several values
// consistently (the methods above must not be called from f).
func (c *Client) Locked(f func(seq int64, texts map[string]string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	texts := make(map[string]string, len(c.sections))
	for id, s := range c.sections {
		texts[id] = s.text.String()
	}
	f(c.seq, texts)
}

// The kinds of server errors (docs/protocol.md).
const (
	KindTerminal  = wire.KindTerminal
	KindReconnect = wire.KindReconnect
	KindResync    = wire.KindResync
)
