package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
)

// NewInvitations returns an empty store.Invitations for one subtest; it
// releases what it holds with t.Cleanup.
type NewInvitations func(t *testing.T) store.Invitations

// RunInvitations runs the conformance tests of store.Invitations as named
// subtests. Every time is passed explicitly; none is read from a clock.
//
//   - CreateAndGet: every field reads back; ErrExists on a taken id, and
//     the first invitation is unchanged.
//   - Take: taking sets UsedBy and Used (now) and returns the invitation
//     so; it is taken at most once: a second take, by anyone, the same
//     account included, is ErrUsed and changes nothing.
//   - Expired: a take at Expires succeeds (it expires once now is past
//     it); a take past Expires is ErrExpired and changes nothing.
//   - Revoked: a revoked invitation cannot be taken (ErrExpired), even
//     before Expires, and reads as revoked; revoking or taking an unknown
//     one is ErrNotFound.
//   - ConcurrentTake (random): several accounts take one invitation at
//     once, at random times before its expiry, round after round; exactly
//     one wins, every other gets ErrUsed, and the stored invitation names
//     the winner and the winner's now.
//   - List: a BPF's invitations, newest first, used and revoked ones
//     included; another BPF's are not listed; an unknown BPF lists none.
//   - NotFound: GetInvitation, TakeInvitation and RevokeInvitation of an
//     unknown id are ErrNotFound.
func RunInvitations(t *testing.T, newInvitations NewInvitations) {
	runAll(t, newInvitations, []subtest[store.Invitations]{
		{"CreateAndGet", testCreateInvitation},
		{"Take", testTakeInvitation},
		{"Expired", testInvitationExpired},
		{"Revoked", testInvitationRevoked},
		{"ConcurrentTake", testConcurrentTake},
		{"List", testListInvitations},
		{"NotFound", testInvitationNotFound},
	})
}

// invitation returns an invitation to bpf created hours after t0 and
// lasting a week.
func invitation(id, bpf string, hours int) *store.Invitation {
	created := t0.Add(time.Duration(hours) * time.Hour)
	return &store.Invitation{ID: id, BPF: bpf, Role: "co-facilitator", Note: "for " + id, CreatedBy: "sec",
		Created: created, Expires: created.Add(7 * 24 * time.Hour)}
}

func mustCreateInvitation(t *testing.T, s store.Invitations, inv *store.Invitation) {
	t.Helper()
	if err := s.CreateInvitation(context.Background(), inv); err != nil {
		t.Fatalf("CreateInvitation(%s): %v", inv.ID, err)
	}
}

// wantInvitation checks that the invitation id reads as want.
func wantInvitation(t *testing.T, s store.Invitations, want *store.Invitation) {
	t.Helper()
	got, err := s.GetInvitation(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("GetInvitation(%s): %v", want.ID, err)
	}
	sameJSON(t, "GetInvitation("+want.ID+")", got, want)
}

func testCreateInvitation(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	inv := invitation("i1", "cyber", 0)
	inv.Role = "mag-facilitator"
	mustCreateInvitation(t, s, inv)
	wantInvitation(t, s, inv)
	if err := s.CreateInvitation(ctx, invitation("i1", "ai", 5)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateInvitation(taken id) = %v; want ErrExists", err)
	}
	wantInvitation(t, s, inv)
	if list, err := s.ListInvitations(ctx, "ai"); err != nil || len(list) != 0 {
		t.Fatalf("ListInvitations(ai) after a refused create = %d, %v; want none", len(list), err)
	}
}

func testTakeInvitation(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	inv := invitation("i1", "cyber", 0)
	mustCreateInvitation(t, s, inv)
	now := t0.Add(26 * time.Hour)
	got, err := s.TakeInvitation(ctx, "i1", "ana", now)
	if err != nil {
		t.Fatal(err)
	}
	want := *inv
	want.UsedBy, want.Used = "ana", now
	sameJSON(t, "TakeInvitation", got, &want)
	wantInvitation(t, s, &want)
	for _, account := range []string{"bo", "ana"} {
		got, err := s.TakeInvitation(ctx, "i1", account, now.Add(time.Hour))
		if !errors.Is(err, store.ErrUsed) {
			t.Fatalf("TakeInvitation(taken, by %s) = %+v, %v; want ErrUsed", account, got, err)
		}
		wantInvitation(t, s, &want)
	}
}

func testInvitationExpired(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	late, onTime := invitation("late", "cyber", 0), invitation("on-time", "cyber", 0)
	mustCreateInvitation(t, s, late)
	mustCreateInvitation(t, s, onTime)
	for _, now := range []time.Time{late.Expires.Add(time.Nanosecond), late.Expires.Add(time.Second), late.Expires.Add(90 * 24 * time.Hour)} {
		got, err := s.TakeInvitation(ctx, "late", "ana", now)
		if !errors.Is(err, store.ErrExpired) {
			t.Fatalf("TakeInvitation %s past expiry = %+v, %v; want ErrExpired", now.Sub(late.Expires), got, err)
		}
		wantInvitation(t, s, late)
	}
	got, err := s.TakeInvitation(ctx, "on-time", "ana", onTime.Expires)
	if err != nil || got.UsedBy != "ana" || !got.Used.Equal(onTime.Expires) {
		t.Fatalf("TakeInvitation at Expires = %+v, %v; want taken", got, err)
	}
}

