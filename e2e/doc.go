// Package e2e holds the end-to-end tests of bpfdraft: the real server, built
// as main builds it (collab/collabtest), driven by Debian's headless
// Chromium through chromedp. Two browsers edit one document at once, one of
// them goes offline, a tab keeps its identity across a reload and a second
// tab takes its own, and the reading view is read with and without
// JavaScript; axe-core checks both views for serious accessibility
// violations.
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
// browsers are two people: separate localStorage, sessionStorage and keys.
// A test takes a few seconds, most of it starting Chromium.
package e2e
