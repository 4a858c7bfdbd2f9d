// Tests of the protocol binding (src/protocol.js) against an in-process
// server that follows docs/protocol.md.

import {test} from "node:test"
import assert from "node:assert/strict"
import {CONNECTED, RECONNECTING, OFFLINE, StateHost, PROTOCOL} from "../src/protocol.js"
import {waitFor, clientIDOf} from "../testutil/fake.mjs"
import {SECTIONS, session, setup, connected, synced, hellos, socketOf, pushes} from "../testutil/harness.mjs"

test("a snapshot welcome creates the sections at the server's versions", async () => {
  const {server, net} = setup()
  server.edit("issues", {from: 5, insert: ","})
  const a = session(net)
  await waitFor(connected(a))
  assert.deepEqual([...a.sections.keys()], ["issues", "methods"])
  assert.equal(a.text("issues"), "Hello, world")
  assert.equal(a.seq, 1)
  assert.equal(a.section("issues").kind, "required")
  const h = hellos(net, a)
  assert.equal(h.length, 1)
  assert.equal(h[0].protocol, PROTOCOL)
  assert.equal(PROTOCOL, 2)
  assert.equal(h[0].key, a.key)
  assert.equal(h[0].client, undefined, "a hello names no client id: the server derives it")
  assert.equal(h[0].name, a.name)
  assert.ok(!("seq" in h[0]), "a first hello has no seq: it asks for the whole document")
  assert.equal(a.clientID, clientIDOf(a.key), "the client id is the one the welcome gave")
  assert.equal(a.events.document.length, 1)
})

test("concurrent edits converge and confirm", async () => {
  const {server, net} = setup()
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  a.edit("issues", {changes: {from: 0, insert: "A: "}})
  b.edit("issues", {changes: {from: 11, insert: "!"}})
  b.edit("methods", {changes: {from: 0, insert: "We met."}})
  assert.equal(a.pending, 1)
  await waitFor(synced(server, a, b))
  assert.equal(server.text("issues"), "A: Hello world!")
  assert.equal(a.text("methods"), "We met.")
  assert.equal(a.seq, b.seq)
  assert.equal(a.seq, server.seq)
})

test("at most one push per section is in flight", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = net.open()[0]
  ws.hold = true // confirmations wait
  a.edit("issues", {changes: {from: 0, insert: "1"}})
  a.edit("issues", {changes: {from: 0, insert: "2"}})
  a.edit("issues", {changes: {from: 0, insert: "3"}})
  a.edit("methods", {changes: {from: 0, insert: "m"}})
  await waitFor(() => server.seq === 2)
  let p = pushes(ws)
  assert.deepEqual(p.map(m => [m.section, m.updates.length]), [["issues", 1], ["methods", 1]])
  ws.hold = false
  for (const f of ws.held.splice(0)) ws.toClient(f)
  await waitFor(synced(server, a))
  p = pushes(ws)
  assert.deepEqual(p.map(m => [m.section, m.version, m.updates.length]), [["issues", 0, 1], ["methods", 0, 1], ["issues", 1, 2]])
  assert.equal(server.text("issues"), "321Hello world")
})

test("reconnecting with unconfirmed updates loses nothing and doubles nothing", async () => {
  const {server, net} = setup()
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  const wsA = socketOf(net, a)
  // The server accepts A's push but the confirmation never arrives.
  wsA.hold = true
  a.edit("issues", {changes: {from: 11, insert: " one"}})
  // B has it (A does not: its socket holds the confirmation back).
  await waitFor(() => server.seq === 1 && b.seq === 1)
  net.offline = true
  net.drop()
  await waitFor(() => a.state === RECONNECTING && b.state === RECONNECTING)
  // Offline, both keep editing.
  a.edit("issues", {changes: {from: 15, insert: " two"}})
  a.edit("methods", {changes: {from: 0, insert: "offline"}})
  b.edit("issues", {changes: {from: 0, insert: "B "}})
  assert.equal(a.pending, 3)
  assert.equal(a.text("issues"), "Hello world one two")
  await new Promise(r => setTimeout(r, 20)) // a few failed attempts
  net.offline = false
  await waitFor(synced(server, a, b))
  assert.equal(server.text("issues"), "B Hello world one two")
  assert.equal(server.text("methods"), "offline")
  assert.equal(server.seq, 4, "each update accepted once")
  // The second hello caught up from the last seq seen.
  const h = hellos(net, a)
  assert.ok(h.length >= 2)
  assert.equal(h[h.length - 1].seq, 0, "A had seen nothing before the drop, and asks to catch up from there")
  assert.equal(a.events.document.length, 1, "caught up, no snapshot")
  const hb = hellos(net, b)
  assert.equal(hb[hb.length - 1].seq, 1)
  assert.equal(a.state, CONNECTED)
})

