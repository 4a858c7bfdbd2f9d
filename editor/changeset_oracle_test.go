package editor

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// The differential tests run the same random cases through this package and
// through the real @codemirror/state and @codemirror/collab, via
// frontend/tools/cm-oracle.mjs, and demand identical results.

var (
	oracleCases = flag.Int("oracle.cases", 20000, "number of random cases in TestDifferential")
	oracleTime  = flag.Duration("oracle.time", 15*time.Second, "time limit for TestDifferential's cases")
)

// oracleEnv turns FuzzDifferential's comparison with the JavaScript library
// on.
const oracleEnv = "BPFDRAFT_FUZZ_ORACLE"

// repoRoot finds the module root above the package directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

type oracle struct {
	cmd  *exec.Cmd
	in   *bufio.Writer
	out  *bufio.Reader
	mu   sync.Mutex
	done func() error
}

type oracleReply struct {
	OK    json.RawMessage `json:"ok"`
	Error string          `json:"error"`
}

// nodeCommand returns a command running a script of frontend/tools with
// node in the repository root. A missing node or node_modules fails the
// test rather than skipping it: the comparison is the point.
func nodeCommand(t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "frontend", "node_modules", "@codemirror", "state")); err != nil {
		t.Fatalf("frontend/node_modules is missing (%v): run `npm ci --prefix frontend` before go test", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to compare with @codemirror/state: %v", err)
	}
	cmd := exec.Command(node, append([]string{filepath.Join("frontend", "tools", script)}, args...)...)
	cmd.Dir = root
	return cmd
}

// startOracle starts cm-oracle.mjs.
func startOracle(t testing.TB) *oracle {
	t.Helper()
	cmd := nodeCommand(t, "cm-oracle.mjs")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oracle: %v", err)
	}
	o := &oracle{cmd: cmd, in: bufio.NewWriterSize(stdin, 1<<16), out: bufio.NewReaderSize(stdout, 1<<20)}
	o.done = func() error {
		stdin.Close()
		return cmd.Wait()
	}
	return o
}

func (o *oracle) close() error { return o.done() }

// ask sends every request, then reads the replies in order. Writing runs
// beside reading so that neither pipe fills up.
func (o *oracle) ask(reqs []map[string]any) ([]oracleReply, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	werr := make(chan error, 1)
	go func() {
		enc := json.NewEncoder(o.in)
		enc.SetEscapeHTML(false)
		for _, r := range reqs {
			if err := enc.Encode(r); err != nil {
				werr <- err
				return
			}
		}
		werr <- o.in.Flush()
	}()
	replies := make([]oracleReply, len(reqs))
	for i := range replies {
		line, err := o.out.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("oracle reply %d: %w", i, err)
		}
		if err := json.Unmarshal(line, &replies[i]); err != nil {
			return nil, fmt.Errorf("oracle reply %d %q: %w", i, line, err)
		}
	}
	return replies, <-werr
}

// diffCase is one question with this package's answer, compared with the
// library's by check.
type diffCase struct {
	what string // the inputs, for the failure message
	req  map[string]any
	want any // this package's answer, compared after a JSON round trip
}

func setJSON(c ChangeSet) json.RawMessage {
	b, _ := c.MarshalJSON()
	return b
}

