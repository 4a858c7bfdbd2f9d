package redisstore

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// These tests lose notifications on purpose: appends written past the
// script (so nothing is published), a subscriber's connection killed, the
// server restarted. Each waits for the watcher to be told, failing after a
// guard instead of hanging; none waits on the clock otherwise.

const guard = time.Minute

// told records what a watcher is told.
type told struct {
	mu   sync.Mutex
	seqs []int64
	poke chan struct{} // capacity 1
}

func newTold() *told { return &told{poke: make(chan struct{}, 1)} }

func (r *told) fn(seq int64) {
	r.mu.Lock()
	r.seqs = append(r.seqs, seq)
	r.mu.Unlock()
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

func (r *told) get() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

// waitFor waits until the watcher has been told of seq or a later one.
func (r *told) waitFor(t *testing.T, seq int64) {
	t.Helper()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	for {
		if got := r.get(); len(got) > 0 && got[len(got)-1] >= seq {
			return
		}
		select {
		case <-r.poke:
		case <-timer.C:
			t.Fatalf("not told of seq %d within %v; told %v", seq, guard, r.get())
		}
	}
}

// openQuiet opens a Store whose watchers check heads only when asked to
// (or when a subscription is made again), never by the clock.
func openQuiet(t *testing.T, srv *redistest.Server, prefix string) *Store {
	t.Helper()
	s, err := OpenWithOptions(context.Background(), srv.URL, Options{Prefix: prefix, CheckEvery: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// silentAppend appends the update at seq as append.lua does, but without
// publishing: a notification lost.
func silentAppend(t *testing.T, s *Store, raw *redis.Client, id string, seq int64) {
	t.Helper()
	v, err := json.Marshal(updates(seq, 1, "silent")[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = raw.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.docKey(id, "log"), seqArg(seq), v)
		p.Set(ctx, s.docKey(id, "head"), seqArg(seq), 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newDocument(t *testing.T, s *Store, id string) {
	t.Helper()
	if err := s.CreateDocument(context.Background(), &editor.Document{ID: id, Created: at}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchFindsLostAppend: an append whose message never came is told
// at the next check of the heads.
func TestWatchFindsLostAppend(t *testing.T) {
	srv := redistest.Start(t)
	s := openQuiet(t, srv, freshPrefix())
	newDocument(t, s, "d")
	r := newTold()
	stop := s.Watch(context.Background(), "d", r.fn)
	defer stop()
	if err := s.Append(context.Background(), "d", 0, updates(1, 1, "c")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1)
	silentAppend(t, s, srv.Client(t), "d", 2)
	s.watches.kick() // what the ticker does every CheckEvery
	r.waitFor(t, 2)
	stop()
	if got := r.get(); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("told %v; want [1 2]", got)
	}
}

// TestWatchChecksEvery: with a short CheckEvery, the ticker alone finds
// an append that was never published.
func TestWatchChecksEvery(t *testing.T) {
	srv := redistest.Start(t)
	prefix := freshPrefix()
	s, err := OpenWithOptions(context.Background(), srv.URL, Options{Prefix: prefix, CheckEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newDocument(t, s, "d")
	r := newTold()
	stop := s.Watch(context.Background(), "d", r.fn)
	defer stop()
	silentAppend(t, s, srv.Client(t), "d", 1)
	r.waitFor(t, 1)
}

// TestWatchAfterReconnect: the subscriber's connection is killed after an
// append that was not published; when go-redis subscribes again, the
// check that follows finds it.
func TestWatchAfterReconnect(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openQuiet(t, srv, freshPrefix())
	raw := srv.Client(t)
	newDocument(t, s, "d")
	r := newTold()
	stop := s.Watch(ctx, "d", r.fn)
	defer stop()
	if err := s.Append(ctx, "d", 0, updates(1, 1, "c")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1)
	silentAppend(t, s, raw, "d", 2)
	n, err := raw.ClientKillByFilter(ctx, "TYPE", "pubsub").Result()
	if err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the watcher's connection killed", n, err)
	}
	r.waitFor(t, 2)
	// And messages flow on the new connection.
	if err := s.Append(ctx, "d", 2, updates(3, 1, "c")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 3)
}

// TestWatchSurvivesRestart: a watch goes on through a Redis crash and
// restart, and is told of appends made afterwards, through another Store.
func TestWatchSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	prefix := freshPrefix()
	a, b := openQuiet(t, srv, prefix), openQuiet(t, srv, prefix)
	newDocument(t, a, "d")
	r := newTold()
	stop := a.Watch(ctx, "d", r.fn)
	defer stop()
	if err := b.Append(ctx, "d", 0, updates(1, 1, "c")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1)
	srv.Kill(t)
	srv.Restart(t)
	if err := b.Append(ctx, "d", 1, updates(2, 2, "c")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 3)
	stop()
	if got := r.get(); got[0] != 1 || got[len(got)-1] != 3 {
		t.Fatalf("told %v; want 1 first and 3 last", got)
	}
}

// TestCloseEndsWatches: Close ends every watch, stopped or not, and later
// Watch calls do nothing.
func TestCloseEndsWatches(t *testing.T) {
	s := openAt(t, redistest.Start(t).URL, freshPrefix())
	newDocument(t, s, "d")
	r := newTold()
	ctx := context.Background()
	stop := s.Watch(ctx, "d", r.fn)
	s.Watch(ctx, "e", r.fn) // never stopped: Close must end it
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stop() // after Close: returns at once
	after := s.Watch(ctx, "d", r.fn)
	after()
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v; want nil", err)
	}
}
