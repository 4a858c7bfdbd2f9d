package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bpfdraft/bpfdraft/collab/wire"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// identity is what a tab says about who it is.
type identity struct {
	Key    string `json:"key"`
	Client string `json:"client"`
	State  string `json:"state"`
	Error  string `json:"error"`
}

const identityJS = `(() => {
	const s = window.bpfdraft.session
	return {key: sessionStorage.getItem("bpfdraft.key") || "", client: s.clientID || "", state: s.state,
		error: s.error ? s.error.code : ""}
})()`

// TestIdentityKeptOnReloadNotShared checks the tab's key: the client id
// the server gives is the one derived from the key the tab keeps; a reload
// keeps both; a duplicated tab, which inherits the sessionStorage that
// holds the key, takes a key of its own instead of replacing the first
// tab's connection.
func TestIdentityKeptOnReloadNotShared(t *testing.T) {
	s := newServer(t)
	ana := s.memberBrowser(t, "Ana Silva")
	ana.openEditor(s)

	first, err := eval[identity](ana, identityJS)
	if err != nil {
		t.Fatal(err)
	}
	if first.Key == "" || first.Client != wire.ClientID(first.Key) {
		t.Fatalf("tab's key %q and client id %q; want the id derived from the key (%q)", first.Key, first.Client, wire.ClientID(first.Key))
	}
	self, err := eval[string](ana, `document.querySelector("#presence li.person-self").dataset.client`)
	if err != nil || self != first.Client {
		t.Errorf("the person's own entry has data-client %q (%v); want %q", self, err, first.Client)
	}

	// A reload: the name is remembered, so no dialog.
	ana.must("reload", 20*time.Second,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#conn-state[data-state="connected"]`)),
	)
	again, err := eval[identity](ana, identityJS)
	if err != nil {
		t.Fatal(err)
	}
	if again.Key != first.Key || again.Client != first.Client {
		t.Errorf("after a reload: key %q, id %q; want the same key and id as before (%q, %q)", again.Key, again.Client, first.Key, first.Client)
	}

	// A tab the first one opens inherits its sessionStorage, as a
	// duplicated tab does.
	newTab := chromedp.WaitNewTarget(ana.ctx, func(i *target.Info) bool {
		return i.Type == "page" && strings.HasPrefix(i.URL, s.editURL())
	})
	// As a person's click would, so that no popup blocker stops it.
	asUserGesture := func(p *runtime.EvaluateParams) { p.UserGesture = new(true) }
	if _, err := run(ana, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`void window.open(%q)`, s.editURL()), asUserGesture)); err != nil {
		t.Fatal(err)
	}
	var id target.ID
	select {
	case id = <-newTab:
	case <-time.After(15 * time.Second):
		t.Fatal("window.open made no new tab")
	}
	twin := attachTab(t, ana, id, "Ana's second tab")
	twin.must("wait for the second tab to connect", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#conn-state[data-state="connected"]`)),
	)
	second, err := eval[identity](twin, identityJS)
	if err != nil {
		t.Fatal(err)
	}
	if second.Key == first.Key || second.Client == first.Client {
		t.Errorf("second tab: key %q, id %q; want a key and id of its own (the first tab's are %q, %q)", second.Key, second.Client, first.Key, first.Client)
	}
	if second.Client != wire.ClientID(second.Key) {
		t.Errorf("second tab: id %q; want %q, derived from its key", second.Client, wire.ClientID(second.Key))
	}
	// Both stay connected, and each sees the other.
	eventually(t, 10*time.Second, "both tabs connected, each seeing the other", func() string {
		for _, c := range []struct {
			b     *browser
			other string
		}{{ana, second.Client}, {twin, first.Client}} {
			got, err := eval[identity](c.b, identityJS)
			if err != nil {
				return err.Error()
			}
			if got.State != "connected" || got.Error != "" {
				return fmt.Sprintf("%s: state %q, error %q; want connected without an error", c.b.name, got.State, got.Error)
			}
			n, err := eval[int](c.b, fmt.Sprintf(`document.querySelectorAll('#presence li[data-client=%q]').length`, c.other))
			if err != nil {
				return err.Error()
			}
			if n != 1 {
				return fmt.Sprintf("%s lists the other tab %d times; want once", c.b.name, n)
			}
		}
		return ""
	})
}

// attachTab attaches to a tab that b's tab opened. The first action on
// the tab's context binds the tab to that context, so it is run on the
// context itself, which lives until the test's cleanup (as newBrowser does).
func attachTab(t *testing.T, b *browser, id target.ID, name string) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	attached := make(chan error, 1)
	go func() { attached <- chromedp.Do(ctx) }()
	select {
	case err := <-attached:
		if err != nil {
			t.Fatalf("attaching to %s: %v", name, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("attaching to %s: no answer in 15s", name)
	}
	return &browser{t: t, name: name, ctx: ctx}
}
