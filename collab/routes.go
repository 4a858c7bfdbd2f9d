package collab

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/frontend"
)

// Handler returns the HTTP handler with every route. Each route says
// what it takes to use it, in one of four ways, and nothing else checks
// permissions on the way in (the document's authority checks its
// commands again, against the document as it is when they run):
//
//   - open: anyone;
//   - signedIn: an account;
//   - onDocument(action): the person's role for the document's BPF may
//     do action to the document as it stands (access.Check);
//   - anywhere(action): the person's role outside any BPF may do action.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	open := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, h) }
	doc := func(pattern string, a access.Action, h func(http.ResponseWriter, *http.Request, docRequest)) {
		mux.HandleFunc(pattern, s.onDocument(a, h))
	}
	anywhere := func(pattern string, a access.Action, h http.HandlerFunc) { mux.HandleFunc(pattern, s.anywhere(a, h)) }
	signedIn := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.signedIn(h)) }

	open("GET /healthz", s.healthz)
	open("GET /readyz", s.readyz)
	open("GET /metrics", s.metricsHandler())

	open("GET /api/session", s.getSession)
	open("POST /api/session", s.signIn)
	open("DELETE /api/session", s.signOut)
	signedIn("POST /api/session/everywhere", s.signOutEverywhere)
	open("POST /api/accounts", s.register)
	signedIn("POST /api/invitations/{token}", s.joinInvitation)
	anywhere("GET /api/bpfs/{id}/members", access.ManageTeam, s.listMembers)
	anywhere("DELETE /api/bpfs/{id}/members/{account}", access.ManageTeam, s.removeMember)
	anywhere("POST /api/bpfs/{id}/invitations", access.ManageTeam, s.createInvitation)
	anywhere("GET /api/bpfs/{id}/invitations", access.ManageTeam, s.listInvitations)
	anywhere("DELETE /api/bpfs/{id}/invitations/{inv}", access.ManageTeam, s.revokeInvitation)
	anywhere("GET /api/audit", access.ViewAudit, s.auditJSON)

	open("GET /api/templates", s.listTemplates)
	open("GET /api/templates/{name}", s.getTemplate)
	anywhere("POST /api/bpfs", access.CreateDocument, s.createBPF)
	open("GET /api/bpfs", s.listBPFs)
	open("GET /api/bpfs/{id}", s.getBPF)
	anywhere("POST /api/documents", access.CreateDocument, s.createDocument)
	anywhere("POST /api/documents/import", access.CreateDocument, s.importDocument)
	open("GET /api/documents", s.listDocuments)
	doc("GET /api/documents/{id}", access.ReadDraft, s.getDocument)
	open("GET /api/documents/{id}/access", s.docAccess)
	doc("GET /api/documents/{id}/published", access.ReadPublished, s.getPublished)
	open("GET /api/documents/{id}/comments", s.listComments)
	doc("POST /api/documents/{id}/comments", access.Comment, s.postComment)
	open("GET /api/documents/{id}/comments/export", s.exportComments)
	doc("PATCH /api/documents/{id}/comments/{comment}", access.Comment, s.changeComment(authority.CommentEdit, http.StatusOK))
	doc("DELETE /api/documents/{id}/comments/{comment}", access.Comment, s.changeComment(authority.CommentWithdraw, http.StatusNoContent))
	doc("POST /api/documents/{id}/comments/{comment}/hide", access.Moderate, s.changeComment(authority.CommentHide, http.StatusOK))
	doc("POST /api/documents/{id}/comments/{comment}/accept", access.Decide, s.acceptSuggestion)
	doc("POST /api/documents/{id}/comments/{comment}/dispose", access.ProposeDecision, s.changeComment(authority.CommentDispose, http.StatusOK))
	doc("POST /api/documents/{id}/comments/{comment}/resolve", access.ProposeDecision, s.changeComment(authority.CommentResolve, http.StatusOK))
	doc("POST /api/documents/{id}/comments/{comment}/reopen", access.ProposeDecision, s.changeComment(authority.CommentReopen, http.StatusOK))
	signedIn("POST /api/documents/{id}/comments/{comment}/report", s.reportComment)
	doc("GET /api/documents/{id}/completeness", access.ReadDraft, s.completeness)
	doc("GET /api/documents/{id}/render", readBest, s.renderDocument)
	doc("GET /api/documents/{id}/export", readBest, s.exportDocument)
	doc("POST /api/documents/{id}/sections", access.EditStructure, s.addSection)
	doc("PATCH /api/documents/{id}", access.EditStructure, s.renameDocument)
	doc("PATCH /api/documents/{id}/sections/{section}", access.EditStructure, s.changeSection)
	doc("DELETE /api/documents/{id}/sections/{section}", access.EditStructure, s.removeSection)
	doc("POST /api/documents/{id}/workflow", access.ChangeStage, s.setWorkflow)
	doc("GET /api/documents/{id}/ws", access.ReadDraft, s.serveWS)
	doc("GET /api/documents/{id}/history", access.ReadDraft, s.history)
	open("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})

	open("GET /d/{id}", s.readingView)
	open("GET /sign-in", s.signInPageGet)
	open("POST /sign-in", s.signInPagePost)
	open("POST /sign-out", s.signOutPage)
	signedIn("GET /account", s.accountPage)
	signedIn("POST /account/sign-out-everywhere", s.signOutEverywherePage)
	open("GET /register", s.registerPageGet)
	open("POST /register", s.registerPagePost)
	open("GET /join/{token}", s.joinPageGet)
	open("POST /join/{token}", s.joinPagePost)
	anywhere("GET /dashboard", access.CreateDocument, s.dashboardGet)
	anywhere("POST /dashboard/bpfs", access.CreateDocument, s.dashboardNewBPF)
	anywhere("POST /dashboard/documents", access.CreateDocument, s.dashboardNewDocument)
	anywhere("GET /bpfs/{id}", access.ManageTeam, s.teamGet)
	anywhere("POST /bpfs/{id}/invitations", access.ManageTeam, s.teamInvite)
	anywhere("POST /bpfs/{id}/invitations/{inv}/revoke", access.ManageTeam, s.teamRevoke)
	anywhere("POST /bpfs/{id}/members/{account}/remove", access.ManageTeam, s.teamRemove)
	open("GET /api/documents/{id}/versions", s.listVersions)
	doc("POST /api/documents/{id}/versions", access.ChangeStage, s.nameVersion)
	open("GET /api/documents/{id}/changes", s.changesJSON)
	open("GET /d/{id}/changes", s.changesPage)
	doc("POST /d/{id}/versions", access.ChangeStage, s.nameVersionPage)
	doc("POST /api/documents/{id}/restore", access.ChangeStage, s.restoreJSON)
	doc("POST /d/{id}/restore", access.ChangeStage, s.restorePage)
	open("GET /d/{id}/disposition", s.dispositionGet)
	open("GET /d/{id}/disposition.csv", s.dispositionCSV)
	doc("POST /d/{id}/disposition/{comment}", access.ProposeDecision, s.dispositionPost)
	open("GET /d/{id}/comments/{comment}/{action}", s.commentAction)
	open("POST /d/{id}/comments/{comment}/{action}", s.commentAction)
	doc("GET /d/{id}/comment", access.Comment, s.commentPageGet)
	doc("POST /d/{id}/comment", access.Comment, s.commentPagePost)
	doc("GET /d/{id}/settings", access.ChangeStage, s.settingsGet)
	doc("POST /d/{id}/settings", access.ChangeStage, s.settingsPost)
	doc("POST /d/{id}/rename", access.EditStructure, s.settingsRename)
	doc("POST /d/{id}/sections/{section}", access.EditStructure, s.settingsSection)
	anywhere("GET /audit", access.ViewAudit, s.auditGet)
	anywhere("GET /audit.csv", access.ViewAudit, s.auditCSV)
	anywhere("GET /api/backup", access.BackUp, s.backup)
	anywhere("GET /import", access.CreateDocument, s.importPage)
	anywhere("POST /import", access.CreateDocument, s.importPost)
	open("GET /assets/time.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, timeScript)
	})
	open("GET /assets/import.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, importScript)
	})
	doc("GET /edit/{id}", access.ReadDraft, s.editView)
	mux.Handle("GET /static/", frontend.Assets())
	open("GET /{$}", s.home)
	open("GET /assets/page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		io.WriteString(w, editor.PageCSS)
	})
	return s.secure(mux)
}

