package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/bpfdraft/bpfdraft/editor"
)

// maxUnconfirmed is how many edits a light editor holds unconfirmed; an
// edit due beyond them waits for a confirmation.
const maxUnconfirmed = 8

// readLead is how long before its next edit is due a light editor that
// pauses between reads (lightOptions.readEvery) reads every frame as it
// comes again, so the edit is made on as fresh a text as a prompt
// reader's, and the server rebases it over no more than it would.
const readLead = 5 * time.Millisecond

// lightOptions are a light editor's links to its run.
type lightOptions struct {
	// header is sent with the websocket handshake (the session cookie).
	header http.Header
	// chain is shared by the light editors of the section (nil: one of
	// its own).
	chain *textChain
	// onError, if set, receives the code of every error message.
	onError func(code string)
	// record, if set, is called (under the editor's lock) for every update
	// of its own received, with the time its frame was read.
	record func(client []byte, now int64)
	// readEvery, if set, makes an editor that waits for nothing read what
	// has arrived every readEvery, several frames with one read, instead
	// of each frame as it comes; it still reads each frame as it comes
	// while a push is in flight (so its confirmations are timed exactly)
	// and from readLead before its next edit is due.
	readEvery time.Duration
}

// lightEditor is an editor beyond the sample (Config.EditorSample). It
// edits its one section as the full client does, under protocol 2's rules
// (pushes based on its synced version, with the checksum of the text after
// them), but at a fraction of the cost:
//
//   - frames are read with scanMessage, not encoding/json, and only the
//     updates of its own section change the one text it keeps: the
//     server's text of that section at its synced version. Each version's
//     text is made once per run and shared (textChain): an editor takes
//     it when the text it holds and the update it received are exactly
//     those it was made from, and otherwise parses the update
//     (editor.ChangeSetFromJSON) and applies it itself;
//   - it has one push in flight and at most maxUnconfirmed edits
//     unconfirmed, rebased over foreign updates only while there are any;
//   - while it waits for nothing it may read every few milliseconds,
//     several frames with one read (lightOptions.readEvery), so it records
//     no broadcast latency, only its own confirmations (read as they
//     come);
//   - its own updates are recognised by its client id, which the server
//     derives from its key (wire.ClientID), and confirm its oldest edit.
//
// It still checks everything a full editor would: seqs in order with no
// gap or double, section versions in order, each edit confirmed exactly
// once (an update of its own with no edit waiting is a problem), every
// update of its section applying to its text; and at the end the run
// compares its text with the server's. Its first problem is kept and ends
// its editing. It is not reconnected: a light editor whose connection
// ends is a problem too, and the run does not converge.
type lightEditor struct {
	ws               *websocket.Conn
	id, section      string
	sectionJSON      []byte
	opts             lightOptions
	done             chan struct{} // closed when the reader returns
	poke             chan struct{} // wakes a reader waiting to read, after a push
	nextEdit         atomic.Int64  // Unix ns when the next edit is due (0: unknown, read every frame)
	closing, counted atomic.Bool
	seen             atomic.Int64 // seq, for sampling deliveries without the lock
	wmu              sync.Mutex   // serializes writes to ws
	writes           sync.WaitGroup

	// Owned by mu, shared by the reader and the editing goroutine.
	mu        sync.Mutex
	seq       int64
	version   int
	synced    string // the section at version, as the server has it
	pending   []editor.ChangeSet
	inflight  int   // of pending, how many the push in flight carries
	made      int64 // edits made
	confirmed int64 // updates of ours received
	problem   string
	wake      chan struct{} // closed after the next frame, for waitFor

	// Owned by the reader.
	ups []scanned
}

// errEditorFailed is returned by edit once the editor has a problem.
var errEditorFailed = errors.New("light editor failed")

