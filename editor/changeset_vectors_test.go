package editor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The vectors under testdata/changes are written by
// frontend/tools/gen-change-vectors.mjs from the real @codemirror/state and
// @codemirror/collab; these tests hold the Go side to the same results.

func readVectors[T any](t *testing.T, name string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "changes", name+".json"))
	if err != nil {
		t.Fatalf("read vectors (regenerate with node frontend/tools/gen-change-vectors.mjs): %v", err)
	}
	var file struct {
		Cases []T `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	if len(file.Cases) == 0 {
		t.Fatalf("%s holds no cases", name)
	}
	return file.Cases
}

// cs parses a change set from the vectors, failing the test if it cannot.
func cs(t *testing.T, raw json.RawMessage) ChangeSet {
	t.Helper()
	c, err := ChangeSetFromJSON(raw)
	if err != nil {
		t.Fatalf("ChangeSetFromJSON(%s): %v", raw, err)
	}
	return c
}

// sameJSON compares a set's JSON with the library's, ignoring formatting.
func sameJSON(t *testing.T, what string, got ChangeSet, want json.RawMessage) {
	t.Helper()
	g, _ := got.MarshalJSON()
	var gv, wv any
	if err := json.Unmarshal(g, &gv); err != nil {
		t.Fatalf("%s: own JSON %s does not parse: %v", what, g, err)
	}
	if err := json.Unmarshal(want, &wv); err != nil {
		t.Fatalf("%s: vector JSON %s does not parse: %v", what, want, err)
	}
	if !reflect.DeepEqual(gv, wv) {
		t.Errorf("%s: got %s; want %s", what, g, compact(want))
	}
}

func compact(raw json.RawMessage) string {
	v := any(nil)
	_ = json.Unmarshal(raw, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestVectorsOf(t *testing.T) {
	type change struct {
		From   int    `json:"from"`
		To     *int   `json:"to"`
		Insert string `json:"insert"`
	}
	for i, v := range readVectors[struct {
		Length  int             `json:"length"`
		Changes []change        `json:"changes"`
		Want    json.RawMessage `json:"want"`
	}](t, "of") {
		var changes []Change
		for _, c := range v.Changes {
			to := c.From
			if c.To != nil {
				to = *c.To
			}
			changes = append(changes, Change{From: c.From, To: to, Insert: c.Insert})
		}
		got, err := ChangeSetOf(changes, v.Length)
		if err != nil {
			t.Errorf("case %d: ChangeSetOf: %v", i, err)
			continue
		}
		sameJSON(t, "ChangeSetOf", got, v.Want)
	}
}

func TestVectorsApply(t *testing.T) {
	for i, v := range readVectors[struct {
		Doc     string          `json:"doc"`
		Changes json.RawMessage `json:"changes"`
		Want    string          `json:"want"`
		Info    struct {
			Length    int  `json:"length"`
			NewLength int  `json:"newLength"`
			Empty     bool `json:"empty"`
		} `json:"info"`
	}](t, "apply") {
		c := cs(t, v.Changes)
		if err := c.CheckAgainst(v.Doc); err != nil {
			t.Errorf("case %d: CheckAgainst: %v", i, err)
		}
		got, err := c.Apply(v.Doc)
		if err != nil {
			t.Errorf("case %d: Apply(%s): %v", i, c, err)
		} else if got != v.Want {
			t.Errorf("case %d: Apply(%s): got %q; want %q", i, c, got, v.Want)
		}
		text := NewText(v.Doc)
		if err := text.Apply(c); err != nil || text.String() != v.Want || text.Len() != UTF16Len(v.Want) {
			t.Errorf("case %d: Text.Apply(%s): got %q, length %d (%v); want %q", i, c, text.String(), text.Len(), err, v.Want)
		}
		if c.LenBefore() != v.Info.Length || c.LenAfter() != v.Info.NewLength || c.Empty() != v.Info.Empty {
			t.Errorf("case %d: %s: got LenBefore %d, LenAfter %d, Empty %v; want %d, %d, %v", i, c,
				c.LenBefore(), c.LenAfter(), c.Empty(), v.Info.Length, v.Info.NewLength, v.Info.Empty)
		}
		if n := UTF16Len(v.Doc); n != v.Info.Length {
			t.Errorf("case %d: UTF16Len(doc): got %d; want %d", i, n, v.Info.Length)
		}
		sameJSON(t, "JSON round trip", c, v.Changes)
	}
}

func TestVectorsIterChanges(t *testing.T) {
	type change struct {
		FromA, ToA, FromB, ToB int
		Text                   string
	}
	for i, v := range readVectors[struct {
		Changes    json.RawMessage `json:"changes"`
		Individual bool            `json:"individual"`
		Want       [][]any         `json:"want"`
	}](t, "iter") {
		c := cs(t, v.Changes)
		var got, want []change
		f := func(fromA, toA, fromB, toB int, text string) {
			got = append(got, change{fromA, toA, fromB, toB, text})
		}
		if v.Individual {
			c.IterChangesIndividual(f)
		} else {
			c.IterChanges(f)
		}
		for _, w := range v.Want {
			want = append(want, change{int(w[0].(float64)), int(w[1].(float64)), int(w[2].(float64)), int(w[3].(float64)), w[4].(string)})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: %s individual=%v: got %v; want %v", i, c, v.Individual, got, want)
		}
	}
}

func TestVectorsCompose(t *testing.T) {
	for i, v := range readVectors[struct {
		Doc     string          `json:"doc"`
		A       json.RawMessage `json:"a"`
		B       json.RawMessage `json:"b"`
		C       json.RawMessage `json:"c"`
		Want    json.RawMessage `json:"want"`
		WantABC json.RawMessage `json:"wantABC"`
	}](t, "compose") {
		a, b := cs(t, v.A), cs(t, v.B)
		ab := a.Compose(b)
		sameJSON(t, "Compose", ab, v.Want)
		if v.C != nil {
			sameJSON(t, "Compose of three", ab.Compose(cs(t, v.C)), v.WantABC)
		}
		// Composition must agree with applying one after the other.
		d1, err1 := a.Apply(v.Doc)
		d2, err2 := b.Apply(d1)
		d3, err3 := ab.Apply(v.Doc)
		if err1 != nil || err2 != nil || err3 != nil || d2 != d3 {
			t.Errorf("case %d: sequential apply %q (%v %v) vs composed %q (%v)", i, d2, err1, err2, d3, err3)
		}
	}
}

func TestVectorsMap(t *testing.T) {
	for _, v := range readVectors[struct {
		Doc        string          `json:"doc"`
		A          json.RawMessage `json:"a"`
		B          json.RawMessage `json:"b"`
		WantBefore json.RawMessage `json:"wantBefore"`
		WantAfter  json.RawMessage `json:"wantAfter"`
	}](t, "map") {
		a, b := cs(t, v.A), cs(t, v.B)
		sameJSON(t, "Map(before=true)", a.Map(b, true), v.WantBefore)
		sameJSON(t, "Map(before=false)", a.Map(b, false), v.WantAfter)
	}
}

func TestVectorsMapPos(t *testing.T) {
	n := 0
	for i, v := range readVectors[struct {
		Changes json.RawMessage `json:"changes"`
		Probes  [][4]*int       `json:"probes"`
	}](t, "mappos") {
		c := cs(t, v.Changes)
		for _, p := range v.Probes {
			pos, assoc, mode := *p[0], *p[1], MapMode(*p[2])
			got, ok := c.MapPos(pos, assoc, mode)
			n++
			switch {
			case p[3] == nil && ok:
				t.Errorf("case %d: %s MapPos(%d, %d, %d): got %d; want deleted", i, c, pos, assoc, mode, got)
			case p[3] != nil && !ok:
				t.Errorf("case %d: %s MapPos(%d, %d, %d): got deleted; want %d", i, c, pos, assoc, mode, *p[3])
			case p[3] != nil && got != *p[3]:
				t.Errorf("case %d: %s MapPos(%d, %d, %d): got %d; want %d", i, c, pos, assoc, mode, got, *p[3])
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d mapPos probes", n)
	}
}

func TestVectorsInvert(t *testing.T) {
	for i, v := range readVectors[struct {
		Doc     string          `json:"doc"`
		Changes json.RawMessage `json:"changes"`
		Want    json.RawMessage `json:"want"`
	}](t, "invert") {
		c := cs(t, v.Changes)
		inv, err := c.Invert(v.Doc)
		if err != nil {
			t.Errorf("case %d: Invert: %v", i, err)
			continue
		}
		sameJSON(t, "Invert", inv, v.Want)
	}
}

type vectorUpdate struct {
	Changes  json.RawMessage `json:"changes"`
	ClientID string          `json:"clientID"`
}

func toUpdates(t *testing.T, vs []vectorUpdate) []Update {
	t.Helper()
	var us []Update
	for _, v := range vs {
		us = append(us, Update{Changes: cs(t, v.Changes), ClientID: v.ClientID})
	}
	return us
}

func TestVectorsRebase(t *testing.T) {
	skipped := 0
	for i, v := range readVectors[struct {
		Updates []vectorUpdate `json:"updates"`
		Over    []vectorUpdate `json:"over"`
		Want    []vectorUpdate `json:"want"`
	}](t, "rebase") {
		got := RebaseUpdates(toUpdates(t, v.Updates), toUpdates(t, v.Over))
		if len(got) != len(v.Want) {
			t.Errorf("case %d: got %d updates; want %d", i, len(got), len(v.Want))
			continue
		}
		skipped += len(v.Updates) - len(v.Want)
		for k, w := range v.Want {
			if got[k].ClientID != w.ClientID {
				t.Errorf("case %d update %d: got client %q; want %q", i, k, got[k].ClientID, w.ClientID)
			}
			sameJSON(t, "RebaseUpdates", got[k].Changes, w.Changes)
		}
	}
	if skipped == 0 {
		t.Error("no vector exercises skipping a client's already accepted updates")
	}
}