// timeScript shows the times of <time data-local> elements in the
// reader's time zone too, after the UTC the server wrote.
const timeScript = `"use strict";
document.querySelectorAll("time[data-local]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  var local = d.toLocaleString(undefined, {dateStyle: "long", timeStyle: "short"});
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time";
  if (zone === "UTC" || zone === "Etc/UTC") return;
  var span = document.createElement("span");
  span.className = "local-time";
  span.textContent = " (" + local + ", " + zone + ")";
  el.after(span);
});
`

// docRequest is what a document route was given: the document (durable
// state, the caller's to read), the person's role for it and where it
// stands.
type docRequest struct {
	doc *editor.Document
	// live is the document as it is now: doc, but for a route that reads
	// the best one may (readBest), where doc is the published version.
	live *editor.Document
	role access.Role
	ctx  access.Context
}

// readBest, as a route's action, reads the live draft for who may,
// else what is published (as docRequest.doc) for who may read that.
const readBest access.Action = "read the live draft or what is published"

// onDocument loads the route's document ({id}) and checks that the
// person may do action to it; a refusal is 403 (404 for one who may not
// even know the document is there, before it is published).
func (s *Server) onDocument(action access.Action, h func(http.ResponseWriter, *http.Request, docRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		doc, err := s.currentDocument(r.Context(), r.PathValue("id"))
		if errors.Is(err, store.ErrNotFound) {
			s.notFound(w, r, "document \""+r.PathValue("id")+"\" does not exist or is not published")
			return
		}
		if err != nil {
			s.storeError(w, r, "document", err)
			return
		}
		role, err := s.roleFor(r.Context(), whoOf(r), doc.BPF)
		if err != nil {
			s.storeError(w, r, "document", err)
			return
		}
		d := docRequest{doc: doc, live: doc, role: role, ctx: authority.ContextOf(doc, s.now())}
		action := action
		if action == readBest {
			action = access.ReadDraft
			if access.Check(role, access.ReadDraft, d.ctx) != nil && access.Check(role, access.ReadPublished, d.ctx) == nil {
				if d.doc, err = s.publishedDocument(r, doc); err != nil {
					s.storeError(w, r, "published version of document", err)
					return
				}
				action = access.ReadPublished
			}
		}
		if err := access.Check(role, action, d.ctx); err != nil {
			if access.Check(role, access.ReadDraft, d.ctx) != nil && access.Check(role, access.ReadPublished, d.ctx) != nil {
				s.notFound(w, r, "document \""+doc.ID+"\" does not exist or is not published")
				return
			}
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/edit/") && whoOf(r).signedIn() {
				// One who may read only the published version reads it.
				http.Redirect(w, r, "/d/"+url.PathEscape(doc.ID), http.StatusSeeOther)
				return
			}
			s.forbidden(w, r, err)
			return
		}
		h(w, r, d)
	}
}

