package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// hashTag returns the part of a key Redis Cluster hashes: between the
// first '{' and the first '}' after it, when that is not empty.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return key
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok || tag == "" {
		return key
	}
	return tag
}

// TestKeyLayout writes through every capability and checks the keys
// against the package comment's layout, and that each group shares one
// hash tag (one cluster slot).
func TestKeyLayout(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openAt(t, srv.URL, "L:")
	raw := srv.Client(t)
	must(t, s.PutBPF(ctx, &editor.BPF{ID: "x", Name: "X", Year: 2026, Created: at}))
	newDocument(t, s, "d")
	must(t, s.Append(ctx, "d", 0, updates(1, 3, "c")))
	// A stale append by another writer gives it the turn (an hour long
	// here, so that it is still there when the keys are listed).
	other, err := OpenWithOptions(ctx, srv.URL, Options{Prefix: "L:", TurnTTL: time.Hour})
	must(t, err)
	defer other.Close()
	if err := other.Append(ctx, "d", 0, updates(1, 1, "o")); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("a stale append: %v; want a version conflict", err)
	}
	must(t, s.PutSnapshot(ctx, &editor.Document{ID: "d", Seq: 2, Created: at}, 1))
	must(t, s.PutVersion(ctx, &editor.Document{ID: "d", Seq: 2}, "v", at))
	must(t, s.CreateAccount(ctx, &store.Account{ID: "a", Email: "a@example.org", Created: at}))
	must(t, s.SetMembership(ctx, store.Membership{BPF: "x", Account: "a", Role: "co-facilitator", Added: at}))
	must(t, s.CreateSession(ctx, &store.Session{ID: "h", Account: "a", Created: at, Expires: at.Add(time.Hour)}))
	must(t, s.CreateInvitation(ctx, &store.Invitation{ID: "i", BPF: "x", Created: at, Expires: at.Add(time.Hour)}))
	if _, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil {
		t.Fatal(err)
	}

	keys, err := raw.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"L:{accounts}:accounts", "L:{accounts}:emails", "L:{accounts}:members:x", "L:{accounts}:teams:a",
		"L:{audit}:entries", "L:{audit}:seq",
		"L:{catalog}:bpfs", "L:{catalog}:docs",
		"L:{doc:d}:head", "L:{doc:d}:info", "L:{doc:d}:log", "L:{doc:d}:snapshot", "L:{doc:d}:start", "L:{doc:d}:turn", "L:{doc:d}:versions",
		"L:{invitations}:bpf:x", "L:{invitations}:invitations",
		"L:{sessions}:account:a", "L:{sessions}:sessions",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	for _, k := range keys {
		group := strings.SplitN(strings.TrimPrefix(k, "L:{"), "}", 2)[0]
		if tag := hashTag(k); tag != group {
			t.Errorf("key %s hashes as %q; want %q", k, tag, group)
		}
	}
	// Ids with braces keep every key of a document on one tag.
	newDocument(t, s, "a}b{c")
	docKeys, err := raw.Keys(ctx, "L:{doc:a}*").Result()
	if err != nil || len(docKeys) != 4 {
		t.Fatalf("keys of document a}b{c = %v, %v; want 4", docKeys, err)
	}
	for _, k := range docKeys {
		if tag := hashTag(k); tag != "doc:a" {
			t.Errorf("key %s hashes as %q; want doc:a, as its document's other keys", k, tag)
		}
	}
}

// TestAppendPublishes: append.lua publishes the new head on the
// document's channel; a refused append publishes nothing.
func TestAppendPublishes(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openAt(t, srv.URL, "L:")
	newDocument(t, s, "d")
	sub := srv.Client(t).Subscribe(ctx, "L:{doc:d}:appended")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	must(t, s.Append(ctx, "d", 0, updates(1, 3, "c")))
	if err := s.Append(ctx, "d", 0, updates(1, 1, "c")); err == nil {
		t.Fatal("Append at a stale head succeeded")
	}
	must(t, s.Append(ctx, "d", 3, updates(4, 1, "c")))
	for _, want := range []string{"3", "4"} {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil || msg.Payload != want {
			t.Fatalf("message = %+v, %v; want head %s", msg, err, want)
		}
	}
}

// TestCompactionRemovesEntries checks the log hash, not only LogStart:
// the entries a snapshot drops are gone, over many batches of the
// script's deletes, and the kept ones are all there.
func TestCompactionRemovesEntries(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openAt(t, srv.URL, freshPrefix())
	raw := srv.Client(t)
	newDocument(t, s, "d")
	const n = 3000
	ups := make([]store.Update, n)
	for i := range ups {
		ups[i] = store.Update{Seq: int64(i + 1), ClientID: "c", Changes: json.RawMessage(`[1,[0,"some text"]]`), Time: at}
	}
	must(t, s.Append(ctx, "d", 0, ups))
	for _, step := range []struct {
		seq  int64
		keep int
	}{{700, 100}, {2500, 0}, {2999, 300}} {
		must(t, s.PutSnapshot(ctx, &editor.Document{ID: "d", Seq: step.seq}, step.keep))
		first, err := s.LogStart(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		fields, err := raw.HKeys(ctx, s.docKey("d", "log")).Result()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := int64(n+1), int64(0)
		for _, f := range fields {
			seq, err := parseSeq(f)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi = min(lo, seq), max(hi, seq)
		}
		if lo != first || hi != n || int64(len(fields)) != n-first+1 {
			t.Fatalf("after a snapshot at %d keeping %d: log holds %d entries %d..%d; want %d..%d", step.seq, step.keep, len(fields), lo, hi, first, n)
		}
	}
	got, err := s.ReadUpdates(ctx, "d", 2699, 0)
	if err != nil || len(got) != 301 || got[0].Seq != 2700 {
		t.Fatalf("ReadUpdates(2699) = %d updates, %v; want 2700..3000", len(got), err)
	}
}
