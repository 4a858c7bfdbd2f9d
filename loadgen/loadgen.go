package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab/wire"
)

// Bounds on what one run may ask for, so a mistyped flag cannot run for
// hours or open more sockets than the machine has descriptors.
const (
	MaxDuration    = 10 * time.Minute
	MaxConnections = 20000
	MaxRate        = 5000 // changes per second per editor
)

// Config describes one load run. Zero values take the defaults noted.
type Config struct {
	// Server is the base URL of the server, or of several servers (nodes
	// serving the same documents from one shared store) separated by
	// commas; each must resolve to loopback. The run signs in, creates and
	// reads the document through the first; connections are spread over
	// all of them round-robin, editors first, then viewers.
	Server string
	// Email and Password, if Email is set, are the account the run signs
	// in as (POST /api/session) before anything else: every API request
	// then carries the session's cookie and its X-CSRF-Token, and every
	// websocket the cookie. Without them the run is anonymous, which a
	// server refuses for creating a document and for an unpublished one.
	Email    string
	Password string
	// Doc is the document to edit; empty creates a bpf-output document.
	Doc string
	// Editors is the number of editing connections (default 10).
	Editors int
	// Rate is the changes per second each editor makes (default 5).
	Rate float64
	// Viewers is the number of idle read-only connections.
	Viewers int
	// Duration is how long the editors edit (default 10s, at most
	// MaxDuration).
	Duration time.Duration
	// Sections is how many sections the editors spread over (default 1:
	// everyone in one section, the hardest case for rebasing).
	Sections int
	// ServerPID, if set, is the server's process id on this machine: its
	// CPU time and resident memory are measured too. It is the same as
	// ServerPIDs with one element.
	ServerPID int
	// ServerPIDs, if set, are the process ids of the servers of Server, one
	// per server and in the same order: each one's CPU time and memory are
	// measured, and reported per server (Result.Nodes) and in total.
	ServerPIDs []int
	// EditorSample is how many editors are full clients (package client)
	// that apply every update to every section, measure broadcast latency
	// and are compared with the server at the end (default 10); the others
	// are light editors (lighteditor.go), which keep only their own
	// section.
	EditorSample int
	// PromptReads makes light editors read every frame as it comes;
	// by default one that waits for nothing reads what has arrived every
	// 25 ms (lightOptions.readEvery), much cheaper for the generator.
	PromptReads bool
	// ViewerSample is how many viewers are full clients that record
	// broadcast latency and are compared with the server at the end
	// (default 100); the others read every frame but only check that the
	// seq numbers arrive in order, none missing (light.go).
	ViewerSample int
	// DialConcurrency caps connections being opened at once (default 64).
	DialConcurrency int
	// Warmup is excluded from the latencies and the committed rate
	// (default a fifth of Duration, at most 2s).
	Warmup time.Duration
	// TargetUnits is the section length beyond which editors delete as
	// much as they type (default 2000).
	TargetUnits int
	// Seed makes the edits reproducible; 0 picks one (reported in Result).
	Seed uint64
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)

	// afterViewers, if set, is called once the viewers are connected (the
	// benchmark takes a heap profile there).
	afterViewers func()
}

