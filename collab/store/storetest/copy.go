package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// RunCopy checks store.Copy from a store of one backend into an empty
// one of another (or the same): everything the source keeps is read back
// the same from the destination, which then takes appends where the
// source left off; a destination that is not empty is refused.
func RunCopy(t *testing.T, newSrc, newDst NewStore) {
	ctx := context.Background()
	src, dst := newSrc(t), newDst(t)
	t.Cleanup(func() { src.Close(); dst.Close() })
	fill(t, src)
	var told []string
	rep, err := store.Copy(ctx, dst, src, func(d store.DocInfo, n, of int) { told = append(told, fmt.Sprintf("%s %d/%d", d.ID, n, of)) })
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if rep.BPFs != 2 || rep.Accounts != 3 || rep.Memberships != 2 || rep.Invitations != 3 || rep.AuditEntries != 4 ||
		rep.Documents != 3 || rep.Updates != 30 || rep.Versions != 2 || len(rep.Skipped) != 0 {
		t.Errorf("report %+v", rep)
	}
	if len(told) != 3 || !strings.HasSuffix(told[2], " 3/3") {
		t.Errorf("progress told %q", told)
	}
	same := func(what string, read func(s store.Store) (any, error)) {
		t.Helper()
		a, errA := read(src)
		b, errB := read(dst)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if errA != nil || errB != nil || string(ja) != string(jb) {
			t.Errorf("%s: source %s (%v); copy %s (%v)", what, ja, errA, jb, errB)
		}
	}
	same("BPFs", func(s store.Store) (any, error) { return s.ListBPFs(ctx) })
	same("documents", func(s store.Store) (any, error) { return s.ListDocuments(ctx, "") })
	same("accounts", func(s store.Store) (any, error) { return s.ListAccounts(ctx) })
	same("memberships", func(s store.Store) (any, error) { return s.Members(ctx, "bpf-a") })
	same("invitations", func(s store.Store) (any, error) { return s.ListInvitations(ctx, "bpf-a") })
	same("audit", func(s store.Store) (any, error) { return s.ListAudit(ctx, store.AuditFilter{}) })
	same("secretariat", func(s store.Store) (any, error) { return s.CountSecretariat(ctx) })
	same("account by email", func(s store.Store) (any, error) { return s.AccountByEmail(ctx, "B@example.org") })
	for _, id := range []string{"whole", "compacted", "empty"} {
		same(id+" snapshot", func(s store.Store) (any, error) { return s.LoadSnapshot(ctx, id) })
		same(id+" head", func(s store.Store) (any, error) { return s.Head(ctx, id) })
		same(id+" log start", func(s store.Store) (any, error) { return s.LogStart(ctx, id) })
		same(id+" log", func(s store.Store) (any, error) {
			start, err := s.LogStart(ctx, id)
			if err != nil {
				return nil, err
			}
			return s.ReadUpdates(ctx, id, start-1, 0)
		})
		same(id+" versions", func(s store.Store) (any, error) { return s.ListVersions(ctx, id) })
	}
	same("a version", func(s store.Store) (any, error) { return s.GetVersion(ctx, "compacted", 10) })
	// The copy goes on where the source stopped.
	if err := dst.Append(ctx, "compacted", 29, textUpdates(30, 1, "c2")); err != nil {
		t.Errorf("append after the copy: %v", err)
	}
	if err := dst.Append(ctx, "compacted", 29, textUpdates(30, 1, "c3")); err == nil {
		t.Error("the copy's head is not the source's")
	}
	// Into a store that holds something: refused, nothing written.
	if _, err := store.Copy(ctx, dst, src, nil); err == nil {
		t.Error("a copy into a store that is not empty")
	}
}

// fill gives a store a little of everything it keeps.
func fill(t *testing.T, s store.Store) {
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for _, b := range []*editor.BPF{{ID: "bpf-a", Name: "Gender", Year: 2026, Created: t0}, {ID: "bpf-b", Name: "Cybersecurity", Year: 2025, Created: t0}} {
		must("PutBPF", s.PutBPF(ctx, b))
	}
	sec := account("a", "a@example.org", 0)
	sec.Secretariat = true
	for _, a := range []*store.Account{sec, account("b", "b@example.org", 1), account("c", "c@example.org", 2)} {
		must("CreateAccount", s.CreateAccount(ctx, a))
	}
	must("SetMembership", s.SetMembership(ctx, membership("bpf-a", "b", "co-facilitator", 3)))
	must("SetMembership", s.SetMembership(ctx, membership("bpf-a", "c", "mag-facilitator", 4)))
	for i, id := range []string{"inv-1", "inv-2", "inv-3"} {
		must("CreateInvitation", s.CreateInvitation(ctx, &store.Invitation{ID: id, BPF: "bpf-a", Role: "co-facilitator", CreatedBy: "a",
			Created: t0.Add(time.Duration(i) * time.Hour), Expires: t0.Add(100 * time.Hour)}))
	}
	if _, err := s.TakeInvitation(ctx, "inv-1", "b", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	must("RevokeInvitation", s.RevokeInvitation(ctx, "inv-2"))
	for _, e := range auditLog()[:4] {
		if _, err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// One document with its whole log, one compacted with a snapshot
	// between its oldest kept update and its head, one never edited.
	must("CreateDocument", s.CreateDocument(ctx, newDoc("whole", "bpf-a")))
	mustAppend(t, s, "whole", 0, textUpdates(1, 15, "c1"))
	d := newDoc("compacted", "bpf-b")
	must("CreateDocument", s.CreateDocument(ctx, d))
	mustAppend(t, s, "compacted", 0, textUpdates(1, 29, "c1"))
	v := d.Clone()
	v.Seq, v.Title = 10, "As published"
	must("PutVersion", s.PutVersion(ctx, v, "opened for public comment", t0.Add(time.Hour)))
	d.Seq, d.Title = 20, "Compacted"
	must("PutSnapshot", s.PutSnapshot(ctx, d, 6)) // keeps 15..29
	must("PutVersion", s.PutVersion(ctx, d, "kept automatically", t0.Add(2*time.Hour)))
	must("CreateDocument", s.CreateDocument(ctx, newDoc("empty", "")))
}
