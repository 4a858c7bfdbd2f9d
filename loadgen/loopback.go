package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
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

// CheckServers parses list, one server URL or several separated by
// commas (surrounding spaces ignored), and checks each as CheckServer
// does. An empty entry or the same server twice is an error: connections
// are spread over the list round-robin, so either would skew the spread.
func CheckServers(ctx context.Context, list string) ([]*url.URL, error) {
	var out []*url.URL
	seen := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" && list != "" {
			return nil, fmt.Errorf("server list %q has an empty entry", list)
		}
		u, err := CheckServer(ctx, s)
		if err != nil {
			return nil, err
		}
		key := strings.TrimRight(u.String(), "/")
		if seen[key] {
			return nil, fmt.Errorf("server list %q names %s twice", list, key)
		}
		seen[key] = true
		out = append(out, u)
	}
	return out, nil
}

// ParsePIDs parses a comma-separated list of process ids (surrounding
// spaces ignored); an empty list is no process. Each must be a positive
// number, and none may appear twice.
func ParsePIDs(list string) ([]int, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("process id list %q: %q is not a process id", list, strings.TrimSpace(s))
		}
		if seen[n] {
			return nil, fmt.Errorf("process id list %q names %d twice", list, n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}