func (c Config) withDefaults() (Config, error) {
	if c.Editors == 0 {
		c.Editors = 10
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Sections == 0 {
		c.Sections = 1
	}
	if c.EditorSample == 0 {
		c.EditorSample = 10
	}
	if c.ViewerSample == 0 {
		c.ViewerSample = 100
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 64
	}
	if c.Warmup == 0 {
		c.Warmup = min(2*time.Second, c.Duration/5)
	}
	if c.TargetUnits == 0 {
		c.TargetUnits = 2000
	}
	if c.ServerPID != 0 {
		if len(c.ServerPIDs) > 0 {
			return c, errors.New("both ServerPID and ServerPIDs set")
		}
		c.ServerPIDs, c.ServerPID = []int{c.ServerPID}, 0
	}
	if c.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		c.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	switch {
	case c.Editors < 0 || c.Viewers < 0 || c.ViewerSample < 0 || c.EditorSample < 0:
		return c, errors.New("editors and viewers must not be negative")
	case c.Editors+c.Viewers > MaxConnections:
		return c, fmt.Errorf("%d connections asked for; at most %d", c.Editors+c.Viewers, MaxConnections)
	case c.Rate < 0 || c.Rate > MaxRate:
		return c, fmt.Errorf("rate %g per editor: must be between 0 and %d", c.Rate, MaxRate)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return c, fmt.Errorf("duration %v: must be between 0 and %v", c.Duration, MaxDuration)
	case c.Warmup < 0 || c.Warmup >= c.Duration:
		return c, fmt.Errorf("warm-up %v must be shorter than the duration %v", c.Warmup, c.Duration)
	case c.Sections < 0:
		return c, errors.New("sections must be positive")
	case c.DialConcurrency < 1:
		return c, errors.New("dial concurrency must be positive")
	case c.Email != "" && c.Password == "":
		return c, fmt.Errorf("no password given to sign in as %s", c.Email)
	case c.Email == "" && c.Password != "":
		return c, errors.New("a password but no email address to sign in with")
	}
	return c, nil
}

// Result is what one run measured.
type Result struct {
	Server    string  `json:"server"`
	Doc       string  `json:"doc"`
	Editors   int     `json:"editors"`
	Viewers   int     `json:"viewers"`
	Sections  int     `json:"sections"`
	Rate      float64 `json:"rate_per_editor"`
	DurationS float64 `json:"duration_s"`
	Seed      uint64  `json:"seed"`
	// EditorSample and ViewerSample are how many editors and viewers were
	// full clients (at most Editors and Viewers); PromptReads, whether the
	// light editors read every frame as it came.
	EditorSample int  `json:"editor_sample"`
	ViewerSample int  `json:"viewer_sample"`
	PromptReads  bool `json:"prompt_reads"`

	// Connection set-up, in seconds.
	ConnectEditorsS float64 `json:"connect_editors_s"`
	ConnectViewersS float64 `json:"connect_viewers_s"`

	// Offered is the schedule: editors × rate.
	Offered float64 `json:"offered_per_s"`
	// Edits were made; Confirmed came back to their editor; Committed is
	// how far the server's seq moved during the run.
	Edits     int64 `json:"edits"`
	Confirmed int64 `json:"confirmed"`
	Committed int64 `json:"committed"`
	// Skipped edits were due but more than 250 ms late (the generator's
	// editor was blocked, usually by its client's backlog) and not made.
	Skipped int64 `json:"skipped"`
	// Held edits were due but not made in time because the editor was
	// waiting on its connection: a light editor had maxUnconfirmed edits
	// unconfirmed, or a full client's previous edit was blocked for more
	// than half of 250 ms (a server too busy to read its pushes, or a
	// client busy with a backlog; the CPU figures tell which).
	Held int64 `json:"held"`
	// CommittedPerS is the seq's growth over the steady window (after the
	// warm-up, until the editors stop), SteadyS long.
	CommittedPerS float64 `json:"committed_per_s"`
	SteadyS       float64 `json:"steady_s"`

	// Deliveries counts updates received by all connections over the
	// steady window (the growth of every connection's seq).
	Deliveries     int64   `json:"deliveries"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`

	// Confirm: an edit until it comes back to its editor. Broadcast: an
	// edit until it reaches another sampled editor or a sampled viewer
	// (light editors do not read every frame as it comes). Both are nil
	// when GeneratorLimited: they are then not the server's.
	Confirm   *Latency `json:"confirm,omitempty"`
	Broadcast *Latency `json:"broadcast,omitempty"`
	// GeneratorLimited says the generator, not the server, was the limit
	// of this run, for the reasons in GeneratorLimit (verdict.go); the
	// latencies measured are then only in Discarded, for diagnosis.
	GeneratorLimited bool       `json:"generator_limited"`
	GeneratorLimit   []string   `json:"generator_limit,omitempty"`
	Discarded        *Discarded `json:"discarded_latency,omitempty"`

	// Errors counts server error messages by code, and the generator's own
	// failures ("edit", "reconnect_failed", ...).
	Errors      map[string]int64 `json:"errors"`
	Disconnects int64            `json:"disconnects"`
	Reconnects  int64            `json:"reconnects"`

	// Converged: every client received everything and holds the same text
	// in every section as the server.
	Converged    bool   `json:"converged"`
	ConvergeNote string `json:"converge_note,omitempty"`
	FinalSeq     int64  `json:"final_seq"`

	Generator CPUUse     `json:"generator"`
	ServerUse *ServerUse `json:"server_process,omitempty"`
	// Nodes, when the run was spread over several servers, is what went to
	// each and what each took; ServerUse is then their sum (PID 0), its
	// CPU per delivery and memory per viewer over all of them.
	Nodes []NodeUse `json:"nodes,omitempty"`
	// MachineBusy is the fraction of all the machine's MachineCores CPUs
	// that were busy during the steady window (from /proc/stat; 0 cores
	// where it cannot be read); above 85% the generator and a server on
	// the same machine slow each other down.
	MachineCores     int     `json:"machine_cores"`
	MachineBusy      float64 `json:"machine_busy"`
	MachineSaturated bool    `json:"machine_saturated"`
}

// Discarded holds latencies measured in a generator-limited run: they say
// how far behind the generator was, not how fast the server is.
type Discarded struct {
	Confirm   Latency `json:"confirm"`
	Broadcast Latency `json:"broadcast"`
}

// CPUUse is a process's CPU use over the steady window.
type CPUUse struct {
	Cores int     `json:"cores"`
	CPUs  float64 `json:"cpus"` // cores kept busy, on average
	// Fraction is CPUs / Cores; Saturated means above 85%.
	Fraction  float64 `json:"fraction"`
	Saturated bool    `json:"saturated"`
	// PerDeliveryUs is the CPU time spent per update delivered to a
	// connection (Result.Deliveries), in microseconds.
	PerDeliveryUs float64 `json:"us_per_delivery"`
}

// ServerUse is what was measured of the server process.
type ServerUse struct {
	PID int `json:"pid"`
	CPUUse
	// Resident memory before the viewers connected, after they did, and
	// at the end of the run.
	RSSBefore  int64 `json:"rss_before_viewers"`
	RSSViewers int64 `json:"rss_after_viewers"`
	RSSEnd     int64 `json:"rss_end"`
	// PerViewer is (RSSViewers − RSSBefore) / viewers, in bytes.
	PerViewer float64 `json:"per_viewer_bytes"`
}

// NodeUse is one of several servers of a run: the connections it was
// given, the updates they received over the steady window, and, with
// Config.ServerPIDs, what its process took (CPU per delivery over its own
// connections' deliveries, memory per viewer over its own viewers).
type NodeUse struct {
	Server     string     `json:"server"`
	Editors    int        `json:"editors"`
	Viewers    int        `json:"viewers"`
	Deliveries int64      `json:"deliveries"`
	Process    *ServerUse `json:"process,omitempty"`
}

// maxLate is how far behind its schedule an editor may fall before it
// skips edits instead of catching up.
const maxLate = 250 * time.Millisecond

// lightReadEvery is how often a light editor that waits for nothing reads
// what has arrived (lightOptions.readEvery): with the server committing
// at most every 5 ms, a read then brings about five frames instead of one.
const lightReadEvery = 25 * time.Millisecond

// saturatedAbove is the CPU fraction above which a process is called
// saturated.
const saturatedAbove = 0.85

// receiver is the latency bookkeeping of one connection; it is touched
// only under its connection's lock: from a full client's OnUpdate, or by
// a light editor's reader.
type receiver struct {
	self      int     // editor index, or -1 for a viewer
	counts    []int32 // updates seen from each editor
	confirmed int64
	confirm   *hist
	bcast     *hist
}

// editorState is one editor: its connection and the time of each edit.
type editorState struct {
	key, id string // the client's key and the id the server derives from it
	section string
	c       *client.Client // a sampled editor, or
	le      *lightEditor   // a light one
	rc      *receiver
	typ     typing
	// sent[k] is the time (Unix ns) of the k-th edit; written by the
	// editor's goroutine before the edit is pushed, read by receivers.
	sent    []atomic.Int64
	next    int // edits made; owned by the editor's goroutine
	skipped int // edits of the schedule skipped because they were overdue
	held    int // ... while a light editor waited for confirmations
}

// conn is any connection the watcher keeps alive.
type conn struct {
	node         int // index of its server in run.bases
	c            *client.Client
	rc           *receiver // nil for an unsampled viewer
	reconnecting atomic.Bool
}

type run struct {
	cfg  Config
	base string // the first server, for the API
	// bases are the servers connections are spread over (base first).
	bases []string
	httpc *http.Client
	logf  func(string, ...any)
	// session is the run's sign-in (the zero Session when anonymous).
	session Session

	editors     []*editorState
	editorIndex map[string]int // client id → index; read-only once built
	conns       []*conn
	light       []*lightViewer // viewers beyond the sample
	lightNodes  []int          // the server of each of light
	lightEds    []*lightEditor // editors beyond the sample
	steadyFrom  atomic.Int64   // Unix ns; edits before it are not measured

	// What the server processes took: one per Config.ServerPIDs; their
	// CPU time over the steady window (wall long), and the updates each
	// server's connections received over it.
	procs          []*ServerUse
	serverCPU      []time.Duration
	nodeDeliveries []int64
	wall           time.Duration

	mu          sync.Mutex
	errs        map[string]int64
	disconnects atomic.Int64
	reconnects  atomic.Int64
}

func (r *run) addError(code string) {
	r.mu.Lock()
	r.errs[code]++
	r.mu.Unlock()
}

// Run performs one load run against a loopback server and reports what it
// measured. It returns an error only when the run could not be carried out
// (bad configuration, the server refused connections); problems during the
// run are in Result.Errors and Result.Converged.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	us, err := CheckServers(ctx, cfg.Server)
	if err != nil {
		return Result{}, err
	}
	if n := len(cfg.ServerPIDs); n > 0 && n != len(us) {
		return Result{}, fmt.Errorf("%d server process ids for %d servers; want one per server, in the same order", n, len(us))
	}
	// Everything is bounded: editing, plus generous time to connect and
	// to converge.
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+4*time.Minute)
	defer cancel()
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := run1(ctx, cfg, us)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
	}
	// A client whose reader holds its lock for a long time (a huge backlog
	// to rebase) blocks Edit, Locked and Close; give up on it rather than
	// run unbounded. Its goroutines end when the process does.
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(15 * time.Second):
		return Result{}, fmt.Errorf("%w: clients still busy %v after the deadline", ErrStuck, 15*time.Second)
	}
}

