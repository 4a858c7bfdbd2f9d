package collab

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// The pages of people: sign in, register, sign out, join a team. They
// are forms that work without script, in the one layout, after the
// GOV.UK Design System: labels above fields, an error summary on top
// linking to the field at fault.

// layout is the one layout of the server's pages, with the site's header
// for the person behind the request.
func (s *Server) layout(r *http.Request, title string, content any) editor.Layout {
	l := editor.Layout{Title: title + " — bpfdraft", Content: content, Nav: &editor.Nav{}}
	if wh := whoOf(r); wh.signedIn() {
		l.Nav.Name, l.Nav.Secretariat = wh.account.Name, wh.account.Secretariat
		if wh.session != nil {
			l.Nav.CSRF, l.CSRF = wh.session.CSRF, wh.session.CSRF
		}
	}
	return l
}

// page writes a server page with status.
func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, t *template.Template, title string, content any) {
	w.Header().Set("Cache-Control", "no-store")
	s.writePageStatus(w, status, t, s.layout(r, title, content))
}

// formError is a form's error summary: the message and the id of the
// field it is about.
type formError struct {
	Error, ErrorFor string
}

// errorSummary is the summary every form shows on top when it has an
// error; the content templates include it with {{template "errors" .}}
// on their form's data.
const errorSummary = `{{define "errors"}}{{if .Error}}<div class="error-summary" role="alert" aria-labelledby="error-title" tabindex="-1">
<h2 id="error-title">There is a problem</h2>
<p><a href="#{{or .ErrorFor "main"}}">{{.Error}}</a></p>
</div>
{{end}}{{end}}`

// csrfInput is the hidden field of every form that changes something.
const csrfInput = `{{define "csrf"}}{{with .}}<input type="hidden" name="csrf" value="{{.}}">{{end}}{{end}}`

// formPage makes a page template with the error summary and the CSRF
// field available.
func formPage(content string) *template.Template {
	return template.Must(template.Must(editor.PageTemplate(content, pageFuncs)).Parse(errorSummary + csrfInput))
}

// messageOf is what a person is told of an error: the failure's message,
// or for anything unexpected a sentence that blames nobody.
func (s *Server) messageOf(r *http.Request, err error) string {
	var f *failure
	var refusal *authority.Refusal
	var limit *editor.LimitError
	switch {
	case errors.As(err, &f):
		return upperFirst(f.msg)
	case errors.As(err, &limit):
		return upperFirst(limit.Error())
	case errors.As(err, &refusal):
		return upperFirst(strings.TrimPrefix(refusal.Message, editor.ErrInvalid.Error()+": "))
	case errors.Is(err, editor.ErrInvalid), errors.Is(err, editor.ErrUnknownTemplate):
		return upperFirst(strings.TrimPrefix(err.Error(), editor.ErrInvalid.Error()+": "))
	}
	s.log.Error("page request failed", "path", r.URL.Path, "err", err)
	return "Something went wrong on our side; try again in a moment"
}

