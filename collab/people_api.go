package collab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// accountView is an account as the API shows it: never its password
// hash.
type accountView struct {
	ID               string             `json:"id"`
	Email            string             `json:"email"`
	Name             string             `json:"name"`
	Secretariat      bool               `json:"secretariat,omitempty"`
	Affiliation      string             `json:"affiliation,omitempty"`
	StakeholderGroup string             `json:"stakeholder_group,omitempty"`
	Country          string             `json:"country,omitempty"`
	NamedInReport    bool               `json:"named_in_report"`
	ConductAccepted  time.Time          `json:"conduct_accepted,omitzero"`
	Teams            []store.Membership `json:"teams,omitempty"`
}

func viewOf(a *store.Account, teams []store.Membership) accountView {
	return accountView{ID: a.ID, Email: a.Email, Name: a.Name, Secretariat: a.Secretariat, Affiliation: a.Affiliation,
		StakeholderGroup: a.StakeholderGroup, Country: a.Country, NamedInReport: a.NamedInReport,
		ConductAccepted: a.ConductAccepted, Teams: teams}
}

type sessionView struct {
	Account *accountView `json:"account"`
	// CSRF is the token state-changing requests of this session carry in
	// the X-CSRF-Token header.
	CSRF string `json:"csrf,omitempty"`
}

// getSession says who the browser is signed in as, if anyone.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	if !wh.signedIn() {
		writeJSON(w, http.StatusOK, sessionView{})
		return
	}
	teams, err := s.store.Memberships(r.Context(), wh.account.ID)
	if err != nil {
		s.storeError(w, r, "account", err)
		return
	}
	v := viewOf(wh.account, teams)
	writeJSON(w, http.StatusOK, sessionView{Account: &v, CSRF: wh.session.CSRF})
}

type signInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signIn checks an email and password and starts a new session.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var req signInRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	acct, err := s.signInAttempt(r, req.Email, req.Password)
	if err != nil {
		s.refuse(w, r, "account", err)
		return
	}
	sess, err := s.startSession(r.Context(), w, r, acct)
	if err != nil {
		s.storeError(w, r, "session", err)
		return
	}
	teams, _ := s.store.Memberships(r.Context(), acct.ID)
	v := viewOf(acct, teams)
	writeJSON(w, http.StatusOK, sessionView{Account: &v, CSRF: sess.CSRF})
}

// failure is a refusal with its HTTP status and error code, which the API
// answers as JSON and a page shows in its error summary.
type failure struct {
	status int
	code   string
	msg    string
	// retry, for 429, is when to try again (Retry-After).
	retry time.Duration
}

func (f *failure) Error() string { return f.msg }

// refuse answers err: a failure as it says, anything else as storeError.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, what string, err error) {
	var f *failure
	if !errors.As(err, &f) {
		s.storeError(w, r, what, err)
		return
	}
	if f.retry > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(retrySeconds(f.retry)))
	}
	writeError(w, f.status, f.code, f.msg)
}

// signInAttempt rate-limits and checks a sign-in, recording it in the
// audit log. A refusal is a *failure.
func (s *Server) signInAttempt(r *http.Request, email, password string) (*store.Account, error) {
	now := s.now()
	email = strings.ToLower(strings.TrimSpace(email))
	for _, key := range []string{"address " + s.clientAddress(r), "email " + email} {
		if ok, wait := s.signIns.allow(key, now); !ok {
			return nil, tooManyFailure(wait, "sign-in attempts")
		}
	}
	acct, err := s.checkSignIn(r.Context(), email, password)
	if errors.Is(err, errSignIn) {
		s.audit(r.Context(), r, "sign-in refused", "", "", email)
		return nil, &failure{status: http.StatusUnauthorized, code: "sign_in", msg: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	s.audit(r.Context(), r.WithContext(withWho(r, acct)), "sign-in", "", "", "")
	return acct, nil
}

// signOut ends this browser's session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	s.endSession(r.Context(), w, r)
	if wh := whoOf(r); wh.signedIn() {
		s.audit(r.Context(), r, "sign-out", "", "", "")
	}
	w.WriteHeader(http.StatusNoContent)
}

// signOutEverywhere ends every session of the account.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	n, err := s.store.DeleteSessions(r.Context(), whoOf(r).account.ID)
	if err != nil {
		s.storeError(w, r, "session", err)
		return
	}
	s.endSession(r.Context(), w, r)
	s.revokeAccount(whoOf(r).account.ID)
	s.audit(r.Context(), r, "sign-out everywhere", "", "", fmt.Sprintf("%d sessions", n))
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
}

// registerRequest is what a member of the public says of themselves.
type registerRequest struct {
	Email            string `json:"email"`
	Password         string `json:"password"`
	Name             string `json:"name"`
	Affiliation      string `json:"affiliation"`
	StakeholderGroup string `json:"stakeholder_group"`
	Country          string `json:"country"`
	NamedInReport    bool   `json:"named_in_report"`
	AcceptConduct    bool   `json:"accept_code_of_conduct"`
}

// register makes an account for a member of the public and signs it in.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	acct, err := s.registerAccount(r, req)
	if err != nil {
		s.refuse(w, r, "account", err)
		return
	}
	sess, err := s.startSession(r.Context(), w, r, acct)
	if err != nil {
		s.storeError(w, r, "session", err)
		return
	}
	v := viewOf(acct, nil)
	writeJSON(w, http.StatusCreated, sessionView{Account: &v, CSRF: sess.CSRF})
}