// ErrStuck is returned when the run could not be wound up in time.
var ErrStuck = errors.New("load run did not finish")

func run1(ctx context.Context, cfg Config, us []*url.URL) (Result, error) {
	var err error
	tr := &http.Transport{DialContext: dialLoopback, MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	var bases []string
	for _, u := range us {
		bases = append(bases, strings.TrimRight(u.String(), "/"))
	}
	r := &run{
		cfg:         cfg,
		base:        bases[0],
		bases:       bases,
		httpc:       &http.Client{Transport: tr, Timeout: 30 * time.Second},
		logf:        cfg.Logf,
		editorIndex: map[string]int{},
		errs:        map[string]int64{},
	}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	if cfg.Email != "" {
		if r.session, err = SignIn(ctx, r.httpc, r.base, cfg.Email, cfg.Password); err != nil {
			return Result{Server: strings.Join(bases, ",")}, err
		}
		r.logf("signed in as %s", cfg.Email)
	}
	res := Result{Server: strings.Join(bases, ","), Doc: cfg.Doc, Editors: cfg.Editors, Viewers: cfg.Viewers, Sections: cfg.Sections,
		Rate: cfg.Rate, DurationS: cfg.Duration.Seconds(), Seed: cfg.Seed, Offered: float64(cfg.Editors) * cfg.Rate,
		EditorSample: min(cfg.Editors, cfg.EditorSample), ViewerSample: min(cfg.Viewers, cfg.ViewerSample), PromptReads: cfg.PromptReads}
	if res.Doc == "" {
		if res.Doc, err = r.createDocument(ctx); err != nil {
			return res, err
		}
		r.logf("created document %s", res.Doc)
	}
	doc, err := r.getDocument(ctx, res.Doc)
	if err != nil {
		return res, err
	}
	if cfg.Sections > len(doc.Sections) {
		return res, fmt.Errorf("%d sections asked for; document %s has %d", cfg.Sections, res.Doc, len(doc.Sections))
	}
	startSeq := doc.Seq

	defer r.closeAll()
	if err := r.connectEditors(ctx, res.Doc, doc, &res); err != nil {
		return res, err
	}
	for _, pid := range cfg.ServerPIDs {
		p := &ServerUse{PID: pid}
		if p.RSSBefore, err = procRSS(pid); err != nil {
			return res, fmt.Errorf("--server-pid: %w", err)
		}
		r.procs = append(r.procs, p)
	}
	if err := r.connectViewers(ctx, res.Doc, &res); err != nil {
		return res, err
	}
	if cfg.afterViewers != nil {
		cfg.afterViewers()
	}
	if len(r.procs) > 0 && cfg.Viewers > 0 {
		// Let the server's connection goroutines settle before measuring.
		sleep(ctx, time.Second)
		for i, p := range r.procs {
			p.RSSViewers, _ = procRSS(p.PID)
			if n := r.viewersOn(i); n > 0 {
				p.PerViewer = float64(p.RSSViewers-p.RSSBefore) / float64(n)
			}
		}
	}

	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); r.watch(wctx) }()

	r.measure(ctx, res.Doc, &res)

	cres, err := r.converge(ctx, res.Doc)
	stopWatch()
	<-watchDone
	res.Converged, res.ConvergeNote, res.FinalSeq = cres.ok, cres.note, cres.seq
	res.Committed = cres.seq - startSeq
	for _, p := range r.procs {
		p.RSSEnd, _ = procRSS(p.PID)
	}
	r.serverUse(&res)
	r.collect(&res)
	res.judge()
	return res, err
}

