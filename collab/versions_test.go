package collab_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
	"github.com/bpfdraft/bpfdraft/editor"
)

// TestVersionsAndChanges: the versions a document keeps (published ones,
// and those the Secretariat names), and what changed between any two:
// the team compares any, the public only what is published.
func TestVersionsAndChanges(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{SessionLifetime: 365 * 24 * time.Hour})
	co, public := s.people[2].p, s.people[1].p
	w := co.Dial(t, s.doc.ID, "editor")
	if err := w.Edit("issues", func(text string) []editor.Change {
		i := editor.UTF16Offset(text, strings.Index(text, "cheap"))
		return []editor.Change{{From: i, To: i + len("cheap"), Insert: "affordable"}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitConfirmed(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	base := "/api/documents/" + s.doc.ID
	var named struct {
		Seq  int64
		Name string
	}
	s.e.PostJSON(t, base+"/versions", map[string]string{"name": "After the first meeting"}, 201, &named)
	if status, _ := co.Call(t, "POST", base+"/versions", "application/json", `{"name":"Mine"}`); status != 403 {
		t.Fatalf("the team names a version: %d", status)
	}
	if status, _ := s.e.Call(t, "POST", base+"/versions", "application/json", `{"name":"final"}`); status != 400 {
		t.Fatalf("a version named as a published one: %d", status)
	}
	var team, pub struct {
		Versions []struct {
			Seq  int64
			Name string
		}
	}
	co.GetJSON(t, base+"/versions", 200, &team)
	public.GetJSON(t, base+"/versions", 200, &pub)
	names := fmt.Sprint(team.Versions)
	if !strings.Contains(names, "After the first meeting") || !strings.Contains(names, "opened for public comment") || len(pub.Versions) != 1 || pub.Versions[0].Name != "opened for public comment" {
		t.Fatalf("versions: the team's %+v, the public's %+v", team.Versions, pub.Versions)
	}
	var ch struct {
		Sections []struct {
			ID, Status string
			Parts      []struct{ Op, Text string }
		}
	}
	co.GetJSON(t, base+"/changes", 200, &ch) // from the version opened for comment to the live draft
	got := ""
	for _, sc := range ch.Sections {
		if sc.Status != "same" {
			got += fmt.Sprint(sc.ID, sc.Status, sc.Parts)
		}
	}
	if got != "issueschanged[{= Small firms need } {- cheap} {+ affordable} {=  security advice.\n\nSecond paragraph.}]" {
		t.Fatalf("the team's changes: %q", got)
	}
	// The public may not see the live draft's changes; once final, it
	// sees what changed since the draft it commented on.
	if status, _ := public.Call(t, "GET", base+"/changes?to=live", "", ""); status != 403 {
		t.Fatalf("the public compares with the live draft: %d", status)
	}
	s.clock.Set(t0.Add(7 * 7 * 24 * time.Hour))
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "revision"}, 200, nil)
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "final"}, 200, nil)
	if _, reading := public.Call(t, "GET", "/d/"+s.doc.ID, "", ""); !strings.Contains(string(reading), `<a href="/d/`+s.doc.ID+`/changes">What changed since the draft for public comment</a>`) {
		t.Fatal("the reading view does not link to what changed")
	}
	status, page := public.Call(t, "GET", "/d/"+s.doc.ID+"/changes", "", "")
	if status != 200 || !strings.Contains(string(page), "<del>cheap</del><ins>affordable</ins>") || !strings.Contains(string(page), "From <strong>opened for public comment</strong> to <strong>final</strong>") {
		t.Fatalf("the public's changes: %d\n%s", status, page)
	}
}