func updatesJSON(us []Update) []map[string]any {
	out := make([]map[string]any, len(us))
	for i, u := range us {
		out[i] = map[string]any{"changes": setJSON(u.Changes), "clientID": u.ClientID}
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// genDiffCases returns the questions for one random scenario.
func genDiffCases(c chooser) []diffCase {
	var cases []diffCase
	add := func(what string, req map[string]any, want any) {
		cases = append(cases, diffCase{what, req, want})
	}
	doc := genDoc(c)
	n := UTF16Len(doc)
	docWhat := fmt.Sprintf("doc %q", doc)
	if len(doc) > 200 {
		docWhat = fmt.Sprintf("doc of %d units", n)
	}

	switch c.intn(6) {
	case 0: // ChangeSet.of, apply, iterChanges, lengths
		changes := genChanges(c, doc, 6)
		if chance(c, 10) {
			changes = append(changes, Change{From: 0, To: 0, Insert: "one\r\ntwo\rthree"})
		}
		set, err := ChangeSetOf(changes, n)
		if err != nil {
			panic(err)
		}
		specs := make([]map[string]any, len(changes))
		for i, ch := range changes {
			specs[i] = map[string]any{"from": ch.From, "to": ch.To, "insert": ch.Insert}
		}
		add(fmt.Sprintf("ChangeSetOf(%v, %d)", changes, n), map[string]any{"op": "of", "changes": specs, "length": n}, setJSON(set))
		if chance(c, 30) {
			set = genRaw(c, doc)
		}
		what := fmt.Sprintf("%s, set %s", docWhat, setJSON(set))
		add("Apply: "+what, map[string]any{"op": "apply", "doc": doc, "changes": setJSON(set)}, mustApply(set, doc))
		add("LenBefore/LenAfter/Empty: "+what, map[string]any{"op": "info", "changes": setJSON(set)},
			map[string]any{"length": set.LenBefore(), "newLength": set.LenAfter(), "empty": set.Empty()})
		for _, individual := range []bool{false, true} {
			var got [][]any
			f := func(fromA, toA, fromB, toB int, text string) {
				got = append(got, []any{fromA, toA, fromB, toB, text})
			}
			if individual {
				set.IterChangesIndividual(f)
			} else {
				set.IterChanges(f)
			}
			if got == nil {
				got = [][]any{}
			}
			add(fmt.Sprintf("IterChanges(individual=%v): %s", individual, what),
				map[string]any{"op": "iter", "changes": setJSON(set), "individual": individual}, got)
		}

	case 1: // compose chains
		acc := genSet(c, doc)
		cur := mustApply(acc, doc)
		for range 1 + c.intn(3) {
			next := genSet(c, cur)
			add(fmt.Sprintf("Compose(%s, %s) on %s", setJSON(acc), setJSON(next), docWhat),
				map[string]any{"op": "compose", "a": setJSON(acc), "b": setJSON(next)}, setJSON(acc.Compose(next)))
			acc = acc.Compose(next)
			cur = mustApply(next, cur)
		}

	case 2: // map both ways
		a, b := genPair(c, doc)
		for _, before := range []bool{true, false} {
			add(fmt.Sprintf("Map(%s, %s, before=%v) on %s", setJSON(a), setJSON(b), before, docWhat),
				map[string]any{"op": "map", "a": setJSON(a), "b": setJSON(b), "before": before}, setJSON(a.Map(b, before)))
			add(fmt.Sprintf("Map(%s, %s, before=%v) on %s", setJSON(b), setJSON(a), before, docWhat),
				map[string]any{"op": "map", "a": setJSON(b), "b": setJSON(a), "before": before}, setJSON(b.Map(a, before)))
		}

	case 3: // mapPos
		set := genSet(c, doc)
		var probes, got []any
		for range 24 {
			pos, assoc, mode := c.intn(n+1), pick(c, []int{-1, 1}), c.intn(4)
			probes = append(probes, []int{pos, assoc, mode})
			if p, ok := set.MapPos(pos, assoc, MapMode(mode)); ok {
				got = append(got, p)
			} else {
				got = append(got, nil)
			}
		}
		add(fmt.Sprintf("MapPos on %s, probes [pos assoc mode] %v", setJSON(set), probes),
			map[string]any{"op": "mapPos", "changes": setJSON(set), "probes": probes}, got)

	case 4: // invert
		set := genSet(c, doc)
		inv, err := set.Invert(doc)
		if err != nil {
			panic(err)
		}
		add(fmt.Sprintf("Invert(%s) on %s", setJSON(set), docWhat),
			map[string]any{"op": "invert", "changes": setJSON(set), "doc": doc}, setJSON(inv))

	case 5: // rebaseUpdates, in a small simulated session
		type client struct {
			id      string
			version int
			pending []Update
		}
		clients := []*client{{id: "alice"}, {id: "bob"}, {id: "carol"}}
		docs := []string{doc}
		var authority []Update
		for range 8 {
			cl := pick(c, clients)
			local := docs[cl.version]
			for _, u := range cl.pending {
				local = mustApply(u.Changes, local)
			}
			if len(cl.pending) == 0 || chance(c, 55) {
				cl.pending = append(cl.pending, Update{Changes: genSet(c, local), ClientID: cl.id})
				continue
			}
			over := authority[cl.version:]
			got := RebaseUpdates(cl.pending, over)
			add(fmt.Sprintf("RebaseUpdates(%s, %s)", jsonString(updatesJSON(cl.pending)), jsonString(updatesJSON(over))),
				map[string]any{"op": "rebase", "updates": updatesJSON(cl.pending), "over": updatesJSON(over)}, updatesJSON(got))
			for _, u := range got {
				authority = append(authority, u)
				docs = append(docs, mustApply(u.Changes, docs[len(docs)-1]))
			}
			if chance(c, 30) {
				continue // confirmation lost: the same updates come again
			}
			cl.version, cl.pending = len(authority), nil
		}
	}
	return cases
}

// compareDiff checks this package's answers against the library's replies.
func compareDiff(t testing.TB, cases []diffCase, replies []oracleReply) (failures int) {
	t.Helper()
	for i, dc := range cases {
		r := replies[i]
		if r.Error != "" {
			t.Errorf("%s: library threw %q; this package answered %v", dc.what, r.Error, dc.want)
			failures++
			continue
		}
		mine, err := json.Marshal(dc.want)
		if err != nil {
			t.Fatalf("%s: %v", dc.what, err)
		}
		var got, want any
		if err := json.Unmarshal(mine, &got); err != nil {
			t.Fatalf("%s: own answer %s: %v", dc.what, mine, err)
		}
		if err := json.Unmarshal(r.OK, &want); err != nil {
			t.Fatalf("%s: library answer %s: %v", dc.what, r.OK, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %s\nwant %s", dc.what, mine, r.OK)
			failures++
		}
	}
	return failures
}

// TestVectorsUpToDate makes sure the committed vectors are what the
// installed library gives, so that upgrading it cannot leave them stale.
func TestVectorsUpToDate(t *testing.T) {
	out, err := nodeCommand(t, "gen-change-vectors.mjs", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("gen-change-vectors.mjs --check: %v\n%s", err, out)
	}
}

// TestDifferential compares random cases with the JavaScript library. It
// prints its seed; BPFDRAFT_TEST_SEED runs a failure again.
func TestDifferential(t *testing.T) {
	seed := testseed.Seed(t)
	o := startOracle(t)
	defer func() {
		if err := o.close(); err != nil {
			t.Errorf("oracle exit: %v", err)
		}
	}()
	c := newRandChooser(seed)
	deadline := time.Now().Add(*oracleTime)
	cases := *oracleCases
	if testing.Short() {
		cases = min(cases, 1000) // the fast tier; the full run asks many more
	}
	scenarios, questions := 0, 0
	for scenarios < cases && time.Now().Before(deadline) {
		var batch []diffCase
		for range 200 {
			if scenarios == cases {
				break
			}
			batch = append(batch, genDiffCases(c)...)
			scenarios++
		}
		reqs := make([]map[string]any, len(batch))
		for i, dc := range batch {
			reqs[i] = dc.req
		}
		replies, err := o.ask(reqs)
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		questions += len(batch)
		if compareDiff(t, batch, replies) > 0 {
			t.Fatalf("seed %d: differences from @codemirror/state (see above)", seed)
		}
	}
	t.Logf("%d scenarios, %d questions agreed with the library", scenarios, questions)
	if scenarios < 100 {
		t.Errorf("only %d scenarios ran before the time limit", scenarios)
	}
}

var (
	fuzzOracleOnce sync.Once
	fuzzOracle     *oracle
)

// FuzzDifferential turns fuzz input into a scenario. It always checks that
// this package handles it without panicking; with BPFDRAFT_FUZZ_ORACLE=1
// it also compares every answer with the JavaScript library:
//
//	BPFDRAFT_FUZZ_ORACLE=1 go test ./editor -run '^$' -fuzz FuzzDifferential
func FuzzDifferential(f *testing.F) {
	for _, seed := range [][]byte{{}, {1, 5, 200, 3}, {2, 90, 17, 44, 3, 9}, {5, 5, 5, 5, 5, 0, 1, 2, 250}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cases := genDiffCases(&byteChooser{data: data})
		if os.Getenv(oracleEnv) == "" {
			return
		}
		fuzzOracleOnce.Do(func() { fuzzOracle = startOracle(t) })
		if fuzzOracle == nil {
			t.Fatal("oracle did not start")
		}
		reqs := make([]map[string]any, len(cases))
		for i, dc := range cases {
			reqs[i] = dc.req
		}
		replies, err := fuzzOracle.ask(reqs)
		if err != nil {
			t.Fatal(errors.Join(errors.New("oracle"), err))
		}
		compareDiff(t, cases, replies)
	})
}
