// Package redisstore is the shared store: every capability of package
// store (Catalog, DocLog, Accounts, Sessions, Invitations, Audit, Versions,
// Notifier and Relay) kept in one Redis, so that several bpfdraft nodes can
// serve the same documents. Appends are a compare-and-append Lua script
// (append.lua), atomic at the expected head; each successful append
// publishes the new head on the document's channel, and watchers read the
// log, which stays the truth.
//
// # Key layout
//
// Every key starts with Options.Prefix ("bpfdraft:" unless set). Seqs are
// decimal strings. The part in braces is the key's Redis Cluster hash tag:
// all the keys of one document share a slot, so every script runs on one
// node.
//
//	{doc:<id>}:head       seq of the last update appended, or of the first
//	                      snapshot when there is none; marks that the
//	                      document exists
//	{doc:<id>}:start      seq of the oldest update the log keeps (LogStart)
//	{doc:<id>}:snapshot   hash: "seq" -> the snapshot's seq, "doc" -> Document JSON
//	{doc:<id>}:info       DocInfo JSON of the snapshot: the listing entry
//	{doc:<id>}:log        hash: seq -> Update JSON, from start to head
//	{doc:<id>}:versions   hash: seq -> {"info": VersionInfo, "doc": Document}
//	{doc:<id>}:turn       the writer whose append is next (see append.lua),
//	                      expiring after Options.TurnTTL
//	{doc:<id>}:appended   pub/sub channel (not a key): the head after each append
//	{doc:<id>}:relay      pub/sub channel (not a key): store.Relay's messages
//
//	{catalog}:bpfs        hash: id -> BPF JSON
//	{catalog}:docs        set of document ids: the index ListDocuments reads
//
//	{accounts}:accounts         hash: id -> Account JSON
//	{accounts}:emails           hash: lower-cased email -> account id
//	{accounts}:members:<bpf>    hash: account id -> Membership JSON
//	{accounts}:teams:<account>  hash: BPF id -> Membership JSON (the same
//	                            record, by account)
//
//	{sessions}:sessions           hash: id -> Session JSON
//	{sessions}:account:<account>  set of the account's session ids
//
//	{invitations}:invitations  hash: id -> Invitation JSON
//	{invitations}:bpf:<bpf>    set of the BPF's invitation ids
//
//	{audit}:seq           the last audit seq given
//	{audit}:entries       hash: seq -> AuditEntry JSON
//
// The scripts (create.lua, append.lua, snapshot.lua, read.lua, audit.lua,
// each preceded by lib.lua) are embedded and run with EVALSHA, loaded when
// Redis does not have them. The other writes are optimistic transactions
// (WATCH, then MULTI/EXEC, again when a watched key changed meanwhile),
// each on the keys of one hash tag.
//
// # Spanning two slots
//
// Only CreateDocument writes under two hash tags: the catalogue's index
// and the document's own keys. No transaction spans them. The index entry
// is written first, then the document (atomically, by create.lua), and
// ListDocuments skips an indexed id whose document does not exist. A
// crash between the two leaves an index entry that lists nothing, and
// the next CreateDocument of that id completes it; a document is never
// stored without being indexed. PutVersion checks that the document
// exists and then writes its version, which is safe because documents are
// never deleted.
//
// # Redis Cluster
//
// Open takes redis+cluster:// (or rediss+cluster://) for a cluster. The
// layout is the same; no script or transaction has keys of two tags, so
// each runs on the master of its slot. PUBLISH goes to the master of the
// channel's slot (go-redis would send it to any node, and messages passed
// on by two nodes can arrive out of order), so a document's appends and
// relay messages reach subscribers in the order they were made. The
// watches' one pub/sub connection is to any node: a cluster passes every
// message to every node. A command whose connection breaks after it was
// sent is not sent again (the cluster client would; see Caveats).
//
// # Concurrency
//
// Every method is safe for concurrent use; go-redis keeps a pool of
// connections, and watches and relay subscriptions share one pub/sub
// connection. Of several appends at one expected head, exactly one is
// applied: the script runs alone on the Redis server.
//
// # Caveats
//
// A write is durable when it returns only if Redis makes it so before
// answering: appendonly yes with appendfsync always, as redistest runs it
// (with replicas, durability is the primary's). Commands are not retried:
// a retry of an append whose answer was lost with its connection would be
// refused as a conflict with itself, so an error after a broken connection
// may come from a write that was applied; the caller reads the log to know.
// A notification is a wake-up and may be lost (pub/sub drops messages
// while a connection is down): watchers also read the heads of their
// documents when the subscription is made again and every
// Options.CheckEvery. Records that cannot be decoded are reported as
// store.ErrCorrupt naming the record; nothing repairs them, except that
// UpdateAccount may replace an unreadable account and a newer snapshot
// replaces an unreadable listing entry. The accounts, sessions,
// invitations and audit log each live in one slot: fine for the people of
// a year of BPFs, not for millions.
package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