// measure runs the editors for the configured duration and samples the
// server's seq and CPU use over the steady window.
func (r *run) measure(ctx context.Context, docID string, res *Result) {
	cfg := r.cfg
	start := time.Now()
	end := start.Add(cfg.Duration)
	steady := start.Add(cfg.Warmup)
	r.steadyFrom.Store(steady.UnixNano())
	ectx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	for i, e := range r.editors {
		wg.Go(func() { r.edit(ectx, i, e, start, end) })
	}
	r.logf("editing: %d editors × %g/s for %v", cfg.Editors, cfg.Rate, cfg.Duration)

	type sample struct {
		at          time.Time
		seq         int64
		self        time.Duration
		server      []time.Duration // of each process of r.procs
		busy, total int64
		received    []int64 // by the connections of each server
	}
	take := func() sample {
		s := sample{at: time.Now(), self: selfCPU(), received: r.received()}
		s.busy, s.total = machineCPU()
		for _, p := range r.procs {
			c, _ := procCPU(p.PID)
			s.server = append(s.server, c)
		}
		if d, err := r.getDocument(ctx, docID); err == nil {
			s.seq = d.Seq
		} else {
			r.addError("api")
		}
		return s
	}
	sleep(ctx, time.Until(steady))
	a := take()
	sleep(ectx, time.Until(end))
	b := take()
	wg.Wait()

	wall := b.at.Sub(a.at)
	res.SteadyS = wall.Seconds()
	res.CommittedPerS = float64(b.seq-a.seq) / wall.Seconds()
	r.wall = wall
	r.nodeDeliveries = make([]int64, len(r.bases))
	for i := range r.nodeDeliveries {
		r.nodeDeliveries[i] = b.received[i] - a.received[i]
		res.Deliveries += r.nodeDeliveries[i]
	}
	res.DeliveriesPerS = float64(res.Deliveries) / wall.Seconds()
	res.Generator = cpuUse(b.self-a.self, wall, runtime.GOMAXPROCS(0), res.Deliveries)
	r.serverCPU = make([]time.Duration, len(r.procs))
	for i := range r.procs {
		r.serverCPU[i] = b.server[i] - a.server[i]
	}
	if b.total > a.total {
		res.MachineCores = runtime.NumCPU()
		res.MachineBusy = float64(b.busy-a.busy) / float64(b.total-a.total)
		res.MachineSaturated = res.MachineBusy > saturatedAbove
	}
	for _, e := range r.editors {
		res.Edits += int64(e.next)
		res.Skipped += int64(e.skipped)
		res.Held += int64(e.held)
	}
}

// cpuUse is a process's use of cores over wall, from the CPU time it took.
func cpuUse(cpu, wall time.Duration, cores int, deliveries int64) CPUUse {
	n := cpu.Seconds() / wall.Seconds()
	u := CPUUse{Cores: cores, CPUs: n, Fraction: n / float64(cores), Saturated: n/float64(cores) > saturatedAbove}
	if deliveries > 0 {
		u.PerDeliveryUs = float64(cpu) / 1e3 / float64(deliveries)
	}
	return u
}

// serverUse fills res.ServerUse from what was measured of the server
// processes, and res.Nodes when the run was spread over several servers.
func (r *run) serverUse(res *Result) {
	if r.wall <= 0 {
		return // not measured: the run ended before its steady window
	}
	for i, p := range r.procs {
		p.CPUUse = cpuUse(r.serverCPU[i], r.wall, runtime.NumCPU(), r.nodeDeliveries[i])
	}
	if len(r.bases) == 1 {
		if len(r.procs) == 1 {
			res.ServerUse = r.procs[0]
		}
		return
	}
	if len(r.procs) > 0 {
		total := &ServerUse{}
		var cpu time.Duration
		for i, p := range r.procs {
			cpu += r.serverCPU[i]
			total.RSSBefore += p.RSSBefore
			total.RSSViewers += p.RSSViewers
			total.RSSEnd += p.RSSEnd
		}
		total.CPUUse = cpuUse(cpu, r.wall, runtime.NumCPU(), res.Deliveries)
		if r.cfg.Viewers > 0 && total.RSSViewers > 0 {
			total.PerViewer = float64(total.RSSViewers-total.RSSBefore) / float64(r.cfg.Viewers)
		}
		res.ServerUse = total
	}
	for i, base := range r.bases {
		n := NodeUse{Server: base, Editors: r.editorsOn(i), Viewers: r.viewersOn(i), Deliveries: r.nodeDeliveries[i]}
		if len(r.procs) > 0 {
			n.Process = r.procs[i]
		}
		res.Nodes = append(res.Nodes, n)
	}
}

