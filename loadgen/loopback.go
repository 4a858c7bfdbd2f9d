package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// ErrNotLoopback is returned for a server that is not on this machine:
// load is only ever generated against a loopback address.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckServer parses a server URL and checks that its host resolves to
// loopback addresses only.
func CheckServer(ctx context.Context, server string) (*url.URL, error) {
	if server == "" {
		return nil, errors.New("the server URL is required (http://127.0.0.1:PORT)")
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("server URL %q: the scheme must be http or https", server)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("server URL %q has no host", server)
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("server host %q resolves to nothing", host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return nil, fmt.Errorf("refusing server %q: %s is %w; load may only be generated against this machine (127.0.0.1, ::1, localhost)", server, a.IP, ErrNotLoopback)
		}
	}
	return u, nil
}

// dialLoopback dials like net.Dialer but closes any connection whose peer
// is not a loopback address, so a name that resolves differently later
// still cannot send load elsewhere.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		c.Close()
		return nil, fmt.Errorf("dial %s: peer %s is %w", addr, c.RemoteAddr(), ErrNotLoopback)
	}
	return c, nil
}
