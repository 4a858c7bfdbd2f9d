package comments

import (
	"go/build"
	"strings"
	"testing"
)

// TestPure keeps the package free of I/O: no sockets, files, processes or
// databases, and nothing of the project but the editor core.
func TestPure(t *testing.T) {
	pkg, err := build.Import("github.com/bpfdraft/bpfdraft/comments", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		switch {
		case imp == "net" || imp == "net/http" || imp == "os" || imp == "os/exec" || imp == "syscall" || imp == "database/sql":
			t.Errorf("comments imports %s; it must do no I/O", imp)
		case strings.HasPrefix(imp, "github.com/bpfdraft/bpfdraft/") && imp != "github.com/bpfdraft/bpfdraft/editor":
			t.Errorf("comments imports %s; it builds on the editor core only", imp)
		}
	}
}
