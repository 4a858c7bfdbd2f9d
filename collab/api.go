package collab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bpfdraft/bpfdraft/collab/access"
	"github.com/bpfdraft/bpfdraft/collab/authority"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// apiError is the body of every error answer of the JSON API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// readBody reads a request body of at most max bytes that must be valid
// UTF-8, answering the error itself when it is not. limit names the limit
// in the message ("request body", "import size").
func readBody(w http.ResponseWriter, r *http.Request, max int64, limit string) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is over the %s limit of %d bytes", limit, max))
		} else {
			writeError(w, http.StatusBadRequest, "bad_body", "the request body could not be read")
		}
		return nil, false
	}
	if !utf8.Valid(data) {
		writeError(w, http.StatusBadRequest, "bad_encoding", "the request body is not valid UTF-8")
		return nil, false
	}
	return data, true
}

// decodeJSON reads a JSON object into v: the body must be declared as
// JSON (which also keeps cross-site HTML forms out), fit the size cap, be
// valid UTF-8 and hold exactly one value with only known fields.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send the request body as application/json")
		return false
	}
	data, ok := readBody(w, r, s.cfg.MaxBodyBytes, "request body")
	if !ok {
		return false
	}
	if err := wire.Decode(data, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", err.Error())
		return false
	}
	return true
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"templates": editor.Templates()})
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := editor.LookupTemplate(r.PathValue("name"))
	if err != nil {
		writeError(w, http.StatusNotFound, "unknown_template", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type createBPFRequest struct {
	Name        string `json:"name"`
	Year        int    `json:"year"`
	MeetingDate string `json:"meeting_date"`
}

func (s *Server) createBPF(w http.ResponseWriter, r *http.Request) {
	var req createBPFRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	b, err := s.makeBPF(r, req)
	if err != nil {
		s.refuse(w, r, "bpf", err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

// makeBPF checks and stores a new BPF (for the API and the dashboard).
func (s *Server) makeBPF(r *http.Request, req createBPFRequest) (*editor.BPF, error) {
	b := &editor.BPF{ID: s.newID(), Name: strings.TrimSpace(req.Name), Year: req.Year, MeetingDate: req.MeetingDate, Created: s.now().UTC()}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := s.allowCreation(r); err != nil {
		return nil, err
	}
	if err := s.store.PutBPF(r.Context(), b); err != nil {
		return nil, err
	}
	s.log.Info("bpf created", "bpf", b.ID, "name", b.Name)
	s.audit(r.Context(), r, "bpf created", b.ID, "", b.Name)
	return b, nil
}

func (s *Server) listBPFs(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListBPFs(r.Context())
	if errors.Is(err, store.ErrCorrupt) {
		// The readable ones are listed all the same.
		s.log.Error("some BPFs cannot be read", "err", err)
	} else if err != nil {
		s.storeError(w, r, "bpf", err)
		return
	}
	if list == nil {
		list = []*editor.BPF{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"bpfs": list})
}

func (s *Server) getBPF(w http.ResponseWriter, r *http.Request) {
	b, err := s.store.GetBPF(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "bpf", err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

type createDocumentRequest struct {
	Template string `json:"template"`
	Title    string `json:"title"`
	BPF      string `json:"bpf"`
}

// checkBPF answers 400 when a document names a BPF that does not exist.
func (s *Server) checkBPF(w http.ResponseWriter, r *http.Request, id string) bool {
	if id == "" {
		return true
	}
	if _, err := s.store.GetBPF(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusBadRequest, "unknown_bpf", fmt.Sprintf("bpf %q does not exist", id))
		} else {
			s.storeError(w, r, "bpf", err)
		}
		return false
	}
	return true
}

func (s *Server) createDocument(w http.ResponseWriter, r *http.Request) {
	var req createDocumentRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	doc, err := s.makeDocument(r, req)
	if err != nil {
		if errors.Is(err, errUnknownBPF) {
			writeError(w, http.StatusBadRequest, "unknown_bpf", err.Error())
			return
		}
		s.refuse(w, r, "document", err)
		return
	}
	w.Header().Set("Location", "/api/documents/"+doc.ID)
	writeJSON(w, http.StatusCreated, doc)
}

// errUnknownBPF: a document names a BPF that does not exist.
var errUnknownBPF = fmt.Errorf("%w: no such BPF", editor.ErrInvalid)

// makeDocument checks and stores a new document from a template (for
// the API and the dashboard).
func (s *Server) makeDocument(r *http.Request, req createDocumentRequest) (*editor.Document, error) {
	if req.Template == "" {
		return nil, fmt.Errorf("%w: \"template\" is required; GET /api/templates lists them", editor.ErrInvalid)
	}
	tmpl, err := editor.LookupTemplate(req.Template)
	if err != nil {
		return nil, err
	}
	title, err := editor.CheckTitle(req.Title, "document title")
	if err != nil {
		return nil, err
	}
	if req.BPF != "" {
		if _, err := s.store.GetBPF(r.Context(), req.BPF); errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("bpf %q does not exist: %w", req.BPF, errUnknownBPF)
		} else if err != nil {
			return nil, err
		}
	}
	if err := s.allowCreation(r); err != nil {
		return nil, err
	}
	doc := tmpl.NewDocument(s.newID(), title, s.now().UTC())
	doc.BPF = req.BPF
	if err := s.store.CreateDocument(r.Context(), doc); err != nil {
		return nil, err
	}
	s.log.Info("document created", "doc", doc.ID, "template", doc.Template)
	s.audit(r.Context(), r, "document created", doc.BPF, doc.ID, doc.Title)
	return doc, nil
}

// importResponse is the answer to an import: the new document and what
// went where.
type importResponse struct {
	Document *editor.Document    `json:"document"`
	Report   editor.ImportReport `json:"report"`
}

func (s *Server) importDocument(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("template")
	if name == "" {
		name = "bpf-output"
	}
	tmpl, err := editor.LookupTemplate(name)
	if err != nil {
		s.storeError(w, r, "template", err)
		return
	}
	if !s.checkBPF(w, r, q.Get("bpf")) {
		return
	}
	assign, err := editor.ParseAssign(q["assign"])
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	src, ok := readBody(w, r, s.cfg.MaxImportBytes, "import size")
	if !ok {
		return
	}
	doc, report, err := editor.ImportMarkdown(string(src), tmpl, s.newID(), editor.ImportOptions{Title: q.Get("title"), Assign: assign}, s.now().UTC())
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	doc.BPF = q.Get("bpf")
	if dry, _ := strconv.ParseBool(q.Get("dry_run")); dry {
		writeJSON(w, http.StatusOK, importResponse{Document: doc, Report: report})
		return
	}
	if err := s.allowCreation(r); err != nil {
		s.refuse(w, r, "document", err)
		return
	}
	if err := s.store.CreateDocument(r.Context(), doc); err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	s.log.Info("document imported", "doc", doc.ID, "template", doc.Template, "bytes", len(src))
	s.audit(r.Context(), r, "document imported", doc.BPF, doc.ID, doc.Title)
	w.Header().Set("Location", "/api/documents/"+doc.ID)
	writeJSON(w, http.StatusCreated, importResponse{Document: doc, Report: report})
}

func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request) {
	list, err := s.visibleDocuments(r, r.URL.Query().Get("bpf"))
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": list})
}

// docListing is a document in a listing: its summary and its stage.
type docListing struct {
	store.DocInfo
	Stage editor.Stage `json:"stage,omitempty"`
	// Published: a version is published; Editable: the person may edit
	// the live text.
	Published bool `json:"published,omitempty"`
	Editable  bool `json:"editable,omitempty"`
}

// visibleDocuments lists the documents (of one BPF, or all) the person
// may read, live or published; damaged entries only for the Secretariat.
func (s *Server) visibleDocuments(r *http.Request, bpf string) ([]docListing, error) {
	list, err := s.store.ListDocuments(r.Context(), bpf)
	if err != nil {
		return nil, err
	}
	wh := whoOf(r)
	secretariat := wh.account != nil && wh.account.Secretariat
	out := []docListing{}
	for _, info := range list {
		if info.Broken != "" {
			if secretariat {
				out = append(out, docListing{DocInfo: info})
			}
			continue
		}
		doc, err := s.currentDocument(r.Context(), info.ID)
		if err != nil {
			if secretariat {
				info.Broken = "the document cannot be read"
				out = append(out, docListing{DocInfo: info})
			}
			continue
		}
		if s.readable(r.Context(), wh, doc) {
			role, _ := s.roleFor(r.Context(), wh, doc.BPF)
			out = append(out, docListing{DocInfo: info, Stage: doc.Workflow.StageOf(), Published: doc.Workflow.Published > 0,
				Editable: access.Check(role, access.EditText, authority.ContextOf(doc, s.now())) == nil})
		}
	}
	return out, nil
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc := d.doc
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) completeness(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc := d.doc
	writeJSON(w, http.StatusOK, editor.Check(doc))
}

func (s *Server) renderDocument(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc := d.doc
	writeJSON(w, http.StatusOK, s.render.render(doc))
}

func (s *Server) exportDocument(w http.ResponseWriter, r *http.Request, d docRequest) {
	doc := d.doc
	format := r.URL.Query().Get("format")
	switch format {
	case "md", "markdown", "":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Content-Disposition", attachment(doc, "md"))
		io.WriteString(w, editor.ExportMarkdown(doc))
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Disposition", attachment(doc, "html"))
		w.Write(s.exportPage(r, doc, d.live))
	default:
		writeError(w, http.StatusBadRequest, "bad_format", fmt.Sprintf("unknown export format %q; use md or html", format))
	}
}

// attachment names a downloaded export after the document's title.
func attachment(doc *editor.Document, ext string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(doc.Title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = "document"
	}
	return fmt.Sprintf(`attachment; filename="%s.%s"`, name, ext)
}

type addSectionRequest struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

func (s *Server) addSection(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req addSectionRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	out, err := s.do(r.Context(), d.doc.ID, authority.AddSection{
		Author: s.authorOf(r, d.role), Title: req.Title, Text: req.Text, Time: s.now().UTC(),
	})
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusCreated, out.Added)
}

// history lists a document's accepted updates after a sequence number, as
// kept in its log.
func (s *Server) history(w http.ResponseWriter, r *http.Request, d docRequest) {
	q := r.URL.Query()
	after, limit := int64(0), 1000
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid", `"after" must be a sequence number (0 or more)`)
			return
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "invalid", `"limit" must be between 1 and 10000`)
			return
		}
		limit = n
	}
	ups, err := s.store.ReadUpdates(r.Context(), r.PathValue("id"), after, limit)
	if errors.Is(err, store.ErrCompacted) {
		writeError(w, http.StatusGone, "compacted", fmt.Sprintf("updates after %d are no longer kept; read the document instead", after))
		return
	}
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	if ups == nil {
		ups = []store.Update{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"updates": ups})
}

