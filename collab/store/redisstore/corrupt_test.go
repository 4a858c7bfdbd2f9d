package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/redisstore/redistest"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// These tests damage records past every encoder, with a plain client, and
// check that the damage is reported as store.ErrCorrupt naming the record
// and stays confined to it.

// openTemp returns a Store on a redis-server of its own, and a plain
// client of that server.
func openTemp(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	return openAt(t, srv.URL, DefaultPrefix), srv.Client(t)
}

// must fails the test on a Redis error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCorruptListingEntry(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"a", "b1"}, [2]string{"b", "b1"}, [2]string{"c", "b2"}, [2]string{"n", ""})
	must(t, raw.Set(ctx, s.docKey("n", "info"), "garbage", 0).Err())

	// The listing entry is damaged; the snapshot is sound.
	must(t, raw.Set(ctx, s.docKey("b", "info"), `{"id":"b","title":`, 0).Err())
	list, err := s.ListDocuments(ctx, "")
	if err != nil || storetest.DocIDs(list) != "a,b,c,n" {
		t.Fatalf("ListDocuments = %+v, %v; want a, b, c, n", list, err)
	}
	if b := list[1]; b.Broken == "" || b.Title != "Draft b" || b.BPF != "b1" || list[0].Broken != "" || list[2].Broken != "" {
		t.Fatalf("listed %+v; want b broken, rebuilt from its snapshot, a and c sound", list)
	}
	if list, err := s.ListDocuments(ctx, "b1"); err != nil || storetest.DocIDs(list) != "a,b" {
		t.Fatalf("ListDocuments(b1) = %+v, %v; want a, b", list, err)
	}
	if doc, err := s.LoadSnapshot(ctx, "b"); err != nil || doc.Title != "Draft b" {
		t.Fatalf("LoadSnapshot(b) = %+v, %v; want it intact", doc, err)
	}
	// An entry that decodes but names another document is no better.
	must(t, raw.Set(ctx, s.docKey("b", "info"), `{"id":"zzz","title":"Elsewhere"}`, 0).Err())
	if list, _ := s.ListDocuments(ctx, ""); storetest.DocIDs(list) != "a,b,c,n" || list[1].Broken == "" || list[1].Title != "Draft b" {
		t.Fatalf("ListDocuments = %+v; want b rebuilt from its snapshot", list)
	}

	// Now the snapshot too: nothing but the id is known.
	must(t, raw.HSet(ctx, s.docKey("b", "snapshot"), "doc", `null`).Err())
	list, err = s.ListDocuments(ctx, "")
	if err != nil || storetest.DocIDs(list) != "a,c,n,b" {
		t.Fatalf("ListDocuments = %+v, %v; want a, c, n, then b (creation unknown)", list, err)
	}
	if b := list[3]; b.Broken == "" || b.Title != "" || b.BPF != "" {
		t.Fatalf("listed %+v; want b broken with nothing but its id", b)
	}
	if list, err := s.ListDocuments(ctx, "b2"); err != nil || storetest.DocIDs(list) != "c,b" {
		t.Fatalf("ListDocuments(b2) = %+v, %v; want c, b (b's BPF is unknown)", list, err)
	}
	_, err = s.LoadSnapshot(ctx, "b")
	storetest.WantCorrupt(t, "LoadSnapshot(b)", err, "document b snapshot")
	if _, err := s.LoadSnapshot(ctx, "a"); err != nil {
		t.Fatalf("LoadSnapshot(a) = %v; want the other documents intact", err)
	}

	// A newer snapshot replaces both.
	must(t, s.Append(ctx, "b", 0, updates(1, 1, "c")))
	must(t, s.PutSnapshot(ctx, &editor.Document{ID: "b", BPF: "b1", Title: "Repaired", Seq: 1, Created: at}, 0))
	if list, err := s.ListDocuments(ctx, "b1"); err != nil || storetest.DocIDs(list) != "a,b" || list[1].Broken != "" || list[1].Title != "Repaired" {
		t.Fatalf("ListDocuments(b1) after a new snapshot = %+v, %v; want b sound", list, err)
	}

	// A snapshot whose seq cannot be read cannot be compared with.
	must(t, raw.HSet(ctx, s.docKey("c", "snapshot"), "seq", "x").Err())
	storetest.WantCorrupt(t, "PutSnapshot(c)", s.PutSnapshot(ctx, &editor.Document{ID: "c", Seq: 0}, 0), "document c snapshot")
}

