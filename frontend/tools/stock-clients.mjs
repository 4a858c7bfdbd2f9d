// stock-clients plays, against a running server, the case where a stock
// @codemirror/collab integration goes wrong: a client that hands a batch
// of received updates to receiveUpdates in one call. It speaks protocol 2
// as docs/protocol.md describes it, with the real @codemirror/state and
// @codemirror/collab, and prints one JSON line with what happened.
//
//   BPFDRAFT_COOKIE=bpfdraft_session=... node --experimental-websocket stock-clients.mjs URL DOC batch|one
//
// Using the recorded case in editor/testdata/rebase/: writer B sets the
// section to a base text; client C, at that version, makes the recorded
// updates without pushing them; B pushes the recorded foreign updates; C
// receives them (in one receiveUpdates call with "batch", one by one with
// "one") and then pushes what it holds.

import {readFileSync} from "node:fs"
import {EditorState, ChangeSet} from "@codemirror/state"
import {collab, receiveUpdates, sendableUpdates, getSyncedVersion} from "@codemirror/collab"

const [url, doc, mode] = process.argv.slice(2)
// The session cookie of a signed-in member of the document's team
// ("bpfdraft_session=..."), sent with the websocket handshake.
const cookie = process.env.BPFDRAFT_COOKIE
const section = "issues"
const fixture = JSON.parse(readFileSync(new URL("../../editor/testdata/rebase/compose-vs-stepwise.json", import.meta.url)))

// The checksum of docs/protocol.md: CRC-32 (IEEE) of the UTF-8 bytes.
const table = new Uint32Array(256).map((_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(text) {
  let c = 0xffffffff
  for (const b of new TextEncoder().encode(text)) c = table[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

// A client: one websocket, one section's state, messages queued until
// asked for.
class Client {
  constructor(name) {
    this.key = name + "-stock-key-0123456789"
    this.queue = []
    this.waiters = []
  }
  async open() {
    this.ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/documents/${doc}/ws`, cookie ? {headers: {Cookie: cookie}} : undefined)
    this.closed = new Promise(resolve => this.ws.addEventListener("close", e => resolve(e.code)))
    this.ws.addEventListener("message", e => {
      for (const line of String(e.data).split("\n")) if (line) this.queue.push(JSON.parse(line))
      this.wake()
    })
    await new Promise((resolve, reject) => {
      this.ws.addEventListener("open", resolve)
      this.ws.addEventListener("error", reject)
    })
    this.send({type: "hello", protocol: 2, key: this.key, name: "stock"})
    const w = await this.next("welcome")
    this.id = w.client
    const s = w.document.sections.find(s => s.id === section)
    this.state = EditorState.create({doc: s.text, extensions: collab({startVersion: s.version, clientID: this.id})})
    this.seq = w.seq
  }
  wake() { for (const f of this.waiters.splice(0)) f() }
  send(m) { this.ws.send(JSON.stringify(m)) }
  // next returns the next message of a type, dropping others before it.
  async next(type) {
    for (;;) {
      const i = this.queue.findIndex(m => m.type === type || m.type === "error")
      if (i >= 0) {
        const m = this.queue.splice(0, i + 1).pop()
        if (m.type === "error" && type !== "error") throw Object.assign(new Error(m.code), {msg: m})
        return m
      }
      await new Promise(resolve => this.waiters.push(resolve))
    }
  }
  // updates waits for the updates of the section up to seq.
  async updates(seq) {
    const out = []
    while (this.seq < seq) {
      const m = await this.next("updates")
      for (const u of m.updates) {
        this.seq = u.seq
        if (u.section === section) out.push({changes: ChangeSet.fromJSON(u.changes), clientID: u.client})
      }
    }
    return out
  }
  edit(changes) { this.state = this.state.update({changes: ChangeSet.fromJSON(changes)}).state }
  push() {
    const ups = sendableUpdates(this.state)
    this.send({type: "push", section, version: getSyncedVersion(this.state), check: crc32(this.state.doc.toString()),
      updates: ups.map(u => ({changes: u.changes.toJSON()}))})
    return ups.length
  }
  receive(ups) { this.state = receiveUpdates(this.state, ups).state }
}

const b = new Client("writer-b"), c = new Client("writer-c")
await b.open()
// The base text: as long as the recorded updates expect, plain letters.
const baseLen = ChangeSet.fromJSON(fixture.updates[0].changes).length
b.edit([[b.state.doc.length, "x".repeat(baseLen)]])
b.push()
let seq = b.seq + 1
b.receive(await b.updates(seq)) // its own update comes back: confirmed
await c.open()
// B types the recorded foreign updates and pushes them; they are stored.
for (const u of fixture.over) b.edit(u.changes)
seq += b.push()
b.receive(await b.updates(seq))
// C, not having read them yet, types the recorded updates at the old
// version and pushes them: the server rebases them over B's, stepwise.
for (const u of fixture.updates) c.edit(u.changes)
seq += c.push()
const received = await c.updates(seq)
if (mode === "batch") c.receive(received) // B's updates and its own confirmations at once
else for (const u of received) c.receive([u])
// Then it types once more, at the end, and pushes.
c.edit([c.state.doc.length, [0, "!"]])
const pushed = c.push()
const result = {mode, pushed, before: seq, client: c.state.doc.toString()}
try {
  const m = await c.next("updates")
  result.outcome = "accepted"
  result.confirmedSeq = m.updates.at(-1).seq
} catch (e) {
  if (!e.msg) throw e
  result.outcome = e.msg.code
  result.kind = e.msg.kind
  result.closeCode = await c.closed
}
b.ws.close()
c.ws.close()
console.log(JSON.stringify(result))
process.exit(0)