// restructure carries out structural changes for a person, one after the
// other, and returns the document as they left it.
func (s *Server) restructure(r *http.Request, d docRequest, steps ...editor.Structure) (*editor.Document, error) {
	for _, st := range steps {
		if _, err := s.do(r.Context(), d.doc.ID, authority.Restructure{Author: s.authorOf(r, d.role), Structure: st, Time: s.now().UTC()}); err != nil {
			return nil, err
		}
	}
	return s.currentDocument(r.Context(), d.doc.ID)
}

type renameRequest struct {
	Title string `json:"title"`
}

// renameDocument sets a document's title.
func (s *Server) renameDocument(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req renameRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	doc, err := s.restructure(r, d, editor.Structure{Op: editor.OpRenameDocument, Title: req.Title})
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	s.audit(r.Context(), r, "document renamed", doc.BPF, doc.ID, doc.Title)
	writeJSON(w, http.StatusOK, doc)
}

type changeSectionRequest struct {
	Title *string `json:"title"`
	Index *int    `json:"index"`
}

// changeSection renames a custom section, moves it, or both.
func (s *Server) changeSection(w http.ResponseWriter, r *http.Request, d docRequest) {
	var req changeSectionRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	sec := &editor.Section{ID: r.PathValue("section")}
	var steps []editor.Structure
	if req.Title != nil {
		steps = append(steps, editor.Structure{Op: editor.OpRenameSection, Section: sec, Title: *req.Title})
	}
	if req.Index != nil {
		steps = append(steps, editor.Structure{Op: editor.OpMoveSection, Section: sec, Index: req.Index})
	}
	if len(steps) == 0 {
		writeError(w, http.StatusBadRequest, "invalid", `give "title", "index" or both`)
		return
	}
	if d.doc.Section(sec.ID) == nil {
		writeError(w, http.StatusNotFound, "not_found", "the document has no section "+strconv.Quote(sec.ID))
		return
	}
	doc, err := s.restructure(r, d, steps...)
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// removeSection removes a custom section; its text stays in the history.
func (s *Server) removeSection(w http.ResponseWriter, r *http.Request, d docRequest) {
	id := r.PathValue("section")
	if d.doc.Section(id) == nil {
		writeError(w, http.StatusNotFound, "not_found", "the document has no section "+strconv.Quote(id))
		return
	}
	doc, err := s.restructure(r, d, editor.Structure{Op: editor.OpRemoveSection, Section: &editor.Section{ID: id}})
	if err != nil {
		s.storeError(w, r, "document", err)
		return
	}
	s.audit(r.Context(), r, "section removed", doc.BPF, doc.ID, id)
	w.WriteHeader(http.StatusNoContent)
}