// TestIndexedNotCreated: an index entry whose document was never stored
// (a creation cut short between its two steps) lists nothing, and the id
// can still be created.
func TestIndexedNotCreated(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"a", ""})
	must(t, raw.SAdd(ctx, s.catalogKey("docs"), "half").Err())
	if list, err := s.ListDocuments(ctx, ""); err != nil || storetest.DocIDs(list) != "a" {
		t.Fatalf("ListDocuments = %+v, %v; want a alone", list, err)
	}
	storetest.CreateDocs(t, s, at, [2]string{"half", ""})
	if list, err := s.ListDocuments(ctx, ""); err != nil || storetest.DocIDs(list) != "a,half" {
		t.Fatalf("ListDocuments after creating it = %+v, %v; want a, half", list, err)
	}
}

func TestCorruptBPF(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	for i, id := range []string{"x", "y", "z"} {
		must(t, s.PutBPF(ctx, &editor.BPF{ID: id, Name: "BPF " + id, Year: 2024 + i, Created: at}))
	}
	must(t, raw.HSet(ctx, s.catalogKey("bpfs"), "y", "\x00\xff not json", "z", "null").Err())
	list, err := s.ListBPFs(ctx)
	if len(list) != 1 || list[0].ID != "x" {
		t.Fatalf("ListBPFs = %v; want x, the readable one", list)
	}
	storetest.WantCorrupt(t, "ListBPFs", err, "bpf y")
	storetest.WantCorrupt(t, "ListBPFs", err, "bpf z")
	_, err = s.GetBPF(ctx, "y")
	storetest.WantCorrupt(t, "GetBPF(y)", err, "bpf y")
	if b, err := s.GetBPF(ctx, "x"); err != nil || b.Name != "BPF x" {
		t.Fatalf("GetBPF(x) = %+v, %v; want it intact", b, err)
	}
}

func TestCorruptLogEntry(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""}, [2]string{"e", ""})
	for _, id := range []string{"d", "e"} {
		must(t, s.Append(ctx, id, 0, updates(1, 6, "c")))
	}
	log := s.docKey("d", "log")
	must(t, raw.HSet(ctx, log, "3", `{"seq":3,"changes":[1`).Err())
	_, err := s.ReadUpdates(ctx, "d", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 0)", err, "document d update 3")
	// The fault stays in that entry.
	if got, err := s.ReadUpdates(ctx, "d", 3, 0); err != nil || len(got) != 3 || got[0].Seq != 4 {
		t.Fatalf("ReadUpdates(d, 3) = %+v, %v; want 4..6", got, err)
	}
	if got, err := s.ReadUpdates(ctx, "d", 0, 2); err != nil || len(got) != 2 {
		t.Fatalf("ReadUpdates(d, 0, limit 2) = %+v, %v; want 1..2", got, err)
	}
	if got, err := s.ReadUpdates(ctx, "e", 0, 0); err != nil || len(got) != 6 {
		t.Fatalf("ReadUpdates(e) = %d updates, %v; want 6", len(got), err)
	}
	must(t, s.Append(ctx, "d", 6, updates(7, 1, "c")))

	// An entry that decodes under the wrong number, and one missing.
	must(t, raw.HSet(ctx, log, "4", `{"seq":9,"client":"c"}`).Err())
	_, err = s.ReadUpdates(ctx, "d", 3, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 3)", err, "document d update 4")
	must(t, raw.HDel(ctx, log, "5").Err())
	_, err = s.ReadUpdates(ctx, "d", 4, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 4)", err, "document d update 5")
	if got, err := s.ReadUpdates(ctx, "d", 5, 0); err != nil || len(got) != 2 {
		t.Fatalf("ReadUpdates(d, 5) = %+v, %v; want 6..7", got, err)
	}
	// The last entry missing: still reported, not cut off.
	must(t, raw.HDel(ctx, log, "7").Err())
	_, err = s.ReadUpdates(ctx, "d", 5, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 5)", err, "document d update 7")
}