// registerAccount rate-limits, checks and stores a public account.
func (s *Server) registerAccount(r *http.Request, req registerRequest) (*store.Account, error) {
	if ok, wait := s.signUps.allow("address "+s.clientAddress(r), s.now()); !ok {
		return nil, tooManyFailure(wait, "sign-ups from this address")
	}
	acct, err := s.newPublicAccount(req)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateAccount(r.Context(), acct); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, &failure{status: http.StatusConflict, code: "exists", msg: "an account with this email address exists; sign in instead"}
		}
		return nil, err
	}
	s.audit(r.Context(), r.WithContext(withWho(r, acct)), "register", "", "", acct.StakeholderGroup)
	return acct, nil
}

// newPublicAccount checks what a member of the public gave and builds
// their account.
func (s *Server) newPublicAccount(req registerRequest) (*store.Account, error) {
	if !req.AcceptConduct {
		return nil, fmt.Errorf("%w: taking part means accepting the IGF Code of Conduct", editor.ErrInvalid)
	}
	if !slices.Contains(StakeholderGroups, req.StakeholderGroup) {
		return nil, fmt.Errorf("%w: the stakeholder group is one of %s", editor.ErrInvalid, strings.Join(StakeholderGroups, ", "))
	}
	country := strings.TrimSpace(req.Country)
	if country == "" || len(country) > 80 || strings.ContainsAny(country, "\r\n") {
		return nil, fmt.Errorf("%w: the country is one line of at most 80 bytes", editor.ErrInvalid)
	}
	affiliation := strings.TrimSpace(req.Affiliation)
	if len(affiliation) > 200 || strings.ContainsAny(affiliation, "\r\n") {
		return nil, fmt.Errorf("%w: the affiliation is one line of at most 200 bytes", editor.ErrInvalid)
	}
	now := s.now().UTC()
	acct, err := NewAccount(s.newID(), req.Email, req.Name, req.Password, s.cfg.PasswordCost, now)
	if err != nil {
		return nil, err
	}
	acct.Affiliation, acct.StakeholderGroup, acct.Country = affiliation, req.StakeholderGroup, country
	acct.NamedInReport, acct.ConductAccepted = req.NamedInReport, now
	return acct, nil
}

// workflowRequest changes a document's workflow; what it leaves out
// stays as it is (the stage, the window, the flags), except that the text
// is no longer frozen once public comment is over.
type workflowRequest struct {
	Stage       editor.Stage `json:"stage"`
	Opens       time.Time    `json:"opens,omitzero"`
	Closes      time.Time    `json:"closes,omitzero"`
	Frozen      *bool        `json:"frozen"`
	PublicDraft *bool        `json:"public_draft"`
	// Correction, on a final document, publishes the text as it now is as
	// a correction of the final output, kept under this note.
	Correction string `json:"correction,omitempty"`
}

// setWorkflow moves a document through its stages (the Secretariat);
// opening public comment without a window takes the BPF's default one.
// What is published is kept as a named version.
func (s *Server) setWorkflow(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req workflowRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	doc, err := s.changeWorkflow(r, d, req)
	if err != nil {
		s.refuse(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusOK, doc.Workflow)
}

// publishedDocument returns what the public reads of a document: the
// version published with its current stage.
func (s *Server) publishedDocument(r *http.Request, doc *editor.Document) (*editor.Document, error) {
	if doc.Workflow.Published == 0 {
		return nil, fmt.Errorf("document %s: nothing published: %w", doc.ID, store.ErrNotFound)
	}
	return s.store.GetVersion(r.Context(), doc.ID, doc.Workflow.Published)
}

// withWho returns a context in which the request is from acct (for the
// audit log of a sign-in or a sign-up, before the session's cookie is
// back).
func withWho(r *http.Request, acct *store.Account) context.Context {
	return context.WithValue(r.Context(), whoKey{}, who{account: acct})
}

// accessView is what a person may do to a document now: their role, the
// stage and the comment window by the server's clock, and the actions
// of the permission matrix open to them.
type accessView struct {
	Role   access.Role     `json:"role"`
	Stage  editor.Stage    `json:"stage"`
	Now    time.Time       `json:"now"`
	Window *windowView     `json:"window,omitempty"`
	Can    []access.Action `json:"can"`
}

type windowView struct {
	Opens  time.Time `json:"opens"`
	Closes time.Time `json:"closes"`
	Open   bool      `json:"open"`
}

// docAccess answers what the person may do to a document; one who may
// not read it at all gets 404.
func (s *Server) docAccess(w http.ResponseWriter, r *http.Request) {
	doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	if !s.readable(r.Context(), whoOf(r), doc) {
		writeError(w, http.StatusNotFound, "not_found", "document \""+doc.ID+"\" does not exist or is not published")
		return
	}
	role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
	if err != nil {
		s.storeError(w, r, "account", err)
		return
	}
	now := s.now()
	c := authority.ContextOf(doc, now)
	v := accessView{Role: role, Stage: c.Stage, Now: now.UTC(), Can: []access.Action{}}
	if wf := doc.Workflow; !wf.Opens.IsZero() {
		v.Window = &windowView{Opens: wf.Opens, Closes: wf.Closes, Open: c.WindowOpen}
	}
	for _, a := range access.Actions {
		if access.Check(role, a, c) == nil {
			v.Can = append(v.Can, a)
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// getPublished answers the version of a document that is published: the
// one opened for public comment, then the final output.
func (s *Server) getPublished(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc, err := s.publishedDocument(r, d.doc)
	if err != nil {
		s.storeError(w, r, "published version of document", err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}
