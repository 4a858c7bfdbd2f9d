package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// SessionCookie is the name of the server's session cookie.
const SessionCookie = "bpfdraft_session"

// Session is a signed-in session of the server's API: its cookie and the
// CSRF token that state-changing requests carry besides it.
type Session struct {
	// Cookie is the session cookie as a Cookie header sends it
	// ("bpfdraft_session=VALUE"); empty for no session.
	Cookie string
	// CSRF is the session's token for the X-CSRF-Token header.
	CSRF string
}

// Header returns the headers an API request of the session carries: the
// cookie and the CSRF token (none for the zero Session).
func (s Session) Header() http.Header {
	h := http.Header{}
	if s.Cookie != "" {
		h.Set("Cookie", s.Cookie)
		h.Set("X-CSRF-Token", s.CSRF)
	}
	return h
}

// SocketHeader returns the headers a websocket handshake of the session
// carries: the cookie (none for the zero Session).
func (s Session) SocketHeader() http.Header {
	h := http.Header{}
	if s.Cookie != "" {
		h.Set("Cookie", s.Cookie)
	}
	return h
}

// APIError is an answer of the server's API other than the one expected.
type APIError struct {
	Method, Path string
	// Status is the HTTP status ("401 Unauthorized"), StatusCode its code.
	Status     string
	StatusCode int
	// Code and Message are the server's error code and message, when its
	// answer was a JSON error ({"error":{"code":...,"message":...}});
	// otherwise Message is the start of the answer.
	Code, Message string
	// RetryAfter is the Retry-After header of a 429 or 503, if any.
	RetryAfter string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Method, e.Path, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.RetryAfter != "" {
		fmt.Fprintf(&b, "; retry after %s seconds", e.RetryAfter)
	}
	return b.String()
}

// apiErrorOf reads the error of an unexpected answer whose body is data.
func apiErrorOf(method, path string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.Status, StatusCode: resp.StatusCode,
		RetryAfter: resp.Header.Get("Retry-After")}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error.Code != "" || body.Error.Message != "") {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	return e
}

// SignIn signs in to the server at base (its URL) as email through hc
// (nil: http.DefaultClient) and returns the session. A refusal is an
// error naming the status and the server's message (an *APIError
// underneath).
func SignIn(ctx context.Context, hc *http.Client, base, email, password string) (Session, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	if email == "" || password == "" {
		return Session{}, errors.New("signing in needs an email address and a password")
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	const path = "/api/session"
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return Session{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Session{}, fmt.Errorf("signing in as %s: %w", email, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Session{}, fmt.Errorf("signing in as %s: %w", email, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Session{}, fmt.Errorf("signing in as %s: %w", email, apiErrorOf("POST", path, resp, data))
	}
	var out struct {
		CSRF string `json:"csrf"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return Session{}, fmt.Errorf("signing in as %s: reading the answer: %w", email, err)
	}
	var s Session
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			s.Cookie = c.Name + "=" + c.Value
		}
	}
	if s.Cookie == "" || out.CSRF == "" {
		return Session{}, fmt.Errorf("signing in as %s: the server's answer has no session cookie %s or no CSRF token", email, SessionCookie)
	}
	s.CSRF = out.CSRF
	return s, nil
}