// nodeOf is the server of the k-th connection of a run: editors are
// connections 0 to Editors-1, viewers the ones after.
func (r *run) nodeOf(k int) int { return k % len(r.bases) }

// editorsOn and viewersOn count the editors and viewers given server i.
func (r *run) editorsOn(i int) int { return spread(0, r.cfg.Editors, len(r.bases), i) }
func (r *run) viewersOn(i int) int { return spread(r.cfg.Editors, r.cfg.Viewers, len(r.bases), i) }

// spread counts the connections from, from+1, ..., from+n-1 that go to
// server i of nodes, round-robin.
func spread(from, n, nodes, i int) int {
	count := 0
	for k := from; k < from+n; k++ {
		if k%nodes == i {
			count++
		}
	}
	return count
}

// received sums the last seq of every connection, by server: its growth
// is the number of updates delivered.
func (r *run) received() []int64 {
	n := make([]int64, len(r.bases))
	for _, cn := range r.conns {
		n[cn.node] += cn.c.Seq()
	}
	for i, v := range r.light {
		n[r.lightNodes[i]] += max(v.seq.Load(), 0)
	}
	for i, e := range r.editors {
		if e.le != nil {
			n[r.nodeOf(i)] += e.le.seen.Load()
		}
	}
	return n
}

// edit is one editor's goroutine. The number of edits due is computed from
// the time elapsed since the start, so the schedule does not drift when a
// tick comes late; a late editor catches up with a burst.
func (r *run) edit(ctx context.Context, i int, e *editorState, start, end time.Time) {
	rate := r.cfg.Rate
	if rate == 0 {
		return
	}
	interval := max(time.Duration(float64(time.Second)/rate), time.Millisecond)
	// Editors start spread over one interval so they do not push in step.
	first := start.Add(interval * time.Duration(i) / time.Duration(len(r.editors)))
	if !sleep(ctx, time.Until(first)) {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	if e.le != nil {
		// A light editor reads as frames come shortly before each edit.
		defer e.le.nextEdit.Store(math.MaxInt64)
	}
	waiting := false // an edit of the last round waited on its connection
	for {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		due := int(now.Sub(first).Seconds()*rate) + 1
		// Edits more than maxLate overdue are not made and are counted: a
		// generator that cannot keep up must not turn into a burst that
		// buries the server (and the client) in a backlog. They are held
		// when the editor was waiting on its connection, and skipped when
		// it was simply late: its goroutine did not get the CPU in time.
		if late := due - (e.next + e.skipped + e.held) - max(int(rate*maxLate.Seconds()), 1); late > 0 {
			if waiting {
				e.held += late
			} else {
				e.skipped += late
			}
		}
		waiting = false
		for e.next+e.skipped+e.held < due && e.next < len(e.sent) {
			t0 := time.Now()
			e.sent[e.next].Store(t0.UnixNano())
			if e.le != nil {
				made, err := e.le.edit(e.typ.edit)
				if err != nil {
					// Its problem is reported when the run converges.
					r.addError("edit")
					return
				}
				if waiting = !made; waiting {
					break
				}
			} else {
				err := e.c.Edit(e.section, e.typ.edit)
				// Edit writes the push: a server that does not read blocks it.
				if time.Since(t0) > maxLate/2 {
					waiting = true
				}
				if err != nil {
					r.addError("edit")
					break
				}
			}
			e.next++
		}
		if e.le != nil {
			// The (k+1)-th edit is due k/rate after the first.
			k := e.next + e.skipped + e.held
			e.le.nextEdit.Store(first.Add(time.Duration(float64(k) / rate * float64(time.Second))).UnixNano())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// onUpdate returns the OnUpdate callback of a full client's receiver.
func (r *run) onUpdate(rc *receiver) func(client.Update, bool) {
	return func(u client.Update, _ bool) {
		if idx, ok := r.editorIndex[u.Client]; ok {
			r.record(rc, idx, time.Now().UnixNano())
		}
	}
}

// onLightUpdate returns the record callback of a light editor's receiver:
// it is called for the editor's own updates only.
func (r *run) onLightUpdate(rc *receiver) func([]byte, int64) {
	return func(client []byte, now int64) {
		if idx, ok := r.editorIndex[string(client)]; ok {
			r.record(rc, idx, now)
		}
	}
}

// record counts an update from editor idx received by rc at now (Unix ns):
// the k-th update from an editor is its k-th edit.
func (r *run) record(rc *receiver, idx int, now int64) {
	k := rc.counts[idx]
	rc.counts[idx]++
	if idx == rc.self {
		rc.confirmed++
	}
	sent := r.editors[idx].sent
	if int(k) >= len(sent) {
		return
	}
	t := sent[k].Load()
	if t == 0 || t < r.steadyFrom.Load() {
		return
	}
	d := time.Duration(now - t)
	if idx == rc.self {
		rc.confirm.add(d)
	} else {
		rc.bcast.add(d)
	}
}

func (r *run) onError(e *client.ServerError) { r.addError(e.Code) }

func (r *run) connectEditors(ctx context.Context, docID string, doc *docJSON, res *Result) error {
	cfg := r.cfg
	tag := fmt.Sprintf("%06x", cfg.Seed&0xffffff)
	// Room for every edit the schedule can ask for, plus the first one.
	slots := int(cfg.Rate*cfg.Duration.Seconds()) + 2
	for i := range cfg.Editors {
		key := fmt.Sprintf("load-%s-e%05d-key", tag, i)
		e := &editorState{
			key:     key,
			id:      wire.ClientID(key),
			section: doc.Sections[i%cfg.Sections].ID,
			typ:     typing{rng: mrand.New(mrand.NewPCG(cfg.Seed, uint64(i))), targetUnits: cfg.TargetUnits},
			sent:    make([]atomic.Int64, slots),
		}
		e.rc = &receiver{self: i, counts: make([]int32, cfg.Editors), confirm: new(hist), bcast: new(hist)}
		r.editorIndex[e.id] = i
		r.editors = append(r.editors, e)
	}
	d := &websocket.Dialer{NetDialContext: dialLoopback, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	every := lightReadEvery
	if cfg.PromptReads {
		every = 0
	}
	// The light editors of a section share the texts of its versions.
	chains := map[string]*textChain{}
	for _, e := range r.editors {
		if chains[e.section] == nil {
			chains[e.section] = new(textChain)
		}
	}
	t0 := time.Now()
	err := r.dialAll(ctx, cfg.Editors, func(ctx context.Context, i int) error {
		e := r.editors[i]
		name := fmt.Sprintf("Load editor %d", i)
		if i >= cfg.EditorSample {
			le, err := dialLightEditor(ctx, d, r.bases[r.nodeOf(i)], docID, e.key, name, e.section, lightOptions{
				header: r.session.SocketHeader(),
				chain:  chains[e.section], onError: r.addError, record: r.onLightUpdate(e.rc), readEvery: every,
			})
			if err != nil {
				return err
			}
			e.le = le
			return nil
		}
		c, err := client.Dial(ctx, r.bases[r.nodeOf(i)], docID, client.Options{
			Key: e.key, Name: name, Dialer: d, Header: r.session.SocketHeader(),
			OnUpdate: r.onUpdate(e.rc), OnError: r.onError,
		})
		if err != nil {
			return err
		}
		e.c = c
		return nil
	})
	res.ConnectEditorsS = time.Since(t0).Seconds()
	for i, e := range r.editors {
		switch {
		case e.c != nil:
			r.conns = append(r.conns, &conn{c: e.c, rc: e.rc, node: r.nodeOf(i)})
		case e.le != nil:
			r.lightEds = append(r.lightEds, e.le)
		}
	}
	if err != nil {
		return fmt.Errorf("connecting editors: %w", err)
	}
	r.logf("%d editors connected in %.3fs (%d full clients)", cfg.Editors, res.ConnectEditorsS, min(cfg.Editors, cfg.EditorSample))
	return nil
}

func (r *run) connectViewers(ctx context.Context, docID string, res *Result) error {
	cfg := r.cfg
	if cfg.Viewers == 0 {
		return nil
	}
	// Viewers write only their hello: small read buffers and pooled write
	// buffers keep thousands of them cheap for the generator.
	d := &websocket.Dialer{NetDialContext: dialLoopback, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 512, WriteBufferSize: 512, WriteBufferPool: &sync.Pool{}}
	viewers := make([]*conn, cfg.Viewers)
	light := make([]*lightViewer, cfg.Viewers)
	t0 := time.Now()
	var done atomic.Int64
	var salt [4]byte
	rand.Read(salt[:])
	err := r.dialAll(ctx, cfg.Viewers, func(ctx context.Context, i int) error {
		base := r.bases[r.nodeOf(cfg.Editors+i)]
		if i >= cfg.ViewerSample {
			v, err := dialLight(ctx, d, base, docID, fmt.Sprintf("viewer-%x-%d", salt, i), r.session.SocketHeader(), r.addError)
			if err != nil {
				return err
			}
			light[i] = v
		} else {
			opts := client.Options{Viewer: true, Name: "viewer", Dialer: d, Header: r.session.SocketHeader(), OnError: r.onError}
			cn := &conn{node: r.nodeOf(cfg.Editors + i), rc: &receiver{self: -1, counts: make([]int32, cfg.Editors), bcast: new(hist)}}
			opts.OnUpdate = r.onUpdate(cn.rc)
			c, err := client.Dial(ctx, base, docID, opts)
			if err != nil {
				return err
			}
			cn.c = c
			viewers[i] = cn
		}
		if n := done.Add(1); n%2000 == 0 {
			r.logf("%d viewers connected", n)
		}
		return nil
	})
	res.ConnectViewersS = time.Since(t0).Seconds()
	for _, v := range viewers {
		if v != nil {
			r.conns = append(r.conns, v)
		}
	}
	for i, v := range light {
		if v != nil {
			r.light = append(r.light, v)
			r.lightNodes = append(r.lightNodes, r.nodeOf(cfg.Editors+i))
		}
	}
	if err != nil {
		return fmt.Errorf("connecting viewers: %w", err)
	}
	r.logf("%d viewers connected in %.3fs", cfg.Viewers, res.ConnectViewersS)
	return nil
}

// dialAll runs dial for 0..n-1 with at most DialConcurrency at once and
// stops at the first error.
func (r *run) dialAll(ctx context.Context, n int, dial func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := dial(ctx, i); err != nil {
				cancel(fmt.Errorf("connection %d: %w", i, err))
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// watch reconnects connections that the server closed (slow_consumer,
// shutting_down...) with backoff, counting both.
func (r *run) watch(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, v := range r.light {
			// Light viewers and editors are not reconnected: a run that
			// loses one does not converge.
			if v.ended() && v.counted.CompareAndSwap(false, true) {
				r.disconnects.Add(1)
			}
		}
		for _, le := range r.lightEds {
			if le.ended() && le.counted.CompareAndSwap(false, true) {
				r.disconnects.Add(1)
			}
		}
		for _, cn := range r.conns {
			if !cn.c.Closed() || !cn.reconnecting.CompareAndSwap(false, true) {
				continue
			}
			r.disconnects.Add(1)
			wg.Go(func() {
				defer cn.reconnecting.Store(false)
				backoff := 100 * time.Millisecond
				for ctx.Err() == nil {
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						return
					}
					err := cn.c.Reconnect(ctx)
					<-sem
					if err == nil {
						r.reconnects.Add(1)
						return
					}
					r.addError("reconnect_failed")
					if !sleep(ctx, backoff) {
						return
					}
					backoff = min(2*backoff, 2*time.Second)
				}
			})
		}
	}
}

type convergeResult struct {
	ok   bool
	note string
	seq  int64
}

// converge waits until every editor's updates are confirmed and every
// client has everything the server has, then compares every section's
// text across all clients and with the server's.
func (r *run) converge(ctx context.Context, docID string) (convergeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var failed atomic.Int64
	var firstErr atomic.Value
	fail := func(what string, err error) {
		if failed.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf("%s: %v", what, err))
		}
	}
	var wg sync.WaitGroup
	for _, e := range r.editors {
		wg.Go(func() {
			var err error
			switch {
			case e.c != nil:
				err = waitRetry(ctx, e.c, e.c.WaitConfirmed)
			case e.le != nil:
				err = e.le.waitConfirmed(ctx)
			}
			if err != nil {
				fail("editor "+e.id+" waiting for confirmation", err)
			}
		})
	}
	wg.Wait()
	doc, err := r.getDocument(ctx, docID)
	if err != nil {
		return convergeResult{note: "reading the document: " + err.Error()}, err
	}
	sem := make(chan struct{}, 256)
	for _, cn := range r.conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := waitRetry(ctx, cn.c, func(ctx context.Context) error { return cn.c.WaitSeq(ctx, doc.Seq) }); err != nil {
				fail("client "+cn.c.ID()+" catching up", err)
			}
		})
	}
	for _, v := range r.light {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := v.waitSeq(ctx, doc.Seq); err != nil {
				fail("a viewer following seqs", err)
			}
		})
	}
	for _, le := range r.lightEds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := le.waitSeq(ctx, doc.Seq); err != nil {
				fail("light editor "+le.id+" catching up", err)
			}
		})
	}
	wg.Wait()

	want := map[string]string{}
	for _, s := range doc.Sections {
		want[s.ID] = s.Text
	}
	mismatches := 0
	var example string
	for _, cn := range r.conns {
		cn.c.Locked(func(seq int64, texts map[string]string) {
			for id, text := range want {
				if texts[id] != text {
					mismatches++
					if example == "" {
						example = fmt.Sprintf("client %s at seq %d: section %s has %d bytes, the server %d", cn.c.ID(), seq, id, len(texts[id]), len(text))
					}
				}
			}
		})
	}
	for _, le := range r.lightEds {
		if p := le.verify(want[le.section]); p != "" {
			mismatches++
			if example == "" {
				example = "light editor " + le.id + ": " + p
			}
		}
	}
	res := convergeResult{seq: doc.Seq, ok: mismatches == 0 && failed.Load() == 0}
	switch {
	case mismatches > 0:
		res.note = fmt.Sprintf("%d section texts differ from the server's or editors failed; first: %s", mismatches, example)
	case failed.Load() > 0:
		res.note = fmt.Sprintf("%d clients did not settle; first: %s", failed.Load(), firstErr.Load())
	}
	r.logf("convergence: %v %s", res.ok, res.note)
	return res, nil
}