// dialLightEditor connects a light editor with key to section and waits
// for its welcome.
func dialLightEditor(ctx context.Context, d *websocket.Dialer, base, doc, key, name, section string, o lightOptions) (*lightEditor, error) {
	if o.chain == nil {
		o.chain = new(textChain)
	}
	u, err := wsURL(base, doc, false)
	if err != nil {
		return nil, err
	}
	ws, err := dialSocket(ctx, d, u, o.header)
	if err != nil {
		return nil, err
	}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "protocol": client.ProtocolVersion, "key": key, "name": name})
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		ws.Close()
		return nil, err
	}
	secJSON, _ := json.Marshal(section)
	le := &lightEditor{ws: ws, id: wire.ClientID(key), section: section, sectionJSON: secJSON,
		opts: o, done: make(chan struct{}), poke: make(chan struct{}, 1)}
	welcomed := make(chan struct{})
	go le.read(welcomed)
	select {
	case <-welcomed:
		if p := le.trouble(); p != "" {
			le.close()
			return nil, fmt.Errorf("editor %s: %s", le.id, p)
		}
		return le, nil
	case <-le.done:
		return nil, fmt.Errorf("editor %s: %s", le.id, le.trouble())
	case <-ctx.Done():
		le.close()
		return nil, ctx.Err()
	}
}

// read handles the frames until the connection ends.
func (le *lightEditor) read(welcomed chan struct{}) {
	defer close(le.done)
	var buf bytes.Buffer
	for {
		_, r, err := le.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			le.mu.Lock()
			if !le.closing.Load() {
				le.fail("connection ended: " + err.Error())
			}
			le.wakeUp()
			le.mu.Unlock()
			return
		}
		now := time.Now().UnixNano()
		le.mu.Lock()
		for rest := buf.Bytes(); len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if le.handle(line, now) && welcomed != nil {
				close(welcomed)
				welcomed = nil
			}
		}
		le.seen.Store(le.seq)
		frame := le.pushFrame()
		le.wakeUp()
		idle := le.inflight == 0
		le.mu.Unlock()
		if frame != nil {
			le.send(frame)
		}
		if idle {
			le.pause()
		}
	}
}

// pause waits before the next read, when the editor waits for nothing:
// readEvery, but no later than readLead before its next edit is due, and
// no longer than until it sends a push.
func (le *lightEditor) pause() {
	next := le.nextEdit.Load()
	if le.opts.readEvery <= 0 || next == 0 {
		return
	}
	now := time.Now().UnixNano()
	wake := min(now+int64(le.opts.readEvery), next-int64(readLead))
	if wake <= now {
		return
	}
	t := time.NewTimer(time.Duration(wake - now))
	select {
	case <-t.C:
	case <-le.poke:
		t.Stop()
	}
}

// handle handles one message; it reports whether it was the welcome.
// le.mu is held.
func (le *lightEditor) handle(line []byte, now int64) (welcome bool) {
	typ, ups, err := scanMessage(line, le.ups)
	le.ups = ups
	if err != nil {
		le.fail(err.Error())
		return false
	}
	switch string(typ) {
	case "updates":
		for i := range ups {
			le.receive(&ups[i], now)
		}
	case "welcome":
		le.welcome(line)
		return true
	case "error":
		var e client.ServerError
		json.Unmarshal(line, &e)
		if le.opts.onError != nil {
			le.opts.onError(e.Code)
		}
		// A light editor sends nothing the server should refuse.
		le.fail(fmt.Sprintf("error from the server: %s: %s", e.Code, e.Message))
	}
	return false
}

// welcome takes the section's text and version from the welcome's
// document; it is read once, so encoding/json will do.
func (le *lightEditor) welcome(line []byte) {
	var w struct {
		Client   string `json:"client"`
		Seq      int64  `json:"seq"`
		Document *struct {
			Sections []struct {
				ID      string `json:"id"`
				Text    string `json:"text"`
				Version int    `json:"version"`
			} `json:"sections"`
		} `json:"document"`
	}
	if err := json.Unmarshal(line, &w); err != nil || w.Document == nil {
		le.fail(fmt.Sprintf("a welcome without a document (%v)", err))
		return
	}
	if w.Client != le.id {
		le.fail(fmt.Sprintf("welcomed as client %s; the key gives %s", w.Client, le.id))
		return
	}
	for _, s := range w.Document.Sections {
		if s.ID == le.section {
			le.seq, le.version, le.synced = w.Seq, s.Version, s.Text
			return
		}
	}
	le.fail(fmt.Sprintf("the document has no section %q", le.section))
}

