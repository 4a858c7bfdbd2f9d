package collab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// People: accounts, sessions and who a request is.
//
// A session is a random token in an HttpOnly, SameSite cookie; the store
// keeps only its SHA-256, so a copy of the store signs nobody in. Every
// state-changing request of a signed-in browser carries the session's
// CSRF token (a form field or the X-CSRF-Token header). Passwords are
// kept as bcrypt hashes.

const (
	sessionCookie = "bpfdraft_session"
	// csrfHeader carries the CSRF token of JSON requests; forms send the
	// field csrfField.
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"
)

// Stakeholder groups a member of the public chooses from, in the
// multistakeholder sense of the IGF.
var StakeholderGroups = []string{"government", "civil society", "private sector", "technical community", "intergovernmental organisation", "academia", "other"}

// who is the person behind a request: their account and session, or
// neither.
type who struct {
	account *store.Account
	session *store.Session
}

type whoKey struct{}

// whoOf returns the person behind a request (see identify).
func whoOf(r *http.Request) who {
	w, _ := r.Context().Value(whoKey{}).(who)
	return w
}

// signedIn reports whether the request comes from a signed-in account.
func (w who) signedIn() bool { return w.account != nil }

// roleFor returns what the person is for the documents of a BPF.
func (s *Server) roleFor(ctx context.Context, w who, bpf string) (access.Role, error) {
	switch {
	case w.account == nil:
		return access.Anonymous, nil
	case w.account.Secretariat:
		return access.Secretariat, nil
	case bpf != "":
		ms, err := s.store.Memberships(ctx, w.account.ID)
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			if m.BPF == bpf {
				return access.Role(m.Role), nil
			}
		}
	}
	return access.Public, nil
}

// token returns a new random secret and the id the store keeps for it.
func token() (secret, id string) {
	var b [32]byte
	rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, tokenID(secret)
}

// tokenID is the store's id for a secret token: its SHA-256.
func tokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// identify finds the session of a request's cookie and puts who it is in
// the request's context; an unknown or expired cookie counts as none.
func (s *Server) identify(r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return r
	}
	sess, err := s.store.GetSession(r.Context(), tokenID(c.Value), s.now())
	if errors.Is(err, store.ErrExpired) {
		s.store.DeleteSession(r.Context(), tokenID(c.Value)) // expired: gone for good
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrExpired) {
			s.log.Warn("read a session", "err", err)
		}
		return r
	}
	acct, err := s.store.GetAccount(r.Context(), sess.Account)
	if err != nil || acct.Disabled {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), whoKey{}, who{account: acct, session: sess}))
}

// csrfOK checks that a state-changing request of a signed-in browser
// carries its session's CSRF token, answering a refusal itself. Requests
// without a session are not signed in and may do only what anyone may.
// A form's token is read from the form, which is parsed here (within the
// size any form may have, a draft to import being the largest).
func (s *Server) csrfOK(w http.ResponseWriter, r *http.Request) bool {
	sess := whoOf(r).session
	if sess == nil {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" || ct == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, s.formBytes())
			var err error
			if ct == "multipart/form-data" {
				err = r.ParseMultipartForm(1 << 20)
			} else {
				err = r.ParseForm()
			}
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the form is over the limit of %d bytes", s.formBytes()))
				return false
			case err != nil:
				writeError(w, http.StatusBadRequest, "invalid", "the form could not be read: send it again")
				return false
			}
			got = r.PostFormValue(csrfField)
		}
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
		writeError(w, http.StatusForbidden, "csrf", "this request does not carry the session's CSRF token (the X-CSRF-Token header, or the form's csrf field); reload the page and try again")
		return false
	}
	return true
}

// formBytes is the largest form body read: the import form, which holds
// a draft twice (the file and its text) and the rest.
func (s *Server) formBytes() int64 { return 2*s.cfg.MaxImportBytes + 1<<20 }

// startSession signs an account in: a new session (never the one the
// browser had: the id changes at sign-in) and its cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, acct *store.Account) (*store.Session, error) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		s.store.DeleteSession(ctx, tokenID(c.Value))
	}
	secret, id := token()
	csrf, _ := token()
	now := s.now()
	sess := &store.Session{ID: id, Account: acct.ID, Created: now, Expires: now.Add(s.cfg.SessionLifetime), CSRF: csrf}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: sess.Expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
	return sess, nil
}

