package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/transport"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// Config holds the server's settings. Zero values take the defaults below.
type Config struct {
	// MaxBodyBytes caps a JSON request body (default editor.Limits.BodyBytes).
	MaxBodyBytes int64
	// MaxImportBytes caps an imported markdown file (default
	// editor.Limits.ImportBytes).
	MaxImportBytes int64
	// MaxMessageBytes caps one websocket message (default
	// editor.Limits.MessageBytes).
	MaxMessageBytes int64
	// Hub bounds each open document; its section and document sizes
	// default to editor.Limits.
	Hub HubConfig
	// NoPoll keeps every websocket on a reader goroutine of its own, as on
	// systems without epoll (a test setting elsewhere).
	NoPoll bool
	// RenderCacheBytes bounds the rendered sections kept for readers
	// (default 64 MiB).
	RenderCacheBytes int
	// AllowedOrigins lists the origins (scheme://host[:port]) allowed to make
	// state-changing requests and open websockets besides the server's own
	// host. Empty means same-origin only.
	AllowedOrigins []string
	// PublicOrigins are the origins (https://host[:port]) the site is
	// reached at. A request whose Host header is not one of theirs is
	// refused, so that a page on another domain that resolves to this
	// server (DNS rebinding) cannot act as the site; the first makes the
	// links the server hands out (invitations). Empty: only IP addresses
	// and localhost are accepted as hosts, enough on one's own machine.
	PublicOrigins []string
	// TrustProxy: the server is behind a reverse proxy that appends the
	// client's address to X-Forwarded-For; rate limits and the audit log
	// count by that address instead of the proxy's.
	TrustProxy bool
	// SessionLifetime is how long a sign-in lasts (default 14 days).
	SessionLifetime time.Duration
	// SecureCookies marks session cookies Secure even when requests do not
	// say they came over TLS (set it behind a TLS proxy that does not send
	// X-Forwarded-Proto).
	SecureCookies bool
	// PasswordCost is bcrypt's cost for new password hashes (default
	// bcrypt.DefaultCost; tests use bcrypt.MinCost).
	PasswordCost int
	// SignInsPerMinute caps sign-in attempts per address and per email
	// address (default 10).
	SignInsPerMinute int
	// SignUpsPerHour caps new public accounts per address (default 20).
	SignUpsPerHour int
	// ImageSources are the sources (https://images.example.org, or https:
	// for any) that images in documents may come from besides this site;
	// none by default.
	ImageSources []string
	// BodyTimeout is how long a request may take to send its body
	// (default 1 minute): a slow sender is cut off.
	BodyTimeout time.Duration
	// CreationsPerHour caps BPFs and documents created (imports
	// included) per account and per address (default 60; -1: no cap).
	CreationsPerHour int
	// CommentsPerHour caps the comments and replies made per account and
	// per address (default 30; -1: no cap).
	CommentsPerHour int
	// EditsPerMinute caps the changes pushed per account and per address
	// (default 1200, 20 a second; -1: no cap).
	EditsPerMinute int
	// SocketsPerAccount and SocketsPerAddress cap the websockets open at
	// once (defaults 32 and 256; -1: no cap).
	SocketsPerAccount, SocketsPerAddress int
	// InvitationLifetime is how long an invitation link can be taken
	// (default 7 days).
	InvitationLifetime time.Duration
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// (Authorization: Bearer <token>). Empty: the metrics are open to
	// anyone who reaches the server, which should then keep /metrics
	// from the public (a firewall, the reverse proxy).
	MetricsToken string
}

