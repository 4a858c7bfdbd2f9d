package editor

import (
	"go/build"
	"strings"
	"testing"
)

// TestNoIOImports keeps the core pure: no sockets, disks, databases or
// project packages outside editor/.
func TestNoIOImports(t *testing.T) {
	forbidden := []string{
		"net", "net/http", "os/exec", "syscall",
		"github.com/gorilla/websocket", "go.etcd.io/bbolt", "github.com/redis/go-redis/v9",
	}
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		pkg, err := build.Import(path, ".", 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range forbidden {
				if imp == f {
					t.Errorf("%s imports %s; the editor core must do no I/O", path, imp)
				}
			}
			if strings.HasPrefix(imp, "github.com/bpfdraft/bpfdraft/") {
				if !strings.HasPrefix(imp, "github.com/bpfdraft/bpfdraft/editor") {
					t.Errorf("%s imports %s; editor imports nothing of the project outside itself", path, imp)
				}
				walk(imp)
			}
		}
	}
	walk("github.com/bpfdraft/bpfdraft/editor")
}
