package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/collab/store/storetest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// putRaw writes value under key in the bucket at path, past every encoder:
// a record damaged on disk. A nil value deletes the key.
func putRaw(t *testing.T, s *Store, path []string, key []byte, value []byte) {
	t.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(path[0]))
		for _, name := range path[1:] {
			b = b.Bucket([]byte(name))
		}
		if value == nil {
			return b.Delete(key)
		}
		return b.Put(key, value)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var at = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func TestCorruptListingEntry(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"a", "b1"}, [2]string{"b", "b1"}, [2]string{"c", "b2"}, [2]string{"n", ""})
	// n belongs to no BPF; its entry is damaged, its snapshot says so.
	putRaw(t, s, []string{"docs", "n"}, keyInfo, []byte(`garbage`))

	// The listing entry is damaged; the snapshot is sound.
	putRaw(t, s, []string{"docs", "b"}, keyInfo, []byte(`{"id":"b","title":`))
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
	putRaw(t, s, []string{"docs", "b"}, keyInfo, []byte(`{"id":"zzz","title":"Elsewhere"}`))
	if list, _ := s.ListDocuments(ctx, ""); storetest.DocIDs(list) != "a,b,c,n" || list[1].Broken == "" || list[1].Title != "Draft b" {
		t.Fatalf("ListDocuments = %+v; want b rebuilt from its snapshot", list)
	}

	// Now the snapshot too: nothing but the id is known.
	putRaw(t, s, []string{"docs", "b", "snapshot"}, keySnap, []byte(`null`))
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
	js, _ := json.Marshal(list[2])
	if !strings.Contains(string(js), `"broken":"`) {
		t.Fatalf("broken entry as JSON = %s; want a broken field", js)
	}
	js, _ = json.Marshal(list[0])
	if strings.Contains(string(js), "broken") {
		t.Fatalf("sound entry as JSON = %s; want no broken field", js)
	}
	_, err = s.LoadSnapshot(ctx, "b")
	storetest.WantCorrupt(t, "LoadSnapshot(b)", err, "document b snapshot")
	if _, err := s.LoadSnapshot(ctx, "a"); err != nil {
		t.Fatalf("LoadSnapshot(a) = %v; want the other documents intact", err)
	}
	d := &editor.Document{ID: "b", Seq: 0}
	storetest.WantCorrupt(t, "PutSnapshot(b)", s.PutSnapshot(ctx, d, 0), "document b snapshot")
}

func TestCorruptBPF(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for i, id := range []string{"x", "y", "z"} {
		if err := s.PutBPF(ctx, &editor.BPF{ID: id, Name: "BPF " + id, Year: 2024 + i, Created: at}); err != nil {
			t.Fatal(err)
		}
	}
	putRaw(t, s, []string{"bpfs"}, []byte("y"), []byte("\x00\xff not json"))
	putRaw(t, s, []string{"bpfs"}, []byte("z"), []byte(`null`))
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
	s := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""}, [2]string{"e", ""})
	ups := make([]store.Update, 6)
	for i := range ups {
		ups[i] = store.Update{Seq: int64(i + 1), Section: "s", Version: i + 1, ClientID: "c", Changes: json.RawMessage(`[1]`), Time: at}
	}
	for _, id := range []string{"d", "e"} {
		if err := s.Append(ctx, id, 0, ups); err != nil {
			t.Fatal(err)
		}
	}
	logPath := []string{"docs", "d", "log"}
	putRaw(t, s, logPath, seqKey(3), []byte(`{"seq":3,"changes":[1`))
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
	if err := s.Append(ctx, "d", 6, []store.Update{{Seq: 7, ClientID: "c", Time: at}}); err != nil {
		t.Fatalf("Append after a damaged entry = %v; want nil", err)
	}

	// An entry that decodes under the wrong number, and one missing.
	putRaw(t, s, logPath, seqKey(4), []byte(`{"seq":9,"client":"c"}`))
	_, err = s.ReadUpdates(ctx, "d", 3, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 3)", err, "document d update 4")
	putRaw(t, s, logPath, seqKey(5), nil)
	_, err = s.ReadUpdates(ctx, "d", 4, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d, 4)", err, "document d update 5")
	if got, err := s.ReadUpdates(ctx, "d", 5, 0); err != nil || len(got) != 2 {
		t.Fatalf("ReadUpdates(d, 5) = %+v, %v; want 6..7", got, err)
	}
}