// waitRetry calls wait until it succeeds, retrying while the watcher
// reconnects a closed client.
func waitRetry(ctx context.Context, c *client.Client, wait func(context.Context) error) error {
	for {
		err := wait(ctx)
		if err == nil || !errors.Is(err, client.ErrClosed) || ctx.Err() != nil {
			return err
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// collect merges every receiver's histograms and counters into res.
func (r *run) collect(res *Result) {
	var confirm, bcast summary
	for _, cn := range r.conns {
		if cn.rc == nil {
			continue
		}
		// The client's lock orders this after every OnUpdate call.
		cn.c.Locked(func(int64, map[string]string) {
			if cn.rc.confirm != nil {
				confirm.merge(cn.rc.confirm)
			}
			bcast.merge(cn.rc.bcast)
			res.Confirmed += cn.rc.confirmed
		})
	}
	for _, e := range r.editors {
		if e.le == nil {
			continue
		}
		// The editor's lock orders this after every update it handled.
		e.le.mu.Lock()
		confirm.merge(e.rc.confirm)
		bcast.merge(e.rc.bcast)
		res.Confirmed += e.rc.confirmed
		e.le.mu.Unlock()
	}
	c, b := confirm.latency(), bcast.latency()
	res.Confirm, res.Broadcast = &c, &b
	r.mu.Lock()
	res.Errors = r.errs
	r.errs = map[string]int64{}
	r.mu.Unlock()
	res.Disconnects, res.Reconnects = r.disconnects.Load(), r.reconnects.Load()
}

// closeAll closes every connection, a bounded number at a time.
func (r *run) closeAll() {
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	var wg sync.WaitGroup
	for _, cn := range r.conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cn.c.Close()
		})
	}
	for _, v := range r.light {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v.close()
		})
	}
	for _, le := range r.lightEds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			le.close()
		})
	}
	wg.Wait()
}

