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
	"github.com/bpfdraft/bpfdraft/editor"
)

// serveConfig is everything serve needs, from flags and environment.
type serveConfig struct {
	Addr            string
	DataDir         string
	Store           string
	LogLevel        slog.Level
	LogFormat       string
	AllowedOrigins  string
	PublicOrigins   string
	SecureCookies   bool
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	Demo            bool
	ImageSources    string
	// Caps for a public site; 0 means no cap.
	SocketsPerAccount, SocketsPerAddress int
	EditsPerMinute, CreationsPerHour     int
	CommentsPerHour                      int
	SignInsPerMinute, SignUpsPerHour     int
	TrustProxy                           bool
	MetricsToken                         string
	CommitInterval                       time.Duration
}

func serveFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fs.StringVar(&c.DataDir, "data", "./bpfdraft-data", "data directory (holds the bbolt file)")
	fs.StringVar(&c.Store, "store", "", storeHelp)
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.AllowedOrigins, "allowed-origins", "", "comma-separated origins (https://host) allowed besides the server's own")
	fs.StringVar(&c.PublicOrigins, "public-origin", "", "comma-separated origins the site is reached at (https://bpf.example.org); requests for other hosts are refused, and links (invitations) are made with the first. Empty: only IP addresses and localhost")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "mark session cookies Secure even when requests do not say they came over TLS (behind a TLS proxy that sends no X-Forwarded-Proto)")
	fs.BoolVar(&c.Demo, "demo", false, "create (or refresh) a sample BPF with a partly written document and one account per role, with new passwords, and print how to sign in as each")
	fs.StringVar(&c.ImageSources, "img-src", "", "space-separated sources images in documents may come from besides this site (https://www.intgovforum.org; https: for any); none by default, so a document cannot make readers' browsers call other servers")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", false, "behind a reverse proxy that appends the client's address to X-Forwarded-For: count rate limits and record the audit log by that address")
	fs.IntVar(&c.SignInsPerMinute, "sign-ins-per-minute", 10, "most sign-in attempts per address, and per email address, in a minute")
	fs.IntVar(&c.SignUpsPerHour, "sign-ups-per-hour", 20, "most new public accounts per address in an hour")
	fs.IntVar(&c.SocketsPerAccount, "sockets-per-account", 32, "most websockets one account may have open at once (0: no cap)")
	fs.IntVar(&c.SocketsPerAddress, "sockets-per-address", 256, "most websockets one address may have open at once (0: no cap)")
	fs.IntVar(&c.EditsPerMinute, "edits-per-minute", 1200, "most changes one account, or one address, may push in a minute (0: no cap)")
	fs.IntVar(&c.CommentsPerHour, "comments-per-hour", 30, "most comments and replies one account, or one address, may post in an hour (0: no cap)")
	fs.IntVar(&c.CreationsPerHour, "creations-per-hour", 60, "most BPFs and documents one account, or one address, may create in an hour (0: no cap)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", int64(editor.Limits.BodyBytes), "largest JSON request body in bytes (the request body limit)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a graceful shutdown may take")
	fs.DurationVar(&c.CommitInterval, "commit-interval", 5*time.Millisecond, "least time between two appends of one document's edits (at most 1s): edits arriving meanwhile join the next one. Longer means fewer, larger appends and broadcast frames, and as much more latency per edit")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "bearer token GET /metrics requires (Authorization: Bearer TOKEN); empty: /metrics is open to anyone who reaches the server, so keep it from the public with a firewall or the reverse proxy")
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

// noCap turns a flag's 0 (no cap) into the server's -1.
func noCap(v int) int {
	if v <= 0 {
		return -1
	}
	return v
}

// splitList splits a comma-separated flag value.
func splitList(v string) []string {
	var out []string
	for _, o := range strings.Split(v, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// serve runs the server until ctx is done, then shuts down gracefully:
// requests in flight finish, everything accepted is on disk. When ready is
// not nil it receives the listening address.
func serve(ctx context.Context, c serveConfig, logw io.Writer, ready chan<- string) error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return usageError{fmt.Sprintf("--log-format must be text or json, not %q", c.LogFormat)}
	}
	if c.CommitInterval < 0 || c.CommitInterval > time.Second {
		return usageError{fmt.Sprintf("--commit-interval must be between 0 (the default, 5ms) and 1s, not %v", c.CommitInterval)}
	}
	log := newLogger(c, logw)
	st, err := openStoreAt(ctx, c.Store, c.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	origins := splitList(c.AllowedOrigins)
	srv := collab.New(collab.Config{MaxBodyBytes: c.MaxBodyBytes, AllowedOrigins: origins, PublicOrigins: splitList(c.PublicOrigins),
		SecureCookies: c.SecureCookies, ImageSources: strings.Fields(c.ImageSources), SocketsPerAccount: noCap(c.SocketsPerAccount), SocketsPerAddress: noCap(c.SocketsPerAddress),
		EditsPerMinute: noCap(c.EditsPerMinute), CreationsPerHour: noCap(c.CreationsPerHour), CommentsPerHour: noCap(c.CommentsPerHour),
		SignInsPerMinute: c.SignInsPerMinute, SignUpsPerHour: c.SignUpsPerHour, TrustProxy: c.TrustProxy,
		MetricsToken: c.MetricsToken, Hub: collab.HubConfig{CommitInterval: c.CommitInterval}}, st, log, time.Now)

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
	base := "http://" + ln.Addr().String()
	if list := splitList(c.PublicOrigins); len(list) > 0 {
		base = list[0]
	}
	log.Info("bpfdraft listening", "addr", "http://"+ln.Addr().String(), "store", storeName(c), "version", version)
	if c.Demo {
		if err := printDemo(ctx, srv, base, logw); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	link, err := srv.SetupLink(ctx)
	if err != nil {
		return fmt.Errorf("setup link: %w", err)
	}
	if link != "" {
		fmt.Fprintf(logw, "\nNo Secretariat account yet. Open this link to make the first one (it works once):\n\n    %s%s\n\nor stop the server and run: bpfdraft user add --role secretariat --email ... --name ... (the password on standard input)\n\n", base, link)
	}
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
	// Drain at once: /readyz answers 503 from now on and every websocket
	// client is told to reconnect (the shutdown hook would start it only
	// once the listener is closed).
	srv.BeginShutdown()
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

// printDemo makes the demo and prints how to sign in as each role.
func printDemo(ctx context.Context, srv *collab.Server, base string, w io.Writer) error {
	accounts, err := srv.Demo(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDemo: a sample BPF, its output document (%s%s) and one account per role.\nSign in at %s/sign-in as:\n\n", base, collab.DemoDocument, base)
	for _, a := range accounts {
		fmt.Fprintf(w, "    %-16s %-40s password %s\n", a.Role, a.Email, a.Password)
	}
	fmt.Fprintln(w, "\nThe passwords change at every start with --demo.")
	return nil
}

// storeName says where a server keeps its data, for its log.
func storeName(c serveConfig) string {
	if c.Store != "" {
		return redacted(c.Store)
	}
	return c.DataDir
}