var (
	//go:embed lib.lua
	libLua string
	//go:embed create.lua
	createLua string
	//go:embed append.lua
	appendLua string
	//go:embed snapshot.lua
	snapshotLua string
	//go:embed read.lua
	readLua string
	//go:embed audit.lua
	auditLua string
)

// The scripts, each preceded by the helpers of lib.lua.
var (
	scriptCreate   = redis.NewScript(libLua + createLua)
	scriptAppend   = redis.NewScript(libLua + appendLua)
	scriptSnapshot = redis.NewScript(libLua + snapshotLua)
	scriptRead     = redis.NewScript(libLua + readLua)
	scriptAudit    = redis.NewScript(libLua + auditLua)
)

// DefaultPrefix starts every key and channel when Options.Prefix is empty.
const DefaultPrefix = "bpfdraft:"

// DefaultCheckEvery is how often watchers read the heads of their
// documents when Options.CheckEvery is zero.
const DefaultCheckEvery = 5 * time.Second

// Options configures a Store beyond its URL.
type Options struct {
	// Prefix starts every key and channel name (DefaultPrefix when empty),
	// so that several stores can share one Redis database. It must not
	// contain '{' or '}', which would change the keys' hash tags.
	Prefix string
	// CheckEvery is how often watchers read the heads of the documents
	// they watch, to catch notifications that pub/sub lost
	// (DefaultCheckEvery when zero).
	CheckEvery time.Duration
	// TurnTTL is how long a writer that met a version conflict keeps the
	// turn to append next (DefaultTurnTTL when zero): the longest the
	// others wait when it dies holding it.
	TurnTTL time.Duration
}

// DefaultTurnTTL is how long a turn to append lasts unless used.
const DefaultTurnTTL = time.Second

// Store is a store.Store, a store.Notifier and a store.Relay on one Redis
// or a Redis Cluster.
type Store struct {
	rdb redis.UniversalClient
	// addr names the server, or the cluster's first nodes, in errors.
	addr   string
	prefix string
	// writer names this store's appends in the document's turn.
	writer  string
	turnTTL time.Duration
	// closing is set when Close starts; closed once the watches have
	// ended, so that calls of fn in progress can still read the store.
	closing, closed atomic.Bool

	watches watches
}

var (
	_ store.Catalog     = (*Store)(nil)
	_ store.DocLog      = (*Store)(nil)
	_ store.Accounts    = (*Store)(nil)
	_ store.Sessions    = (*Store)(nil)
	_ store.Invitations = (*Store)(nil)
	_ store.Audit       = (*Store)(nil)
	_ store.Versions    = (*Store)(nil)
	_ store.Store       = (*Store)(nil)
	_ store.Notifier    = (*Store)(nil)
)

// Open connects to the Redis at url with the default Options: one
// server, redis://[user:password@]host:port/db (rediss:// for TLS), or a
// Redis Cluster, redis+cluster://[user:password@]host:port (rediss+cluster://
// for TLS; more nodes to ask first as ?addr=host:port&addr=…). It fails,
// naming the address, when Redis does not answer PING.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWithOptions(ctx, url, Options{})
}