// anywhere checks an action that belongs to no document (creating BPFs
// and documents, the audit log).
func (s *Server) anywhere(action access.Action, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		role, err := s.roleFor(r.Context(), whoOf(r), "")
		if err != nil {
			s.storeError(w, r, "account", err)
			return
		}
		if err := access.Check(role, action, access.Context{}); err != nil {
			s.forbidden(w, r, err)
			return
		}
		h(w, r)
	}
}

// signedIn lets only signed-in requests through.
func (s *Server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !whoOf(r).signedIn() {
			s.forbidden(w, r, errors.New("only a signed-in person may do this"))
			return
		}
		h(w, r)
	}
}

// forbidden answers a refusal of the permission matrix: for the API,
// 401 sign_in (nobody signed in) or 403 forbidden; for a page, the
// sign-in page (nobody signed in) or a page saying so.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, err error) {
	signedIn := whoOf(r).signedIn()
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		if !signedIn && r.Method == http.MethodGet {
			http.Redirect(w, r, "/sign-in?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		s.page(w, r, http.StatusForbidden, messagePage, "Not allowed", message{Title: "You cannot do this",
			Text: upperFirst(err.Error()) + "."})
		return
	}
	if !signedIn {
		writeError(w, http.StatusUnauthorized, "sign_in", err.Error()+" (sign in first)")
		return
	}
	writeError(w, http.StatusForbidden, "forbidden", err.Error())
}

// notFound answers 404: JSON for the API, a page (with a way to sign in)
// for a browser.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusNotFound, "not_found", msg)
		return
	}
	text := "There is no such document, or it is not published yet."
	if !whoOf(r).signedIn() {
		text += " Members of its team see it once they sign in."
	}
	s.page(w, r, http.StatusNotFound, messagePage, "Not found", message{Title: "Page not found", Text: text})
}

// message is a page that says one thing.
type message struct{ Title, Text string }

var messagePage = formPage(`{{define "content"}}{{with .Content}}<main class="bpf-doc" id="main">
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
<p><a href="/">Go to the home page</a></p>
</main>{{end}}{{end}}`)

// authorOf is who a command made through the HTTP API acts for: the
// signed-in person in their role. Its client id is new for every command
// (and of a form no websocket client can have), so two commands never
// pass for one repeated.
func (s *Server) authorOf(r *http.Request, role access.Role) authority.Author {
	a := authority.Author{Client: "api:" + s.newID(), Role: role}
	if w := whoOf(r); w.account != nil {
		a.Account, a.Name = w.account.ID, w.account.Name
	}
	return a
}

// readable reports whether the person may read a document at all: its
// live draft or what is published of it.
func (s *Server) readable(ctx context.Context, w who, doc *editor.Document) bool {
	role, err := s.roleFor(ctx, w, doc.BPF)
	if err != nil {
		return false
	}
	c := authority.ContextOf(doc, s.now())
	return access.Check(role, access.ReadDraft, c) == nil || access.Check(role, access.ReadPublished, c) == nil
}
