// Package transport carries bpfdraft's websocket connections: it reads
// client frames without a goroutine per waiting connection (frames.go,
// the poller) and writes through a bounded queue with a writer goroutine
// only while something is to be sent. It knows nothing of the protocol's
// messages: it hands whole messages to a Handler and sends the bytes it
// is given.
//
// # Concurrency
//
// A Conn is safe for concurrent use. Its Handler's Message is called by
// one reader at a time, never concurrently with itself. Gone is called
// exactly once, when the connection is over: a Message call may still be
// running then (the writer that closed the connection may be the one to
// say it is gone), but none starts after it.
//
// # Caveats
//
// A connection that waits in the poller has no read deadline: whoever
// owns it must close it when LastRead says it has been silent too long.
package transport

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Message is one whole message from the client.
type Message struct {
	// Data is the payload; it is valid only during the call.
	Data []byte
	// Binary is set for a binary message (bpfdraft speaks only text).
	Binary bool
	// TooBig is set, with Data nil, for a message over the soft limit: it
	// was skipped without being kept.
	TooBig bool
}

// Handler receives what a connection reads.
type Handler interface {
	// Message handles one message; false ends reading (the handler has
	// closed the connection or is about to).
	Message(m Message) bool
	// Gone says the connection is over and nothing more will be read.
	Gone()
}

// Options configure a Transport.
type Options struct {
	// MaxMessage is the soft limit on a client message: longer ones are
	// skipped and reported with TooBig; over four times as long, the
	// connection is closed with 1009.
	MaxMessage int64
	// Queue is the most messages waiting to be written to one connection.
	Queue int
	// FirstRead is how long a new connection may take to send its first
	// message; after it, the connection waits in the poller with no
	// deadline.
	FirstRead time.Duration
	// NoPoll keeps every connection on a reader goroutine of its own (what
	// systems without epoll get; a test setting elsewhere).
	NoPoll bool
	// WriteTimeout bounds one write to a connection (default 10 s): a
	// client that reads nothing for that long, its buffers full, is cut
	// off without a close frame.
	WriteTimeout time.Duration
	// Log receives debug lines about connections ending.
	Log *slog.Logger
}

// Transport serves the websocket connections of one server.
type Transport struct {
	opts    Options
	poll    atomic.Pointer[poller]
	pollMu  sync.Mutex
	pollEnd bool

	// closing counts connections whose close has begun and whose writer
	// has not yet sent the close frame; flushed is closed (and replaced)
	// whenever it drops to zero.
	closeMu sync.Mutex
	closing int
	flushed chan struct{}
}

// New returns a Transport.
func New(opts Options) *Transport {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	return &Transport{opts: opts}
}

// poller returns the transport's poller, starting it on first use; nil
// means connections read in goroutines of their own.
func (t *Transport) poller() *poller {
	if p := t.poll.Load(); p != nil {
		return p
	}
	if t.opts.NoPoll {
		return nil
	}
	t.pollMu.Lock()
	defer t.pollMu.Unlock()
	if p := t.poll.Load(); p != nil || t.pollEnd {
		return p
	}
	p, err := newPoller()
	if err != nil {
		t.pollEnd = true
		t.opts.Log.Info("connections read in goroutines of their own", "why", err.Error())
		return nil
	}
	t.poll.Store(p)
	return p
}

// Polling reports whether the poller has started (connections waiting in
// it hold no goroutine).
func (t *Transport) Polling() bool { return t.poll.Load() != nil }