// IsURL says whether s names a Redis store Open takes: its scheme is one
// of redis, rediss, redis+cluster and rediss+cluster.
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return false
	}
	switch scheme {
	case "redis", "rediss", "redis+cluster", "rediss+cluster":
		return true
	}
	return false
}

// OpenWithOptions is Open with options.
func OpenWithOptions(ctx context.Context, url string, o Options) (*Store, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("redis key prefix %q contains a brace", o.Prefix)
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = DefaultCheckEvery
	}
	if o.TurnTTL <= 0 {
		o.TurnTTL = DefaultTurnTTL
	}
	rdb, addr, err := newClient(url)
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, addr: addr, prefix: o.Prefix, writer: uuid.NewString(), turnTTL: max(o.TurnTTL, time.Millisecond)}
	s.watches.init(s, o.CheckEvery)
	rdb.AddHook(closedHook{&s.closed})
	if err := s.ping(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", addr, err)
	}
	return s, nil
}

// newClient makes the client url names, and the address to name in
// errors.
func newClient(url string) (redis.UniversalClient, string, error) {
	if rest, ok := strings.CutPrefix(url, "redis+cluster://"); ok {
		return newClusterClient("redis://" + rest)
	}
	if rest, ok := strings.CutPrefix(url, "rediss+cluster://"); ok {
		return newClusterClient("rediss://" + rest)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, "", fmt.Errorf("redis URL: %w", err)
	}
	// See Caveats: a lost answer must not be turned into a conflict.
	opt.MaxRetries = -1
	// A caller's deadline bounds each command, so an unreachable Redis
	// fails a request within it.
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), opt.Addr, nil
}

// newClusterClient makes a Redis Cluster client for raw, a redis:// or
// rediss:// URL as go-redis reads a cluster's: no database but 0 (a
// cluster has no other), more nodes as ?addr=.
func newClusterClient(raw string) (redis.UniversalClient, string, error) {
	if u, err := neturl.Parse(raw); err == nil && u.Path != "" && u.Path != "/" && u.Path != "/0" {
		return nil, "", fmt.Errorf("redis cluster URL: %q: a cluster has only database 0", u.Path)
	}
	opt, err := redis.ParseClusterURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("redis cluster URL: %w", err)
	}
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	// The cluster client sends a command again after a network error, as
	// it follows a MOVED answer (MaxRedirects counts both). Following
	// MOVED is safe: the node did not run the command. Sending it again
	// after a lost answer is not (Caveats), so each node's client turns
	// such an error into one the cluster client does not retry.
	opt.NewClient = func(o *redis.Options) *redis.Client {
		c := redis.NewClient(o)
		c.AddHook(noRetryHook{})
		return c
	}
	return redis.NewClusterClient(opt), strings.Join(opt.Addrs, ","), nil
}

// noRetryHook reports an error after which a command may have run as a
// lostAnswer.
type noRetryHook struct{}

func (noRetryHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (noRetryHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return mayHaveRun(next(ctx, cmd))
	}
}

func (noRetryHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := mayHaveRun(next(ctx, cmds))
		for _, c := range cmds {
			if e := mayHaveRun(c.Err()); e != c.Err() {
				c.SetErr(e)
			}
		}
		return err
	}
}

// lostAnswer is an error of the connection after a command was sent:
// whether it ran is not known. It wraps nothing, so that go-redis does
// not take it for one worth sending the command again.
type lostAnswer struct{ msg string }

func (e lostAnswer) Error() string { return e.msg + " (the command may have run)" }

// mayHaveRun returns err, or a lostAnswer for an error of the connection
// that may come after the command was sent: not an answer of Redis (which
// the cluster client may follow: MOVED, TRYAGAIN), not a failure to
// connect, not the pool's or the caller's context's.
func mayHaveRun(err error) error {
	var reply redis.Error
	var op *net.OpError
	switch {
	case err == nil, errors.As(err, &reply),
		errors.As(err, &op) && op.Op == "dial",
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return lostAnswer{err.Error()}
}

// Ping implements store.Store: Redis answers PING (in a cluster, every
// master).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("redis at %s: %w", s.addr, err)
	}
	return nil
}

