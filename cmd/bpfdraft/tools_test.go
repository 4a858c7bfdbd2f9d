package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/loadgen"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

// TestImportExportCommands imports the realistic draft with the CLI, which
// prints what went where, then exports it as markdown and HTML.
func TestImportExportCommands(t *testing.T) {
	data := t.TempDir()
	draft := filepath.Join("..", "..", "editor", "testdata", "drafts", "bpf-cybersecurity-draft.md")
	code, out, errs := runCLI(t, "", "import", draft, "--template", "bpf-output", "--data", data)
	if code != 0 {
		t.Fatalf("import exited %d: %s", code, errs)
	}
	for _, want := range []string{"number and title", "custom section", "imported as document"} {
		if !strings.Contains(out, want) {
			t.Errorf("import report lacks %q:\n%s", want, out)
		}
	}
	id := regexp.MustCompile(`imported as document (\S+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no document id in:\n%s", out)
	}

	code, md, errs := runCLI(t, "", "export", id[1], "--format", "md", "--data", data)
	if code != 0 || !strings.Contains(md, "## 1. ") && !strings.Contains(md, "## 2. ") {
		t.Fatalf("export md exited %d: %s\n%.400s", code, errs, md)
	}
	src, _ := os.ReadFile(draft)
	// A paragraph of the draft survives the trip.
	para := strings.Split(strings.TrimSpace(strings.Split(string(src), "\n\n")[2]), "\n")[0]
	if !strings.Contains(md, para) {
		t.Errorf("exported markdown lacks the draft's line %q", para)
	}

	outFile := filepath.Join(t.TempDir(), "doc.html")
	code, _, errs = runCLI(t, "", "export", id[1], "--format", "html", "--out", outFile, "--data", data)
	if code != 0 {
		t.Fatalf("export html exited %d: %s", code, errs)
	}
	page, _ := os.ReadFile(outFile)
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || bytes.Contains(page, []byte("<script")) {
		t.Fatalf("html export is not a script-free page: %.200s", page)
	}

	// A dry run stores nothing; standard input works.
	code, out, _ = runCLI(t, "# T\n\n## 3. Case studies\n\nOne.\n", "import", "-", "--dry-run", "--data", data)
	if code != 0 || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %d %s", code, out)
	}
	// The proposed mapping is printed, every block with its place, and a
	// heading can be put elsewhere before anything is stored.
	outline := "# T\n\n## Executive summary\n\nShort.\n\n## Methodology\n\nHow.\n"
	code, out, _ = runCLI(t, outline, "import", "-", "--dry-run", "--data", data)
	for _, want := range []string{"line 3 '## Executive summary' -> custom section 1. Executive summary", "lines 5-5 paragraph as text -> 1. Executive summary", "nothing stored"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("dry run: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runCLI(t, outline, "import", "-", "--dry-run", "--assign", "3=issues", "--data", data)
	if code != 0 || !strings.Contains(out, "line 3 '## Executive summary' -> 1. Definition of the issue(s) and overview of policy challenges (assigned)") {
		t.Errorf("dry run with --assign: exit %d:\n%s", code, out)
	}
	code, _, errs = runCLI(t, outline, "import", "-", "--dry-run", "--assign", "3=nowhere", "--data", data)
	if code == 0 || !strings.Contains(errs, "nowhere") {
		t.Errorf("--assign to an unknown section: exit %d, %q; want an error naming it", code, errs)
	}
}

func TestCLIErrors(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"import"}, 2, "one markdown file"},
		{[]string{"import", "x.md", "--template", "nope", "--data", data}, 1, "no such file"},
		{[]string{"import", "../../editor/testdata/drafts/bpf-cybersecurity-draft.md", "--template", "nope", "--data", data}, 2, "unknown template"},
		{[]string{"export", "missing-doc", "--data", data}, 1, "not found"},
		{[]string{"export", "x", "--format", "pdf", "--data", data}, 2, "--format must be md or html"},
		{[]string{"serve", "--addr"}, 2, "flag needs an argument"},
		{[]string{"serve", "--log-format", "xml", "--data", data}, 2, "--log-format"},
	} {
		code, _, errs := runCLI(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestEnvTwins(t *testing.T) {
	var out, errb bytes.Buffer
	env := map[string]string{"BPFDRAFT_FORMAT": "pdf", "BPFDRAFT_DATA": t.TempDir()}
	code := run(context.Background(), []string{"export", "x"}, nil, &out, &errb, func(k string) string { return env[k] })
	if code != 2 || !strings.Contains(errb.String(), "--format must be md or html") {
		t.Fatalf("BPFDRAFT_FORMAT was not read: %d %s", code, errb.String())
	}
	// The command line wins over the environment.
	errb.Reset()
	code = run(context.Background(), []string{"export", "x", "--format", "md"}, nil, &out, &errb, func(k string) string { return env[k] })
	if code != 1 || !strings.Contains(errb.String(), "not found") {
		t.Fatalf("flag did not win over env: %d %s", code, errb.String())
	}
}

// runCLIEnv is runCLI with an environment.
func runCLIEnv(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// TestToolsOverHTTP: import and export --server sign in as --email with
// the password from BPFDRAFT_PASSWORD (or BPFDRAFT_EMAIL); without them the
// server's refusal is reported with how to sign in, and a wrong password
// with the server's message.
func TestToolsOverHTTP(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	acct := addAccount(t, bin, data)
	p := startServer(t, bin, data)
	server := p.url("")
	withPassword := map[string]string{"BPFDRAFT_PASSWORD": acct.Password}
	draft := "# A draft over HTTP\n\n## 3. Case studies\n\nA paragraph sent to the server.\n"

	code, _, errs := runCLIEnv(t, withPassword, draft, "import", "-", "--server", server)
	for _, want := range []string{"401", "sign_in", "--email", "BPFDRAFT_PASSWORD"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("import without --email: exit %d, stderr %q; want exit 1 mentioning %q", code, errs, want)
		}
	}
	code, _, errs = runCLIEnv(t, map[string]string{"BPFDRAFT_PASSWORD": "not the password"}, draft, "import", "-", "--server", server, "--email", acct.Email)
	for _, want := range []string{"signing in as " + acct.Email, "401", "not right"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("import with a wrong password: exit %d, stderr %q; want exit 1 mentioning %q", code, errs, want)
		}
	}
	code, _, errs = runCLIEnv(t, nil, draft, "import", "-", "--server", server, "--email", acct.Email)
	if code != 2 || !strings.Contains(errs, "BPFDRAFT_PASSWORD") {
		t.Errorf("import with --email and no BPFDRAFT_PASSWORD: exit %d, stderr %q; want exit 2 naming the variable", code, errs)
	}

	code, out, errs := runCLIEnv(t, withPassword, draft, "import", "-", "--server", server, "--email", acct.Email)
	id := regexp.MustCompile(`imported as document (\S+)`).FindStringSubmatch(out)
	if code != 0 || id == nil {
		t.Fatalf("import --email: exit %d, %s\n%s", code, errs, out)
	}
	// The email may come from the environment too.
	env := map[string]string{"BPFDRAFT_PASSWORD": acct.Password, "BPFDRAFT_EMAIL": acct.Email}
	code, md, errs := runCLIEnv(t, env, "", "export", id[1], "--server", server)
	if code != 0 || !strings.Contains(md, "A paragraph sent to the server.") {
		t.Errorf("export with BPFDRAFT_EMAIL: exit %d, %s\n%s", code, errs, md)
	}
	// An unpublished document is hidden from anyone not signed in.
	code, _, errs = runCLIEnv(t, nil, "", "export", id[1], "--server", server)
	for _, want := range []string{"404", "--email", "BPFDRAFT_PASSWORD"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("export without --email: exit %d, stderr %q; want exit 1 mentioning %q", code, errs, want)
		}
	}
}

// TestLoadCommand: load signs in as --email with the password from
// BPFDRAFT_PASSWORD, so its document, requests and websockets (full and
// light editors and viewers) are the account's; without --email the
// server's refusal is reported with how to sign in.
func TestLoadCommand(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	acct := addAccount(t, bin, data)
	p := startServer(t, bin, data)
	server := p.url("")

	code, _, errs := runCLIEnv(t, nil, "", "load", "--server", server, "--quiet")
	for _, want := range []string{"401", "--email", "BPFDRAFT_PASSWORD"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("load without --email: exit %d, stderr %q; want exit 1 mentioning %q", code, errs, want)
		}
	}
	code, _, errs = runCLIEnv(t, nil, "", "load", "--server", server, "--email", acct.Email, "--quiet")
	if code != 2 || !strings.Contains(errs, "BPFDRAFT_PASSWORD") {
		t.Errorf("load with --email and no BPFDRAFT_PASSWORD: exit %d, stderr %q; want exit 2 naming the variable", code, errs)
	}
	if testing.Short() {
		return
	}
	code, out, errs := runCLIEnv(t, map[string]string{"BPFDRAFT_PASSWORD": acct.Password}, "", "load", "--server", server, "--email", acct.Email,
		"--quiet", "--json", "--duration", "1", "--editors", "3", "--editor-sample", "1", "--rate", "5", "--viewers", "3", "--viewer-sample", "1")
	var res loadgen.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("load --email: exit %d, %s\n%s", code, errs, out)
	}
	// A busy machine may make the generator the limit (exit 1); the run
	// is carried out all the same.
	if code != 0 && !res.GeneratorLimited {
		t.Fatalf("load --email: exit %d, %s", code, errs)
	}
	if !res.Converged || len(res.Errors) > 0 || res.Disconnects > 0 || res.Edits != res.Committed {
		t.Errorf("load --email: converged %v (%s), errors %v, disconnects %d, edits %d, committed %d",
			res.Converged, res.ConvergeNote, res.Errors, res.Disconnects, res.Edits, res.Committed)
	}
}

// TestServeRefusesBadSettings: settings serve cannot run with are refused
// as usage errors (exit 2) before anything is opened, whether they come
// from a flag or from its BPFDRAFT_ twin.
func TestServeRefusesBadSettings(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--log-format", "xml"}, nil, "--log-format must be text or json"},
		{[]string{"serve", "--commit-interval", "2s"}, nil, "--commit-interval must be between 0"},
		{[]string{"serve", "--commit-interval", "-1ms"}, nil, "--commit-interval must be between 0"},
		{[]string{"serve"}, map[string]string{"BPFDRAFT_COMMIT_INTERVAL": "1h"}, "--commit-interval must be between 0"},
		{[]string{"serve", "--commit-interval", "soon"}, nil, "invalid value"},
	} {
		env := map[string]string{"BPFDRAFT_DATA": data, "BPFDRAFT_ADDR": "127.0.0.1:0"}
		for k, v := range c.env {
			env[k] = v
		}
		code, _, errs := runCLIEnv(t, env, "", c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v %v: exit %d, %q; want 2 and %q", c.args, c.env, code, errs, c.want)
		}
	}
}