func testInvitationRevoked(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	inv := invitation("i1", "cyber", 0)
	mustCreateInvitation(t, s, inv)
	if err := s.RevokeInvitation(ctx, "i1"); err != nil {
		t.Fatal(err)
	}
	want := *inv
	want.Revoked = true
	wantInvitation(t, s, &want)
	got, err := s.TakeInvitation(ctx, "i1", "ana", t0.Add(time.Hour))
	if !errors.Is(err, store.ErrExpired) {
		t.Fatalf("TakeInvitation(revoked) = %+v, %v; want ErrExpired", got, err)
	}
	wantInvitation(t, s, &want)
	if err := s.RevokeInvitation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeInvitation(unknown) = %v; want ErrNotFound", err)
	}
}

func testConcurrentTake(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	rnd := seeded(t)
	for round := range 20 {
		inv := invitation(fmt.Sprintf("i%d", round), "cyber", round)
		mustCreateInvitation(t, s, inv)
		n := 2 + rnd.IntN(9)
		type result struct {
			now time.Time
			inv *store.Invitation
			err error
		}
		results := make([]result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			now := inv.Created.Add(time.Duration(rnd.Int64N(int64(inv.Expires.Sub(inv.Created)))))
			account := fmt.Sprintf("taker%d", i)
			wg.Go(func() {
				<-start
				got, err := s.TakeInvitation(ctx, inv.ID, account, now)
				results[i] = result{now, got, err}
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, r := range results {
			switch {
			case r.err == nil && winner >= 0:
				t.Fatalf("round %d: takers %d and %d both took %s", round, winner, i, inv.ID)
			case r.err == nil:
				winner = i
			case !errors.Is(r.err, store.ErrUsed):
				t.Fatalf("round %d: taker %d: %v; want nil or ErrUsed", round, i, r.err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: all %d takers refused", round, n)
		}
		want := *inv
		want.UsedBy, want.Used = fmt.Sprintf("taker%d", winner), results[winner].now
		sameJSON(t, fmt.Sprintf("round %d: the winner's TakeInvitation", round), results[winner].inv, &want)
		wantInvitation(t, s, &want)
	}
}

func invitationIDs(list []*store.Invitation) string {
	var ids []string
	for _, inv := range list {
		ids = append(ids, inv.ID)
	}
	return strings.Join(ids, ",")
}

func testListInvitations(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	// Neither the order of creation nor the ids' order is the creation
	// times' order.
	for _, x := range []struct {
		id, bpf string
		hours   int
	}{{"b", "cyber", 2}, {"d", "cyber", 0}, {"a", "cyber", 1}, {"c", "ai", 5}, {"e", "cyber", 3}} {
		mustCreateInvitation(t, s, invitation(x.id, x.bpf, x.hours))
	}
	if _, err := s.TakeInvitation(ctx, "a", "ana", t0.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvitation(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListInvitations(ctx, "cyber")
	if err != nil || invitationIDs(list) != "e,b,a,d" {
		t.Fatalf("ListInvitations(cyber) = %s, %v; want e,b,a,d", invitationIDs(list), err)
	}
	if !list[1].Revoked || list[2].UsedBy != "ana" || list[0].Revoked || list[0].UsedBy != "" {
		t.Fatalf("ListInvitations(cyber) = %+v; want b revoked, a used by ana, e neither", list)
	}
	sameJSON(t, "listed invitation", list[3], invitation("d", "cyber", 0))
	if list, err := s.ListInvitations(ctx, "ai"); err != nil || invitationIDs(list) != "c" {
		t.Fatalf("ListInvitations(ai) = %s, %v; want c", invitationIDs(list), err)
	}
	if list, err := s.ListInvitations(ctx, "nope"); err != nil || len(list) != 0 {
		t.Fatalf("ListInvitations(nope) = %s, %v; want none", invitationIDs(list), err)
	}
}

func testInvitationNotFound(t *testing.T, s store.Invitations) {
	ctx := context.Background()
	mustCreateInvitation(t, s, invitation("i1", "cyber", 0))
	if _, err := s.GetInvitation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetInvitation(unknown) = %v; want ErrNotFound", err)
	}
	if got, err := s.TakeInvitation(ctx, "nope", "ana", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeInvitation(unknown) = %+v, %v; want ErrNotFound", got, err)
	}
	if err := s.RevokeInvitation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeInvitation(unknown) = %v; want ErrNotFound", err)
	}
}
