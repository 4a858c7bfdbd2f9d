// An in-process network and a small server that follows docs/protocol.md,
// for testing the browser's protocol binding in node. The server rebases
// stepwise, update by update, as the Go hub does (editor.RebaseStepwise),
// derives client ids from keys and checks every push's check. Its
// checksum and id derivation are node's (zlib, crypto), not the client's.

import {ChangeSet, Text} from "@codemirror/state"
import {crc32} from "node:zlib"
import {createHash, randomBytes} from "node:crypto"
import table from "../../collab/wire/protocol.json" with {type: "json"}

// clientIDOf derives the public client id from a key: the first 16 bytes
// of its SHA-256, unpadded base64url.
export function clientIDOf(key) {
  return createHash("sha256").update(key, "utf8").digest().subarray(0, 16).toString("base64url")
}

// crcOf is the protocol's checksum: CRC-32 of the UTF-8 bytes, unsigned.
export function crcOf(text) {
  return crc32(Buffer.from(text.toString(), "utf8")) >>> 0
}

const kindOf = code => (table.codes.find(c => c.code === code) || {kind: "terminal"}).kind
const closeOf = code => table.close[kindOf(code)]

// rebaseStepwise moves updates made at an old version over each update
// accepted since, one at a time; the client's own accepted ones drop out.
function rebaseStepwise(updates, over) {
  let out = updates.slice()
  for (const o of over) {
    if (!out.length) break
    if (o.clientID === out[0].clientID) { out = out.slice(1); continue }
    let ch = o.changes
    out = out.map(u => {
      const mapped = u.changes.map(ch)
      ch = ch.map(u.changes, true)
      return {changes: mapped, clientID: u.clientID}
    })
  }
  return out
}

const tick = () => new Promise(r => setImmediate(r))

// FakeNet connects FakeWebSockets to a FakeServer. Messages are delivered
// asynchronously and in order, like a real socket.
export class FakeNet {
  constructor(server) {
    this.server = server
    this.offline = false // new connections fail while set
    this.sockets = []
    const net = this
    this.WebSocket = class extends FakeWebSocket {
      constructor(url) { super(net, url) }
    }
  }

  // drop cuts every connection without a close handshake, as a lost
  // network does: the client sees 1006, the server just loses them.
  drop() {
    for (const ws of this.sockets) ws.lose()
  }

  // open returns the client sockets still open.
  open() { return this.sockets.filter(ws => ws.readyState === 1) }
}

class FakeWebSocket {
  constructor(net, url) {
    this.net = net
    this.url = url
    this.readyState = 0
    this.sent = [] // frames the client sent, for assertions
    this.hold = false // when set, frames to the client wait in held
    this.held = []
    this.onopen = this.onmessage = this.onclose = this.onerror = null
    net.sockets.push(this)
    setImmediate(() => {
      if (this.readyState !== 0) return
      if (net.offline) {
        this.readyState = 3
        this.onerror && this.onerror({})
        this.onclose && this.onclose({code: 1006, reason: ""})
        return
      }
      this.readyState = 1
      this.conn = net.server.accept(this)
      this.onopen && this.onopen({})
    })
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open")
    if (typeof data != "string") throw new Error("only text frames")
    this.sent.push(data)
    const conn = this.conn
    setImmediate(() => { if (conn && !conn.gone) this.net.server.frame(conn, data) })
  }

  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return
    this.readyState = 3
    if (this.conn) this.net.server.gone(this.conn)
    setImmediate(() => this.onclose && this.onclose({code, reason}))
  }

  // toClient delivers a frame from the server.
  toClient(data) {
    if (this.readyState !== 1) return
    if (this.hold) { this.held.push(data); return }
    setImmediate(() => { if (this.readyState === 1) this.onmessage && this.onmessage({data}) })
  }

  // serverClose closes from the server's side with a code.
  serverClose(code, reason) {
    if (this.readyState >= 2) return
    setImmediate(() => {
      if (this.readyState >= 2) return
      this.readyState = 3
      this.onclose && this.onclose({code, reason})
    })
  }

  lose() {
    if (this.readyState >= 2) return
    this.readyState = 3
    if (this.conn) this.net.server.gone(this.conn)
    this.held = []
    setImmediate(() => this.onclose && this.onclose({code: 1006, reason: ""}))
  }
}

