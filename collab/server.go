package collab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/transport"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/frontend"
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
	s.reg.hubs = map[string]*Hub{}
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

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)

	mux.HandleFunc("GET /api/templates", s.listTemplates)
	mux.HandleFunc("GET /api/templates/{name}", s.getTemplate)
	mux.HandleFunc("POST /api/bpfs", s.createBPF)
	mux.HandleFunc("GET /api/bpfs", s.listBPFs)
	mux.HandleFunc("GET /api/bpfs/{id}", s.getBPF)
	mux.HandleFunc("POST /api/documents", s.createDocument)
	mux.HandleFunc("POST /api/documents/import", s.importDocument)
	mux.HandleFunc("GET /api/documents", s.listDocuments)
	mux.HandleFunc("GET /api/documents/{id}", s.getDocument)
	mux.HandleFunc("GET /api/documents/{id}/completeness", s.completeness)
	mux.HandleFunc("GET /api/documents/{id}/render", s.renderDocument)
	mux.HandleFunc("GET /api/documents/{id}/export", s.exportDocument)
	mux.HandleFunc("POST /api/documents/{id}/sections", s.addSection)
	mux.HandleFunc("GET /api/documents/{id}/ws", s.serveWS)
	mux.HandleFunc("GET /api/documents/{id}/history", s.history)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})

	mux.HandleFunc("GET /d/{id}", s.readingView)
	mux.HandleFunc("GET /import", s.importPage)
	mux.HandleFunc("POST /import", s.importPost)
	mux.HandleFunc("GET /assets/import.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, importScript)
	})
	mux.HandleFunc("GET /edit/{id}", s.editView)
	mux.Handle("GET /static/", frontend.Assets())
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /assets/page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, editor.PageCSS)
	})
	return s.secure(mux)
}

// csp allows scripts and styles from this site only, plus the one inline
// style element of rendered pages (by its hash); images may come from
// https sources the writers linked.
var csp = "default-src 'self'; script-src 'self'; style-src 'self' '" + editor.PageStyleHash + "'; img-src 'self' https: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// secure adds the headers every response carries and refuses
// state-changing requests from origins not allowed.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			if !s.originAllowed(r) {
				writeError(w, http.StatusForbidden, "forbidden_origin", "requests that change data must come from this site")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
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
	if origin == "http://"+r.Host || origin == "https://"+r.Host {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
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
	case errors.Is(err, editor.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, editor.ErrUnknownTemplate):
		writeError(w, http.StatusBadRequest, "unknown_template", err.Error())
	case errors.As(err, &refusal):
		status := http.StatusBadRequest
		switch refusal.Code {
		case wire.CodeTooLarge:
			status = http.StatusRequestEntityTooLarge
		case wire.CodeUnknownSection:
			status = http.StatusNotFound
		}
		writeError(w, status, refusal.Code, refusal.Message)
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
