package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// NewSessions returns an empty store.Sessions for one subtest; it releases
// what it holds with t.Cleanup.
type NewSessions func(t *testing.T) store.Sessions

// RunSessions runs the conformance tests of store.Sessions as named
// subtests. Every time is passed explicitly; none is read from a clock.
//
//   - CreateAndGet: every field reads back; ErrExists on a taken id, and
//     the first session is unchanged.
//   - Expiry: a session reads until Expires (at Expires included: it
//     expires once now is past it), and afterwards answers an error that
//     is both ErrExpired and ErrNotFound; an earlier now still reads it.
//   - NotFound: an unknown id is ErrNotFound and not ErrExpired.
//   - Delete: DeleteSession ends one session and not the account's
//     others; deleting it again, or an unknown one, is nil.
//   - DeleteAll: DeleteSessions ends every session of one account, expired
//     ones included, counts them, and leaves other accounts' sessions;
//     again it counts 0; ones ended singly before are not counted.
func RunSessions(t *testing.T, newSessions NewSessions) {
	runAll(t, newSessions, []subtest[store.Sessions]{
		{"CreateAndGet", testCreateSession},
		{"Expiry", testSessionExpiry},
		{"NotFound", testSessionNotFound},
		{"Delete", testDeleteSession},
		{"DeleteAll", testDeleteSessions},
	})
}

// session returns a session of account created at t0 and lasting hours.
func session(id, account string, hours int) *store.Session {
	return &store.Session{ID: id, Account: account, Created: t0, Expires: t0.Add(time.Duration(hours) * time.Hour), CSRF: "csrf-" + id}
}

func mustCreateSession(t *testing.T, s store.Sessions, sess *store.Session) {
	t.Helper()
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
}

// wantSession checks that the session id reads at now, as want.
func wantSession(t *testing.T, s store.Sessions, id string, now time.Time, want *store.Session) {
	t.Helper()
	got, err := s.GetSession(context.Background(), id, now)
	if err != nil {
		t.Fatalf("GetSession(%s) at %s: %v", id, now.Format(time.RFC3339), err)
	}
	sameJSON(t, "GetSession("+id+")", got, want)
}

// wantGone checks that the session id does not read at now, expired or
// not.
func wantGone(t *testing.T, s store.Sessions, id string, now time.Time, expired bool) {
	t.Helper()
	got, err := s.GetSession(context.Background(), id, now)
	if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) != expired {
		t.Fatalf("GetSession(%s) at %s = %+v, %v; want ErrNotFound, expired %v", id, now.Format(time.RFC3339), got, err, expired)
	}
}

func testCreateSession(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	a := session("h1", "ana", 24)
	mustCreateSession(t, s, a)
	wantSession(t, s, "h1", t0, a)
	other := session("h1", "bo", 48)
	if err := s.CreateSession(ctx, other); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateSession(taken id) = %v; want ErrExists", err)
	}
	wantSession(t, s, "h1", t0.Add(time.Hour), a)
	// The refused session's account has none.
	if n, err := s.DeleteSessions(ctx, "bo"); err != nil || n != 0 {
		t.Fatalf("DeleteSessions(bo) = %d, %v; want 0", n, err)
	}
	wantSession(t, s, "h1", t0, a)
}

func testSessionExpiry(t *testing.T, s store.Sessions) {
	a := session("h1", "ana", 2)
	mustCreateSession(t, s, a)
	wantSession(t, s, "h1", t0, a)
	wantSession(t, s, "h1", a.Expires.Add(-time.Second), a)
	wantSession(t, s, "h1", a.Expires, a)
	wantGone(t, s, "h1", a.Expires.Add(time.Nanosecond), true)
	wantGone(t, s, "h1", a.Expires.Add(30*24*time.Hour), true)
	// Expiry is a question of now, not of the last call.
	wantSession(t, s, "h1", t0.Add(time.Hour), a)
}

func testSessionNotFound(t *testing.T, s store.Sessions) {
	mustCreateSession(t, s, session("h1", "ana", 2))
	wantGone(t, s, "nope", t0, false)
	wantGone(t, s, "nope", t0.Add(100*time.Hour), false)
}

func testDeleteSession(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	a1, a2 := session("h1", "ana", 2), session("h2", "ana", 2)
	mustCreateSession(t, s, a1)
	mustCreateSession(t, s, a2)
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "h1", t0, false)
	wantSession(t, s, "h2", t0, a2)
	for _, id := range []string{"h1", "nope"} {
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Fatalf("DeleteSession(%s), none there = %v; want nil", id, err)
		}
	}
	// An expired session can be deleted too, and is then not expired but
	// gone.
	if err := s.DeleteSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, "h2", t0.Add(3*time.Hour), false)
}

func testDeleteSessions(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	// ana has sessions lasting 1 to 4 hours, and one to be ended singly;
	// bo has two; "an" shares a prefix with ana.
	for i := range 4 {
		mustCreateSession(t, s, session(fmt.Sprintf("ana%d", i), "ana", i+1))
	}
	mustCreateSession(t, s, session("ana-single", "ana", 8))
	b1, b2 := session("bo1", "bo", 8), session("bo2", "bo", 8)
	mustCreateSession(t, s, b1)
	mustCreateSession(t, s, b2)
	an := session("an1", "an", 8)
	mustCreateSession(t, s, an)
	if err := s.DeleteSession(ctx, "ana-single"); err != nil {
		t.Fatal(err)
	}
	// At 2h30 two of ana's sessions have expired; they are ended all the
	// same.
	now := t0.Add(150 * time.Minute)
	n, err := s.DeleteSessions(ctx, "ana")
	if err != nil || n != 4 {
		t.Fatalf("DeleteSessions(ana) = %d, %v; want 4", n, err)
	}
	for i := range 4 {
		wantGone(t, s, fmt.Sprintf("ana%d", i), now, false)
	}
	wantSession(t, s, "bo1", now, b1)
	wantSession(t, s, "bo2", now, b2)
	wantSession(t, s, "an1", now, an)
	if n, err := s.DeleteSessions(ctx, "ana"); err != nil || n != 0 {
		t.Fatalf("DeleteSessions(ana) again = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteSessions(ctx, "nobody"); err != nil || n != 0 {
		t.Fatalf("DeleteSessions(nobody) = %d, %v; want 0", n, err)
	}
	// ana signs in again afterwards: a new session works.
	again := session("ana-again", "ana", 8)
	mustCreateSession(t, s, again)
	wantSession(t, s, "ana-again", now, again)
	if n, err := s.DeleteSessions(ctx, "bo"); err != nil || n != 2 {
		t.Fatalf("DeleteSessions(bo) = %d, %v; want 2", n, err)
	}
	wantSession(t, s, "ana-again", now, again)
}
