// Tests of the comments' model (src/comments.js), the protocol's comment
// events and position mapping (src/protocol.js), and the reading view's
// quote helpers (src/quote.js).

import {test} from "node:test"
import assert from "node:assert/strict"
import {
  paragraphSpans, filterThreads, sortThreads, quoteMarks, paraCounts, paragraphStarts, newIDs,
  announcement, countLabel, statusLabel, every, WHOLE, CommentStore,
} from "../src/comments.js"
import {normalizeQuote, quoteHref, paraOfLink, MAX_QUOTE} from "../src/quote.js"
import {waitFor} from "../testutil/fake.mjs"
import {session, setup, connected, synced} from "../testutil/harness.mjs"

// ---- paragraphs ----

test("paragraphSpans follows the server's rule (editor.Paragraphs)", () => {
  const cases = [
    ["", []],
    ["\n\n \t\n", []],
    ["One", [[0, 3]]],
    ["One\ntwo", [[0, 7]]],
    ["One\n\nTwo", [[0, 3], [5, 8]]],
    ["\n\nOne\n \t\r\nTwo\n", [[2, 5], [10, 13]]],
    ["One\r\n\r\nTwo", [[0, 4], [7, 10]]],
    ["# Title\n\n- a\n- b\n\n\nEnd.", [[0, 7], [9, 16], [19, 23]]],
    ["😀 x\n\ny", [[0, 4], [6, 7]]], // UTF-16 units
  ]
  for (const [text, want] of cases) {
    assert.deepEqual(paragraphSpans(text).map(s => [s.start, s.end]), want, JSON.stringify(text))
  }
})

// ---- threads ----

const at = (section, para, extra = {}) => ({section, para, version: 3, seq: 9, state: "anchored", ...extra})
const quote = (section, para, start, end, exact, extra = {}) => at(section, para, {quote: {exact, prefix: "", suffix: ""}, start, end, ...extra})

const THREADS = [
  {id: "c1", name: "Ana", status: "open", created: "2026-01-02T10:00:00Z", anchor: quote("s1", "p2", 10, 15, "words"),
    replies: [{id: "r1", name: "Bo", team: true, status: "open", created: "2026-01-02T11:00:00Z"}]},
  {id: "c2", name: "Chen", status: "open", created: "2026-01-01T10:00:00Z", anchor: at("s1", "p1")},
  {id: "c3", name: "Dee", status: "orphaned", created: "2026-01-03T10:00:00Z", anchor: quote("s1", "p1", 1, 4, "gone", {state: "orphaned"})},
  {id: "c4", name: "Eve", status: "withdrawn", created: "2026-01-04T10:00:00Z", anchor: quote("s2", "q1", 0, 3, "abc")},
  {id: "c5", name: "Fay", status: "hidden", hidden_reason: "spam", created: "2026-01-05T10:00:00Z", anchor: at("s2", "")},
  {id: "c6", name: "Gus", status: "open", created: "2026-01-06T10:00:00Z"},
  {id: "c7", name: "Hal", status: "open", created: "2026-01-07T10:00:00Z", anchor: quote("s1", "p2", 2, 6, "some", {state: "fuzzy", score: 0.8})},
  {id: "c8", name: "Ivy", status: "open", created: "2026-01-08T10:00:00Z", anchor: {section: "", version: 0, seq: 1, state: "anchored"}},
]

test("filterThreads: by section, the whole document, and status", () => {
  const ids = f => filterThreads(THREADS, f).map(t => t.id)
  assert.deepEqual(ids({}), THREADS.map(t => t.id))
  assert.deepEqual(ids({section: "s1"}), ["c1", "c2", "c3", "c7"])
  assert.deepEqual(ids({section: WHOLE}), ["c6", "c8"])
  assert.deepEqual(ids({status: "open"}), ["c1", "c2", "c6", "c7", "c8"])
  assert.deepEqual(ids({status: "orphaned"}), ["c3"])
  assert.deepEqual(ids({status: "gone"}), ["c4", "c5"])
  assert.deepEqual(ids({section: "s2", status: "open"}), [])
})

test("sortThreads: sections in order, then paragraphs, positions and time; orphans last in their section", () => {
  const parasOf = id => ({s1: ["p1", "p2"], s2: ["q1"]})[id] || []
  const got = sortThreads(THREADS, ["s1", "s2"], parasOf).map(t => t.id)
  assert.deepEqual(got, ["c2", "c7", "c1", "c3", "c5", "c4", "c6", "c8"])
})

test("quoteMarks and paraCounts: only open threads found in the text", () => {
  assert.deepEqual(quoteMarks(THREADS, "s1"), [
    {id: "c1", start: 10, end: 15, version: 3, fuzzy: false, name: "Ana"},
    {id: "c7", start: 2, end: 6, version: 3, fuzzy: true, name: "Hal"},
  ])
  assert.deepEqual(quoteMarks(THREADS, "s2"), [], "withdrawn: no mark")
  assert.deepEqual([...paraCounts(THREADS, "s1")], [["p2", 2], ["p1", 1]])
  assert.deepEqual([...paraCounts(THREADS, "s2")], [])
})