func statusOf(err error) int {
	var f *failure
	var refusal *authority.Refusal
	var limit *editor.LimitError
	switch {
	case errors.As(err, &f):
		return f.status
	case errors.As(err, &limit):
		if limit.TooLarge {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusUnprocessableEntity
	case errors.As(err, &refusal):
		switch refusal.Code {
		case wire.CodeForbidden:
			return http.StatusForbidden
		case wire.CodeTooLarge:
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, editor.ErrInvalid), errors.Is(err, editor.ErrUnknownTemplate):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// safeNext is where to go after signing in: a path on this site, never
// another site ("//evil.example" or "/\evil.example").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

type signInForm struct {
	formError
	Email, Next string
}

var signInPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<h1>Sign in</h1>
<form method="post" action="/sign-in" novalidate>
{{template "csrf" $csrf}}<input type="hidden" name="next" value="{{.Next}}">
<div class="form-group"><label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="email" spellcheck="false" size="40"></div>
<div class="form-group"><label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" size="40"></div>
<button type="submit" class="button">Sign in</button>
</form>
<p>No account yet? <a href="/register">Register to comment</a>. Members of a BPF's team join through the link the Secretariat sends them.</p>
</main>{{end}}{{end}}`)

func (s *Server) signInPageGet(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusOK, signInPage, "Sign in", &signInForm{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) signInPagePost(w http.ResponseWriter, r *http.Request) {
	f := &signInForm{Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	acct, err := s.signInAttempt(r, f.Email, r.PostFormValue("password"))
	if err == nil {
		_, err = s.startSession(r.Context(), w, r, acct)
	}
	if err != nil {
		var fl *failure
		if errors.As(err, &fl) && fl.retry > 0 {
			w.Header().Set("Retry-After", itoa(retrySeconds(fl.retry)))
		}
		f.Error, f.ErrorFor = s.messageOf(r, err), "email"
		s.page(w, r, statusOf(err), signInPage, "Sign in", f)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// signOutPage signs the browser out and goes home.
func (s *Server) signOutPage(w http.ResponseWriter, r *http.Request) {
	if wh := whoOf(r); wh.signedIn() {
		s.audit(r.Context(), r, "sign-out", "", "", "")
	}
	s.endSession(r.Context(), w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type registerForm struct {
	formError
	registerRequest
	Groups []string
	Next   string
}

var registerPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}<h1>Register to comment</h1>
<p>Anyone may comment on a Best Practice Forum's draft while it is open for public comment. Tell us who you are: comments are published with the stakeholder group of their author, and with your name only if you agree.</p>
<form method="post" action="/register" novalidate>
{{template "csrf" $csrf}}<input type="hidden" name="next" value="{{.Next}}">
<div class="form-group"><label for="name">Your name</label><p class="hint" id="name-hint">As others will see it.</p>
<input type="text" id="name" name="name" value="{{.Name}}" autocomplete="name" aria-describedby="name-hint" size="40"></div>
<div class="form-group"><label for="email">Email address</label><p class="hint" id="email-hint">You sign in with it; it is never shown to others.</p>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="email" spellcheck="false" aria-describedby="email-hint" size="40"></div>
<div class="form-group"><label for="password">Password</label><p class="hint" id="password-hint">At least 10 characters.</p>
<input type="password" id="password" name="password" autocomplete="new-password" aria-describedby="password-hint" size="40"></div>
<div class="form-group"><label for="affiliation">Affiliation (optional)</label>
<input type="text" id="affiliation" name="affiliation" value="{{.Affiliation}}" autocomplete="organization" size="40"></div>
<div class="form-group"><fieldset><legend>Stakeholder group</legend>
{{$g := .StakeholderGroup}}{{range $i, $x := .Groups}}<div class="checkbox"><input type="radio" id="stakeholder_group{{if $i}}-{{$i}}{{end}}" name="stakeholder_group" value="{{$x}}"{{if eq $x $g}} checked{{end}}><label for="stakeholder_group{{if $i}}-{{$i}}{{end}}">{{$x}}</label></div>
{{end}}</fieldset></div>
<div class="form-group"><label for="country">Country</label>
<input type="text" id="country" name="country" value="{{.Country}}" autocomplete="country-name" size="30"></div>
<div class="form-group checkbox"><input type="checkbox" id="named_in_report" name="named_in_report" value="yes"{{if .NamedInReport}} checked{{end}}><label for="named_in_report">I agree to be named in the published report, next to my comments</label></div>
<div class="form-group checkbox"><input type="checkbox" id="accept_code_of_conduct" name="accept_code_of_conduct" value="yes"><label for="accept_code_of_conduct">I accept the <a href="https://www.intgovforum.org/en/content/igf-code-of-conduct">IGF Code of Conduct</a></label></div>
<button type="submit" class="button">Register</button>
</form>
<p>Already registered? <a href="/sign-in">Sign in</a>.</p>
</main>{{end}}{{end}}`)

func (s *Server) registerPageGet(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusOK, registerPage, "Register", &registerForm{Groups: StakeholderGroups, Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) registerPagePost(w http.ResponseWriter, r *http.Request) {
	f := &registerForm{Groups: StakeholderGroups, Next: safeNext(r.PostFormValue("next")), registerRequest: registerRequest{
		Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		Affiliation: r.PostFormValue("affiliation"), StakeholderGroup: r.PostFormValue("stakeholder_group"),
		Country: r.PostFormValue("country"), NamedInReport: r.PostFormValue("named_in_report") == "yes",
		AcceptConduct: r.PostFormValue("accept_code_of_conduct") == "yes"}}
	acct, err := s.registerAccount(r, f.registerRequest)
	if err == nil {
		_, err = s.startSession(r.Context(), w, r, acct)
	}
	if err != nil {
		f.Password = ""
		f.Error, f.ErrorFor = s.messageOf(r, err), registerField(err)
		s.page(w, r, statusOf(err), registerPage, "Register", f)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// registerField guesses the field an error of registration is about.
func registerField(err error) string {
	msg := err.Error()
	for _, f := range []struct{ word, id string }{{"password", "password"}, {"email", "email"}, {"name", "name"},
		{"Code of Conduct", "accept_code_of_conduct"}, {"stakeholder", "stakeholder_group"}, {"country", "country"}, {"affiliation", "affiliation"}} {
		if strings.Contains(msg, f.word) {
			return f.id
		}
	}
	return "name"
}

type joinForm struct {
	formError
	Token     string
	Role      string
	BPFName   string
	Setup     bool
	SignedIn  string
	Name      string
	Email     string
	Closed    string
	NextQuery string
}

var joinPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{template "errors" .}}{{if .Setup}}<h1>Set up bpfdraft</h1>
<p>Make the first account of the Secretariat, the neutral editor that steers every Best Practice Forum's documents. This link works once.</p>{{else}}<h1>Join the team of {{.BPFName}}</h1>
<p>You are invited as <strong>{{.Role}}</strong> of this Best Practice Forum: you will write its documents with the rest of the team.</p>{{end}}
{{if .Closed}}<div class="inset"><p>{{.Closed}}</p></div>
{{else if .SignedIn}}<form method="post" action="/join/{{.Token}}" novalidate>{{template "csrf" $csrf}}
<p>You are signed in as {{.SignedIn}}.</p>
<button type="submit" class="button">{{if .Setup}}Become the Secretariat{{else}}Join as {{.SignedIn}}{{end}}</button>
</form>{{else}}<form method="post" action="/join/{{.Token}}" novalidate>{{template "csrf" $csrf}}
<div class="form-group"><label for="name">Your name</label><p class="hint" id="name-hint">As others will see it.</p>
<input type="text" id="name" name="name" value="{{.Name}}" autocomplete="name" aria-describedby="name-hint" size="40"></div>
<div class="form-group"><label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="email" spellcheck="false" size="40"></div>
<div class="form-group"><label for="password">Password</label><p class="hint" id="password-hint">At least 10 characters.</p>
<input type="password" id="password" name="password" autocomplete="new-password" aria-describedby="password-hint" size="40"></div>
<button type="submit" class="button">Create my account and join</button>
</form>
<p>Have an account already? <a href="/sign-in?{{.NextQuery}}">Sign in first</a>, then open this link again.</p>{{end}}
</main>{{end}}{{end}}`)

// joinForm looks up the invitation of a link; Closed says why it cannot
// be taken, when it cannot.
func (s *Server) joinFormFor(r *http.Request) (*joinForm, int) {
	secret := r.PathValue("token")
	f := &joinForm{Token: secret, NextQuery: url.Values{"next": {"/join/" + secret}}.Encode()}
	if wh := whoOf(r); wh.signedIn() {
		f.SignedIn = wh.account.Name
	}
	inv, err := s.store.GetInvitation(r.Context(), tokenID(secret))
	if err != nil {
		f.Closed = "There is no such invitation: check the link, or ask the Secretariat for a new one."
		return f, http.StatusNotFound
	}
	f.Role, f.Setup = inv.Role, inv.Role == string(access.Secretariat)
	if b, err := s.store.GetBPF(r.Context(), inv.BPF); err == nil {
		f.BPFName = b.Name
	}
	switch invitationState(inv, s.now()) {
	case "accepted":
		f.Closed = "This invitation has been used already. Ask the Secretariat for a new one if you need it."
		return f, http.StatusGone
	case "expired", "revoked":
		f.Closed = "This invitation has expired or was withdrawn. Ask the Secretariat for a new one."
		return f, http.StatusGone
	}
	return f, http.StatusOK
}

func (s *Server) joinPageGet(w http.ResponseWriter, r *http.Request) {
	f, status := s.joinFormFor(r)
	s.page(w, r, status, joinPage, "Join", f)
}

// joinPagePost accepts an invitation: as the signed-in account, or as a
// new one made from the form (which is then signed in).
func (s *Server) joinPagePost(w http.ResponseWriter, r *http.Request) {
	f, status := s.joinFormFor(r)
	if f.Closed != "" {
		s.page(w, r, status, joinPage, "Join", f)
		return
	}
	acct := whoOf(r).account
	var err error
	if acct == nil {
		f.Name, f.Email = r.PostFormValue("name"), r.PostFormValue("email")
		if ok, wait := s.signUps.allow("address "+s.clientAddress(r), s.now()); !ok {
			err = tooManyFailure(wait, "sign-ups from this address")
		}
	}
	if acct == nil && err == nil {
		acct, err = NewAccount(s.newID(), f.Email, f.Name, r.PostFormValue("password"), s.cfg.PasswordCost, s.now().UTC())
		if err == nil {
			if err = s.store.CreateAccount(r.Context(), acct); errors.Is(err, store.ErrExists) {
				err = &failure{status: http.StatusConflict, code: "exists", msg: "an account with this email address exists: sign in first, then open this link again"}
			}
		}
	}
	if err == nil {
		_, err = s.acceptInvitation(r, f.Token, acct)
	}
	if err == nil && !whoOf(r).signedIn() {
		_, err = s.startSession(r.Context(), w, r, acct)
	}
	if err != nil {
		f.Error, f.ErrorFor = s.messageOf(r, err), registerField(err)
		s.page(w, r, statusOf(err), joinPage, "Join", f)
		return
	}
	next := "/"
	if acct.Secretariat {
		next = "/dashboard"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type accountData struct {
	Account *store.Account
	Teams   []teamRow
	Done    string
}

type teamRow struct{ BPF, Name, Role string }

var accountPage = formPage(`{{define "content"}}{{$csrf := .CSRF}}{{with .Content}}<main class="bpf-doc" id="main">
{{with .Done}}<div class="panel" role="status"><p>{{.}}</p></div>
{{end}}<h1>Your account</h1>
<table class="data"><tbody>
<tr><th scope="row">Name</th><td>{{.Account.Name}}</td></tr>
<tr><th scope="row">Email address</th><td>{{.Account.Email}}</td></tr>
{{if .Account.Secretariat}}<tr><th scope="row">Role</th><td>Secretariat</td></tr>{{end}}
{{range .Teams}}<tr><th scope="row">Team</th><td>{{.Role}} of {{.Name}}</td></tr>{{end}}
{{with .Account.StakeholderGroup}}<tr><th scope="row">Stakeholder group</th><td>{{.}}</td></tr>{{end}}
{{with .Account.Affiliation}}<tr><th scope="row">Affiliation</th><td>{{.}}</td></tr>{{end}}
{{with .Account.Country}}<tr><th scope="row">Country</th><td>{{.}}</td></tr>{{end}}
{{if not .Account.ConductAccepted.IsZero}}<tr><th scope="row">IGF Code of Conduct</th><td>accepted on {{utc .Account.ConductAccepted}}</td></tr>{{end}}
{{if not .Account.Secretariat}}{{if not .Teams}}<tr><th scope="row">Named in the report</th><td>{{if .Account.NamedInReport}}yes{{else}}no{{end}}</td></tr>{{end}}{{end}}
</tbody></table>
<h2>Sessions</h2>
<p>If you signed in on a computer that is not yours, or think someone else may have, sign out on every browser at once.</p>
<form method="post" action="/account/sign-out-everywhere">{{template "csrf" $csrf}}<button type="submit" class="button button-secondary">Sign out everywhere</button></form>
</main>{{end}}{{end}}`)

func (s *Server) accountData(r *http.Request) *accountData {
	acct := whoOf(r).account
	d := &accountData{Account: acct}
	if ms, err := s.store.Memberships(r.Context(), acct.ID); err == nil {
		for _, m := range ms {
			row := teamRow{BPF: m.BPF, Name: m.BPF, Role: m.Role}
			if b, err := s.store.GetBPF(r.Context(), m.BPF); err == nil {
				row.Name = b.Name
			}
			d.Teams = append(d.Teams, row)
		}
	}
	return d
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusOK, accountPage, "Your account", s.accountData(r))
}

// signOutEverywherePage ends every session of the account, this one
// included, and goes home.
func (s *Server) signOutEverywherePage(w http.ResponseWriter, r *http.Request) {
	n, err := s.store.DeleteSessions(r.Context(), whoOf(r).account.ID)
	if err != nil {
		d := s.accountData(r)
		d.Done = s.messageOf(r, err)
		s.page(w, r, http.StatusInternalServerError, accountPage, "Your account", d)
		return
	}
	s.endSession(r.Context(), w, r)
	s.revokeAccount(whoOf(r).account.ID)
	s.audit(r.Context(), r, "sign-out everywhere", "", "", fmt.Sprintf("%d sessions", n))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