func (c Config) withDefaults() Config {
	// The one table of limits (editor.Limits) gives the defaults, the
	// hub's sizes included, so import, editing and rendering agree.
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = int64(editor.Limits.BodyBytes)
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = int64(editor.Limits.MessageBytes)
	}
	if c.MaxImportBytes <= 0 {
		c.MaxImportBytes = int64(editor.Limits.ImportBytes)
	}
	c.Hub = c.Hub.withDefaults()
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 14 * 24 * time.Hour
	}
	if c.PasswordCost <= 0 {
		c.PasswordCost = bcrypt.DefaultCost
	}
	if c.SignInsPerMinute <= 0 {
		c.SignInsPerMinute = 10
	}
	if c.SignUpsPerHour <= 0 {
		c.SignUpsPerHour = 20
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = time.Minute
	}
	c.CreationsPerHour = orDefault(c.CreationsPerHour, 60)
	c.EditsPerMinute = orDefault(c.EditsPerMinute, 1200)
	c.CommentsPerHour = orDefault(c.CommentsPerHour, 30)
	c.SocketsPerAccount = orDefault(c.SocketsPerAccount, 32)
	c.SocketsPerAddress = orDefault(c.SocketsPerAddress, 256)
	if c.InvitationLifetime <= 0 {
		c.InvitationLifetime = 7 * 24 * time.Hour
	}
	if c.RenderCacheBytes <= 0 {
		c.RenderCacheBytes = 64 << 20
	}
	return c
}

// Server is bpfdraft's HTTP service: the JSON API, the public pages and
// the collaborative websocket. Build it with New, serve Handler, and call
// Shutdown before closing the store.
type Server struct {
	cfg   Config
	store store.Store
	log   *slog.Logger
	now   func() time.Time
	newID func() string

	hubCfg       HubConfig
	render       *renderCache
	upgrader     websocket.Upgrader
	reg          hubRegistry
	shuttingDown atomic.Bool
	transport    *transport.Transport
	abuse        *abuseLimits
	// signIns limits sign-in attempts per address and per email address;
	// signUps new accounts per address.
	signIns, signUps *limiter
	metrics          *metrics
	// node names this server among those sharing its store, in the
	// presence its hubs relay (relay.go), and relaySeq numbers their
	// messages, so that the others keep only the latest.
	node     string
	relaySeq atomic.Int64
}

// New returns a server on the given store. now is the clock (time.Now in
// production); log receives the server's logs.
func New(cfg Config, st store.Store, log *slog.Logger, now func() time.Time) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg:   cfg.withDefaults(),
		store: st,
		log:   log,
		now:   now,
		newID: uuid.NewString,
		node:  uuid.NewString(),
	}
	s.hubCfg = s.cfg.Hub
	s.transport = transport.New(transport.Options{
		MaxMessage:   s.cfg.MaxMessageBytes,
		Queue:        s.hubCfg.SendQueue,
		FirstRead:    s.hubCfg.silence(),
		NoPoll:       s.cfg.NoPoll,
		WriteTimeout: s.hubCfg.WriteTimeout,
		Log:          log,
	})
	s.render = newRenderCache(s.cfg.RenderCacheBytes)
	s.signIns = newLimiter(s.cfg.SignInsPerMinute, time.Minute)
	s.signUps = newLimiter(s.cfg.SignUpsPerHour, time.Hour)
	s.abuse = newAbuseLimits(s.cfg)
	s.reg.hubs = map[string]*Hub{}
	s.metrics = newMetrics(s)
	s.upgrader = websocket.Upgrader{
		// Reading is done by the connection itself (frames.go), so
		// gorilla's read buffer is never used: the smallest it allows.
		ReadBufferSize:  128,
		WriteBufferSize: 1024,
		// Idle connections hold no write buffer of their own.
		WriteBufferPool: &sync.Pool{},
		// Off: gorilla's read limit would count compressed bytes.
		EnableCompression: false,
		CheckOrigin:       s.originAllowed,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, status, "bad_upgrade", reason.Error())
		},
	}
	return s
}

