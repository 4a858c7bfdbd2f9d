package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// repoRoot is the repository's root directory, where the Dockerfile and
// docker-compose.yml are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// bpfdraft builds the real binary once per test run.
func bpfdraft(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bpfdraft-deploy")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bpfdraft")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/bpfdraft")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// acceptsArgs runs the binary with args followed by -h: the subcommand
// parses every flag in args and then prints its help, so it exits 0 only
// when the subcommand exists and every flag and value in args is valid.
func acceptsArgs(t *testing.T, args []string) error {
	t.Helper()
	cmd := exec.Command(bpfdraft(t), append(append([]string{}, args...), "-h")...)
	cmd.Env = []string{} // nothing from this machine's BPFDRAFT_*
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bpfdraft %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if len(args) == 0 || !strings.Contains(out.String(), "Usage of "+args[0]+":") {
		return fmt.Errorf("bpfdraft %s -h printed no usage of a subcommand:\n%s", strings.Join(args, " "), out.String())
	}
	return nil
}

// flagInfo is a flag as a subcommand's help lists it.
type flagInfo struct {
	typ string // "string", "int", "duration", "value"...; "" for a bool
	def string // the default, as printed; "" when none is
}

// subcommandFlags lists the flags of a subcommand of the real binary.
func subcommandFlags(t *testing.T, sub string) map[string]flagInfo {
	t.Helper()
	cmd := exec.Command(bpfdraft(t), sub, "-h")
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bpfdraft %s -h: %v\n%s", sub, err, out)
	}
	flags := map[string]flagInfo{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			rest, _, _ = strings.Cut(rest, "\t") // a one-letter flag has its usage on the same line
			name, typ, _ := strings.Cut(rest, " ")
			flags[name] = flagInfo{typ: typ}
			last = name
			continue
		}
		if i := strings.LastIndex(line, "(default "); i >= 0 && last != "" {
			f := flags[last]
			f.def = strings.Trim(strings.TrimSuffix(line[i+len("(default "):], ")"), `"`)
			flags[last] = f
		}
	}
	if len(flags) == 0 {
		t.Fatalf("bpfdraft %s -h lists no flags:\n%s", sub, out)
	}
	return flags
}

// envFlag names the flag an environment variable is the twin of:
// BPFDRAFT_SHUTDOWN_TIMEOUT is --shutdown-timeout.
func envFlag(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "BPFDRAFT_")
	if !ok {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(rest, "_", "-")), true
}

// envName is the environment twin of a flag.
func envName(flag string) string {
	return "BPFDRAFT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// checkServeEnv holds environment variables against serve's flags: each
// BPFDRAFT_ variable must be the twin of a flag, with a value that flag
// takes.
func checkServeEnv(t *testing.T, where string, env map[string]string) {
	t.Helper()
	flags := subcommandFlags(t, "serve")
	for name, value := range env {
		flagName, ok := envFlag(name)
		if !ok {
			continue
		}
		f, ok := flags[flagName]
		if !ok {
			t.Errorf("%s: %s names no flag of bpfdraft serve (no --%s)", where, name, flagName)
			continue
		}
		if err := checkFlagValue(f, value); err != nil {
			t.Errorf("%s: %s=%q: %v", where, name, value, err)
		}
	}
}

func checkFlagValue(f flagInfo, v string) error {
	var err error
	switch f.typ {
	case "":
		_, err = strconv.ParseBool(v)
	case "int":
		_, err = strconv.Atoi(v)
	case "duration":
		_, err = time.ParseDuration(v)
	}
	return err
}
