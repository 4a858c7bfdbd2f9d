package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
	"github.com/bpfdraft/bpfdraft/loadgen"
)

// toolConfig is shared by the commands that read or write documents:
// either directly in a data directory (the server must not be running on
// it) or through a running server's HTTP API, signed in as Email.
type toolConfig struct {
	DataDir string
	Store   string
	Server  string
	Email   string
}

// passwordEnv is the environment variable that holds the password of
// --email: a password on the command line would be seen by everyone on
// the machine (ps) and kept in shell histories.
const passwordEnv = "BPFDRAFT_PASSWORD"

// emailHelp is the help of the --email flag of the commands that talk to
// a server.
const emailHelp = "account to sign in to the server as (also BPFDRAFT_EMAIL); its password is read from the environment variable " + passwordEnv + ", never from a flag or the command line"

func toolFlags(fs *flag.FlagSet, c *toolConfig) {
	fs.StringVar(&c.DataDir, "data", "./bpfdraft-data", "data directory to use directly")
	fs.StringVar(&c.Store, "store", "", storeHelp)
	fs.StringVar(&c.Server, "server", "", "URL of a running bpfdraft (http://127.0.0.1:8080) to use instead of the data directory")
	fs.StringVar(&c.Email, "email", "", "with --server: "+emailHelp)
}

// signInFor signs in to the server as email with the password from the
// environment; without an email it returns the zero session (anonymous).
func signInFor(ctx context.Context, hc *http.Client, server, email string, getenv func(string) string) (loadgen.Session, error) {
	if email == "" {
		return loadgen.Session{}, nil
	}
	password := getenv(passwordEnv)
	if password == "" {
		return loadgen.Session{}, usageError{fmt.Sprintf("--email %s: set the environment variable %s to its password", email, passwordEnv)}
	}
	return loadgen.SignIn(ctx, hc, server, email, password)
}

// signInHint is what to add to an answer with status code status to a
// request that was not signed in: how to sign in, when signing in could
// change the answer (401; 404, which is also what a document not yet
// published is to anyone not signed in), or "".
func signInHint(status int) string {
	how := "pass --email (or set BPFDRAFT_EMAIL) with the password in the environment variable " + passwordEnv
	switch status {
	case http.StatusUnauthorized:
		return "the server wants a signed-in account for this: " + how
	case http.StatusNotFound:
		return "a document that is not published is hidden from anyone not signed in; to sign in, " + how
	}
	return ""
}

func openStore(c toolConfig) (store.Store, error) {
	return openStoreAt(context.Background(), c.Store, c.DataDir)
}

func importCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	var c toolConfig
	var tmplName, title, bpf string
	var dryRun bool
	var assigns listFlag
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	toolFlags(fs, &c)
	fs.StringVar(&tmplName, "template", "bpf-output", "template whose sections the draft's headings are mapped to")
	fs.StringVar(&title, "title", "", "document title (default: the draft's own title heading)")
	fs.StringVar(&bpf, "bpf", "", "id of the BPF the document belongs to")
	fs.BoolVar(&dryRun, "dry-run", false, "print the proposed mapping (every heading, every block) without storing anything")
	fs.Var(&assigns, "assign", "LINE=TARGET: put the heading on that line of the draft in a template section (its key), a new custom section (custom), keep it as a sub-heading (sub) or make it the title (title); repeatable")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"import takes one markdown file (or - for standard input)"}
	}
	var src []byte
	if pos[0] == "-" {
		src, err = io.ReadAll(io.LimitReader(stdin, int64(editor.Limits.ImportBytes)+1))
	} else {
		src, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return err
	}
	tmpl, err := editor.LookupTemplate(tmplName)
	if err != nil {
		return usageError{err.Error()}
	}

	assign, err := editor.ParseAssign(assigns)
	if err != nil {
		return usageError{err.Error()}
	}
	var doc *editor.Document
	var report editor.ImportReport
	switch {
	case c.Server != "":
		var s loadgen.Session
		if s, err = signInFor(ctx, http.DefaultClient, c.Server, c.Email, getenv); err == nil {
			doc, report, err = importOverHTTP(ctx, c.Server, s, tmplName, title, bpf, assigns, dryRun, src)
		}
	default:
		doc, report, err = editor.ImportMarkdown(string(src), tmpl, uuid.NewString(), editor.ImportOptions{Title: title, Assign: assign}, time.Now().UTC())
		if err == nil && !dryRun {
			doc.BPF = bpf
			err = storeImported(ctx, c, doc)
		}
	}
	if err != nil {
		return err
	}
	for _, line := range report.Lines() {
		fmt.Fprintln(stdout, line)
	}
	if dryRun {
		fmt.Fprintln(stdout, "blocks:")
		for _, b := range report.Blocks {
			where := "the title"
			if b.SectionID != "" {
				where = fmt.Sprintf("%d. %s", b.Number, doc.Section(b.SectionID).Title)
			} else if b.As == "marker" {
				where = "(an export marker, read)"
			}
			fmt.Fprintf(stdout, "  lines %d-%d %s as %s -> %s\n", b.Line, b.Line+b.Lines-1, b.Kind, b.As, where)
		}
		fmt.Fprintln(stdout, "dry run: nothing stored; change a heading's place with --assign LINE=TARGET")
	} else {
		fmt.Fprintf(stdout, "imported as document %s (%d sections)\n", doc.ID, len(doc.Sections))
	}
	return nil
}