test("catch-up after a reconnect applies what was missed, without a snapshot", async () => {
  const {server, net} = setup()
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  b.edit("issues", {changes: {from: 0, insert: "x"}})
  await waitFor(synced(server, a, b))
  const wsA = socketOf(net, a)
  wsA.lose()
  net.offline = true
  await waitFor(() => a.state === RECONNECTING)
  b.edit("issues", {changes: {from: 1, insert: "y"}})
  b.edit("methods", {changes: {from: 0, insert: "z"}})
  server.edit("issues", {from: 0, insert: "0"})
  await waitFor(synced(server, b))
  net.offline = false
  await waitFor(synced(server, a, b))
  assert.equal(a.text("issues"), "0xyHello world")
  assert.equal(a.events.document.length, 1, "no second snapshot")
  const h = hellos(net, a)
  assert.equal(h[h.length - 1].seq, 1)
  assert.equal(a.seq, 4)
})

test("a snapshot on reconnect keeps the hosts, keeps what it can and reports the rest", async () => {
  const {server, net} = setup(SECTIONS, {keep: 1})
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  const host = a.section("issues").host
  const wsA = socketOf(net, a)
  wsA.lose()
  net.offline = true
  a.edit("methods", {changes: {from: 0, insert: "mine"}})
  a.edit("issues", {changes: {from: 11, insert: "!"}})
  b.edit("issues", {changes: {from: 0, insert: "1"}})
  b.edit("issues", {changes: {from: 0, insert: "2"}})
  b.edit("issues", {changes: {from: 0, insert: "3"}})
  await waitFor(synced(server, b))
  net.offline = false
  await waitFor(() => a.events.document.length === 2 && a.state === CONNECTED)
  assert.equal(a.text("issues"), "321Hello world")
  assert.strictEqual(a.section("issues").host, host, "the view stays, with a new state")
  // issues changed meanwhile: A's change there cannot be rebased.
  assert.deepEqual(a.events.lost, [{section: "issues", text: "Hello world!"}])
  // methods did not: its unconfirmed change survives the snapshot.
  await waitFor(synced(server, a, b))
  assert.equal(server.text("methods"), "mine")
})

test("presence: peers' selections follow remote and local changes", async () => {
  const {server, net} = setup([{id: "issues", text: "abcdef"}])
  const a = session(net, {name: "Ana"}), b = session(net, {name: "Bo"})
  await waitFor(() => connected(a)() && connected(b)())
  b.edit("issues", {selection: {anchor: 2, head: 4}})
  b.setPresence("issues")
  await waitFor(() => a.peerRanges("issues").length === 1)
  let [p] = a.peerRanges("issues")
  assert.equal(p.name, "Bo")
  assert.match(p.color, /^#/)
  assert.deepEqual(p.ranges, [{anchor: 2, head: 4}])
  // Another client inserts before the selection.
  server.edit("issues", {from: 0, insert: "XY"})
  await waitFor(() => a.seq === 1)
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 4, head: 6}])
  // A's own unconfirmed insertion moves it too, before any confirmation.
  const wsA = socketOf(net, a)
  wsA.hold = true
  a.edit("issues", {changes: {from: 0, insert: "😀"}})
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 6, head: 8}])
  // A's presence is sent at its synced version, mapped back through the
  // unconfirmed change.
  a.edit("issues", {selection: {anchor: 3}})
  a.setPresence("issues")
  const sent = wsA.sent.flatMap(f => f.split("\n")).map(l => JSON.parse(l)).filter(m => m.type === "presence").pop()
  assert.deepEqual(sent, {type: "presence", section: "issues", version: 1, ranges: [{anchor: 1, head: 1}]})
  wsA.hold = false
  for (const f of wsA.held.splice(0)) wsA.toClient(f)
  await waitFor(() => b.peerRanges("issues").length === 1 && b.peerRanges("issues")[0].ranges[0].head === 3 && a.pending === 0)
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 6, head: 8}])
  // Leaving.
  b.stop()
  await waitFor(() => a.peers.size === 0)
})