// csp allows scripts and styles from this site only, plus the one inline
// style element of rendered pages (by its hash); images from this site,
// data: URLs and the sources the Secretariat lists (ImageSources), so
// that an image someone writes into a document cannot make readers'
// browsers call any server the writer likes.
func (s *Server) csp() string {
	img := "'self' data:"
	for _, src := range s.cfg.ImageSources {
		if src != "" && !strings.ContainsAny(src, ";,'\" \t\r\n") { // one source, never a directive
			img += " " + src
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' '" + editor.PageStyleHash + "'; img-src " + img +
		"; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
}

// secure adds the headers every response carries and refuses
// state-changing requests from origins not allowed.
func (s *Server) secure(next http.Handler) http.Handler {
	policy := s.csp()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !s.hostAllowed(r.Host) && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.URL.Path != "/metrics" {
			writeError(w, http.StatusMisdirectedRequest, "wrong_host", "this server does not answer for the host "+strconv.Quote(r.Host)+"; its operator lists the site's origins with --public-origin")
			return
		}
		r = s.identify(r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			// A body sent too slowly is cut off (headers are, by the
			// http.Server's ReadHeaderTimeout).
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
			if !s.originAllowed(r) {
				writeError(w, http.StatusForbidden, "forbidden_origin", "requests that change data must come from this site")
				return
			}
			if !s.csrfOK(w, r) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// orDefault is v, or def when v is 0 (-1 stays: no cap).
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// hostAllowed reports whether the server answers for host (a request's
// Host header): a host of PublicOrigins, or without them an IP address or
// localhost.
func (s *Server) hostAllowed(host string) bool {
	if len(s.cfg.PublicOrigins) > 0 {
		for _, o := range s.cfg.PublicOrigins {
			if u, err := url.Parse(o); err == nil && strings.EqualFold(u.Host, host) {
				return true
			}
		}
		return false
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return net.ParseIP(h) != nil || strings.EqualFold(h, "localhost")
}

// originAllowed reports whether a request's Origin (or, without one, its
// Sec-Fetch-Site) shows it came from this site or an allowed origin.
// Non-browser clients send neither and are allowed.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		site := r.Header.Get("Sec-Fetch-Site")
		return site == "" || site == "same-origin" || site == "none"
	}
	// This site's own origin: its scheme (https when reached over TLS, or
	// behind a proxy that says so, or configured with SecureCookies), its
	// host and port, exactly.
	scheme := "http://"
	if s.secureCookies(r) {
		scheme = "https://"
	}
	if strings.EqualFold(origin, scheme+r.Host) {
		return true
	}
	for _, list := range [][]string{s.cfg.AllowedOrigins, s.cfg.PublicOrigins} {
		for _, o := range list {
			if strings.EqualFold(o, origin) {
				return true
			}
		}
	}
	return false
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.shuttingDown.Load() {
		// A load balancer sends no new clients to a server draining.
		writeError(w, http.StatusServiceUnavailable, CodeShuttingDown, "the server is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "not_ready", "storage is not usable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// storeError answers a store or model error with the matching status.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	var limit *editor.LimitError
	var refusal *authority.Refusal
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s %q does not exist", what, r.PathValue("id")))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "exists", what+" already exists")
	case errors.As(err, &limit):
		if limit.TooLarge {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		} else {
			writeError(w, http.StatusUnprocessableEntity, "over_limit", err.Error())
		}
	case errors.As(err, &refusal):
		status := http.StatusBadRequest
		switch refusal.Code {
		case wire.CodeTooLarge:
			status = http.StatusRequestEntityTooLarge
		case wire.CodeUnknownSection:
			status = http.StatusNotFound
		case wire.CodeForbidden:
			status = http.StatusForbidden
		}
		writeError(w, status, refusal.Code, strings.TrimPrefix(refusal.Message, editor.ErrInvalid.Error()+": "))
	case errors.Is(err, editor.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, editor.ErrUnknownTemplate):
		writeError(w, http.StatusBadRequest, "unknown_template", err.Error())
	case errors.Is(err, errStore), errors.Is(err, errHubGone), errors.Is(err, errShuttingDown):
		writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the document cannot take changes right now; try again")
	case errors.Is(err, store.ErrCorrupt):
		s.log.Error("a stored record cannot be read", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "corrupt", fmt.Sprintf("%s %q is damaged in storage and cannot be read; it must be restored from a backup", what, r.PathValue("id")))
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error; see the server log")
	}
}
