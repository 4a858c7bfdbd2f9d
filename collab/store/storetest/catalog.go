package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/store"
	"github.com/bpfdraft/bpfdraft/editor"
)

// RunCatalog runs the conformance tests of store.Catalog as named subtests:
//
//   - BPFs: PutBPF, ErrExists on a taken id, GetBPF returns what was put,
//     ListBPFs orders by year then name.
//   - BPFNotFound: GetBPF of an unknown id is ErrNotFound.
//   - CreateDocument: a created document is listed with its seq; ErrExists
//     on a taken id, and the first document is unchanged.
//   - ListDocuments: oldest first, filtered by BPF, with title and template;
//     an unknown BPF lists none.
//   - ListByCreation: the order is by creation time, not by id or by when
//     the documents were stored.
//   - Empty: an empty catalog lists no BPFs and no documents, without error.
func RunCatalog(t *testing.T, newCatalog NewCatalog) {
	runAll(t, newCatalog, []subtest[store.Catalog]{
		{"BPFs", testBPFs},
		{"BPFNotFound", testBPFNotFound},
		{"CreateDocument", testCreateDocument},
		{"ListDocuments", testListDocuments},
		{"ListByCreation", testListByCreation},
		{"Empty", testEmptyCatalog},
	})
}

func testBPFs(t *testing.T, s store.Catalog) {
	ctx := context.Background()
	a := &editor.BPF{ID: "b1", Name: "Cybersecurity", Year: 2026, MeetingDate: "2026-06-23", Created: t0}
	b := &editor.BPF{ID: "b2", Name: "AI", Year: 2025, Created: t0}
	c := &editor.BPF{ID: "b3", Name: "Accessibility", Year: 2026, Created: t0}
	for _, x := range []*editor.BPF{a, b, c} {
		if err := s.PutBPF(ctx, x); err != nil {
			t.Fatalf("PutBPF(%s): %v", x.ID, err)
		}
	}
	if err := s.PutBPF(ctx, &editor.BPF{ID: "b1", Name: "Other", Year: 2026}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("PutBPF(duplicate) = %v; want ErrExists", err)
	}
	got, err := s.GetBPF(ctx, "b1")
	if err != nil || *got != *a {
		t.Fatalf("GetBPF = %+v, %v; want %+v", got, err, a)
	}
	list, err := s.ListBPFs(ctx)
	if err != nil || len(list) != 3 || list[0].ID != "b2" || list[1].ID != "b3" || list[2].ID != "b1" {
		t.Fatalf("ListBPFs = %v, %v; want b2, b3, b1 (by year, then name)", list, err)
	}
}

func testBPFNotFound(t *testing.T, s store.Catalog) {
	if _, err := s.GetBPF(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetBPF = %v; want ErrNotFound", err)
	}
}

func testCreateDocument(t *testing.T, s store.Catalog) {
	ctx := context.Background()
	d := newDoc("d1", "b1")
	d.Seq = 7 // an imported document may start past 0
	if err := s.CreateDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	other := newDoc("d1", "b2")
	other.Title = "Impostor"
	if err := s.CreateDocument(ctx, other); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateDocument(duplicate) = %v; want ErrExists", err)
	}
	list, err := s.ListDocuments(ctx, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListDocuments = %+v, %v; want d1", list, err)
	}
	if want := store.InfoOf(d); list[0] != want {
		t.Fatalf("listed %+v; want %+v", list[0], want)
	}
}

func testListDocuments(t *testing.T, s store.Catalog) {
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		d := newDoc(id, map[bool]string{true: "b1", false: "b2"}[i != 1])
		d.Created = t0.Add(time.Duration(i) * time.Hour)
		if err := s.CreateDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListDocuments(ctx, "")
	if err != nil || len(all) != 3 || all[0].ID != "a" || all[2].ID != "c" {
		t.Fatalf("ListDocuments(all) = %+v, %v; want a, b, c", all, err)
	}
	b1, err := s.ListDocuments(ctx, "b1")
	if err != nil || len(b1) != 2 || b1[0].ID != "a" || b1[1].ID != "c" {
		t.Fatalf("ListDocuments(b1) = %+v, %v; want a, c", b1, err)
	}
	if b1[0].Title != "Draft a" || b1[0].Template != "bpf-output" || b1[0].Broken != "" {
		t.Fatalf("DocInfo = %+v; want title and template, not broken", b1[0])
	}
	if none, err := s.ListDocuments(ctx, "b9"); err != nil || len(none) != 0 {
		t.Fatalf("ListDocuments(b9) = %+v, %v; want none", none, err)
	}
}

func testListByCreation(t *testing.T, s store.Catalog) {
	ctx := context.Background()
	// Neither the order of creation nor the ids' order is the creation
	// times' order.
	for _, x := range []struct {
		id    string
		hours int
	}{{"a", 2}, {"c", 1}, {"b", 0}} {
		d := newDoc(x.id, "")
		d.Created = t0.Add(time.Duration(x.hours) * time.Hour)
		if err := s.CreateDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListDocuments(ctx, "")
	if err != nil || len(all) != 3 || all[0].ID != "b" || all[1].ID != "c" || all[2].ID != "a" {
		t.Fatalf("ListDocuments = %+v, %v; want b, c, a", all, err)
	}
}

func testEmptyCatalog(t *testing.T, s store.Catalog) {
	ctx := context.Background()
	if list, err := s.ListBPFs(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListBPFs = %v, %v; want none", list, err)
	}
	if list, err := s.ListDocuments(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("ListDocuments = %v, %v; want none", list, err)
	}
}