test("presence: a selection stays mapped through many updates, and an older report is brought forward", async () => {
  const {server, net} = setup([{id: "issues", text: "abcdef"}])
  const a = session(net), b = session(net, {name: "Bo"})
  await waitFor(() => connected(a)() && connected(b)())
  b.edit("issues", {selection: {anchor: 3}})
  b.setPresence("issues")
  await waitFor(() => a.peerRanges("issues").length === 1)
  for (let i = 0; i < 250; i++) server.edit("issues", {from: 0, insert: "x"})
  await waitFor(() => a.seq === 250)
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 253, head: 253}])
  // A report made at version 248, received after A reached 250.
  const ws = socketOf(net, a)
  ws.toClient(JSON.stringify({type: "peers", peers: [{client: b.clientID, name: "Bo", color: "#00703c", section: "issues", version: 248, ranges: [{anchor: 0, head: 2}]}]}))
  await waitFor(() => a.peerRanges("issues")[0].ranges[0].head !== 253)
  // Two insertions at 0 since: the anchor there stays before them (they
  // are not Bo's), the head moves.
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 0, head: 4}])
  ws.toClient(JSON.stringify({type: "peers", peers: [{client: b.clientID, name: "Bo", color: "#00703c", section: "issues", version: 248, ranges: [{anchor: 1, head: 3}]}]}))
  await waitFor(() => a.peerRanges("issues")[0].ranges[0].anchor !== 0)
  assert.deepEqual(a.peerRanges("issues")[0].ranges, [{anchor: 3, head: 5}])
})

test("emoji and CJK text: positions are UTF-16 units", async () => {
  const {server, net} = setup([{id: "issues", text: "😀 漢字 text"}])
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  assert.equal(a.section("issues").state.doc.length, 10)
  // Concurrent: A after the emoji, B after the CJK, both before confirmation.
  a.edit("issues", {changes: {from: 2, insert: "👩‍👩‍👧"}})
  b.edit("issues", {changes: {from: 5, insert: "語"}})
  b.edit("issues", {changes: {from: 0, insert: "中"}})
  await waitFor(synced(server, a, b))
  assert.equal(server.text("issues"), "中😀👩‍👩‍👧 漢字語 text")
  const p = server.received.filter(r => r.msg.type === "push" && r.client === a.clientID)[0].msg
  assert.deepEqual(p.updates[0].changes, [2, [0, "👩‍👩‍👧"], 8])
  // A deletion of a whole surrogate pair.
  a.edit("issues", {changes: {from: 1, to: 3}})
  await waitFor(synced(server, a, b))
  assert.equal(b.text("issues"), "中👩‍👩‍👧 漢字語 text")
})

test("several messages in one frame are all applied", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = net.open()[0]
  const u = (seq, v, ch) => JSON.stringify({type: "updates", updates: [{seq, section: "issues", version: v, client: "x", changes: ch}]})
  ws.toClient([u(1, 1, [[0, "a"], 11]), u(2, 2, [[0, "b"], 12]), JSON.stringify({type: "pong", id: 1})].join("\n"))
  await waitFor(() => a.seq === 2)
  assert.equal(a.text("issues"), "baHello world")
  // An update seen before (a catch-up overlapping what arrived) is skipped.
  ws.toClient([u(2, 2, [[0, "b"], 12]), u(3, 3, [[0, "c"], 13])].join("\n"))
  await waitFor(() => a.seq === 3)
  assert.equal(a.text("issues"), "cbaHello world")
  void server
})

test("a gap in the stream makes the client reconnect and catch up", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = net.open()[0]
  server.edit("issues", {from: 0, insert: "1"})
  server.edit("issues", {from: 0, insert: "2"})
  await waitFor(() => a.seq === 2)
  ws.toClient(JSON.stringify({type: "updates", updates: [{seq: 9, section: "issues", version: 9, client: "x", changes: [[0, "bad"], 13]}]}))
  await waitFor(() => a.events.error.some(e => e.code === "gap"))
  await waitFor(() => a.state === CONNECTED && net.open().length === 1 && net.open()[0] !== ws)
  assert.equal(a.text("issues"), "21Hello world")
  server.edit("issues", {from: 0, insert: "3"})
  await waitFor(synced(server, a))
})

test("an update for the wrong version of a section makes the client reconnect and catch up", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  ws.toClient(JSON.stringify({type: "updates", updates: [{seq: 1, section: "issues", version: 5, client: "x", changes: [[0, "bad"], 11]}]}))
  await waitFor(() => a.events.error.some(e => e.code === "gap" && e.kind === "reconnect"))
  await waitFor(() => a.state === CONNECTED && socketOf(net, a) !== ws)
  assert.equal(hellos(net, a).at(-1).seq, 0)
  server.edit("issues", {from: 0, insert: "ok "})
  await waitFor(synced(server, a))
})