test("paragraphStarts finds the commented paragraphs in the server's text", () => {
  const text = "First.\n\nSecond\nline.\n\nThird."
  const got = paragraphStarts(text, ["p1", "p2", "p3"], new Map([["p2", 2], ["p3", 1], ["px", 4]]))
  assert.deepEqual(got, [{para: "p2", pos: 8, count: 2}, {para: "p3", pos: 22, count: 1}])
  assert.deepEqual(paragraphStarts(text, ["p1"], new Map([["p2", 1]])), [], "ids missing: nothing")
  assert.deepEqual(paragraphStarts(text, ["p1"], new Map()), [])
})

test("new comments and what is announced", () => {
  assert.deepEqual(every(THREADS).length, 9)
  assert.deepEqual(newIDs(new Set(["c1", "c2", "c3", "c4", "c5", "c6", "c7"]), THREADS), ["r1", "c8"])
  assert.equal(announcement(0), "")
  assert.equal(announcement(1), "1 new comment")
  assert.equal(announcement(3), "3 new comments")
  assert.equal(countLabel(1, "reply", "replies"), "1 reply")
  assert.equal(countLabel(2, "reply", "replies"), "2 replies")
  assert.equal(countLabel(2), "2 comments")
  assert.equal(statusLabel("open"), "")
  assert.match(statusLabel("orphaned"), /no longer in the text/)
})

// ---- the store ----

// fakeTimers is a clock whose timers run when the test says.
function fakeTimers() {
  let now = 0, next = 1
  const timers = new Map()
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = next++; timers.set(id, {fn, at: now + ms}); return id },
    clearTimeout: id => { timers.delete(id) },
    pending: () => timers.size,
    // advance runs the timers due by now+ms, in order.
    advance(ms) {
      const until = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = until
    },
  }
}

function fakeFetch(answers) {
  const calls = []
  const fetch = async (url, opts) => {
    calls.push({url, opts})
    const a = answers.length > 1 ? answers.shift() : answers[0]
    if (a instanceof Error) throw a
    return {ok: a.status === 200, status: a.status, json: async () => a.body}
  }
  return {fetch, calls}
}

const settle = () => new Promise(r => setTimeout(r, 0))

test("CommentStore loads, reports what is new, and says when it cannot", async () => {
  const clock = fakeTimers()
  const one = {comments: [{id: "a", status: "open", created: "2026-01-01T00:00:00Z", anchor: at("s1", "p1")}]}
  const two = {comments: [...one.comments, {id: "b", status: "open", created: "2026-01-02T00:00:00Z", replies: [{id: "c", status: "open"}]}]}
  const {fetch, calls} = fakeFetch([{status: 200, body: one}, {status: 200, body: two}, {status: 500, body: {error: {message: "broken"}}}])
  const store = new CommentStore({url: "/api/documents/d/comments", fetch, ...clock})
  const changes = [], errors = []
  store.on("change", e => changes.push(e))
  store.on("error", e => errors.push(e))
  await store.load()
  assert.equal(calls[0].url, "/api/documents/d/comments")
  assert.equal(calls[0].opts.credentials, "same-origin")
  assert.deepEqual(changes.map(c => c.added), [[]], "the first load announces nothing")
  assert.deepEqual([...store.sections()], ["s1"])
  await store.load()
  assert.deepEqual(changes[1].added, ["b", "c"])
  await store.load()
  assert.equal(errors.length, 1)
  assert.match(errors[0].error.message, /broken/)
  assert.equal(store.threads.length, 2, "a failed load keeps what was there")
})

test("CommentStore.refresh: debounced, within maxWait of the first ask", async () => {
  const clock = fakeTimers()
  const {fetch, calls} = fakeFetch([{status: 200, body: {comments: []}}])
  const store = new CommentStore({url: "/c", fetch, ...clock})
  store.refresh(300, 1000)
  clock.advance(200)
  store.refresh(300, 1000) // pushes it to 500
  clock.advance(200)
  assert.equal(calls.length, 0)
  clock.advance(100)
  await settle()
  assert.equal(calls.length, 1)

  // Asked again and again: loads within maxWait anyway.
  for (let i = 0; i < 10; i++) {
    store.refresh(300, 1000)
    clock.advance(200)
    await settle()
  }
  assert.equal(calls.length, 2 + 1, "after 1000ms, then again after the next 1000ms")
  // A sooner ask brings an ask already waiting forward.
  clock.advance(5000)
  await settle()
  const n = calls.length
  store.refresh(3000, 10000)
  store.refresh(100, 1000)
  clock.advance(100)
  await settle()
  assert.equal(calls.length, n + 1)
  assert.equal(clock.pending(), 0)
})