// receive applies one update; le.mu is held.
func (le *lightEditor) receive(u *scanned, now int64) {
	if u.seq != le.seq+1 {
		le.fail(fmt.Sprintf("seq %d after %d", u.seq, le.seq))
	}
	le.seq = u.seq
	if u.structure != nil || string(u.section) != le.section || le.problem != "" {
		return
	}
	if u.version != le.version+1 {
		le.fail(fmt.Sprintf("update %d takes section %s to version %d from %d", u.seq, le.section, u.version, le.version))
		return
	}
	le.version = u.version
	own := string(u.client) == le.id
	// The change set is needed to rebase unconfirmed edits over a foreign
	// update, or to make the text when no other editor has.
	var cs editor.ChangeSet
	var err error
	parsed := !own && len(le.pending) > 0
	if parsed {
		cs, err = editor.ChangeSetFromJSON(u.changes)
	}
	text, shared := le.opts.chain.next(u.version, le.synced, u.changes)
	if !shared && err == nil {
		if !parsed {
			cs, err = editor.ChangeSetFromJSON(u.changes)
		}
		if err == nil {
			text, err = cs.Apply(le.synced)
		}
		if err == nil {
			le.opts.chain.add(u.version, le.synced, u.changes, text)
		}
	}
	if err != nil {
		le.fail(fmt.Sprintf("update %d: %v", u.seq, err))
		return
	}
	le.synced = text
	if own {
		// The server rebased our oldest edit as we did; its text is now in
		// synced.
		if len(le.pending) == 0 {
			le.fail(fmt.Sprintf("update %d is ours but confirms no edit: %d made, %d confirmed already", u.seq, le.made, le.confirmed))
			return
		}
		le.pending = le.pending[1:]
		le.inflight = max(le.inflight-1, 0)
		le.confirmed++
		if le.opts.record != nil {
			le.opts.record(u.client, now)
		}
		return
	}
	// Our edits are rebased over the foreign update, and it over them,
	// one at a time, as the server rebases.
	for i, p := range le.pending {
		le.pending[i] = p.Map(cs, false)
		cs = cs.Map(p, true)
	}
}

// edit makes one edit, with typist given the section's text as this editor
// sees it (the synced text and its unconfirmed edits), and pushes it
// unless a push is in flight. It reports false, making nothing, when
// maxUnconfirmed edits are unconfirmed.
func (le *lightEditor) edit(typist func(text string) []editor.Change) (bool, error) {
	le.mu.Lock()
	if le.problem != "" {
		le.mu.Unlock()
		return false, errEditorFailed
	}
	if len(le.pending) >= maxUnconfirmed {
		le.mu.Unlock()
		return false, nil
	}
	text, n := le.local()
	cs, err := editor.ChangeSetOf(typist(text), n)
	if err != nil {
		le.mu.Unlock()
		return false, err
	}
	le.pending = append(le.pending, cs)
	le.made++
	frame := le.pushFrame()
	le.mu.Unlock()
	if frame != nil {
		le.send(frame)
	}
	return true, nil
}

// local returns the synced text with the unconfirmed edits applied, and
// its length in UTF-16 units; le.mu is held.
func (le *lightEditor) local() (string, int) {
	text, n := le.synced, -1
	for _, p := range le.pending {
		text, _ = p.Apply(text) // cannot fail: pending follows synced
		n = p.LenAfter()
	}
	if n < 0 {
		n = editor.UTF16Len(text)
	}
	return text, n
}