// endSession signs the browser out.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		s.store.DeleteSession(ctx, tokenID(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r)})
}

// secureCookies: cookies are Secure when the server is reached over TLS
// (directly, or behind a proxy that says so) or configured to.
func (s *Server) secureCookies(r *http.Request) bool {
	return s.cfg.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// HashPassword returns the hash kept for a password.
func HashPassword(password string, cost int) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

// checkPassword states what a password must be.
func checkPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < 10:
		return fmt.Errorf("%w: a password has at least 10 characters", editor.ErrInvalid)
	case len(p) > 72:
		return fmt.Errorf("%w: a password has at most 72 bytes", editor.ErrInvalid)
	}
	return nil
}

// NewAccount checks and builds an account; the caller stores it.
func NewAccount(id, email, name, password string, cost int, now time.Time) (*store.Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if _, err := mailAddress(email); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 60 || strings.ContainsAny(name, "\r\n") {
		return nil, fmt.Errorf("%w: a name is one line of 1-60 characters", editor.ErrInvalid)
	}
	hash, err := HashPassword(password, cost)
	if err != nil {
		return nil, err
	}
	return &store.Account{ID: id, Email: email, Name: name, PasswordHash: hash, Created: now}, nil
}

func mailAddress(email string) (string, error) {
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 || len(email) > 254 || strings.ContainsAny(email, " \t\r\n<>\",") {
		return "", fmt.Errorf("%w: %q is not an email address", editor.ErrInvalid, email)
	}
	return email, nil
}

// errSignIn is the one answer to a failed sign-in, whatever failed, so it
// does not tell which accounts exist.
var errSignIn = errors.New("the email address or the password is not right")

// checkSignIn finds the account of an email and checks its password.
func (s *Server) checkSignIn(ctx context.Context, email, password string) (*store.Account, error) {
	acct, err := s.store.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as for a wrong password.
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return nil, errSignIn
	}
	if err != nil {
		return nil, err
	}
	if acct.Disabled || acct.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(acct.PasswordHash), []byte(password)) != nil {
		return nil, errSignIn
	}
	return acct, nil
}

// dummyHash is compared against when there is no account, made once
// when first needed (not at start: it takes a bcrypt's time).
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no account has this password"), bcrypt.DefaultCost)
	return h
})

// limiter counts attempts per key in fixed windows: at most max per
// window, the rest refused until the window ends. The server's clock
// decides, so tests control it.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, window: per, hits: map[string]*window{}}
}

// allow counts one attempt for key at now and reports whether it is
// within the limit; when not, how long until it is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.max < 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 100_000 {
		for k, w := range l.hits { // forget ended windows, bounding memory
			if now.Sub(w.start) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &window{start: now}
		l.hits[key] = w
	}
	if w.n >= l.max {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return true, 0
}

// clientAddress is the address a request comes from, for rate limits
// and the audit log (not for trust): the connection's, or behind a proxy
// the server is told to trust (TrustProxy), the last address of
// X-Forwarded-For, which that proxy added.
func (s *Server) clientAddress(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); a != "" {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooManyFailure is the refusal of a rate limit: 429 with Retry-After.
func tooManyFailure(wait time.Duration, what string) *failure {
	return &failure{status: http.StatusTooManyRequests, code: "rate_limited", retry: wait,
		msg: fmt.Sprintf("too many %s; try again in %d s", what, retrySeconds(wait))}
}

// retrySeconds is a wait in whole seconds, at least 1.
func retrySeconds(wait time.Duration) int { return max(1, int(wait.Seconds()+0.999)) }

// audit records what someone did; a failure to record is logged, and
// does not undo what was done.
func (s *Server) audit(ctx context.Context, r *http.Request, action, bpf, doc, detail string) {
	e := store.AuditEntry{Time: s.now().UTC(), Action: action, BPF: bpf, Doc: doc, Detail: detail}
	if r != nil {
		e.Address = s.clientAddress(r)
		if w := whoOf(r); w.account != nil {
			e.Account = w.account.ID
		}
	}
	if _, err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit log", "action", action, "err", err)
	}
}