test("CommentStore: one request at a time; asked during one, another follows", async () => {
  let release
  const calls = []
  const fetch = async () => {
    calls.push(1)
    await new Promise(r => { release = r })
    return {ok: true, status: 200, json: async () => ({comments: [{id: "x" + calls.length, status: "open"}]})}
  }
  const store = new CommentStore({url: "/c", fetch, ...fakeTimers()})
  const first = store.load()
  store.load()
  store.load()
  await settle()
  assert.equal(calls.length, 1)
  release()
  await waitFor(() => calls.length === 2)
  release()
  await first
  await waitFor(() => store.threads[0]?.id === "x2")
  assert.equal(calls.length, 2, "asks during a request make one more, not one each")
})

// ---- the session: comment events and positions ----

// commentStep sends a comment step to every client, as the server does.
function commentStep(server, event) {
  server.seq++
  const o = {seq: server.seq, client: "api:x", structure: {op: "comment", comment: event}}
  server.log.push(o)
  for (const c of server.conns) if (c.client) server.sendTo(c, [{type: "updates", updates: [o]}])
}

test("a comment step is a comment event, and counts in the seq", async () => {
  const {server, net} = setup()
  const a = session(net)
  const events = []
  a.on("comment", e => events.push(e))
  await waitFor(connected(a))
  commentStep(server, {kind: "add", comment: {id: "c1"}, time: "2026-01-01T00:00:00Z"})
  await waitFor(() => events.length === 1)
  assert.equal(events[0].event.kind, "add")
  assert.equal(events[0].seq, 1)
  assert.equal(a.seq, 1)
  // Edits still flow after it.
  a.edit("issues", {changes: {from: 0, insert: "> "}})
  await waitFor(synced(server, a))
  assert.equal(a.events.document.length, 1, "a comment step rebuilds nothing")
})

test("toLocal maps server positions to the local text: received updates, then our own", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  // "Hello world": "world" is 6..11 at version 0.
  server.edit("issues", {from: 0, insert: "Oh. "}) // version 1: "Oh. Hello world"
  await waitFor(() => a.text("issues") === "Oh. Hello world")
  const pts = (s, e) => [{pos: s, assoc: 1}, {pos: e, assoc: -1}]
  assert.deepEqual(a.toLocal("issues", 0, pts(6, 11)), [10, 15])
  assert.deepEqual(a.toLocal("issues", 1, pts(10, 15)), [10, 15])
  assert.equal(a.toLocal("issues", 2, pts(10, 15)), null, "a version not received yet")
  assert.equal(a.toLocal("issues", 0, pts(6, 12)), null, "outside the text of that version")
  assert.equal(a.toLocal("nope", 0, pts(0, 1)), null)
  // Our own change, not yet confirmed: held by the fake server.
  a.ws.hold = true
  for (const ws of net.open()) ws.hold = true
  a.edit("issues", {changes: {from: 4, insert: "Well, "}})
  assert.equal(a.text("issues"), "Oh. Well, Hello world")
  assert.deepEqual(a.toLocal("issues", 1, pts(10, 15)), [16, 21])
  // Typing at the edges of a quote stays outside it.
  a.edit("issues", {changes: [{from: 16, insert: "["}, {from: 21, insert: "]"}]})
  assert.deepEqual(a.toLocal("issues", 1, pts(10, 15)), [17, 22])
  const st = a.serverText("issues")
  assert.equal(st.text, "Oh. Hello world")
  assert.equal(st.version, 1)
})

// ---- the reading view's quotes ----

test("normalizeQuote: trimmed, white space folded", () => {
  assert.equal(normalizeQuote("  indicator\n  feeds\t "), "indicator feeds")
  assert.equal(normalizeQuote("\n \n"), "")
  assert.equal(normalizeQuote(null), "")
  assert.equal(MAX_QUOTE, 1000)
})

test("quoteHref adds the quote to a paragraph's comment link, on the same site only", () => {
  const base = "https://bpf.example/d/doc-1#s-issues"
  assert.equal(quoteHref("/d/doc-1/comment?section=issues&para=p3", "indicator feeds & more", base),
    "/d/doc-1/comment?section=issues&para=p3&quote=indicator+feeds+%26+more")
  assert.equal(quoteHref("/d/doc-1/comment?section=issues&para=p3&quote=old", "new", base),
    "/d/doc-1/comment?section=issues&para=p3&quote=new")
  assert.equal(quoteHref("/d/doc-1/comment?section=issues", "x", base), "", "a section link takes no quote")
  assert.equal(quoteHref("https://evil.example/d/doc-1/comment?section=s&para=p", "x", base), "")
  assert.equal(quoteHref("/d/doc-1/settings?section=s&para=p", "x", base), "")
  const round = new URL(quoteHref("/d/doc-1/comment?section=issues&para=p3", "«80 %» + 😀", base), base)
  assert.equal(round.searchParams.get("quote"), "«80 %» + 😀")
  assert.deepEqual(paraOfLink("/d/doc-1/comment?section=issues&para=p3", base), {section: "issues", para: "p3"})
  assert.equal(paraOfLink("/d/doc-1/comment?section=issues", base), null)
})
