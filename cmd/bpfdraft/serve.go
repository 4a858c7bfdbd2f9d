package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/store/boltstore"
	"github.com/bpfdraft/bpfdraft/editor"
)

// serveConfig is everything serve needs, from flags and environment.
type serveConfig struct {
	Addr            string
	DataDir         string
	LogLevel        slog.Level
	LogFormat       string
	AllowedOrigins  string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
}

func serveFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fs.StringVar(&c.DataDir, "data", "./bpfdraft-data", "data directory (holds the bbolt file)")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.AllowedOrigins, "allowed-origins", "", "comma-separated origins (https://host) allowed besides the server's own")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", int64(editor.Limits.BodyBytes), "largest JSON request body in bytes (the request body limit)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a graceful shutdown may take")
}

func serveCmd(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serveFlags(fs, &c)
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", pos)}
	}
	return serve(ctx, c, stderr, nil)
}

func newLogger(c serveConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the server until ctx is done, then shuts down gracefully:
// requests in flight finish, everything accepted is on disk. When ready is
// not nil it receives the listening address.
func serve(ctx context.Context, c serveConfig, logw io.Writer, ready chan<- string) error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return usageError{fmt.Sprintf("--log-format must be text or json, not %q", c.LogFormat)}
	}
	log := newLogger(c, logw)
	st, err := boltstore.Open(c.DataDir, 2*time.Second)
	if err != nil {
		return err
	}
	defer st.Close()

	var origins []string
	for _, o := range strings.Split(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	srv := collab.New(collab.Config{MaxBodyBytes: c.MaxBodyBytes, AllowedOrigins: origins}, st, log, time.Now)

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown ignores hijacked (websocket) connections: the server drains
	// its own when shutdown starts.
	hs.RegisterOnShutdown(srv.BeginShutdown)
	log.Info("bpfdraft listening", "addr", "http://"+ln.Addr().String(), "data", c.DataDir, "version", version)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	herr := hs.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	log.Info("stopped")
	return nil
}