func (s *Store) ping(ctx context.Context) error {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		// Every master, each serving a part of the slots.
		return closedErr(c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		}))
	}
	return s.rdb.Ping(ctx).Err()
}

// Close implements store.Store. It ends every watch first, waiting for
// calls in progress to return, so it must not be called from a watcher.
// Closing again does nothing.
func (s *Store) Close() error {
	if s.closing.Swap(true) {
		return nil
	}
	s.watches.close()
	s.closed.Store(true)
	return s.rdb.Close()
}

// errClosed is what every command answers after Close.
var errClosed = fmt.Errorf("redis store: %w", store.ErrClosed)

// closedHook answers errClosed for each command once the Store is closed,
// and for one cut short by Close, rather than go-redis's own error.
type closedHook struct{ closed *atomic.Bool }

func (h closedHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h closedHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.closed.Load() {
			return errClosed
		}
		return closedErr(next(ctx, cmd))
	}
}

func (h closedHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.closed.Load() {
			for _, c := range cmds {
				c.SetErr(errClosed)
			}
			return errClosed
		}
		return closedErr(next(ctx, cmds))
	}
}

// closedErr turns go-redis's "client is closed" into store.ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return errClosed
	}
	return err
}

// Keys: see the package comment.

func (s *Store) docKey(id, part string) string { return s.prefix + "{doc:" + id + "}:" + part }

func (s *Store) channel(id string) string { return s.docKey(id, "appended") }

// docOfChannel returns the document whose channel is ch.
func (s *Store) docOfChannel(ch string) (string, bool) {
	rest, ok := strings.CutPrefix(ch, s.prefix+"{doc:")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "}:appended")
}

func (s *Store) catalogKey(part string) string { return s.prefix + "{catalog}:" + part }

func (s *Store) accountsKey(part string) string { return s.prefix + "{accounts}:" + part }

func (s *Store) sessionsKey(part string) string { return s.prefix + "{sessions}:" + part }

func (s *Store) invitationsKey(part string) string { return s.prefix + "{invitations}:" + part }

func (s *Store) auditKey(part string) string { return s.prefix + "{audit}:" + part }

// parseSeq reads a stored seq.
func parseSeq(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a seq: %q", trim(v))
	}
	return n, nil
}

// trim shortens a stored value quoted in an error.
func trim(v string) string {
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}

// run runs a script and returns its answer: the status and what follows
// it (see lib.lua).
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) (string, []any, error) {
	res, err := sc.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return "", nil, closedErr(err)
	}
	if len(res) == 0 {
		return "", nil, errors.New("redis script answered nothing")
	}
	status, _ := res[0].(string)
	return status, res[1:], nil
}

// str returns the i-th element of a script's answer as a string.
func str(rest []any, i int) string {
	if i >= len(rest) {
		return ""
	}
	v, _ := rest[i].(string)
	return v
}

// docAnswer turns a script's answer about document id other than "ok"
// into its error.
func docAnswer(id, status string, rest []any) error {
	switch status {
	case "notfound":
		return fmt.Errorf("document %s: %w", id, store.ErrNotFound)
	case "corrupt":
		return store.Corrupt(fmt.Sprintf("document %s %s", id, str(rest, 0)), errors.New(str(rest, 1)))
	case "exists":
		return fmt.Errorf("document %s: %w", id, store.ErrExists)
	}
	return fmt.Errorf("document %s: unexpected answer %q from a redis script", id, status)
}

// maxAttempts bounds how often an optimistic transaction runs again after
// other clients changed its keys first.
const maxAttempts = 100

// txn runs fn in an optimistic transaction: fn reads through tx with keys
// watched and writes with tx.TxPipelined; when another client changes a
// watched key before that EXEC, fn runs again. An error fn returns ends it.
func (s *Store) txn(ctx context.Context, fn func(tx *redis.Tx) error, keys ...string) error {
	for range maxAttempts {
		if s.closed.Load() {
			return errClosed
		}
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return closedErr(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("redis transaction on %s: other writers changed its keys %d times", strings.Join(keys, ", "), maxAttempts)
}

// notNil returns err unless it is redis.Nil (nothing stored).
func notNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