func TestCorruptSeqs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	storetest.CreateDocs(t, s, at, [2]string{"d", ""}, [2]string{"e", ""})
	putRaw(t, s, []string{"docs", "d"}, keyHead, []byte{1, 2, 3})
	_, err := s.Head(ctx, "d")
	storetest.WantCorrupt(t, "Head(d)", err, "document d head")
	// A damaged head must not pass for a version conflict (or for 0).
	storetest.WantCorrupt(t, "Append(d)", s.Append(ctx, "d", 0, []store.Update{{Seq: 1, Time: at}}), "document d head")
	_, err = s.ReadUpdates(ctx, "d", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(d)", err, "document d head")
	storetest.WantCorrupt(t, "PutSnapshot(d)", s.PutSnapshot(ctx, &editor.Document{ID: "d", Seq: 1}, 0), "document d head")
	if first, err := s.LogStart(ctx, "d"); err != nil || first != 1 {
		t.Fatalf("LogStart(d) = %d, %v; want 1", first, err)
	}

	putRaw(t, s, []string{"docs", "e"}, keyFirst, nil)
	if err := s.Append(ctx, "e", 0, []store.Update{{Seq: 1, Time: at}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ReadUpdates(ctx, "e", 0, 0)
	storetest.WantCorrupt(t, "ReadUpdates(e)", err, "document e first")
	_, err = s.LogStart(ctx, "e")
	storetest.WantCorrupt(t, "LogStart(e)", err, "document e first")
	if head, err := s.Head(ctx, "e"); err != nil || head != 1 {
		t.Fatalf("Head(e) = %d, %v; want 1", head, err)
	}
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
	var s []string
	for _, a := range list {
		s = append(s, a.ID)
	}
	return strings.Join(s, ",")
}

func TestCorruptAccount(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	createAccounts(t, s, "a", "b", "c", "d")
	putRaw(t, s, []string{"accounts"}, []byte("b"), []byte(`{"id":"b","email":`))
	putRaw(t, s, []string{"accounts"}, []byte("d"), []byte(`{"id":"zzz","email":"d@example.org"}`))

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
	// a and c are of the Secretariat; b was too, but cannot be read.
	n, err := s.CountSecretariat(ctx)
	if n != 2 {
		t.Fatalf("CountSecretariat = %d; want 2, the readable ones", n)
	}
	storetest.WantCorrupt(t, "CountSecretariat", err, "account b")

	// An unreadable account still holds its email, and can be replaced.
	err = s.CreateAccount(ctx, &store.Account{ID: "e", Email: "b@example.org", Created: at})
	if !errors.Is(err, store.ErrExists) {
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
	s := openTemp(t)
	for i, acct := range []string{"a", "b", "c"} {
		for _, bpf := range []string{"x", "y"} {
			m := store.Membership{BPF: bpf, Account: acct, Role: "co-facilitator", Added: at.Add(time.Duration(i) * time.Hour)}
			if err := s.SetMembership(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	putRaw(t, s, []string{"members"}, pairKey("x", "b"), []byte(`[]`))
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
	if err := s.SetMembership(ctx, store.Membership{BPF: "x", Account: "b", Role: "mag-facilitator", Added: at}); err != nil {
		t.Fatal(err)
	}
	if teams, err := s.Memberships(ctx, "b"); err != nil || len(teams) != 2 || teams[0].Role != "mag-facilitator" {
		t.Fatalf("Memberships(b) after repair = %+v, %v", teams, err)
	}
}

func TestCorruptSession(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for _, id := range []string{"h1", "h2", "h3"} {
		if err := s.CreateSession(ctx, &store.Session{ID: id, Account: "ana", Created: at, Expires: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	putRaw(t, s, []string{"sessions"}, []byte("h2"), []byte(`{"id":"h2","expires":"yesterday"}`))
	_, err := s.GetSession(ctx, "h2", at)
	storetest.WantCorrupt(t, "GetSession(h2)", err, "session h2")
	if sess, err := s.GetSession(ctx, "h1", at); err != nil || sess.Account != "ana" {
		t.Fatalf("GetSession(h1) = %+v, %v; want it intact", sess, err)
	}
	// Signing out deletes an unreadable session too.
	if err := s.DeleteSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "h2", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession(h2) after DeleteSession = %v; want ErrNotFound", err)
	}
	// Its index entry is left over, and not counted.
	putRaw(t, s, []string{"sessions"}, []byte("h3"), []byte(`garbage`))
	if n, err := s.DeleteSessions(ctx, "ana"); err != nil || n != 2 {
		t.Fatalf("DeleteSessions(ana) = %d, %v; want 2 (h1 and the unreadable h3)", n, err)
	}
	if _, err := s.GetSession(ctx, "h3", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession(h3) after DeleteSessions = %v; want ErrNotFound", err)
	}
}

func TestCorruptInvitation(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for i, id := range []string{"i1", "i2", "i3"} {
		inv := &store.Invitation{ID: id, BPF: "x", Role: "co-facilitator", Created: at.Add(time.Duration(i) * time.Hour), Expires: at.Add(48 * time.Hour)}
		if err := s.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	putRaw(t, s, []string{"invitations"}, []byte("i2"), []byte(`{"id":"i2","bpf":"x","revoked":"no"}`))
	list, err := s.ListInvitations(ctx, "x")
	if len(list) != 2 || list[0].ID != "i3" || list[1].ID != "i1" {
		t.Fatalf("ListInvitations(x) = %+v; want i3, i1", list)
	}
	storetest.WantCorrupt(t, "ListInvitations(x)", err, "invitation i2")
	_, err = s.TakeInvitation(ctx, "i2", "ana", at)
	storetest.WantCorrupt(t, "TakeInvitation(i2)", err, "invitation i2")
	storetest.WantCorrupt(t, "RevokeInvitation(i2)", s.RevokeInvitation(ctx, "i2"), "invitation i2")
	if inv, err := s.TakeInvitation(ctx, "i1", "ana", at); err != nil || inv.UsedBy != "ana" {
		t.Fatalf("TakeInvitation(i1) = %+v, %v; want taken", inv, err)
	}
}

func TestCorruptAuditEntry(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for i := range 6 {
		bpf := map[bool]string{true: "x", false: "y"}[i%2 == 0]
		if _, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Account: "ana", Action: "sign-in", BPF: bpf}); err != nil {
			t.Fatal(err)
		}
	}
	putRaw(t, s, []string{"audit"}, seqKey(3), []byte(`{"seq":3,"time":`))
	putRaw(t, s, []string{"audit"}, seqKey(4), []byte(`{"seq":40,"action":"sign-in"}`))
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
	// Paged past it: sound.
	if list, err := s.ListAudit(ctx, store.AuditFilter{After: 4}); err != nil || !slices.Equal(seqs(list), []int64{5, 6}) {
		t.Fatalf("ListAudit(after 4) = %v, %v; want 5, 6", seqs(list), err)
	}
	// The unreadable ones do not count towards Limit.
	list, err = s.ListAudit(ctx, store.AuditFilter{After: 1, Limit: 2})
	if got := seqs(list); !slices.Equal(got, []int64{2, 5}) {
		t.Fatalf("ListAudit(after 1, limit 2) = %v; want 2, 5", got)
	}
	storetest.WantCorrupt(t, "ListAudit(after 1, limit 2)", err, "audit entry 3")
	// Appending goes on from the last seq given.
	if seq, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, Action: "sign-in"}); err != nil || seq != 7 {
		t.Fatalf("AppendAudit = %d, %v; want 7", seq, err)
	}
}