// Flushed waits until every connection whose close has begun has written
// what was queued for it and its close frame (each write is bounded by
// Options.WriteTimeout), or until ctx is done. A server stopping calls it
// after telling its clients why, so that the process does not exit with
// that message still queued.
func (t *Transport) Flushed(ctx context.Context) error {
	t.closeMu.Lock()
	if t.closing == 0 {
		t.closeMu.Unlock()
		return nil
	}
	if t.flushed == nil {
		t.flushed = make(chan struct{})
	}
	ch := t.flushed
	t.closeMu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeBegun and closeEnded keep the count Flushed waits on.
func (t *Transport) closeBegun() {
	t.closeMu.Lock()
	t.closing++
	t.closeMu.Unlock()
}

func (t *Transport) closeEnded() {
	t.closeMu.Lock()
	t.closing--
	if t.closing == 0 && t.flushed != nil {
		close(t.flushed)
		t.flushed = nil
	}
	t.closeMu.Unlock()
}

// Close stops the poller; call it once every connection has been closed.
func (t *Transport) Close() {
	t.pollMu.Lock()
	t.pollEnd = true
	p := t.poll.Load()
	t.pollMu.Unlock()
	if p != nil {
		p.close()
	}
}

// Conn is one websocket connection. It has a reader only while there is
// something to read and a writer goroutine only while something is
// waiting to be sent.
type Conn struct {
	t  *Transport
	ws *websocket.Conn
	h  Handler
	// Remote names the connection in logs.
	Remote string

	// done is closed when the connection is over, for whatever reason;
	// code and reason are what the close frame says.
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	code   int
	reason string

	// The write side, guarded by qmu. out holds messages (each in one or
	// more parts) for the writer, at most Options.Queue of them; it grows
	// on demand, so an idle connection holds no queue.
	qmu     sync.Mutex
	out     [][][]byte
	writing bool // a writer goroutine is running
	ping    bool // a ping is due
	closing bool // flush, send the close frame, close

	// The read side, owned by the one reader running at a time; token and
	// raw belong to the poller, under its lock. lastRead is when the last
	// whole frame arrived, in UnixNano.
	fr       frameReader
	pending  []byte // the bytes of an incomplete frame
	handed   bool   // the first message was read: the poller may take over
	polled   bool
	token    int32
	raw      syscall.RawConn
	lastRead atomic.Int64
	gone     atomic.Bool
}

// Serve starts serving an upgraded websocket with the handler newHandler
// returns for it (called once, before anything is read). Its first reader
// is a goroutine of its own, which hands the connection to the poller
// once the first message has been handled.
func (t *Transport) Serve(ws *websocket.Conn, remote string, newHandler func(*Conn) Handler) *Conn {
	c := &Conn{t: t, ws: ws, Remote: remote, done: make(chan struct{}),
		fr: frameReader{soft: t.opts.MaxMessage, hard: 4 * t.opts.MaxMessage}}
	c.h = newHandler(c)
	c.lastRead.Store(time.Now().UnixNano())
	go c.readLoop()
	return c
}

// Done is closed when the connection is over.
func (c *Conn) Done() <-chan struct{} { return c.done }

// LastRead returns when the last whole frame (a pong included) arrived.
func (c *Conn) LastRead() time.Time { return time.Unix(0, c.lastRead.Load()) }

// Queue offers a message, given in parts written one after the other, to
// the writer without blocking; false means the queue is full or the
// connection is closing, and the message was not queued.
func (c *Conn) Queue(parts ...[]byte) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.out) >= c.t.opts.Queue || c.closing {
		return false
	}
	c.out = append(c.out, parts)
	c.wake()
	return true
}

// wake starts a writer unless one is running; qmu is held.
func (c *Conn) wake() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

// Ping has the writer send a ping.
func (c *Conn) Ping() {
	c.qmu.Lock()
	if !c.closing {
		c.ping = true
		c.wake()
	}
	c.qmu.Unlock()
}

// Close ends the connection: what is queued is written, then a close
// frame with code and reason. Only the first call counts.
func (c *Conn) Close(code int, reason string) {
	c.once.Do(func() {
		c.mu.Lock()
		c.code, c.reason = code, reason
		c.mu.Unlock()
		close(c.done)
		c.t.closeBegun()
		c.qmu.Lock()
		c.closing = true
		c.wake()
		c.qmu.Unlock()
	})
}

var newline = []byte{'\n'}

