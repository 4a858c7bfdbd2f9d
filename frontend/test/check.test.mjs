// A push's check: the CRC-32 of the section's text after the pushed
// updates (docs/protocol.md), which the server compares with its own.

import {test} from "node:test"
import assert from "node:assert/strict"
import {Text} from "@codemirror/state"
import {checksum} from "../src/protocol.js"
import {waitFor, crcOf} from "../testutil/fake.mjs"
import {session, setup, connected, synced, socketOf, pushes} from "../testutil/harness.mjs"

test("checksum: CRC-32 (IEEE) of the UTF-8 bytes, unsigned", () => {
  const vectors = [["", 0], ["a", 3904355907], ["😀", 88978756], ["123456789", 3421780262]]
  for (const [text, want] of vectors) {
    assert.equal(checksum(text), want, JSON.stringify(text))
    assert.equal(checksum(Text.of(text.split("\n"))), want, "Text " + JSON.stringify(text))
  }
  // Against zlib's, on text with line breaks, astral and CJK characters,
  // as a string and as a CodeMirror Text of many lines.
  let seed = 7
  const rnd = k => (seed = (seed * 1103515245 + 12345) % 2147483648) % k
  const pieces = ["a", "Z", " ", "\n", "é", "漢", "😀", "👩‍👩‍👧", "\t", "ß"]
  for (let i = 0; i < 50; i++) {
    let s = ""
    for (let j = rnd(400); j > 0; j--) s += pieces[rnd(pieces.length)]
    assert.equal(checksum(s), crcOf(s), JSON.stringify(s))
    assert.equal(checksum(Text.of(s.split("\n"))), crcOf(s))
    assert.ok(checksum(s) >= 0 && checksum(s) <= 0xffffffff)
  }
})

test("a push carrying all unconfirmed updates checks the text the person sees", async () => {
  const {server, net} = setup([{id: "issues", text: "😀 漢字 text\nline two"}])
  const a = session(net), b = session(net)
  await waitFor(() => connected(a)() && connected(b)())
  a.edit("issues", {changes: {from: 2, insert: "é"}})
  const [p] = pushes(socketOf(net, a))
  assert.equal(p.updates.length, 1)
  assert.equal(p.check, crcOf(a.text("issues")))
  assert.equal(p.check, crcOf("😀é 漢字 text\nline two"))
  // Concurrent edits: every push's check is what the server computes.
  for (let i = 0; i < 10; i++) {
    a.edit("issues", {changes: {from: 0, insert: "a" + i}})
    b.edit("issues", {changes: {from: b.section("issues").state.doc.length, insert: "\nb" + i + "😀"}})
    if (i % 3 == 0) await new Promise(r => setImmediate(r))
  }
  await waitFor(synced(server, a, b))
  assert.ok(server.checks.length >= 4)
  for (const c of server.checks) assert.equal(c.check, c.want, `push by ${c.client} at version ${c.version}`)
  assert.equal(a.events.error.length + b.events.error.length, 0)
})

test("a push carrying only some unconfirmed updates checks the synced text with those applied", async () => {
  // A message limit this small lets one update into each push.
  const {server, net} = setup([{id: "issues", text: "Hello world"}], {maxMessageBytes: 1100})
  const a = session(net)
  await waitFor(connected(a))
  const ws = socketOf(net, a)
  ws.hold = true // A's confirmations wait
  a.edit("issues", {changes: {from: 0, insert: "1"}})
  a.edit("issues", {changes: {from: 0, insert: "2"}})
  a.edit("issues", {changes: {from: 0, insert: "3"}})
  await waitFor(() => server.seq === 1)
  server.edit("issues", {from: 12, insert: "!"}) // "1Hello world!"
  // The confirmation of "1" comes first, on its own: A pushes "2" of its
  // "2" and "3", at version 1, whose text it has as "1Hello world" (the
  // "!" has not reached it): the check is of "21Hello world", not of the
  // "321Hello world" on A's screen.
  ws.hold = false
  for (const f of ws.held.splice(0)) ws.toClient(f)
  await waitFor(synced(server, a))
  const p = pushes(ws)
  assert.deepEqual(p.map(m => [m.version, m.updates.length]), [[0, 1], [1, 1], [3, 1]])
  assert.equal(p[0].check, crcOf("1Hello world"))
  assert.equal(p[1].check, crcOf("21Hello world"))
  assert.equal(p[2].check, crcOf("321Hello world!"))
  for (const c of server.checks) assert.equal(c.check, c.want)
  assert.equal(server.text("issues"), "321Hello world!")
  assert.equal(a.events.error.length, 0)
})