// pushFrame returns a push of every unconfirmed edit, or nil when one is
// in flight or there is nothing to push; le.mu is held.
func (le *lightEditor) pushFrame() []byte {
	if le.inflight > 0 || len(le.pending) == 0 || le.problem != "" {
		return nil
	}
	text, _ := le.local()
	b := make([]byte, 0, 128)
	b = append(b, `{"type":"push","section":`...)
	b = append(b, le.sectionJSON...)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(le.version), 10)
	b = append(b, `,"check":`...)
	b = strconv.AppendUint(b, uint64(editor.Checksum(text)), 10)
	b = append(b, `,"updates":[`...)
	for i, p := range le.pending {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"changes":`...)
		b = p.AppendJSON(b)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	le.inflight = len(le.pending)
	return b
}

// send writes a push without making its caller wait: a server too busy to
// read blocks the write, and neither the reader (which would stop reading
// and be dropped as a slow consumer) nor the editing goroutine (whose
// schedule would slip as if the generator were slow) may wait for it.
// There is at most one push in flight, so at most one write at a time.
func (le *lightEditor) send(frame []byte) {
	select {
	case le.poke <- struct{}{}: // read as frames come until it is confirmed
	default:
	}
	le.writes.Add(1)
	go func() {
		defer le.writes.Done()
		le.write(frame)
	}()
}

func (le *lightEditor) write(frame []byte) {
	le.wmu.Lock()
	le.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := le.ws.WriteMessage(websocket.TextMessage, frame)
	le.wmu.Unlock()
	if err != nil && !le.closing.Load() {
		le.mu.Lock()
		le.fail("push: " + err.Error())
		le.mu.Unlock()
	}
}

// fail keeps the first problem; le.mu is held.
func (le *lightEditor) fail(why string) {
	if le.problem == "" {
		le.problem = why
	}
}

func (le *lightEditor) trouble() string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.problem
}

// wakeUp wakes waitFor; le.mu is held.
func (le *lightEditor) wakeUp() {
	if le.wake != nil {
		close(le.wake)
		le.wake = nil
	}
}

// waitFor waits until cond, called with le.mu held, is true; it fails at
// the editor's first problem, when the connection ends or ctx is done.
func (le *lightEditor) waitFor(ctx context.Context, cond func() bool) error {
	for {
		le.mu.Lock()
		if p := le.problem; p != "" {
			le.mu.Unlock()
			return errors.New(p)
		}
		if cond() {
			le.mu.Unlock()
			return nil
		}
		if le.wake == nil {
			le.wake = make(chan struct{})
		}
		wake := le.wake
		le.mu.Unlock()
		select {
		case <-wake:
		case <-le.done:
			le.mu.Lock()
			ok := cond()
			le.mu.Unlock()
			if ok {
				return nil
			}
			return fmt.Errorf("connection ended: %s", le.trouble())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitConfirmed waits until every edit made is confirmed.
func (le *lightEditor) waitConfirmed(ctx context.Context) error {
	return le.waitFor(ctx, func() bool { return len(le.pending) == 0 })
}

// waitSeq waits until seq has been received.
func (le *lightEditor) waitSeq(ctx context.Context, seq int64) error {
	return le.waitFor(ctx, func() bool { return le.seq >= seq })
}

// verify compares the editor's section with the server's text at the
// end of a run, when everything is confirmed and received; it returns ""
// when all is well.
func (le *lightEditor) verify(text string) string {
	le.mu.Lock()
	defer le.mu.Unlock()
	switch {
	case le.problem != "":
		return le.problem
	case le.made != le.confirmed || len(le.pending) > 0:
		return fmt.Sprintf("%d edits made, %d confirmed, %d unconfirmed", le.made, le.confirmed, len(le.pending))
	case le.synced != text:
		return fmt.Sprintf("at seq %d section %s has %d bytes, the server %d", le.seq, le.section, len(le.synced), len(text))
	}
	return ""
}

// ended reports whether the connection ended before close was called.
func (le *lightEditor) ended() bool {
	select {
	case <-le.done:
		return !le.closing.Load()
	default:
		return false
	}
}

func (le *lightEditor) close() {
	le.closing.Store(true)
	le.wmu.Lock()
	le.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	le.wmu.Unlock()
	le.ws.Close()
	<-le.done
	le.writes.Wait()
}

// chainSize is how many recent versions of a section a textChain keeps:
// an editor further behind makes its texts itself.
const chainSize = 256

// textChain shares the texts of one section at its recent versions among
// the light editors of a run. Every connection receives the same updates
// (the same bytes: the server encodes each broadcast once), so the text at
// each version need be made only once. A link records what its text was
// made from: the text at the version before and the update's bytes; an
// editor takes a link's text only when both are exactly what it holds and
// received, so its text is always its own stream applied to its own
// welcome, as if it had applied every update itself. It is safe for
// concurrent use; a link may be replaced by an equal one made at the same
// time by another editor.
type textChain struct {
	ring [chainSize]atomic.Pointer[chainLink]
}

type chainLink struct {
	version int
	base    string // the text at version-1
	changes []byte // the update that took it to version, as received
	text    string
}

// next returns the text at version made from base by the update changes,
// if another editor has made it.
func (c *textChain) next(version int, base string, changes []byte) (string, bool) {
	l := c.ring[version%chainSize].Load()
	// Comparing base is cheap: an editor that took the link before holds
	// the very same string.
	if l != nil && l.version == version && l.base == base && bytes.Equal(l.changes, changes) {
		return l.text, true
	}
	return "", false
}

// add records that changes took base to text at version.
func (c *textChain) add(version int, base string, changes []byte, text string) {
	c.ring[version%chainSize].Store(&chainLink{version: version, base: base, changes: bytes.Clone(changes), text: text})
}
