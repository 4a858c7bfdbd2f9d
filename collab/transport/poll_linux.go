//go:build linux

package transport

import (
	"io"
	"os"
	"sync"
	"syscall"
)

// poller tells which connections have something to read, so that a
// joined connection needs no goroutine of its own while it waits: an
// epoll instance, separate from the Go runtime's, holds every waiting
// connection's socket (level-triggered, one shot), and one goroutine
// waits on it and starts a short-lived reader for each connection that
// became readable. That reader reads what is there without blocking,
// handles the frames and re-arms the connection.
type poller struct {
	epfd int
	// file is epfd as seen by the Go runtime: the waiting goroutine parks
	// in the runtime's own poller until the epoll set has events, like
	// any goroutine reading a socket, instead of holding a thread in
	// epoll_wait. Closing it stops the waiting goroutine.
	file *os.File

	mu     sync.RWMutex
	conns  map[int32]*Conn // by token, the epoll event's data
	next   int32
	closed bool
	done   chan struct{}
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	p := &poller{epfd: epfd, file: file, conns: map[int32]*Conn{}, done: make(chan struct{})}
	go p.run(raw)
	return p, nil
}

// run waits for readable connections until the poller is closed.
func (p *poller) run(raw syscall.RawConn) {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := raw.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			// Nothing ready: park until the runtime's poller says the
			// epoll set has events.
			return n > 0 || (werr != nil && werr != syscall.EINTR)
		})
		if err != nil || werr != nil {
			return // closed, or the epoll fd is broken
		}
		for _, ev := range events[:n] {
			p.mu.RLock()
			c := p.conns[ev.Fd]
			p.mu.RUnlock()
			if c != nil {
				go c.readReady()
			}
		}
	}
}

// add hands a joined connection to the poller. It reports false when the
// connection cannot be polled (not a plain socket, or the poller is
// closed), and its reader must go on reading itself.
func (p *poller) add(c *Conn) bool {
	sc, ok := c.ws.NetConn().(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	for {
		p.next++
		if p.next <= 0 {
			p.next = 1
		}
		if p.conns[p.next] == nil {
			break
		}
	}
	c.token, c.raw, c.polled = p.next, raw, true
	p.conns[c.token] = c
	var ctlErr error
	// Control holds the descriptor open, so its number cannot have been
	// reused by another connection.
	err = raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: c.token}
		ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	p.mu.Unlock()
	if err != nil || ctlErr != nil {
		// Most likely the socket was closed meanwhile. Whoever takes the
		// connection out of the poller tells the hub it left.
		if p.forget(c) {
			c.polled = false
			return false // the reader goes on and finds the socket closed
		}
		return true // the writer has closed it and told the hub
	}
	return true
}

// rearm waits for the connection's next bytes; false means it cannot
// (the socket or the poller is closed).
func (p *poller) rearm(c *Conn) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed || p.conns[c.token] != c {
		return false
	}
	var ctlErr error
	err := c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: c.token}
		ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
	})
	return err == nil && ctlErr == nil
}

// forget takes a connection out of the poller and reports whether it was
// in it; only one caller gets true. Closing the socket removes it from the
// epoll set.
func (p *poller) forget(c *Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.token == 0 || p.conns[c.token] != c {
		return false
	}
	delete(p.conns, c.token)
	c.token = 0
	return true
}

// close stops the poller. Connections still in it are not read again;
// they are being closed by their hubs.
func (p *poller) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.file.Close() // wakes the waiting goroutine with an error
	<-p.done
}

// readNow reads what has arrived on a polled connection without waiting.
func (c *Conn) readNow(buf []byte) (int, error) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				return true // never wait in the runtime's poller
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
