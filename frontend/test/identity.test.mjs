// Who a session is: a secret key, kept across reconnects (and, in the
// app, across reloads), and the client id the server derives from it.

import {test} from "node:test"
import assert from "node:assert/strict"
import {getClientID} from "@codemirror/collab"
import {Session, tabKey, saveKey, randomKey, KEY, CONNECTED} from "../src/protocol.js"
import {waitFor, clientIDOf} from "../testutil/fake.mjs"
import {session, setup, connected, synced, hellos, socketOf} from "../testutil/harness.mjs"

test("a key issued in the welcome is kept and said in every later hello", async () => {
  const {server, net} = setup()
  const a = session(net, {key: null})
  await waitFor(connected(a))
  let h = hellos(net, a)
  assert.equal(h.length, 1)
  assert.ok(!("key" in h[0]), "the first hello has no key")
  assert.match(a.key, KEY)
  assert.deepEqual(a.events.key, [{key: a.key}], "the issued key is told to the app")
  assert.equal(a.clientID, clientIDOf(a.key))
  assert.equal(getClientID(a.section("issues").state), a.clientID, "the collab state has the derived id")

  // The confirmation of a push is lost with the connection: the same
  // key on reconnect lets the server recognise the update as accepted.
  const ws = socketOf(net, a)
  ws.hold = true
  a.edit("issues", {changes: {from: 0, insert: "once "}})
  await waitFor(() => server.seq === 1)
  ws.lose()
  await waitFor(() => a.state === CONNECTED && socketOf(net, a) && socketOf(net, a) !== ws)
  await waitFor(synced(server, a))
  h = hellos(net, a)
  assert.equal(h.length, 2)
  assert.equal(h[1].key, a.key)
  assert.equal(h[1].seq, 0)
  assert.equal(a.events.key.length, 1, "a key is issued only to a hello without one")
  assert.equal(server.text("issues"), "once Hello world")
  assert.equal(server.seq, 1, "the update is not applied twice")
  assert.equal(a.clientID, clientIDOf(a.key), "the same id after the reconnect")
})

test("the client id comes from the welcome before any section state is made", async () => {
  const {server, net} = setup()
  const key = "a-key-of-our-own-0123456789"
  const a = session(net, {key})
  assert.equal(a.clientID, null, "unknown before the welcome")
  await waitFor(connected(a))
  assert.equal(a.clientID, clientIDOf(key))
  assert.equal(a.clientID.length, 22)
  for (const s of a.sections.values()) assert.equal(getClientID(s.state), a.clientID)
  // A section added later gets it too, and the section's own updates
  // come back as confirmations.
  server.addSection({id: "extra", title: "Extra", text: ""})
  await waitFor(() => a.sections.has("extra"))
  assert.equal(getClientID(a.section("extra").state), a.clientID)
  a.edit("extra", {changes: {from: 0, insert: "mine"}})
  await waitFor(synced(server, a))
  assert.equal(server.log.at(-1).client, a.clientID)
  // The key appears in no message but the hello.
  const msgs = [...a.mine].flatMap(ws => ws.sent).join("\n")
  assert.equal(msgs.split(key).length - 1, hellos(net, a).length)
})

test("a malformed key is refused before connecting", () => {
  for (const key of ["short", "x".repeat(129), "has space in it 0123", "ünïcödé-0123456789"]) {
    assert.throws(() => new Session({url: "ws://x", key}), /bad key/)
  }
})

test("randomKey: a valid key with at least 128 random bits", () => {
  const seen = new Set()
  for (let i = 0; i < 200; i++) {
    const k = randomKey()
    assert.match(k, KEY)
    assert.ok(k.length * 6 >= 128)
    seen.add(k)
  }
  assert.equal(seen.size, 200)
})

// memoryStorage is a Storage in memory; copy() is what a duplicated tab
// inherits.
function memoryStorage(items = {}) {
  const m = new Map(Object.entries(items))
  return {
    getItem: k => m.has(k) ? m.get(k) : null,
    setItem: (k, v) => { m.set(k, String(v)) },
    copy: () => memoryStorage(Object.fromEntries(m)),
  }
}

test("tabKey: a reload keeps the key; a duplicated tab does not reuse an open tab's key", async () => {
  const channels = []
  const channel = () => { const c = new BroadcastChannel("bpfdraft-test-keys"); channels.push(c); return c }
  try {
    const first = memoryStorage()
    const key = await tabKey(first, channel(), 20)
    assert.match(key, KEY)
    // A second tab of its own (new storage) has another key.
    const other = await tabKey(memoryStorage(), channel(), 20)
    assert.notEqual(other, key)
    // A duplicated tab inherits the storage while the first tab is open:
    // the first says the key is taken, and the duplicate takes a new one.
    const dupStorage = first.copy()
    const dup = await tabKey(dupStorage, channel(), 200)
    assert.notEqual(dup, key)
    assert.equal(await tabKey(dupStorage.copy(), null, 20), dup, "the duplicate keeps its new key")
    // The first tab reloads: nobody else holds its key, so it keeps it.
    channels[0].close()
    assert.equal(await tabKey(first, channel(), 20), key)
    // No channel: the stored key is used as it is.
    assert.equal(await tabKey(first.copy(), null, 20), key)
    // The channel carries no key.
    const heard = []
    const spy = channel()
    spy.onmessage = e => heard.push(JSON.stringify(e.data))
    await tabKey(first.copy(), channel(), 50)
    assert.ok(heard.length > 0)
    for (const m of heard) assert.ok(!m.includes(key), m)
  } finally {
    for (const c of channels) c.close()
  }
})

test("tabKey: without storage, or with a stored value that is no key, a new key", async () => {
  const broken = {getItem() { throw new Error("denied") }, setItem() { throw new Error("denied") }}
  assert.match(await tabKey(broken, null), KEY)
  assert.match(await tabKey(null, null), KEY)
  const old = memoryStorage({"bpfdraft.key": "client1", "bpfdraft.key-tag": "t"})
  const k = await tabKey(old, null)
  assert.notEqual(k, "client1")
  assert.match(k, KEY)
  saveKey(old, "issued-by-the-server-0123")
  assert.equal(await tabKey(old, null), "issued-by-the-server-0123")
})
