package editor

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/bpfdraft/bpfdraft/internal/testseed"
)

// TestRebaseStepwiseRecordedCase keeps the case that showed composing and
// stepwise mapping disagree: RebaseStepwise must give what a client that
// receives over one update at a time holds as pending.
func TestRebaseStepwiseRecordedCase(t *testing.T) {
	data, err := os.ReadFile("testdata/rebase/compose-vs-stepwise.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Note     string   `json:"note"`
		Updates  []Update `json:"updates"`
		Over     []Update `json:"over"`
		Stepwise []Update `json:"stepwise"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if *updateStepwise {
		c.Stepwise = RebaseStepwise(c.Updates, c.Over)
		out, _ := json.MarshalIndent(c, "", " ")
		if err := os.WriteFile("testdata/rebase/compose-vs-stepwise.json", append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What the client holds: its pending updates mapped over each foreign
	// update as it arrives.
	pending := append([]Update(nil), c.Updates...)
	for _, o := range c.Over {
		ch := o.Changes
		for i := range pending {
			m := pending[i].Changes.Map(ch, false)
			ch = ch.Map(pending[i].Changes, true)
			pending[i].Changes = m
		}
	}
	got := RebaseStepwise(c.Updates, c.Over)
	if len(c.Stepwise) != len(got) {
		t.Fatalf("the fixture's stepwise result has %d updates; RebaseStepwise gives %d (rewrite with -rebase.update)", len(c.Stepwise), len(got))
	}
	for i := range got {
		if got[i].Changes.String() != c.Stepwise[i].Changes.String() {
			t.Errorf("update %d: got %s; the fixture (shared with the browser tests) says %s", i, got[i].Changes, c.Stepwise[i].Changes)
		}
	}
	composed := RebaseUpdates(c.Updates, c.Over)
	differs := false
	for i := range pending {
		if got[i].Changes.String() != pending[i].Changes.String() {
			t.Errorf("update %d: got %s; want %s", i, got[i].Changes, pending[i].Changes)
		}
		if composed[i].Changes.String() != pending[i].Changes.String() {
			differs = true
		}
	}
	if !differs {
		t.Errorf("RebaseUpdates agrees with stepwise mapping on the recorded case; the reason for RebaseStepwise is gone")
	}
}

var updateStepwise = flag.Bool("rebase.update", false, "rewrite the stepwise result in testdata/rebase/compose-vs-stepwise.json")

// TestRebaseStepwiseConverges simulates a server that rebases pushes made
// at old versions with RebaseStepwise and clients that receive accepted
// updates one at a time, with random interleavings: all end with the
// server's text.
func TestRebaseStepwiseConverges(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	gen := randChooser{r: rng}
	for round := 0; round < 300; round++ {
		simulateStepwise(t, rng, gen, round)
		if t.Failed() {
			return
		}
	}
}

type simClient struct {
	id       string
	text     string
	received int // updates of the server's history applied
	pending  []Update
	inflight int
}

func simulateStepwise(t *testing.T, rng *rand.Rand, gen chooser, round int) {
	base := genDoc(gen)
	server := base
	var history []Update
	clients := make([]*simClient, 2+rng.IntN(3))
	for i := range clients {
		clients[i] = &simClient{id: string(rune('a' + i)), text: base}
	}
	type push struct {
		from    *simClient
		version int
		updates []Update
	}
	var queue []push
	for step := 0; step < 60 || len(queue) > 0; step++ {
		c := clients[rng.IntN(len(clients))]
		switch r := rng.IntN(10); {
		case r < 4 && step < 60: // edit locally
			cs := genSet(gen, c.text)
			text, err := cs.Apply(c.text)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			c.text = text
			c.pending = append(c.pending, Update{Changes: cs, ClientID: c.id})
		case r < 6: // push what is unconfirmed, one push in flight
			if c.inflight == 0 && len(c.pending) > 0 {
				queue = append(queue, push{c, c.received, append([]Update(nil), c.pending...)})
				c.inflight = len(c.pending)
			}
		case r < 8: // the server takes the oldest push
			if len(queue) == 0 {
				continue
			}
			p := queue[0]
			queue = queue[1:]
			for _, u := range RebaseStepwise(p.updates, history[p.version:]) {
				text, err := u.Changes.Apply(server)
				if err != nil {
					t.Fatalf("round %d: server apply: %v", round, err)
				}
				server = text
				history = append(history, u)
			}
		default: // a client receives one update
			if c.received == len(history) {
				continue
			}
			if err := c.receive(history); err != nil {
				t.Fatalf("round %d: client %s: %v", round, c.id, err)
			}
		}
		if step > 1000 {
			t.Fatalf("round %d did not settle", round)
		}
	}
	// Drain: every client pushes what is left, the server takes it, and
	// everyone receives everything.
	for {
		busy := false
		for _, c := range clients {
			for c.received < len(history) {
				if err := c.receive(history); err != nil {
					t.Fatalf("round %d: drain: client %s: %v", round, c.id, err)
				}
			}
			if len(c.pending) > 0 && c.inflight == 0 {
				busy = true
				for _, u := range RebaseStepwise(c.pending, history[c.received:]) {
					server, _ = u.Changes.Apply(server)
					history = append(history, u)
				}
				c.inflight = len(c.pending)
			}
		}
		if !busy {
			break
		}
	}
	for _, c := range clients {
		if c.text != server {
			t.Fatalf("round %d: client %s has %q; server %q", round, c.id, c.text, server)
		}
	}
}

// receive takes the next update of the server's history as a client of
// @codemirror/collab does: its own confirms the oldest pending one; a
// foreign one is applied with the pending ones mapped over it.
func (c *simClient) receive(history []Update) error {
	u := history[c.received]
	c.received++
	if len(c.pending) > 0 && u.ClientID == c.id {
		c.pending = c.pending[1:]
		if c.inflight > 0 {
			c.inflight--
		}
		return nil
	}
	ch := u.Changes
	for i := range c.pending {
		m := c.pending[i].Changes.Map(ch, false)
		ch = ch.Map(c.pending[i].Changes, true)
		c.pending[i].Changes = m
	}
	text, err := ch.Apply(c.text)
	if err != nil {
		return err
	}
	c.text = text
	return nil
}
