package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// setOffline cuts the browser off the network, or reconnects it: requests
// fail, and navigator.onLine and the online/offline events follow.
func (b *browser) setOffline(offline bool) error {
	return b.do(10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	}))
}

// TestOfflineEditsMerge takes one browser offline while both keep typing;
// back online, everything merges: every typed word is in the server's text
// exactly once, and both browsers show that text.
func TestOfflineEditsMerge(t *testing.T) {
	s := newServer(t)
	ana := s.memberBrowser(t, "Ana Silva")
	bo := s.memberBrowser(t, "Bo Chen")
	ana.openEditor(s)
	bo.openEditor(s)

	shared, anaOwn := s.sections[0], s.sections[1]
	if err := ana.typeAt(shared, true, " Before the outage."); err != nil {
		t.Fatal(err)
	}
	converged(t, s, 15*time.Second, ana, bo)

	if err := ana.setOffline(true); err != nil {
		t.Fatalf("going offline: %v", err)
	}
	anaWords, anaOwnWords, boWords := tokens("offline", 10), tokens("alone", 6), tokens("online", 10)
	if err := ana.typeAt(shared, false, strings.Join(anaWords, " ")+" "); err != nil {
		t.Fatal(err)
	}
	if err := ana.typeAt(anaOwn, true, " "+strings.Join(anaOwnWords, " ")); err != nil {
		t.Fatal(err)
	}
	if err := bo.typeAt(shared, true, " "+strings.Join(boWords, " ")); err != nil {
		t.Fatal(err)
	}

	// Ana's page says it is offline and holds her changes. Checked with
	// Errorf, so that the merge below is still checked when it fails.
	shown := poll(5*time.Second, func() string {
		state, pending, err := ana.connState()
		if err != nil {
			return err.Error()
		}
		n, _ := strconv.Atoi(pending)
		if (state != "offline" && state != "reconnecting") || n == 0 {
			return fmt.Sprintf("got data-state=%q data-pending=%q; want offline or reconnecting with pending > 0", state, pending)
		}
		return ""
	})
	if shown != "" {
		t.Errorf("Ana's connection state while offline, after 5s: %s", shown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mid, err := s.texts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := countWords(mid[shared])[anaWords[0]]; c != 0 {
		t.Errorf("while Ana is offline the server has %q %d times; want 0", anaWords[0], c)
	}
	ana.screenshot("editing-offline")
	// Closing the tab now would lose what is unconfirmed: the page asks.
	const leaving = `(() => { const e = new Event("beforeunload", {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented })()`
	if warned, err := eval[bool](ana, leaving); err != nil || !warned {
		t.Errorf("beforeunload with unsaved changes: prevented = %v (%v); want true", warned, err)
	}

	if err := ana.setOffline(false); err != nil {
		t.Fatalf("going online: %v", err)
	}
	texts := converged(t, s, 30*time.Second, ana, bo)
	if warned, err := eval[bool](ana, leaving); err != nil || warned {
		t.Errorf("beforeunload with everything saved: prevented = %v (%v); want false", warned, err)
	}
	checkOnce(t, "shared section", texts[shared], append(append([]string{}, anaWords...), boWords...))
	checkOnce(t, "Ana's section", texts[anaOwn], anaOwnWords)
	if c := countWords(texts[shared])["outage"]; c != 1 {
		t.Errorf("shared section: got %q %d times; want 1\ntext: %q", "outage", c, texts[shared])
	}
}