func TestCorruptSeqs(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""}, [2]string{"e", ""}, [2]string{"f", ""})
	must(t, raw.Set(ctx, s.docKey("d", "head"), "\x01\x02\x03", 0).Err())
	_, err := s.Head(ctx, "d")
	storetest.WantCorrupt(t, "Head(d)", err, "document d head")
	// A damaged head must not pass for a version conflict (or for 0).
	storetest.WantCorrupt(t, "Append(d)", s.Append(ctx, "d", 0, updates(1, 1, "c")), "document d head")
	_, err = s.ReadUpdates(ctx, "d", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d)", err, "document d head")
	storetest.WantCorrupt(t, "PutSnapshot(d)", s.PutSnapshot(ctx, &editor.Document{ID: "d", Seq: 1}, 0), "document d head")
	if first, err := s.LogStart(ctx, "d"); err != nil || first != 1 {
		t.Fatalf("LogStart(d) = %d, %v; want 1", first, err)
	}

	must(t, raw.Del(ctx, s.docKey("e", "start")).Err())
	must(t, s.Append(ctx, "e", 0, updates(1, 1, "c")))
	_, err = s.ReadUpdates(ctx, "e", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(e)", err, "document e start")
	_, err = s.LogStart(ctx, "e")
	storetest.WantCorrupt(t, "LogStart(e)", err, "document e start")
	if head, err := s.Head(ctx, "e"); err != nil || head != 1 {
		t.Fatalf("Head(e) = %d, %v; want 1", head, err)
	}

	// A document whose head is gone but whose snapshot is there exists,
	// damaged: not ErrNotFound, and not created again.
	must(t, raw.Del(ctx, s.docKey("f", "head")).Err())
	_, err = s.Head(ctx, "f")
	storetest.WantCorrupt(t, "Head(f)", err, "document f head")
	storetest.WantCorrupt(t, "Append(f)", s.Append(ctx, "f", 0, updates(1, 1, "c")), "document f head")
	_, err = s.ReadUpdates(ctx, "f", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(f)", err, "document f head")
	if err := s.CreateDocument(ctx, &editor.Document{ID: "f"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateDocument(f) = %v; want ErrExists", err)
	}
}

func TestCorruptVersion(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""})
	for _, seq := range []int64{0, 1, 2} {
		must(t, s.PutVersion(ctx, &editor.Document{ID: "d", Seq: seq}, "v", at))
	}
	must(t, raw.HSet(ctx, s.docKey("d", "versions"), "1", `{"info":`).Err())
	_, err := s.GetVersion(ctx, "d", 1)
	storetest.WantCorrupt(t, "GetVersion(d, 1)", err, "document d version 1")
	list, err := s.ListVersions(ctx, "d")
	if len(list) != 2 || list[0].Seq != 0 || list[1].Seq != 2 {
		t.Fatalf("ListVersions = %+v; want 0, 2", list)
	}
	storetest.WantCorrupt(t, "ListVersions", err, "document d version 1")
}