// FakeServer holds one document.
export class FakeServer {
  // sections: [{id, title, kind, text}]; opts: keep (how many updates
  // catch-up reaches back), rebase (how many updates per section a push
  // may be behind; older ones get too_old), maxMessageBytes (the limit
  // told in the welcome).
  constructor(sections, opts = {}) {
    this.seq = 0
    this.sections = new Map()
    for (const s of sections) {
      const doc = Text.of((s.text || "").split("\n"))
      this.sections.set(s.id, {
        id: s.id, title: s.title || s.id, kind: s.kind || "custom", guidance: s.guidance || "",
        doc, texts: [doc], updates: [], paras: [],
      })
    }
    this.log = [] // every accepted update as sent to clients, in seq order
    this.keep = opts.keep ?? Infinity // how many updates catch-up can reach back
    this.rebase = opts.rebase ?? Infinity
    this.maxMessageBytes = opts.maxMessageBytes ?? 1 << 20
    this.conns = new Set()
    this.received = [] // every message received, for assertions
    this.checks = [] // every push's check and the checksum it should be
    // refuse(conn, msg) injects errors: it returns an error message to
    // send instead of handling msg (with close: a close code to follow),
    // {ignore: true} to drop msg unanswered, or null.
    this.refuse = null
    this.colors = ["#d4351c", "#00703c", "#1d70b8", "#4c2c92"]
  }

  accept(ws) {
    const conn = {ws, client: null, name: "", color: this.colors[this.conns.size % this.colors.length], presence: null, gone: false}
    this.conns.add(conn)
    return conn
  }

  gone(conn) {
    if (conn.gone) return
    conn.gone = true
    this.conns.delete(conn)
    if (conn.client) this.broadcastPeers({left: [conn.client]}, conn)
  }

  sendTo(conn, msgs) {
    if (conn.gone) return
    conn.ws.toClient(msgs.map(m => JSON.stringify(m)).join("\n"))
  }

  close(conn, code, reason) {
    this.gone(conn)
    conn.ws.serverClose(code, reason)
  }

  // closeAll ends every connection, as a restarting server does.
  closeAll(code = 4000, reason = "shutting_down") {
    for (const c of [...this.conns]) {
      this.sendTo(c, [{type: "error", code: reason, message: "restarting", kind: kindOf(reason)}])
      this.close(c, code, reason)
    }
  }

  // kick ends a connection with an error, closed with its kind's code.
  kick(conn, code, message) {
    this.error(conn, code, message)
    this.close(conn, closeOf(code), code)
  }

  frame(conn, data) {
    for (const line of data.split("\n")) {
      const msg = JSON.parse(line)
      this.received.push({client: conn.client, msg})
      this.message(conn, msg)
      if (conn.gone) return
    }
  }

  error(conn, code, message, extra = {}) {
    this.sendTo(conn, [Object.assign({type: "error", code, message, kind: kindOf(code)}, extra)])
  }

  message(conn, msg) {
    if (this.refuse) {
      const e = this.refuse(conn, msg)
      if (e && e.ignore) return
      if (e) {
        this.sendTo(conn, [Object.assign({type: "error"}, e)])
        if (e.close) this.close(conn, e.close, e.code)
        return
      }
    }
    if (!conn.client && msg.type !== "hello") return this.kick(conn, "hello_first", "say hello first")
    switch (msg.type) {
      case "hello": return this.hello(conn, msg)
      case "push": return this.push(conn, msg)
      case "presence": return this.presence(conn, msg)
      case "ping": return this.sendTo(conn, [{type: "pong", id: msg.id}])
      default: this.error(conn, "bad_message", "unknown type")
    }
  }

