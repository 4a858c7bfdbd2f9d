package collab_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bpfdraft/bpfdraft/client"
	"github.com/bpfdraft/bpfdraft/collab"
	"github.com/bpfdraft/bpfdraft/collab/collabtest"
)

// TestRestructure: the document and its custom sections are renamed,
// moved and removed over the API; connected clients follow; a removed
// section's text stays in the history; the template's sections are not
// touched; a restart gives the same.
func TestRestructure(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	e := s.e
	co := s.people[2].p
	base := "/api/documents/" + s.doc.ID
	for _, title := range []string{"Case studies", "Survey"} {
		co.PostJSON(t, base+"/sections", map[string]string{"title": title, "text": "About " + title + "."}, 201, nil)
	}
	ctx := waitCtx(t)
	watcher := co.Dial(t, s.doc.ID, "watcher")

	var d collabtest.Doc
	co.Call(t, "PATCH", base, "application/json", `{"title":"Output 2026"}`)
	status, _ := co.Call(t, "PATCH", base+"/sections/custom-2", "application/json", `{"title":"Survey results","index":0}`)
	if status != 200 {
		t.Fatalf("rename and move: %d", status)
	}
	if status, body := co.Call(t, "PATCH", base+"/sections/issues", "application/json", `{"title":"Mine"}`); status != 400 {
		t.Fatalf("renaming a template section: %d %s", status, body)
	}
	if status, _ := co.Call(t, "DELETE", base+"/sections/custom-1", "", ""); status != 204 {
		t.Fatalf("remove: %d", status)
	}
	if status, _ := co.Call(t, "DELETE", base+"/sections/custom-1", "", ""); status != 404 {
		t.Fatalf("remove again: %d", status)
	}
	// The public may not.
	if status, _ := s.people[1].p.Call(t, "DELETE", base+"/sections/custom-2", "", ""); status != 404 && status != 403 {
		t.Fatalf("the public removes a section: %d", status)
	}
	e.GetJSON(t, base, 200, &d)
	ids := []string{}
	for _, sec := range d.Sections {
		ids = append(ids, sec.ID)
	}
	if d.Title != "Output 2026" || ids[0] != "custom-2" || d.Sections[0].Title != "Survey results" || slices.Contains(ids, "custom-1") || len(ids) != 11 {
		t.Fatalf("document %q, sections %v", d.Title, ids)
	}
	if err := watcher.WaitSeq(ctx, d.Seq); err != nil {
		t.Fatal(err)
	}
	if got := watcher.Sections(); !slices.Equal(got, ids) {
		t.Fatalf("the connected client has %v; want %v", got, ids)
	}
	// The removed text is in the history.
	status, hist := e.Call(t, "GET", base+"/history", "", "")
	if status != 200 || !strings.Contains(string(hist), `"remove_section"`) || !strings.Contains(string(hist), "About Case studies.") {
		t.Fatalf("history: %d %s", status, hist)
	}
	// A restart replays the same.
	e.Close()
	e2 := collabtest.New(t, collab.Config{}, collabtest.Options{Dir: e.Dir, Now: s.clock.Now})
	var again collabtest.Doc
	e2.GetJSON(t, base, 200, &again)
	ids2 := []string{}
	for _, sec := range again.Sections {
		ids2 = append(ids2, sec.ID)
	}
	if again.Title != d.Title || !slices.Equal(ids2, ids) {
		t.Fatalf("after a restart %q %v", again.Title, ids2)
	}
}

// TestRemovedSectionRefusesPushes: a client editing a section that is
// removed is refused, and the rest of the document goes on.
func TestRemovedSectionRefusesPushes(t *testing.T) {
	e := collabtest.New(t, collab.Config{})
	d := e.CreateDoc(t, "bpf-output", "Removal")
	e.PostJSON(t, "/api/documents/"+d.ID+"/sections", map[string]string{"title": "Annex"}, 201, nil)
	ctx := waitCtx(t)
	errs := make(chan *client.ServerError, 4)
	c, err := client.Dial(ctx, e.URL, d.ID, client.Options{Header: e.Header(), OnError: func(se *client.ServerError) { errs <- se }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if status, _ := e.Call(t, "DELETE", "/api/documents/"+d.ID+"/sections/custom-1", "", ""); status != 204 {
		t.Fatalf("remove: %d", status)
	}
	// A push based on what the client had before it heard of the removal
	// is refused; the client then drops the section.
	if err := c.Edit("custom-1", insertAt(0, "late")); err == nil {
		select {
		case se := <-errs:
			if se.Code != collab.CodeUnknownSection {
				t.Fatalf("push to a removed section: %+v", se)
			}
		case <-ctx.Done():
			t.Fatal("no answer to a push to a removed section")
		}
	}
	if err := c.Edit("issues", insertAt(0, "Still here")); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSectionsOnSettingsPage: the Secretariat renames, moves and removes
// custom sections with the settings page's forms.
func TestSectionsOnSettingsPage(t *testing.T) {
	s := newTeamSetup(t, collab.Config{})
	e := s.e
	e.PostJSON(t, "/api/documents/"+s.doc.ID+"/sections", map[string]string{"title": "Annex"}, 201, nil)
	page := "/d/" + s.doc.ID
	for _, step := range []struct {
		path   string
		fields url.Values
		want   string
	}{
		{page + "/rename", url.Values{"title": {"Renamed output"}}, "Renamed."},
		{page + "/sections/custom-1", url.Values{"action": {"rename"}, "title": {"Annex on data"}}, "Section renamed."},
		{page + "/sections/custom-1", url.Values{"action": {"up"}}, "Section moved."},
		{page + "/sections/issues", url.Values{"action": {"remove"}}, "only custom sections"},
		{page + "/sections/custom-1", url.Values{"action": {"remove"}}, "Section removed"},
	} {
		resp, body := e.Person.Form(t, step.path, step.fields)
		if !strings.Contains(body, step.want) {
			t.Fatalf("%s %v: %d, no %q in\n%s", step.path, step.fields, resp.StatusCode, step.want, body)
		}
	}
	var d collabtest.Doc
	e.GetJSON(t, "/api/documents/"+s.doc.ID, 200, &d)
	if d.Title != "Renamed output" || len(d.Sections) != 10 {
		t.Fatalf("%q with %d sections", d.Title, len(d.Sections))
	}
	// A co-facilitator may restructure too (the matrix's edit structure),
	// but the settings page (stages) is the Secretariat's.
	if status, _ := s.people[2].p.Call(t, "GET", page+"/settings", "", ""); status != 403 {
		t.Fatalf("settings page for a co-facilitator: %d", status)
	}
}
