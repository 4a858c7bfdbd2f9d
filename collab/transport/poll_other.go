//go:build !linux

package transport

import "errors"

// poller is Linux-only (epoll); elsewhere every connection keeps a reader
// goroutine blocked in its read.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("no poller on this system") }

func (p *poller) add(*Conn) bool            { return false }
func (p *poller) rearm(*Conn) bool          { return false }
func (p *poller) forget(*Conn) bool         { return false }
func (p *poller) close()                    {}
func (c *Conn) readNow([]byte) (int, error) { return 0, errors.ErrUnsupported }