test("close code 4000 reconnects; 4001 stops and says why", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  a.edit("issues", {changes: {from: 0, insert: "kept "}})
  server.closeAll(4000, "shutting_down")
  await waitFor(() => a.state === CONNECTED && net.open().length === 1 && hellos(net, a).length === 2)
  await waitFor(synced(server, a))
  assert.equal(server.text("issues"), "kept Hello world")

  // Another connection with the same client id replaces this one.
  const twin = session(net, {key: a.key})
  await waitFor(() => a.state === OFFLINE)
  assert.equal(a.error.code, "replaced")
  assert.ok(a.events.error.some(e => e.code === "replaced"))
  const count = net.sockets.length
  await new Promise(r => setTimeout(r, 30))
  assert.equal(net.sockets.length, count, "no reconnect after a terminal close")
  twin.stop()
})

test("a bare 4001 close stops the session", async () => {
  const {net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  net.open()[0].serverClose(4001, "not_found")
  await waitFor(() => a.state === OFFLINE)
  assert.equal(a.error.code, "not_found")
  const count = net.sockets.length
  await new Promise(r => setTimeout(r, 20))
  assert.equal(net.sockets.length, count)
})

test("a terminal refusal of a push halts that section only; future_version reconnects", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  let refused = 0
  server.refuse = (conn, msg) => msg.type === "push" && msg.section === "methods" && ++refused
    ? {code: "too_large", message: "section too long", kind: "terminal", section: "methods", version: msg.version}
    : null
  a.edit("methods", {changes: {from: 0, insert: "too much"}})
  a.edit("issues", {changes: {from: 0, insert: "ok "}})
  await waitFor(() => a.events.error.some(e => e.code === "too_large"))
  a.edit("methods", {changes: {from: 0, insert: "more "}})
  await waitFor(() => server.text("issues") === "ok Hello world" && a.pending === 2)
  assert.equal(refused, 1, "a refused section is not pushed again")
  assert.equal(a.state, CONNECTED)
  assert.ok(a.section("methods").halted)

  // future_version: reconnect, catch up, push again.
  server.refuse = null
  let once = true
  server.refuse = (conn, msg) => msg.type === "push" && msg.section === "issues" && once && !(once = false)
    ? {code: "future_version", message: "", kind: "reconnect", section: "issues", version: msg.version}
    : null
  const before = hellos(net, a).length
  a.edit("issues", {changes: {from: 0, insert: "again "}})
  await waitFor(() => server.text("issues") === "again ok Hello world")
  assert.equal(hellos(net, a).length, before + 1)
})

test("a section added by someone else arrives as a structure update", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  server.addSection({id: "custom-1", title: "Acknowledgements", text: "Thanks"})
  await waitFor(() => a.sections.has("custom-1"))
  assert.equal(a.events.section.length, 1)
  assert.equal(a.events.section[0].section.title, "Acknowledgements")
  a.edit("custom-1", {changes: {from: 6, insert: " all"}})
  await waitFor(synced(server, a))
  assert.equal(server.text("custom-1"), "Thanks all")
})

test("paragraph ids are kept and reported", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = net.open()[0]
  ws.toClient(JSON.stringify({type: "updates", updates: [{seq: 1, section: "issues", version: 1, client: "x", changes: [11, [0, "", "", "Two"]], paras: ["p1", "p2"]}]}))
  await waitFor(() => a.events.paras.length === 1)
  assert.deepEqual(a.events.paras[0], {section: "issues", paras: ["p1", "p2"], merged: null})
  assert.deepEqual(a.section("issues").paras, ["p1", "p2"])
  void server
})

test("a host that is not the default receives the state", async () => {
  // The app attaches an EditorView; any object with state, dispatch and
  // setState will do.
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  let dispatched = 0
  const host = new StateHost(a.section("issues").state)
  const orig = host.dispatch.bind(host)
  host.dispatch = tr => { dispatched++; orig(tr) }
  a.attach("issues", host)
  server.edit("issues", {from: 0, insert: ">"})
  await waitFor(() => a.seq === 1)
  assert.equal(dispatched, 1)
  assert.equal(host.state.doc.toString(), ">Hello world")
})

test("no ping, no life: a silent connection is dropped and reopened", async () => {
  const {net} = setup()
  const a = session(net, {pingInterval: 5, deadAfter: 15})
  await waitFor(connected(a))
  const ws = net.open()[0]
  ws.hold = true // the server's answers never arrive
  await waitFor(() => net.open().length === 1 && net.open()[0] !== ws && a.state === CONNECTED)
  const pings = ws.sent.flatMap(f => f.split("\n")).map(l => JSON.parse(l)).filter(m => m.type === "ping")
  assert.ok(pings.length >= 1)
  a.stop()
})
