package loadgen

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

// TestSignIn: a session signed in with SignIn makes a document through
// the run's API calls (cookie and CSRF token) and opens light viewers
// (cookie); without it the same calls are refused, with the server's
// status and message in the error.
func TestSignIn(t *testing.T) {
	env := collabtest.New(t, collab.Config{})
	tr := &http.Transport{DialContext: dialLoopback}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	s, err := SignIn(t.Context(), hc, env.URL, env.Account.Email, env.Password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Cookie, SessionCookie+"=") || s.CSRF == "" {
		t.Fatalf("session %+v; want a cookie and a CSRF token", s)
	}
	signedIn := &run{base: env.URL, httpc: hc, session: s}
	id, err := signedIn.createDocument(t.Context())
	if err != nil {
		t.Fatalf("creating a document signed in: %v", err)
	}
	d := &websocket.Dialer{NetDialContext: dialLoopback}
	v, err := dialLight(t.Context(), d, env.URL, id, "viewer", s.SocketHeader(), func(string) {})
	if err != nil {
		t.Fatalf("a light viewer with the cookie: %v", err)
	}
	v.close()

	anonymous := &run{base: env.URL, httpc: hc}
	var ae *APIError
	if _, err := anonymous.createDocument(t.Context()); !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.Code != "sign_in" {
		t.Errorf("creating a document anonymously: %v; want 401 sign_in", err)
	}
	if _, err := anonymous.getDocument(t.Context(), id); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("reading an unpublished document anonymously: %v; want 404", err)
	}
	if _, err := dialLight(t.Context(), d, env.URL, id, "viewer", nil, func(string) {}); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("a light viewer without the cookie: %v; want 404", err)
	}
	// The cookie without the CSRF token does not change anything.
	noToken := &run{base: env.URL, httpc: hc, session: Session{Cookie: s.Cookie}}
	if _, err := noToken.createDocument(t.Context()); !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Code != "csrf" {
		t.Errorf("creating a document without the CSRF token: %v; want 403 csrf", err)
	}
}

// TestRunSignInRefused: a run whose sign-in fails stops there, with an
// error naming the status and the server's message; one given an email
// without a password does not start.
func TestRunSignInRefused(t *testing.T) {
	env := collabtest.New(t, collab.Config{})
	_, err := Run(t.Context(), Config{Server: env.URL, Email: env.Account.Email, Password: "not the password", Duration: time.Second})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Run with a wrong password: %v; want a 401", err)
	}
	for _, want := range []string{"signing in as " + env.Account.Email, "401", ae.Message} {
		if ae.Message == "" || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q; want it to say %q", err, want)
		}
	}
	if _, err := Run(t.Context(), Config{Server: env.URL, Email: env.Account.Email, Duration: time.Second}); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Errorf("Run without a password: %v; want it refused", err)
	}
}

// TestAPIError: a JSON error is read into its code and message, with the
// Retry-After of a refusal for too many attempts.
func TestAPIError(t *testing.T) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "too_many", "message": "too many sign-in attempts"}})
	resp := &http.Response{Status: "429 Too Many Requests", StatusCode: 429, Header: http.Header{"Retry-After": {"12"}}}
	e := apiErrorOf("POST", "/api/session", resp, body)
	if e.Code != "too_many" || e.Message != "too many sign-in attempts" || e.RetryAfter != "12" {
		t.Fatalf("%+v", e)
	}
	if got, want := e.Error(), "POST /api/session: 429 Too Many Requests: too many sign-in attempts (too_many); retry after 12 seconds"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	resp = &http.Response{Status: "502 Bad Gateway", StatusCode: 502, Header: http.Header{}}
	if got, want := apiErrorOf("GET", "/x", resp, []byte("<html>proxy</html>")).Error(), "GET /x: 502 Bad Gateway: <html>proxy</html>"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