// writeLoop sends what is due and exits when nothing is: all queued
// messages joined into one websocket frame (separated by newlines), a
// ping, and at the end the close frame.
func (c *Conn) writeLoop() {
	write := func(msgs [][][]byte) error {
		c.ws.SetWriteDeadline(time.Now().Add(c.t.opts.WriteTimeout))
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
		msgs, ping, closing := c.out, c.ping, c.closing
		c.out, c.ping = nil, false
		if len(msgs) == 0 && !ping && !closing {
			c.writing = false
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		if !failed && len(msgs) > 0 && write(msgs) != nil {
			failed = true
			c.Close(websocket.CloseNormalClosure, "")
		}
		if !failed && ping {
			c.ws.SetWriteDeadline(time.Now().Add(c.t.opts.WriteTimeout))
			if c.ws.WriteMessage(websocket.PingMessage, nil) != nil {
				failed = true
				c.Close(websocket.CloseNormalClosure, "")
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
					code = websocket.CloseNormalClosure
				}
				c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			}
			// The writer stays marked as running: nothing is written after
			// the close.
			c.ws.Close()
			c.t.closeEnded()
			if p := c.t.poll.Load(); p != nil && p.forget(c) {
				c.goneOnce()
			}
			return
		}
	}
}

// goneOnce tells the handler the connection is over, once.
func (c *Conn) goneOnce() {
	if !c.gone.Swap(true) {
		c.h.Gone()
	}
}

// The read side. A connection's first reader is a goroutine of its own
// (readLoop): it reads the first message, with a deadline, and hands the
// connection to the poller. From then on the connection holds no
// goroutine while it waits: when bytes arrive the poller starts
// readReady, which reads what is there without blocking, handles the
// whole frames and re-arms. Where there is no poller readLoop goes on
// reading. Either way one reader at a time owns fr, pending, handed and
// polled.

// readBuffers hold what one read returns; a waiting connection keeps only
// the bytes of an incomplete frame, usually none.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// errWouldBlock: nothing more to read now (readNow).
var errWouldBlock = errors.New("nothing to read")

func (c *Conn) readLoop() {
	bp := readBuffers.Get().(*[]byte)
	defer func() {
		if bp != nil {
			readBuffers.Put(bp)
		}
	}()
	buf := *bp
	nc := c.ws.NetConn()
	nc.SetReadDeadline(time.Now().Add(c.t.opts.FirstRead))
	handOff := true
	for {
		n, err := nc.Read(buf)
		if !c.handleRead(buf[:n], err) {
			return
		}
		if c.handed && handOff {
			handOff = false
			// From now on the owner watches for silence.
			nc.SetReadDeadline(time.Time{})
			if p := c.t.poller(); p != nil && p.add(c) {
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
	if !c.t.poll.Load().rearm(c) {
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
		if c.t.opts.Log.Enabled(context.Background(), slog.LevelDebug) {
			c.t.opts.Log.Debug("read ended", "remote", c.Remote, "err", err)
		}
		c.stopReading()
		return false
	}
	return true
}

// stopReading ends the connection once its reader has stopped. A
// connection waiting in the poller is declared gone by whoever takes it
// out: its reader here, or the writer that closed it.
func (c *Conn) stopReading() {
	c.Close(websocket.CloseNormalClosure, "")
	if !c.polled || c.t.poll.Load().forget(c) {
		c.goneOnce()
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
		c.Close(fe.code, fe.msg)
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
	select {
	case <-c.done:
		return false
	default:
	}
	c.lastRead.Store(time.Now().UnixNano())
	switch ev.op {
	case opClose:
		c.t.opts.Log.Debug("client closed", "remote", c.Remote)
		return false
	case opPing:
		c.ws.WriteControl(websocket.PongMessage, ev.data, time.Now().Add(c.t.opts.WriteTimeout))
		return true
	case opPong:
		return true
	}
	ok := c.h.Message(Message{Data: ev.data, Binary: ev.op == opBinary, TooBig: ev.tooBig})
	c.handed = true
	return ok
}