func createAccounts(t *testing.T, s *Store, ids ...string) {
	t.Helper()
	for i, id := range ids {
		a := &store.Account{ID: id, Email: id + "@example.org", Name: "Person " + id, Secretariat: i%2 == 0,
			Created: at.Add(time.Duration(i) * time.Hour)}
		if err := s.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func accountIDs(list []*store.Account) string {
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	return strings.Join(ids, ",")
}

func TestCorruptAccount(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	createAccounts(t, s, "a", "b", "c", "d")
	must(t, raw.HSet(ctx, s.accountsKey("accounts"), "b", `{"id":"b","email":`, "d", `{"id":"zzz","email":"d@example.org"}`).Err())

	list, err := s.ListAccounts(ctx)
	if accountIDs(list) != "a,c" {
		t.Fatalf("ListAccounts = %s; want a,c, the readable ones", accountIDs(list))
	}
	storetest.WantCorrupt(t, "ListAccounts", err, "account b")
	storetest.WantCorrupt(t, "ListAccounts", err, "account d")
	_, err = s.GetAccount(ctx, "b")
	storetest.WantCorrupt(t, "GetAccount(b)", err, "account b")
	_, err = s.AccountByEmail(ctx, "B@example.org")
	storetest.WantCorrupt(t, "AccountByEmail(b's email)", err, "account b")
	if a, err := s.GetAccount(ctx, "c"); err != nil || a.Name != "Person c" {
		t.Fatalf("GetAccount(c) = %+v, %v; want it intact", a, err)
	}
	n, err := s.CountSecretariat(ctx)
	if n != 2 {
		t.Fatalf("CountSecretariat = %d; want 2, the readable ones", n)
	}
	storetest.WantCorrupt(t, "CountSecretariat", err, "account b")

	// An unreadable account still holds its email, and can be replaced.
	if err := s.CreateAccount(ctx, &store.Account{ID: "e", Email: "b@example.org", Created: at}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateAccount(b's email) = %v; want ErrExists", err)
	}
	repaired := &store.Account{ID: "b", Email: "b.new@example.org", Name: "Person b", Created: at}
	if err := s.UpdateAccount(ctx, repaired); err != nil {
		t.Fatalf("UpdateAccount(b) = %v; want the unreadable record replaced", err)
	}
	if a, err := s.AccountByEmail(ctx, "b.new@example.org"); err != nil || a.ID != "b" {
		t.Fatalf("AccountByEmail(b's new email) = %+v, %v; want b", a, err)
	}
	if _, err := s.AccountByEmail(ctx, "b@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountByEmail(b's old email) = %v; want ErrNotFound", err)
	}
	if err := s.CreateAccount(ctx, &store.Account{ID: "e", Email: "b@example.org", Created: at}); err != nil {
		t.Fatalf("CreateAccount(b's old email) = %v; want it free", err)
	}
}

func TestCorruptMembership(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	for i, acct := range []string{"a", "b", "c"} {
		for _, bpf := range []string{"x", "y"} {
			must(t, s.SetMembership(ctx, store.Membership{BPF: bpf, Account: acct, Role: "co-facilitator", Added: at.Add(time.Duration(i) * time.Hour)}))
		}
	}
	must(t, raw.HSet(ctx, s.accountsKey("members:x"), "b", `[]`).Err())
	must(t, raw.HSet(ctx, s.accountsKey("teams:b"), "x", `[]`).Err())
	list, err := s.Members(ctx, "x")
	if len(list) != 2 || list[0].Account != "a" || list[1].Account != "c" {
		t.Fatalf("Members(x) = %+v; want a, c", list)
	}
	storetest.WantCorrupt(t, "Members(x)", err, "membership of account b in BPF x")
	teams, err := s.Memberships(ctx, "b")
	if len(teams) != 1 || teams[0].BPF != "y" {
		t.Fatalf("Memberships(b) = %+v; want y", teams)
	}
	storetest.WantCorrupt(t, "Memberships(b)", err, "membership of account b in BPF x")
	if list, err := s.Members(ctx, "y"); err != nil || len(list) != 3 {
		t.Fatalf("Members(y) = %+v, %v; want a, b, c", list, err)
	}
	// Setting it again replaces it.
	must(t, s.SetMembership(ctx, store.Membership{BPF: "x", Account: "b", Role: "mag-facilitator", Added: at}))
	if teams, err := s.Memberships(ctx, "b"); err != nil || len(teams) != 2 || teams[0].Role != "mag-facilitator" {
		t.Fatalf("Memberships(b) after repair = %+v, %v", teams, err)
	}
}

func TestCorruptSession(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	for _, id := range []string{"h1", "h2", "h3"} {
		must(t, s.CreateSession(ctx, &store.Session{ID: id, Account: "ana", Created: at, Expires: at.Add(time.Hour)}))
	}
	sessions := s.sessionsKey("sessions")
	must(t, raw.HSet(ctx, sessions, "h2", `{"id":"h2","expires":"yesterday"}`).Err())
	_, err := s.GetSession(ctx, "h2", at)
	storetest.WantCorrupt(t, "GetSession(h2)", err, "session h2")
	if sess, err := s.GetSession(ctx, "h1", at); err != nil || sess.Account != "ana" {
		t.Fatalf("GetSession(h1) = %+v, %v; want it intact", sess, err)
	}
	// Signing out deletes an unreadable session too.
	must(t, s.DeleteSession(ctx, "h2"))
	if _, err := s.GetSession(ctx, "h2", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession(h2) after DeleteSession = %v; want ErrNotFound", err)
	}
	// Its index entry is left over, and not counted.
	must(t, raw.HSet(ctx, sessions, "h3", `garbage`).Err())
	if n, err := s.DeleteSessions(ctx, "ana"); err != nil || n != 2 {
		t.Fatalf("DeleteSessions(ana) = %d, %v; want 2 (h1 and the unreadable h3)", n, err)
	}
	if _, err := s.GetSession(ctx, "h3", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession(h3) after DeleteSessions = %v; want ErrNotFound", err)
	}
}

func TestCorruptInvitation(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	for i, id := range []string{"i1", "i2", "i3", "i4"} {
		inv := &store.Invitation{ID: id, BPF: "x", Role: "co-facilitator", Created: at.Add(time.Duration(i) * time.Hour), Expires: at.Add(48 * time.Hour)}
		must(t, s.CreateInvitation(ctx, inv))
	}
	invitations := s.invitationsKey("invitations")
	must(t, raw.HSet(ctx, invitations, "i2", `{"id":"i2","bpf":"x","revoked":"no"}`).Err())
	must(t, raw.HDel(ctx, invitations, "i4").Err())
	list, err := s.ListInvitations(ctx, "x")
	if len(list) != 2 || list[0].ID != "i3" || list[1].ID != "i1" {
		t.Fatalf("ListInvitations(x) = %+v; want i3, i1", list)
	}
	storetest.WantCorrupt(t, "ListInvitations(x)", err, "invitation i2")
	storetest.WantCorrupt(t, "ListInvitations(x)", err, "invitation i4")
	_, err = s.TakeInvitation(ctx, "i2", "ana", at)
	storetest.WantCorrupt(t, "TakeInvitation(i2)", err, "invitation i2")
	storetest.WantCorrupt(t, "RevokeInvitation(i2)", s.RevokeInvitation(ctx, "i2"), "invitation i2")
	if inv, err := s.TakeInvitation(ctx, "i1", "ana", at); err != nil || inv.UsedBy != "ana" {
		t.Fatalf("TakeInvitation(i1) = %+v, %v; want taken", inv, err)
	}
}

func TestCorruptAuditEntry(t *testing.T) {
	ctx := context.Background()
	s, raw := openTemp(t)
	for i := range 6 {
		bpf := map[bool]string{true: "x", false: "y"}[i%2 == 0]
		if _, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Account: "ana", Action: "sign-in", BPF: bpf}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, raw.HSet(ctx, s.auditKey("entries"), "3", `{"seq":3,"time":`, "4", `{"seq":40,"action":"sign-in"}`).Err())
	seqs := func(list []store.AuditEntry) []int64 {
		var out []int64
		for _, e := range list {
			out = append(out, e.Seq)
		}
		return out
	}
	list, err := s.ListAudit(ctx, store.AuditFilter{})
	if got := seqs(list); !slices.Equal(got, []int64{1, 2, 5, 6}) {
		t.Fatalf("ListAudit = %v; want 1, 2, 5, 6", got)
	}
	storetest.WantCorrupt(t, "ListAudit", err, "audit entry 3")
	storetest.WantCorrupt(t, "ListAudit", err, "audit entry 4")
	// Filtered: an unreadable entry is reported, since it might match.
	list, err = s.ListAudit(ctx, store.AuditFilter{BPF: "x"})
	if got := seqs(list); !slices.Equal(got, []int64{1, 5}) {
		t.Fatalf("ListAudit(x) = %v; want 1, 5", got)
	}
	storetest.WantCorrupt(t, "ListAudit(x)", err, "audit entry 3")
	if list, err := s.ListAudit(ctx, store.AuditFilter{After: 4}); err != nil || !slices.Equal(seqs(list), []int64{5, 6}) {
		t.Fatalf("ListAudit(after 4) = %v, %v; want 5, 6", seqs(list), err)
	}
	list, err = s.ListAudit(ctx, store.AuditFilter{After: 1, Limit: 2})
	if got := seqs(list); !slices.Equal(got, []int64{2, 5}) {
		t.Fatalf("ListAudit(after 1, limit 2) = %v; want 2, 5", got)
	}
	storetest.WantCorrupt(t, "ListAudit(after 1, limit 2)", err, "audit entry 3")
	if seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil || seq != 7 {
		t.Fatalf("AppendAudit = %d, %v; want 7", seq, err)
	}
	// The entry as stored carries its seq, written by the script.
	v, err := raw.HGet(ctx, s.auditKey("entries"), "7").Result()
	if err != nil || !strings.HasPrefix(v, `{"seq":7,"time":`) {
		t.Fatalf("stored entry 7 = %s, %v", v, err)
	}
	var e store.AuditEntry
	if err := json.Unmarshal([]byte(v), &e); err != nil || e.Seq != 7 || e.Action != "sign-in" {
		t.Fatalf("stored entry 7 decodes as %+v, %v", e, err)
	}
}
