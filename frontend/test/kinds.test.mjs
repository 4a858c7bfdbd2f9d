// Errors carry a kind that says what to do: terminal (do not retry the
// same), reconnect (catch up with the last seq and push again) or resync
// (the copy cannot be trusted: take a snapshot, and offer what was
// unconfirmed to the person).

import {test} from "node:test"
import assert from "node:assert/strict"
import {CONNECTED, OFFLINE, CLOSE_RESYNC} from "../src/protocol.js"
import {waitFor} from "../testutil/fake.mjs"
import {session, setup, connected, synced, hellos, socketOf} from "../testutil/harness.mjs"

const reconnected = (net, a, ws) => () => a.state === CONNECTED && socketOf(net, a) && socketOf(net, a) !== ws

test("diverged: the session takes a snapshot and hands over the unconfirmed text it cannot keep", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  server.edit("methods", {from: 0, insert: "Interviews."})
  await waitFor(() => a.seq === 1)
  const host = a.section("issues").host
  const ws = socketOf(net, a)
  // The server's text of issues is not A's, at the same version.
  server.corrupt("issues", "Hello there")
  // A's push in issues is refused (its check does not match); methods,
  // pushed in the same frame, is never read.
  a.edit("issues", {changes: {from: 11, insert: "!"}})
  a.edit("methods", {changes: {from: 11, insert: " Surveys."}})
  await waitFor(reconnected(net, a, ws))
  assert.deepEqual(a.events.error.map(e => [e.code, e.kind]), [["diverged", "resync"]])
  const h = hellos(net, a)
  assert.equal(h.length, 2)
  assert.ok(!("seq" in h[1]), "the hello after diverged asks for a snapshot (no seq)")
  assert.equal(h[1].key, a.key)
  assert.equal(a.events.document.length, 2)
  // issues: the server's text, and A's is handed over.
  assert.equal(a.text("issues"), "Hello there")
  assert.deepEqual(a.events.lost, [{section: "issues", text: "Hello world!"}])
  assert.strictEqual(a.section("issues").host, host, "the editor stays, with the new state")
  // methods: the same text at the same version, so its change is kept
  // and pushed.
  await waitFor(synced(server, a))
  assert.equal(server.text("methods"), "Interviews. Surveys.")
  assert.equal(server.text("issues"), "Hello there")
  // The next hello catches up again.
  const ws2 = socketOf(net, a)
  ws2.lose()
  await waitFor(reconnected(net, a, ws2))
  assert.equal(hellos(net, a)[2].seq, a.seq)
})

test("a close with 4002 alone resyncs too", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  server.refuse = (conn, msg) => msg.type === "push" ? {ignore: true} : null
  a.edit("issues", {changes: {from: 0, insert: "> "}})
  await waitFor(() => server.received.some(r => r.msg.type === "push"))
  server.refuse = null
  server.corrupt("issues", "Changed")
  server.close(ws.conn, CLOSE_RESYNC, "diverged")
  await waitFor(reconnected(net, a, ws))
  assert.ok(!("seq" in hellos(net, a)[1]))
  assert.deepEqual(a.events.error.map(e => [e.code, e.kind]), [["diverged", "resync"]])
  assert.deepEqual(a.events.lost, [{section: "issues", text: "> Hello world"}])
  assert.equal(a.text("issues"), "Changed")
  assert.equal(a.pending, 0)
})

test("a resync offers an update whose confirmation was lost: the session cannot tell it was accepted", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  ws.hold = true
  a.edit("issues", {changes: {from: 0, insert: "kept "}})
  await waitFor(() => server.seq === 1)
  ws.held = [] // the confirmation is lost
  ws.hold = false
  // A resync: the snapshot is at version 1, A's update was made on
  // version 0 and is still unconfirmed. The server has it, but A cannot
  // know that without the updates in between.
  ws.toClient(JSON.stringify({type: "error", code: "diverged", message: "", kind: "resync"}))
  await waitFor(reconnected(net, a, ws))
  await waitFor(synced(server, a))
  assert.deepEqual(a.events.lost, [{section: "issues", text: "kept Hello world"}], "offered, not silently dropped")
  assert.equal(a.text("issues"), "kept Hello world")
  assert.equal(server.text("issues"), "kept Hello world")
  assert.equal(server.seq, 1)
})