  hello(conn, msg) {
    if (conn.client) return this.error(conn, "hello_first", "hello was already said")
    if (msg.protocol !== table.protocol) return this.kick(conn, "bad_protocol", `protocol ${table.protocol} only`)
    let key = msg.key, issued
    if (key === undefined) {
      key = issued = randomBytes(24).toString("base64url")
    } else if (!/^[A-Za-z0-9_-]{16,128}$/.test(key)) {
      return this.kick(conn, "bad_client", "bad key")
    }
    if (msg.seq !== undefined && !(Number.isInteger(msg.seq) && msg.seq >= 0)) return this.kick(conn, "bad_message", "bad seq")
    const client = clientIDOf(key)
    for (const other of [...this.conns]) {
      if (other !== conn && other.client === client) this.kick(other, "replaced", "replaced by a new connection")
    }
    conn.client = client
    conn.name = msg.name || ""
    // As the Go hub: a seq (even 0) asks for a catch-up when the log still
    // reaches back to it; no seq, or one from the future, for a snapshot.
    const since = msg.seq
    const oldest = this.log.length > this.keep ? this.log[this.log.length - this.keep].seq - 1 : 0
    const peers = [...this.conns].filter(c => c !== conn && c.client).map(c => this.peerOf(c))
    const welcome = {type: "welcome", protocol: table.protocol, client: conn.client, seq: this.seq, peers,
      limits: {max_message_bytes: this.maxMessageBytes, max_section_units: 524288}}
    if (issued) welcome.key = issued
    if (since === undefined || since > this.seq || since < oldest) {
      welcome.document = this.document()
      this.sendTo(conn, [welcome])
    } else {
      // The catch-up follows the welcome in the same frame, as a server
      // that coalesces its queue would send it.
      const after = this.log.filter(u => u.seq > since)
      const msgs = [welcome]
      if (after.length) msgs.push({type: "updates", updates: after})
      this.sendTo(conn, msgs)
    }
    this.broadcastPeers({peers: [this.peerOf(conn)]}, conn)
  }

  document() {
    return {
      id: "doc1", title: "Test document", template: "bpf-output", seq: this.seq,
      sections: [...this.sections.values()].map(s => ({
        id: s.id, title: s.title, kind: s.kind, guidance: s.guidance, text: s.doc.toString(),
        version: s.updates.length, paras: s.paras,
      })),
    }
  }

  push(conn, msg) {
    const s = this.sections.get(msg.section)
    const echo = {section: msg.section, version: msg.version}
    if (!s) return this.error(conn, "unknown_section", "no such section", echo)
    if (!Number.isInteger(msg.version) || msg.version < 0 || !Number.isInteger(msg.check) || !(msg.updates || []).length) {
      return this.error(conn, "bad_message", "push needs section, version, check and updates", echo)
    }
    if (msg.version > s.updates.length) return this.error(conn, "future_version", "future version", echo)
    if (msg.version < s.updates.length - this.rebase) return this.error(conn, "too_old", "too old to rebase", echo)
    let updates
    try {
      updates = msg.updates.map(u => ({changes: ChangeSet.fromJSON(u.changes), clientID: conn.client}))
    } catch (e) {
      return this.error(conn, "bad_changes", e.message, echo)
    }
    // The lengths must chain from the section at msg.version.
    let text = s.texts[msg.version]
    for (const u of updates) {
      if (u.changes.length !== text.length) return this.error(conn, "bad_changes", "length mismatch", echo)
      text = u.changes.apply(text)
    }
    // The client's text after its updates must be the server's at
    // msg.version with them applied.
    this.checks.push({client: conn.client, section: s.id, version: msg.version, check: msg.check, want: crcOf(text)})
    if (crcOf(text) !== msg.check) {
      // As the Go hub: the error carries no section, and the connection closes.
      return this.kick(conn, "diverged", "the client's text is not the server's")
    }
    updates = rebaseStepwise(updates, s.updates.slice(msg.version))
    const out = []
    for (const u of updates) {
      s.doc = u.changes.apply(s.doc)
      s.texts.push(s.doc)
      s.updates.push(u)
      this.seq++
      const o = {seq: this.seq, section: s.id, version: s.updates.length, client: conn.client, changes: u.changes.toJSON()}
      this.log.push(o)
      out.push(o)
      for (const c of this.conns) if (c.presence && c.presence.section === s.id) this.mapPresence(c, u.changes, c === conn)
    }
    if (out.length) for (const c of this.conns) if (c.client) this.sendTo(c, [{type: "updates", updates: out}])
  }