func storeImported(ctx context.Context, c toolConfig, doc *editor.Document) error {
	st, err := openStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	if doc.BPF != "" {
		if _, err := st.GetBPF(ctx, doc.BPF); err != nil {
			return fmt.Errorf("--bpf: %w", err)
		}
	}
	return st.CreateDocument(ctx, doc)
}

// apiError reads the JSON error of a failed API call. A refusal of a
// request that was not signed in (401, or 404 for a document hidden from
// anyone not signed in) says how to sign in.
func apiError(resp *http.Response, signedIn bool) error {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var err error
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		err = fmt.Errorf("server: %s: %s (%s)", resp.Status, e.Error.Message, e.Error.Code)
	} else {
		err = fmt.Errorf("server: %s", resp.Status)
	}
	if hint := signInHint(resp.StatusCode); !signedIn && hint != "" {
		err = fmt.Errorf("%w\n%s", err, hint)
	}
	return err
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func importOverHTTP(ctx context.Context, server string, s loadgen.Session, tmpl, title, bpf string, assign []string, dryRun bool, src []byte) (*editor.Document, editor.ImportReport, error) {
	q := url.Values{"template": {tmpl}, "assign": assign}
	if title != "" {
		q.Set("title", title)
	}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if bpf != "" {
		q.Set("bpf", bpf)
	}
	u := strings.TrimRight(server, "/") + "/api/documents/import?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(src))
	if err != nil {
		return nil, editor.ImportReport{}, err
	}
	req.Header = s.Header()
	req.Header.Set("Content-Type", "text/markdown; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, editor.ImportReport{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && !(dryRun && resp.StatusCode == http.StatusOK) {
		return nil, editor.ImportReport{}, apiError(resp, s.Cookie != "")
	}
	var out struct {
		Document *editor.Document    `json:"document"`
		Report   editor.ImportReport `json:"report"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, editor.ImportReport{}, err
	}
	return out.Document, out.Report, nil
}

func exportCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	var c toolConfig
	var format, out string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	toolFlags(fs, &c)
	fs.StringVar(&format, "format", "md", "md (markdown) or html (a standalone page for reading and printing)")
	fs.StringVar(&out, "out", "", "file to write (default: standard output)")
	pos, err := parseArgs(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"export takes one document id"}
	}
	if format != "md" && format != "markdown" && format != "html" {
		return usageError{fmt.Sprintf("--format must be md or html, not %q", format)}
	}
	var data []byte
	if c.Server != "" {
		var s loadgen.Session
		if s, err = signInFor(ctx, http.DefaultClient, c.Server, c.Email, getenv); err == nil {
			data, err = exportOverHTTP(ctx, c.Server, s, pos[0], format)
		}
	} else {
		data, err = exportLocal(ctx, c, pos[0], format)
	}
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

func exportLocal(ctx context.Context, c toolConfig, id, format string) ([]byte, error) {
	st, err := openStore(c)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	doc, err := collab.LoadDocument(ctx, st, id)
	if err != nil {
		return nil, err
	}
	if format == "html" {
		opts := editor.PageOptions{Version: doc.Seq, VersionDate: doc.Updated.UTC(), Publication: true}
		if doc.BPF != "" {
			if b, err := st.GetBPF(ctx, doc.BPF); err == nil {
				opts.BPFName, opts.Year = b.Name, b.Year
			}
		}
		opts.Status = editor.PhaseOf(doc.Workflow, time.Now().UTC()).Status
		return editor.RenderPage(doc, opts), nil
	}
	return []byte(editor.ExportMarkdown(doc)), nil
}

func exportOverHTTP(ctx context.Context, server string, s loadgen.Session, id, format string) ([]byte, error) {
	u := strings.TrimRight(server, "/") + "/api/documents/" + url.PathEscape(id) + "/export?format=" + url.QueryEscape(format)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header = s.Header()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp, s.Cookie != "")
	}
	return io.ReadAll(resp.Body)
}