test("too_old: the session reconnects, catches up and pushes again", async () => {
  const {server, net} = setup(undefined, {rebase: 2})
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  ws.hold = true // A hears nothing of what follows until released
  for (const c of ["x", "y", "z"]) server.edit("issues", {from: 0, insert: c})
  a.edit("issues", {changes: {from: 11, insert: "!"}}) // at version 0: three behind, two kept
  await waitFor(() => server.received.some(r => r.msg.type === "push"))
  ws.hold = false
  for (const f of ws.held.splice(0)) ws.toClient(f)
  await waitFor(synced(server, a))
  assert.deepEqual(a.events.error.map(e => [e.code, e.kind]), [["too_old", "reconnect"]])
  const h = hellos(net, a)
  assert.equal(h.length, 2)
  assert.equal(h[1].seq, 3, "a catch-up, not a snapshot")
  assert.equal(a.events.document.length, 1)
  assert.deepEqual(a.events.lost, [])
  assert.equal(server.text("issues"), "zyxHello world!")
  assert.equal(server.seq, 4)
})

test("kinds drive behaviour: the message's kind first, else the code's in the table", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const err = (ws, e) => ws.toClient(JSON.stringify(Object.assign({type: "error", message: "m"}, e)))

  // A code the table does not know, of kind reconnect: reconnect with seq.
  let ws = socketOf(net, a)
  err(ws, {code: "new_in_a_later_server", kind: "reconnect"})
  await waitFor(reconnected(net, a, ws))
  assert.equal(hellos(net, a).at(-1).seq, 0)

  // A code the table does not know, of kind resync: reconnect without seq.
  ws = socketOf(net, a)
  err(ws, {code: "another_new_one", kind: "resync"})
  await waitFor(reconnected(net, a, ws))
  assert.ok(!("seq" in hellos(net, a).at(-1)))

  // No kind: the table's kind of the code (too_old: reconnect).
  ws = socketOf(net, a)
  err(ws, {code: "too_old", section: "issues", version: 0})
  await waitFor(reconnected(net, a, ws))
  assert.equal(hellos(net, a).at(-1).seq, 0)

  // Terminal, about a push: that section stops pushing; the connection stays.
  ws = socketOf(net, a)
  err(ws, {code: "something_else", kind: "terminal", section: "methods", version: 0})
  await waitFor(() => a.section("methods").halted)
  a.edit("methods", {changes: {from: 0, insert: "held back"}})
  a.edit("issues", {changes: {from: 0, insert: "sent "}})
  await waitFor(() => server.text("issues") === "sent Hello world")
  assert.equal(server.text("methods"), "")
  assert.equal(socketOf(net, a), ws)
  assert.equal(a.section("methods").halted.kind, "terminal")

  // Terminal, not about a push, with no close: reported, nothing stops.
  err(ws, {code: "bad_message", kind: "terminal"})
  await waitFor(() => a.events.error.some(e => e.code === "bad_message"))
  assert.equal(a.state, CONNECTED)
  assert.equal(a.error, null)

  // Terminal and closed with 4001: the session stops, with the message's code.
  err(ws, {code: "replaced", kind: "terminal"})
  server.close(ws.conn, 4001, "replaced")
  await waitFor(() => a.state === OFFLINE)
  assert.equal(a.error.code, "replaced")
  assert.equal(a.error.kind, "terminal")
  const count = net.sockets.length
  await new Promise(r => setTimeout(r, 20))
  assert.equal(net.sockets.length, count, "no reconnect after a terminal close")
  for (const e of a.events.error) assert.ok(["terminal", "reconnect", "resync"].includes(e.kind), JSON.stringify(e))
})

test("an update that does not fit the synced text makes the session resync", async () => {
  const {server, net} = setup()
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  // "Hello world" has 11 units; this update is for 12.
  ws.toClient(JSON.stringify({type: "updates", updates: [{seq: 1, section: "issues", version: 1, client: "x", changes: [[0, "a"], 12]}]}))
  await waitFor(reconnected(net, a, ws))
  assert.deepEqual(a.events.error.map(e => [e.code, e.kind]), [["mismatch", "resync"]])
  assert.ok(!("seq" in hellos(net, a).at(-1)))
  assert.equal(a.text("issues"), server.text("issues"))
})
