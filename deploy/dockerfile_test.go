package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY...
	args string
	line int
}

// stage is one FROM and the instructions under it.
type stage struct {
	image, name string
	instrs      []instruction
}

// readDockerfile reads the repository's Dockerfile as its stages.
func readDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments may sit between continuation lines too
		}
		if cur.Len() == 0 {
			start = n
		}
		more := strings.HasSuffix(line, `\`)
		cur.WriteString(strings.TrimSuffix(line, `\`))
		if more {
			cur.WriteString(" ")
			continue
		}
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// all returns the stage's instructions of one kind.
func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses an instruction's JSON (exec) form; the shell form would
// need a shell, which the final image does not have.
func execForm(in instruction) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("Dockerfile:%d: %s %s is not in exec form ([\"...\"])", in.line, in.cmd, in.args)
	}
	return argv, nil
}

// copyArgs splits a COPY into its --options, sources and destination.
func copyArgs(in instruction) (opts map[string]string, srcs []string, dst string) {
	opts = map[string]string{}
	var rest []string
	for _, f := range strings.Fields(in.args) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.HasPrefix(k, "--") {
			opts[k[2:]] = v
			continue
		}
		rest = append(rest, f)
	}
	if len(rest) < 2 {
		return opts, nil, ""
	}
	return opts, rest[:len(rest)-1], rest[len(rest)-1]
}

// envOf collects a stage's ENV settings.
func envOf(s stage) map[string]string {
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		f := strings.Fields(in.args)
		if len(f) > 0 && !strings.Contains(f[0], "=") { // ENV KEY value
			env[f[0]] = strings.Join(f[1:], " ")
			continue
		}
		for _, kv := range f {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

var goBuildOut = regexp.MustCompile(`(?:^|\s)-o\s+(\S+)`)

// TestDockerfileBuildStage: the build stage uses the Go of go.mod, has
// the modules in a layer of their own and builds a static, trimmed
// binary of ./cmd/bpfdraft.
func TestDockerfileBuildStage(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages; want a build stage and a final one", len(stages))
	}
	build := stages[0]

	// golang:1.26 builds a module that says "go 1.26.x"; not one of 1.27.
	mod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(mod)
	tag := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(build.image)
	if m == nil || tag == nil {
		t.Fatalf("build stage FROM %s: want golang:MAJOR.MINOR (a Debian-based Go image) for the go line of go.mod", build.image)
	}
	if atoi(tag[1])*1000+atoi(tag[2]) < atoi(string(m[1]))*1000+atoi(string(m[2])) {
		t.Errorf("build stage FROM %s is older than go.mod's go %s.%s", build.image, m[1], m[2])
	}

	// COPY go.mod go.sum, RUN go mod download, and only then the sources.
	modCopied, downloaded := false, false
	for _, in := range build.instrs {
		switch {
		case in.cmd == "COPY" || in.cmd == "ADD":
			_, srcs, _ := copyArgs(in)
			if slices.Equal(srcs, []string{"go.mod", "go.sum"}) {
				modCopied = true
			} else if !downloaded {
				t.Errorf("Dockerfile:%d: %s %s comes before go mod download: every change to it downloads the modules again", in.line, in.cmd, in.args)
			}
		case in.cmd == "RUN" && strings.Contains(in.args, "go mod download"):
			if !modCopied {
				t.Errorf("Dockerfile:%d: go mod download before COPY go.mod go.sum", in.line)
			}
			downloaded = true
		}
	}
	if !modCopied || !downloaded {
		t.Errorf("build stage: COPY go.mod go.sum then RUN go mod download, as a layer of its own: copied %v, downloaded %v", modCopied, downloaded)
	}

	builds := 0
	for _, in := range build.all("RUN") {
		if !strings.Contains(in.args, "go build") {
			continue
		}
		builds++
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/bpfdraft"} {
			if !strings.Contains(in.args, want) {
				t.Errorf("Dockerfile:%d: go build without %s (a static binary needs CGO_ENABLED=0; -trimpath keeps build paths out of it)", in.line, want)
			}
		}
		if goBuildOut.FindStringSubmatch(in.args) == nil {
			t.Errorf("Dockerfile:%d: go build without -o", in.line)
		}
	}
	if builds != 1 {
		t.Errorf("build stage runs go build %d times; want once", builds)
	}
}

// TestDockerfileFinalStage: the image holds the binary (and an empty data
// directory) only, runs as a numeric non-root user that owns the data
// directory, and starts a subcommand with flags and environment the
// binary accepts.
func TestDockerfileFinalStage(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages; want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") && final.image != "scratch" {
		t.Errorf("final stage FROM %s; want distroless static or scratch", final.image)
	}
	if ins := append(final.all("RUN"), final.all("ADD")...); len(ins) > 0 {
		t.Errorf("final stage has %s at line %d: it should only copy the binary in", ins[0].cmd, ins[0].line)
	}

	// USER: numeric (no /etc/passwd lookup), not root.
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("final stage sets no USER: the server would run as root")
	}
	user := users[len(users)-1].args
	uid, gid, _ := strings.Cut(user, ":")
	for _, id := range []string{uid, gid} {
		if id == "" {
			continue
		}
		if n, err := strconv.Atoi(id); err != nil || n == 0 {
			t.Errorf("final stage USER %s: want numeric, non-root ids", user)
		}
	}

	// What the build stage makes: the binary (go build -o) and empty
	// directories (mkdir).
	var binary string
	dirs := map[string]string{} // made by mkdir -> the chown of them
	for _, in := range build.all("RUN") {
		if m := goBuildOut.FindStringSubmatch(in.args); m != nil && strings.Contains(in.args, "go build") {
			binary = m[1]
		}
		for _, cmd := range strings.Split(in.args, "&&") {
			f := strings.Fields(cmd)
			if len(f) >= 2 && f[0] == "mkdir" {
				for _, d := range f[1:] {
					if !strings.HasPrefix(d, "-") {
						dirs[d] = ""
					}
				}
			}
			if len(f) == 3 && f[0] == "chown" {
				if _, ok := dirs[f[2]]; ok {
					dirs[f[2]] = f[1]
				}
			}
		}
	}
	stageRef := map[string]bool{"0": true, build.name: build.name != ""}
	var binaryAt, dataAt string
	for _, in := range final.all("COPY") {
		opts, srcs, dst := copyArgs(in)
		if !stageRef[opts["from"]] {
			t.Errorf("Dockerfile:%d: COPY %s: the final stage copies only from the build stage (--from=%s)", in.line, in.args, build.name)
			continue
		}
		for _, src := range srcs {
			switch owner, isDir := dirs[src]; {
			case src == binary:
				binaryAt = dst
			case isDir:
				dataAt = path.Clean(dst)
				if owner == "" || opts["chown"] != owner || !strings.HasPrefix(owner, uid+":") && owner != uid {
					t.Errorf("Dockerfile:%d: the directory %s is owned by %q in the build stage and copied with --chown=%q; want both the USER %s, who writes in it", in.line, src, owner, opts["chown"], user)
				}
			default:
				t.Errorf("Dockerfile:%d: COPY %s: the final stage copies the binary (%s) and empty directories only", in.line, src, binary)
			}
		}
	}
	if binaryAt == "" {
		t.Fatalf("final stage does not copy the binary %s", binary)
	}

	entry := final.all("ENTRYPOINT")
	if len(entry) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINTs; want one", len(entry))
	}
	argv, err := execForm(entry[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(argv, []string{binaryAt}) {
		t.Errorf("ENTRYPOINT %q; want [%q], the binary copied in", argv, binaryAt)
	}

	cmds := final.all("CMD")
	if len(cmds) != 1 {
		t.Fatalf("final stage has %d CMDs; want one", len(cmds))
	}
	cmd, err := execForm(cmds[0])
	if err != nil {
		t.Fatal(err)
	}
	if cmd[0] != "serve" {
		t.Errorf("CMD %q; want the serve subcommand", cmd)
	}
	if err := acceptsArgs(t, cmd); err != nil {
		t.Errorf("CMD %q is not accepted by the binary: %v", cmd, err)
	}

	// The settings in ENV are serve's, and agree with EXPOSE and VOLUME.
	env := envOf(final)
	checkServeEnv(t, "Dockerfile ENV", env)
	host, port, err := net.SplitHostPort(env["BPFDRAFT_ADDR"])
	if err != nil || host != "0.0.0.0" && host != "" {
		t.Errorf("ENV BPFDRAFT_ADDR=%q: want 0.0.0.0:PORT, reachable from outside the container", env["BPFDRAFT_ADDR"])
	}
	var exposed []string
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
		}
	}
	if !slices.Contains(exposed, port) {
		t.Errorf("EXPOSE %q does not include the port the server listens on (%s)", exposed, port)
	}
	data := env["BPFDRAFT_DATA"]
	var volumes []string
	for _, in := range final.all("VOLUME") {
		if v, err := execForm(in); err == nil {
			volumes = append(volumes, v...)
		} else {
			volumes = append(volumes, strings.Fields(in.args)...)
		}
	}
	if data == "" || !slices.Contains(volumes, data) || dataAt != data {
		t.Errorf("data directory: ENV BPFDRAFT_DATA=%q, VOLUME %q, directory copied in at %q; want all three the same", data, volumes, dataAt)
	}

	// The image's own health check runs the binary's probe.
	hcs := final.all("HEALTHCHECK")
	if len(hcs) != 1 {
		t.Fatalf("final stage has %d HEALTHCHECKs; want one", len(hcs))
	}
	_, hcCmd, ok := strings.Cut(hcs[0].args, "CMD ")
	probe, err := execForm(instruction{cmd: "HEALTHCHECK CMD", args: hcCmd, line: hcs[0].line})
	if !ok || err != nil {
		t.Fatalf("HEALTHCHECK %s: want CMD in exec form: %v", hcs[0].args, err)
	}
	if probe[0] != binaryAt || len(probe) < 2 || probe[1] != "probe" {
		t.Errorf("HEALTHCHECK runs %q; want %s probe", probe, binaryAt)
	} else if err := acceptsArgs(t, probe[1:]); err != nil {
		t.Errorf("HEALTHCHECK %q: %v", probe, err)
	}
}

// TestDockerignore: the build context leaves out what the image does not
// need, and nothing the build does: every Go file and embedded file of
// the binary's packages, go.mod and go.sum.
func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}

	for _, p := range []string{".git", "frontend/node_modules", "test-artifacts", "bpfdraft-data", "cmd/bpfdraft/bpfdraft.test", "collab.test"} {
		if !ignored(patterns, p) {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}

	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module", "./cmd/bpfdraft")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if !slices.Contains(needed, "frontend/frontend.go") {
		t.Fatalf("go list found none of the frontend package's files: %q", needed)
	}
	for _, f := range needed {
		if ignored(patterns, f) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", f)
		}
	}
}

// ignored reports whether .dockerignore's patterns leave out a path (or a
// directory it is in), as Docker reads them: the last matching pattern
// decides, "!" keeps, and "**" matches any number of directories.
func ignored(patterns []string, p string) bool {
	out := false
	for _, pat := range patterns {
		keep := strings.HasPrefix(pat, "!")
		pat = path.Clean(strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/"))
		parts := strings.Split(p, "/")
		for i := 1; i <= len(parts); i++ {
			if matchSegments(strings.Split(pat, "/"), parts[:i]) {
				out = !keep
				break
			}
		}
	}
	return out
}

func matchSegments(pat, p []string) bool {
	if len(pat) == 0 {
		return len(p) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(p); i++ {
			if matchSegments(pat[1:], p[i:]) {
				return true
			}
		}
		return false
	}
	if len(p) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], p[0])
	return err == nil && ok && matchSegments(pat[1:], p[1:])
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
