package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
