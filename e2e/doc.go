// Package e2e holds the end-to-end tests of bpfdraft: the real server, built
// as main builds it (collab/collabtest), driven by Debian's headless
// Chromium through chromedp. Two browsers edit one document at once, one of
// them goes offline, a tab keeps its identity across a reload and a second
// tab takes its own, and the reading view is read with and without
// JavaScript. People sign in: the Secretariat creates a BPF and a document
// from the dashboard and invites a co-facilitator, who joins through the
// link and writes; a member of the public registers, reads a draft open
// for comment and cannot edit it; the demo's accounts sign in. axe-core
// checks the editing and reading views and the pages of people and of the
// Secretariat for serious accessibility violations.
//
// Browsers are signed in as the test needs: with a session's cookie set
// through DevTools (browser.signIn; memberBrowser for a member of the
// document's team, whose name the others see), or through the sign-in,
// registration and join pages, as a person does.
//
// The package has tests only. `go test ./e2e` needs /usr/bin/chromium, which
// ./scripts/test installs, and frontend/node_modules (npm ci) for axe-core.
// Screenshots go to $BPFDRAFT_ARTIFACTS, or test-artifacts/ at the top of
// the repository; BPFDRAFT_UPDATE_SCREENSHOT=1 also rewrites
// docs/screenshot-editor.png.
//
// # Caveats
//
// Each browser is a separate Chromium process with its own profile, so two
// browsers are two people: separate localStorage, sessionStorage, keys and
// cookies. A browser context (newContext) is the same in one process.
// A test takes a few seconds, most of it starting Chromium.
package e2e