// TestRestore: a section is brought back to a kept version as a new
// change every open editor receives; the history keeps what came between.
// Versions are kept automatically once an hour while a document is edited.
func TestRestore(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{SessionLifetime: 365 * 24 * time.Hour})
	co := s.people[2].p
	base := "/api/documents/" + s.doc.ID
	w := co.Dial(t, s.doc.ID, "editor")
	ctx := waitCtx(t)
	var opened struct {
		Versions []struct {
			Seq  int64
			Name string
		}
	}
	s.e.GetJSON(t, base+"/versions", 200, &opened)
	var at int64
	for _, v := range opened.Versions {
		if v.Name == "opened for public comment" {
			at = v.Seq
		}
	}
	// A vandal's worth of edits: the section wiped.
	if err := w.Edit("issues", replaceAll("")); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _ := co.Call(t, "POST", base+"/restore", "application/json", fmt.Sprintf(`{"version":%d,"section":"issues"}`, at)); status != 403 {
		t.Fatalf("the team restores: %d", status)
	}
	var out struct{ Restored []string }
	s.e.PostJSON(t, base+"/restore", map[string]any{"version": at, "section": "issues"}, 200, &out)
	var live collabtest.Doc
	s.e.GetJSON(t, base, 200, &live)
	if len(out.Restored) != 1 || live.Sections[0].Text != "Small firms need cheap security advice.\n\nSecond paragraph." {
		t.Fatalf("restored %v: %q", out.Restored, live.Sections[0].Text)
	}
	if err := w.WaitSeq(ctx, live.Seq); err != nil || w.Text("issues") != live.Sections[0].Text {
		t.Fatalf("the open editor has %q (%v)", w.Text("issues"), err)
	}
	// An hour of editing later, a version is kept on its own.
	count := func() int {
		var v struct{ Versions []struct{ Name string } }
		s.e.GetJSON(t, base+"/versions", 200, &v)
		n := 0
		for _, x := range v.Versions {
			if x.Name == "kept automatically" {
				n++
			}
		}
		return n
	}
	before := count()
	s.clock.Advance(collab.KeepEvery)
	if err := w.Edit("issues", insertAt(0, "Later: ")); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for count() == before {
		if time.Now().After(deadline) {
			t.Fatal("no version was kept after an hour of editing")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogKeptSinceLastVersion: snapshots compact the log, but never past
// the last version kept: every state since can be rebuilt from that
// version and the log, however many tiny edits came after it.
func TestLogKeptSinceLastVersion(t *testing.T) {
	clock := collabtest.NewClock(t0)
	e := collabtest.New(t, collab.Config{Hub: collab.HubConfig{SnapshotEvery: 10, SnapshotKeep: 5}}, collabtest.Options{Now: clock.Now})
	d := e.CreateDoc(t, "bpf-output", "Kept")
	c := e.Dial(t, d.ID, "typist")
	ctx := waitCtx(t)
	typeN := func(n int) {
		t.Helper()
		for range n {
			if err := c.Edit("issues", insertAt(0, "x")); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitConfirmed(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	kept := func() int64 {
		var v struct{ Versions []struct{ Seq int64 } }
		e.GetJSON(t, "/api/documents/"+d.ID+"/versions", 200, &v)
		if len(v.Versions) == 0 {
			return 0
		}
		return v.Versions[len(v.Versions)-1].Seq
	}
	typeN(60)
	if start, err := e.Store.LogStart(ctx, d.ID); err != nil || start > kept()+1 {
		t.Fatalf("the log starts at %d (%v), past the version kept at %d", start, err, kept())
	}
	// An hour on, a new version is kept, and the log may move up to it.
	clock.Advance(collab.KeepEvery)
	typeN(1)
	deadline := time.Now().Add(time.Minute)
	for kept() < 60 {
		if time.Now().After(deadline) {
			t.Fatal("no new version was kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	typeN(40)
	start, err := e.Store.LogStart(ctx, d.ID)
	if err != nil || start <= 2 || start > kept()+1 {
		t.Fatalf("the log starts at %d (%v); the last version kept is at %d", start, err, kept())
	}
}

// TestFinalCorrection: the final output stays as published; the
// Secretariat corrects the live text and publishes the correction as a
// new version with its note; the public reads the correction then, not
// before; the team may not edit the final output.
func TestFinalCorrection(t *testing.T) {
	s, _ := commentSetup(t, collab.Config{SessionLifetime: 365 * 24 * time.Hour})
	base := "/api/documents/" + s.doc.ID
	s.clock.Set(t0.Add(7 * 7 * 24 * time.Hour))
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "revision"}, 200, nil)
	s.e.PostJSON(t, base+"/workflow", map[string]string{"stage": "final"}, 200, nil)
	ctx := waitCtx(t)
	// The team may not edit it.
	errs := make(chan *client.ServerError, 4)
	co, err := client.Dial(ctx, s.e.URL, s.doc.ID, client.Options{Header: s.people[2].p.Header(), OnError: func(e *client.ServerError) { errs <- e }})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	co.Edit("issues", insertAt(0, "Team: "))
	select {
	case e := <-errs:
		if e.Code != collab.CodeForbidden {
			t.Fatalf("the team edits the final output: %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("the team's edit of the final output was not refused")
	}
	// The Secretariat corrects it.
	sec := s.e.Dial(t, s.doc.ID, "corrector")
	if err := sec.Edit("issues", func(text string) []editor.Change {
		i := editor.UTF16Offset(text, strings.Index(text, "cheap"))
		return []editor.Change{{From: i, To: i + len("cheap"), Insert: "affordable"}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := sec.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	public := s.people[1].p
	readers := []*collabtest.Person{public, s.e.Anonymous()}
	reads := func(want string) {
		t.Helper()
		for _, p := range readers {
			for _, path := range []string{"/d/" + s.doc.ID, base + "/export?format=md", base + "/export?format=html"} {
				if status, page := p.Call(t, "GET", path, "", ""); status != 200 || !strings.Contains(string(page), want) {
					t.Fatalf("%s: %d, without %q:\n%s", path, status, want, page)
				}
			}
		}
	}
	reads("need cheap security") // not the correction in progress
	if status, _ := public.Call(t, "GET", base, "", ""); status != 403 {
		t.Fatalf("the public reads the final output being corrected: %d", status)
	}
	if status, _ := s.e.Call(t, "POST", base+"/workflow", "application/json", `{"correction":"x","stage":"revision"}`); status != 400 {
		t.Fatalf("a correction that leaves final: %d", status)
	}
	if status, _ := s.e.Call(t, "POST", base+"/workflow", "application/json", `{"correction":"`+strings.Repeat("x", 101)+`"}`); status != 400 {
		t.Fatalf("a correction's note of 101 characters: %d", status)
	}
	if status, _ := s.e.Call(t, "POST", base+"/versions", "application/json", `{"name":"correction: mine"}`); status != 400 {
		t.Fatalf("a version named like a correction: %d", status)
	}
	if _, page := s.e.Call(t, "GET", "/d/"+s.doc.ID+"/settings", "", ""); !strings.Contains(string(page), `name="correction"`) {
		t.Fatal("the settings page of the final output offers no correction")
	}
	resp, page := s.e.Form(t, "/d/"+s.doc.ID+"/settings", url.Values{"stage": {"final"}, "correction": {"A word in section 1."}})
	if resp.StatusCode != 200 || !strings.Contains(string(page), "The correction is published.") {
		t.Fatalf("publishing the correction: %d %s", resp.StatusCode, page)
	}
	reads("need affordable security")
	var vs struct {
		Versions []struct {
			Seq  int64
			Name string
		}
	}
	public.GetJSON(t, base+"/versions", 200, &vs)
	if names := fmt.Sprint(vs.Versions); !strings.Contains(names, "final") || !strings.Contains(names, "correction: A word in section 1.") {
		t.Fatalf("the versions the public sees: %s", names)
	}
	// The final as first published is still there, unchanged, and what
	// the correction changed is shown against it.
	var final, correction int64
	for _, v := range vs.Versions {
		switch v.Name {
		case "final":
			final = v.Seq
		case "correction: A word in section 1.":
			correction = v.Seq
		}
	}
	var ch struct {
		Sections []struct {
			ID     string
			Status string
			Parts  []struct{ Op, Text string }
		}
	}
	public.GetJSON(t, fmt.Sprintf("%s/changes?from=%d&to=%d", base, final, correction), 200, &ch)
	var redline []string
	for _, sec := range ch.Sections {
		if sec.ID == "issues" {
			for _, p := range sec.Parts {
				if p.Op != "=" {
					redline = append(redline, p.Op+p.Text)
				}
			}
		}
	}
	if got := strings.Join(redline, " "); got != "-cheap +affordable" {
		t.Fatalf("the correction's redline: %q", got)
	}
}