  // edit applies a change as another client that is not connected (the
  // HTTP API, say).
  edit(sectionID, changes, client = "api") {
    const s = this.sections.get(sectionID)
    const cs = ChangeSet.of(changes, s.doc.length)
    s.doc = cs.apply(s.doc)
    s.texts.push(s.doc)
    s.updates.push({changes: cs, clientID: client})
    this.seq++
    const o = {seq: this.seq, section: s.id, version: s.updates.length, client, changes: cs.toJSON()}
    this.log.push(o)
    for (const c of this.conns) if (c.presence && c.presence.section === s.id) this.mapPresence(c, cs, false)
    for (const c of this.conns) if (c.client) this.sendTo(c, [{type: "updates", updates: [o]}])
  }

  addSection(section) {
    const doc = Text.of((section.text || "").split("\n"))
    const s = {id: section.id, title: section.title, kind: "custom", guidance: "", doc, texts: [doc], updates: [], paras: []}
    this.sections.set(s.id, s)
    this.seq++
    const o = {seq: this.seq, client: "api", structure: {op: "add_section", section: {id: s.id, title: s.title, kind: "custom", text: s.doc.toString(), version: 0, paras: []}}}
    this.log.push(o)
    for (const c of this.conns) if (c.client) this.sendTo(c, [{type: "updates", updates: [o]}])
  }

  mapPresence(c, changes, own) {
    const assoc = own ? 1 : -1
    c.presence.ranges = c.presence.ranges.map(r => ({anchor: changes.mapPos(r.anchor, assoc), head: changes.mapPos(r.head, assoc)}))
    c.presence.version++
  }

  presence(conn, msg) {
    if (!msg.section) {
      conn.presence = null
    } else {
      const s = this.sections.get(msg.section)
      if (!s) return this.error(conn, "unknown_section", "no such section")
      let ranges = msg.ranges || []
      for (let v = msg.version; v < s.updates.length; v++) {
        const u = s.updates[v]
        const assoc = u.clientID === conn.client ? 1 : -1
        ranges = ranges.map(r => ({anchor: u.changes.mapPos(r.anchor, assoc), head: u.changes.mapPos(r.head, assoc)}))
      }
      conn.presence = {section: s.id, version: s.updates.length, ranges}
    }
    this.broadcastPeers({peers: [this.peerOf(conn)]}, conn)
  }

  peerOf(c) {
    const p = {client: c.client, name: c.name, color: c.color}
    if (c.presence) Object.assign(p, c.presence)
    return p
  }

  broadcastPeers(m, except) {
    for (const c of this.conns) if (c !== except && c.client) this.sendTo(c, [Object.assign({type: "peers"}, m)])
  }

  // corrupt makes the server's text of a section differ from what its
  // clients have at the same version, as a copy that diverged does.
  corrupt(sectionID, text) {
    const s = this.sections.get(sectionID)
    s.doc = Text.of(text.split("\n"))
    s.texts[s.updates.length] = s.doc
  }

  text(id) { return this.sections.get(id).doc.toString() }
}

// settle lets queued deliveries and timers run until nothing changes for
// a few turns, or until cond holds.
export async function settle(cond, limit = 2000) {
  for (let i = 0; i < limit; i++) {
    if (cond && cond()) return true
    await tick()
    if (!cond && i > 20) return true
  }
  if (cond) throw new Error("condition not reached: " + cond.toString())
  return true
}

export async function waitFor(cond, ms = 2000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for: " + cond.toString())
    await new Promise(r => setTimeout(r, 2))
  }
}
