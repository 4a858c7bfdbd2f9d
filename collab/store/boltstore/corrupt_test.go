package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bpfdraft/bpfdraft/collab/store"
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

func createDocs(t *testing.T, s *Store, docs ...[2]string) {
	t.Helper()
	for i, d := range docs {
		doc := &editor.Document{ID: d[0], BPF: d[1], Template: "bpf-output", Title: "Draft " + d[0],
			Created: at.Add(time.Duration(i) * time.Hour), Updated: at}
		if err := s.CreateDocument(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(list []store.DocInfo) string {
	var s []string
	for _, d := range list {
		s = append(s, d.ID)
	}
	return strings.Join(s, ",")
}

// wantCorrupt checks that err is ErrCorrupt (and not ErrNotFound) naming
// the record.
func wantCorrupt(t *testing.T, what string, err error, record string) {
	t.Helper()
	if !errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s = %v; want ErrCorrupt", what, err)
	}
	if !strings.Contains(err.Error(), record) {
		t.Fatalf("%s = %q; want it to name %q", what, err, record)
	}
}

func TestCorruptListingEntry(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	createDocs(t, s, [2]string{"a", "b1"}, [2]string{"b", "b1"}, [2]string{"c", "b2"}, [2]string{"n", ""})
	// n belongs to no BPF; its entry is damaged, its snapshot says so.
	putRaw(t, s, []string{"docs", "n"}, keyInfo, []byte(`garbage`))

	// The listing entry is damaged; the snapshot is sound.
	putRaw(t, s, []string{"docs", "b"}, keyInfo, []byte(`{"id":"b","title":`))
	list, err := s.ListDocuments(ctx, "")
	if err != nil || ids(list) != "a,b,c,n" {
		t.Fatalf("ListDocuments = %+v, %v; want a, b, c, n", list, err)
	}
	if b := list[1]; b.Broken == "" || b.Title != "Draft b" || b.BPF != "b1" || list[0].Broken != "" || list[2].Broken != "" {
		t.Fatalf("listed %+v; want b broken, rebuilt from its snapshot, a and c sound", list)
	}
	if list, err := s.ListDocuments(ctx, "b1"); err != nil || ids(list) != "a,b" {
		t.Fatalf("ListDocuments(b1) = %+v, %v; want a, b", list, err)
	}
	if doc, err := s.LoadSnapshot(ctx, "b"); err != nil || doc.Title != "Draft b" {
		t.Fatalf("LoadSnapshot(b) = %+v, %v; want it intact", doc, err)
	}

	// An entry that decodes but names another document is no better.
	putRaw(t, s, []string{"docs", "b"}, keyInfo, []byte(`{"id":"zzz","title":"Elsewhere"}`))
	if list, _ := s.ListDocuments(ctx, ""); ids(list) != "a,b,c,n" || list[1].Broken == "" || list[1].Title != "Draft b" {
		t.Fatalf("ListDocuments = %+v; want b rebuilt from its snapshot", list)
	}

	// Now the snapshot too: nothing but the id is known.
	putRaw(t, s, []string{"docs", "b"}, keySnap, []byte(`null`))
	list, err = s.ListDocuments(ctx, "")
	if err != nil || ids(list) != "a,c,n,b" {
		t.Fatalf("ListDocuments = %+v, %v; want a, c, n, then b (creation unknown)", list, err)
	}
	if b := list[3]; b.Broken == "" || b.Title != "" || b.BPF != "" {
		t.Fatalf("listed %+v; want b broken with nothing but its id", b)
	}
	if list, err := s.ListDocuments(ctx, "b2"); err != nil || ids(list) != "c,b" {
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
	wantCorrupt(t, "LoadSnapshot(b)", err, "document b snapshot")
	if _, err := s.LoadSnapshot(ctx, "a"); err != nil {
		t.Fatalf("LoadSnapshot(a) = %v; want the other documents intact", err)
	}
	d := &editor.Document{ID: "b", Seq: 0}
	wantCorrupt(t, "PutSnapshot(b)", s.PutSnapshot(ctx, d, 0), "document b snapshot")
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
	wantCorrupt(t, "ListBPFs", err, "bpf y")
	wantCorrupt(t, "ListBPFs", err, "bpf z")
	_, err = s.GetBPF(ctx, "y")
	wantCorrupt(t, "GetBPF(y)", err, "bpf y")
	if b, err := s.GetBPF(ctx, "x"); err != nil || b.Name != "BPF x" {
		t.Fatalf("GetBPF(x) = %+v, %v; want it intact", b, err)
	}
}

func TestCorruptLogEntry(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	createDocs(t, s, [2]string{"d", ""}, [2]string{"e", ""})
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
	wantCorrupt(t, "ReadUpdates(d, 0)", err, "document d update 3")
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
	wantCorrupt(t, "ReadUpdates(d, 3)", err, "document d update 4")
	putRaw(t, s, logPath, seqKey(5), nil)
	_, err = s.ReadUpdates(ctx, "d", 4, 0)
	wantCorrupt(t, "ReadUpdates(d, 4)", err, "document d update 5")
	if got, err := s.ReadUpdates(ctx, "d", 5, 0); err != nil || len(got) != 2 {
		t.Fatalf("ReadUpdates(d, 5) = %+v, %v; want 6..7", got, err)
	}
}

func TestCorruptSeqs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	createDocs(t, s, [2]string{"d", ""}, [2]string{"e", ""})
	putRaw(t, s, []string{"docs", "d"}, keyHead, []byte{1, 2, 3})
	_, err := s.Head(ctx, "d")
	wantCorrupt(t, "Head(d)", err, "document d head")
	// A damaged head must not pass for a version conflict (or for 0).
	wantCorrupt(t, "Append(d)", s.Append(ctx, "d", 0, []store.Update{{Seq: 1, Time: at}}), "document d head")
	_, err = s.ReadUpdates(ctx, "d", 0, 0)
	wantCorrupt(t, "ReadUpdates(d)", err, "document d head")
	wantCorrupt(t, "PutSnapshot(d)", s.PutSnapshot(ctx, &editor.Document{ID: "d", Seq: 1}, 0), "document d head")
	if first, err := s.LogStart(ctx, "d"); err != nil || first != 1 {
		t.Fatalf("LogStart(d) = %d, %v; want 1", first, err)
	}

	putRaw(t, s, []string{"docs", "e"}, keyFirst, nil)
	if err := s.Append(ctx, "e", 0, []store.Update{{Seq: 1, Time: at}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ReadUpdates(ctx, "e", 0, 0)
	wantCorrupt(t, "ReadUpdates(e)", err, "document e first")
	_, err = s.LogStart(ctx, "e")
	wantCorrupt(t, "LogStart(e)", err, "document e first")
	if head, err := s.Head(ctx, "e"); err != nil || head != 1 {
		t.Fatalf("Head(e) = %d, %v; want 1", head, err)
	}
}
