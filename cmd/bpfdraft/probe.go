package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// probeCmd asks a running server whether it is ready: it succeeds only
// when GET /readyz answers 200. It is the health check of the container
// image, which has no shell or curl to run one with.
func probeCmd(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "the address the server listens on, as given to serve (0.0.0.0:8080 is probed on this machine); the same environment twin, BPFDRAFT_ADDR")
	url := fs.String("url", "", "the URL to probe instead of http://ADDR/readyz")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("probe takes no arguments, got %q", pos)}
	}
	target := *url
	if target == "" {
		host, err := probeHost(*addr)
		if err != nil {
			return usageError{err.Error()}
		}
		target = "http://" + host + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageError{fmt.Sprintf("--url: %v", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s", target, resp.Status)
	}
	return nil
}

// probeHost turns a listening address into one to connect to: a server
// listening on every interface (0.0.0.0, [::] or no host) is reached on
// loopback.
func probeHost(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}