// docJSON is the part of a document the generator reads.
type docJSON struct {
	ID       string `json:"id"`
	Seq      int64  `json:"seq"`
	Sections []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"sections"`
}

func (r *run) createDocument(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"template": "bpf-output", "title": "Load test " + time.Now().UTC().Format(time.RFC3339)})
	var d docJSON
	if err := r.api(ctx, "POST", "/api/documents", body, http.StatusCreated, &d); err != nil {
		return "", fmt.Errorf("creating a document: %w", err)
	}
	return d.ID, nil
}

func (r *run) getDocument(ctx context.Context, id string) (*docJSON, error) {
	var d docJSON
	if err := r.api(ctx, "GET", "/api/documents/"+url.PathEscape(id), nil, http.StatusOK, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (r *run) api(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = r.session.Header()
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return apiErrorOf(method, path, resp, data)
	}
	return json.Unmarshal(data, out)
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// WriteText writes res for people: the figures, then anything that makes
// them suspect. The latencies of a generator-limited run are not written;
// a line says why instead.
func (res *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "document %s on %s: %d editors (%d full clients) × %g/s over %d section(s), %d viewers (%d full clients), %.0fs (seed %d)\n",
		res.Doc, res.Server, res.Editors, res.EditorSample, res.Rate, res.Sections, res.Viewers, res.ViewerSample, res.DurationS, res.Seed)
	fmt.Fprintf(w, "connect: editors %.3fs, viewers %.3fs\n", res.ConnectEditorsS, res.ConnectViewersS)
	fmt.Fprintf(w, "offered %.0f/s; edits %d (%d skipped as overdue, %d held waiting on their connection), confirmed %d, committed %d; committed %.0f/s over the steady %.1fs\n",
		res.Offered, res.Edits, res.Skipped, res.Held, res.Confirmed, res.Committed, res.CommittedPerS, res.SteadyS)
	switch {
	case res.GeneratorLimited:
		fmt.Fprintln(w, res.limitLine())
	case res.Confirm != nil && res.Broadcast != nil:
		fmt.Fprintf(w, "confirm latency:   p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d)\n", res.Confirm.P50ms, res.Confirm.P99ms, res.Confirm.Maxms, res.Confirm.Count)
		fmt.Fprintf(w, "broadcast latency: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d)\n", res.Broadcast.P50ms, res.Broadcast.P99ms, res.Broadcast.Maxms, res.Broadcast.Count)
	}
	codes := make([]string, 0, len(res.Errors))
	for c := range res.Errors {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var errs []string
	for _, c := range codes {
		errs = append(errs, fmt.Sprintf("%s×%d", c, res.Errors[c]))
	}
	fmt.Fprintf(w, "errors: [%s]; disconnects %d, reconnects %d\n", strings.Join(errs, " "), res.Disconnects, res.Reconnects)
	fmt.Fprintf(w, "converged: %v %s (final seq %d)\n", res.Converged, res.ConvergeNote, res.FinalSeq)
	fmt.Fprintf(w, "deliveries: %d over the steady window, %.0f/s (updates received by all connections)\n", res.Deliveries, res.DeliveriesPerS)
	fmt.Fprintf(w, "generator CPU: %.2f of %d cores (%.0f%%), %.2f µs per delivery", res.Generator.CPUs, res.Generator.Cores, 100*res.Generator.Fraction, res.Generator.PerDeliveryUs)
	if res.Generator.Saturated {
		fmt.Fprint(w, " SATURATED")
	}
	fmt.Fprintln(w)
	if s := res.ServerUse; s != nil {
		if len(res.Nodes) > 0 {
			fmt.Fprintf(w, "server CPU, %d nodes together: %.2f of %d cores (%.0f%%), %.2f µs per delivery\n", len(res.Nodes), s.CPUs, s.Cores, 100*s.Fraction, s.PerDeliveryUs)
		} else {
			fmt.Fprintf(w, "server CPU:    %.2f of %d cores (%.0f%%), %.2f µs per delivery\n", s.CPUs, s.Cores, 100*s.Fraction, s.PerDeliveryUs)
		}
	}
	for _, n := range res.Nodes {
		fmt.Fprintf(w, "  node %s: %d editors, %d viewers, %d deliveries", n.Server, n.Editors, n.Viewers, n.Deliveries)
		if p := n.Process; p != nil {
			fmt.Fprintf(w, "; pid %d CPU %.2f cores, %.2f µs per delivery; RSS %.1f MiB before viewers, %.1f after, %.1f at the end",
				p.PID, p.CPUs, p.PerDeliveryUs, mib(p.RSSBefore), mib(p.RSSViewers), mib(p.RSSEnd))
			if n.Viewers > 0 {
				fmt.Fprintf(w, ", %.1f KiB per viewer", p.PerViewer/1024)
			}
		}
		fmt.Fprintln(w)
	}
	if res.MachineCores > 0 {
		fmt.Fprintf(w, "machine CPU busy: %.0f%% of %d cores", 100*res.MachineBusy, res.MachineCores)
		if res.MachineSaturated {
			fmt.Fprint(w, " SATURATED: generator and server compete for the same CPUs")
		}
		fmt.Fprintln(w)
	}
	if s := res.ServerUse; s != nil {
		if res.Viewers > 0 {
			fmt.Fprintf(w, "server RSS: %.1f MiB before viewers, %.1f MiB after, %.1f MiB at the end; %.1f KiB per viewer\n",
				mib(s.RSSBefore), mib(s.RSSViewers), mib(s.RSSEnd), s.PerViewer/1024)
		} else {
			fmt.Fprintf(w, "server RSS: %.1f MiB before editing, %.1f MiB at the end\n", mib(s.RSSBefore), mib(s.RSSEnd))
		}
	}
	if res.Edits > 0 && res.Committed != res.Edits {
		fmt.Fprintf(w, "WARNING: %d edits made but the server's seq moved by %d\n", res.Edits, res.Committed)
	}
	if res.Skipped+res.Held > 0 {
		fmt.Fprintf(w, "WARNING: %d of the edits due were not made: the load asked for was not offered\n", res.Skipped+res.Held)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
