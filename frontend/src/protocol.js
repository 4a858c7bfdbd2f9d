// The browser's side of the live co-editing protocol (docs/protocol.md).
//
// A Session owns one websocket to one document and one EditorState per
// section. All operational transformation is @codemirror/collab's: local
// transactions become unconfirmed updates (sendableUpdates), the server's
// updates are applied with receiveUpdates, which confirms our own and
// rebases the rest. This file needs no DOM, so node's test runner can drive
// it with a fake WebSocket; the app attaches an EditorView to each section
// as the "host" of its state.

import {EditorState, ChangeSet} from "@codemirror/state"
import {collab, getSyncedVersion, sendableUpdates, receiveUpdates, getClientID} from "@codemirror/collab"

export const PROTOCOL = 1

// Close codes of docs/protocol.md.
export const CLOSE_RECONNECT = 4000
export const CLOSE_TERMINAL = 4001

// Error codes the protocol marks "reconnect"; every other code is terminal.
const RECONNECT_CODES = new Set(["future_version", "slow_consumer", "shutting_down", "unavailable", "idle", "rate_limited"])

// Connection states, as shown to people.
export const CONNECTING = "connecting"
export const CONNECTED = "connected"
export const RECONNECTING = "reconnecting"
export const OFFLINE = "offline"

// How many received change sets per section are kept to bring a peer's
// selection, reported at an older version, up to ours.
const PEER_LOG = 200

const CLIENT_ID = /^[A-Za-z0-9_-]{4,64}$/

// randomClientID returns a fresh id that satisfies the protocol's rule.
export function randomClientID() {
  const bytes = new Uint8Array(12)
  globalThis.crypto.getRandomValues(bytes)
  let s = ""
  for (const b of bytes) s += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b & 63]
  return s
}

// StateHost keeps a section's state when no editor view shows it. An
// EditorView has the same three members, so the app attaches its view in
// place of this.
export class StateHost {
  constructor(state) { this.state = state }
  dispatch(tr) { this.state = tr.state }
  setState(state) { this.state = state }
}

// Section is the local copy of one collaborative text.
class Section {
  constructor(info, state) {
    this.id = info.id
    this.title = info.title || ""
    this.kind = info.kind || "custom"
    this.guidance = info.guidance || ""
    this.paras = info.paras || []
    this.host = new StateHost(state)
    // Number of our updates sent in the current push and not yet
    // confirmed or refused; a new push waits until it is 0.
    this.inflight = 0
    // A terminal refusal of a push: pushing the same again would fail the
    // same way, so this section stops pushing until the page is reloaded.
    this.halted = null
    // Recent received changes, for mapping peers' older selections.
    this.log = [] // {version (after), changes}
  }
  get state() { return this.host.state }
}

// Session is a live connection to one document. Construct it, subscribe
// with on(), then start(). Events:
//
//   status    {state, pending, error}  connection state or unconfirmed count changed
//   document  {doc, snapshot}          a snapshot (re)built the sections
//   section   {section}                a section was added (structure add_section)
//   update    {section, own, seq}      updates were applied to a section
//   paras     {section, paras, merged} a section's paragraph ids changed
//   peers     {peers}                  presence changed (a Map, by client id)
//   error     {code, message, ...}     an error message from the server, or a local one
//   lost      {section, text}          a snapshot replaced text that was not confirmed
export class Session {
  // opts: url (the websocket URL), clientID, name, WebSocket (constructor),
  // extensions(sectionInfo) → extra state extensions (the editor's),
  // setTimeout/clearTimeout, random (for backoff jitter), backoff
  // {base, max} in ms, pingInterval and deadAfter in ms (0 disables).
  constructor(opts) {
    if (!CLIENT_ID.test(opts.clientID || "")) throw new Error("bad client id: " + opts.clientID)
    this.url = opts.url
    this.clientID = opts.clientID
    this.name = opts.name || ""
    this.WebSocket = opts.WebSocket || globalThis.WebSocket
    this.extensions = opts.extensions || (() => [])
    this.setTimeout = opts.setTimeout || globalThis.setTimeout.bind(globalThis)
    this.clearTimeout = opts.clearTimeout || globalThis.clearTimeout.bind(globalThis)
    this.random = opts.random || Math.random
    this.backoff = Object.assign({base: 500, max: 15000}, opts.backoff)
    this.pingInterval = opts.pingInterval ?? 20000
    this.deadAfter = opts.deadAfter ?? 70000
    this.presenceDelay = opts.presenceDelay ?? 0
    this.presenceTimer = null

    this.sections = new Map() // id → Section, in document order
    this.doc = null // the document's metadata from the last snapshot
    this.peers = new Map() // client id → peer
    this.seq = 0 // last seq applied
    this.limits = {max_message_bytes: 1 << 20}
    this.state = CONNECTING
    this.error = null // the terminal error that stopped the session
    this.online = true

    this.ws = null
    this.welcomed = false
    this.attempt = 0
    this.retryTimer = null
    this.pingTimer = null
    this.lastHeard = 0
    this.pingID = 0
    this.stopped = true
    this.presence = null // {section, ranges} last asked for, resent after reconnect
    this.listeners = new Map()
    this.lastStatus = ""
  }

  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set())
    this.listeners.get(event).add(fn)
    return () => this.listeners.get(event).delete(fn)
  }

  emit(event, data) {
    for (const fn of this.listeners.get(event) || []) {
      try { fn(data) } catch (e) { console.error(e) }
    }
  }

  start() {
    this.stopped = false
    this.connect()
  }

  // stop closes the connection for good (the page is going away).
  stop() {
    this.stopped = true
    this.clearTimers()
    if (this.ws) {
      const ws = this.ws
      this.ws = null
      try { ws.close(1000, "") } catch {}
    }
  }

  clearTimers() {
    if (this.retryTimer != null) this.clearTimeout(this.retryTimer)
    if (this.pingTimer != null) this.clearTimeout(this.pingTimer)
    this.retryTimer = this.pingTimer = null
  }

  // pending counts our changes the server has not confirmed, over all sections.
  get pending() {
    let n = 0
    for (const s of this.sections.values()) n += sendableUpdates(s.state).length
    return n
  }

  section(id) { return this.sections.get(id) }

  // attach makes host (an EditorView created with section(id).state) the
  // owner of the section's state from now on.
  attach(id, host) {
    const s = this.sections.get(id)
    if (s) s.host = host
  }

  // setName changes the name shown to others; it is sent with the next hello.
  setName(name) {
    this.name = name
    if (this.ws && this.welcomed) this.reconnectNow()
  }

  // setOnline tells the session what the browser knows about the network.
  setOnline(online) {
    this.online = online
    if (online && !this.ws && !this.stopped && !this.error) {
      this.attempt = 0
      this.reconnectNow()
    } else if (!online && this.ws && !this.stopped) {
      // A socket may stay "open" with its frames held while the network is
      // gone (browsers do so under offline emulation, and a dead link is
      // only noticed after the ping timeout): give it up now, so the state
      // says offline and everything typed waits for the reconnect. Retries
      // go on in case the browser's online signal is wrong.
      this.clearTimers()
      this.drop(this.ws)
      this.welcomed = false
      this.scheduleReconnect()
    }
    this.status()
  }

  // reconnectNow drops the connection (if any) and connects again at once.
  reconnectNow() {
    if (this.stopped) return
    this.clearTimers()
    if (this.ws) this.drop(this.ws)
    this.connect()
  }

  // ---- connection ----

  connect() {
    if (this.stopped || this.error) return
    this.welcomed = false
    this.setState(!this.online ? OFFLINE : this.doc || this.attempt > 0 ? RECONNECTING : CONNECTING)
    let ws
    try {
      ws = new this.WebSocket(this.url)
    } catch (e) {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (this.ws !== ws) return
      const hello = {type: "hello", protocol: PROTOCOL, client: this.clientID, name: this.name}
      // Once we hold the document, catch up from what we have (even seq 0:
      // our own unconfirmed updates may be among those to come).
      if (this.doc) hello.seq = this.seq
      this.send([hello])
      this.heard()
    }
    ws.onmessage = ev => {
      if (this.ws !== ws) return
      this.heard()
      this.frame(typeof ev.data == "string" ? ev.data : String(ev.data))
    }
    ws.onclose = ev => {
      if (this.ws !== ws) return
      this.closed(ev.code, ev.reason)
    }
    ws.onerror = () => {} // a close event follows
  }

  // drop forgets a websocket without waiting for its close event.
  drop(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
    try { ws.close(1000, "") } catch {}
    if (this.ws === ws) this.ws = null
    for (const s of this.sections.values()) s.inflight = 0
  }

  closed(code, reason) {
    this.ws = null
    this.welcomed = false
    this.clearTimers()
    for (const s of this.sections.values()) s.inflight = 0
    if (this.stopped) return
    if (code === CLOSE_TERMINAL) {
      this.fail({code: reason || "terminal", message: terminalMessage(reason), reconnect: false})
      return
    }
    this.scheduleReconnect()
  }

  // fail stops the session after a terminal error and says why.
  fail(err) {
    this.error = err
    this.clearTimers()
    if (this.ws) this.drop(this.ws)
    this.emit("error", err)
    this.setState(OFFLINE)
  }

  scheduleReconnect() {
    if (this.stopped || this.error) return
    this.setState(this.online ? RECONNECTING : OFFLINE)
    if (this.retryTimer != null) return
    // Exponential backoff with jitter, so a restarted server is not met by
    // every browser at the same instant.
    const d = Math.min(this.backoff.max, this.backoff.base * 2 ** Math.min(this.attempt, 16))
    const delay = this.attempt == 0 ? this.backoff.base * this.random() : d * (0.5 + this.random() / 2)
    this.attempt++
    this.retryTimer = this.setTimeout(() => {
      this.retryTimer = null
      this.connect()
    }, delay)
  }

  heard() {
    this.lastHeard = Date.now()
    if (!this.pingInterval || this.stopped) return
    if (this.pingTimer != null) this.clearTimeout(this.pingTimer)
    // Browsers do not expose the server's pings, and a dead network can
    // leave a socket open for minutes: ask, and give up when nothing comes.
    this.pingTimer = this.setTimeout(() => this.probe(), this.pingInterval)
  }

  probe() {
    this.pingTimer = null
    const ws = this.ws
    if (!ws) return
    if (this.deadAfter && Date.now() - this.lastHeard >= this.deadAfter) {
      this.drop(ws)
      this.scheduleReconnect()
      return
    }
    this.send([{type: "ping", id: ++this.pingID}])
    this.pingTimer = this.setTimeout(() => this.probe(), this.pingInterval)
  }

  send(msgs) {
    const ws = this.ws
    if (!ws || ws.readyState !== 1 || !msgs.length) return false
    try {
      ws.send(msgs.map(m => JSON.stringify(m)).join("\n"))
      return true
    } catch {
      return false
    }
  }

  // ---- receiving ----

  frame(data) {
    for (const line of data.split("\n")) {
      if (!line) continue
      let msg
      try { msg = JSON.parse(line) } catch { continue }
      this.message(msg)
      if (!this.ws) return // the message ended this connection
    }
    // After the welcome and its catch-up (which the server sends first),
    // push whatever is still unconfirmed.
    if (this.welcomed) {
      this.flush()
      this.status()
    }
  }

  message(msg) {
    switch (msg.type) {
      case "welcome": return this.welcome(msg)
      case "updates": return this.updates(msg.updates || [])
      case "peers": return this.peersMsg(msg)
      case "error": return this.errorMsg(msg)
      case "pong": return
    }
  }

  welcome(msg) {
    this.welcomed = true
    this.attempt = 0
    if (msg.limits) this.limits = Object.assign({}, this.limits, msg.limits)
    if (msg.document) this.snapshot(msg.document, msg.seq)
    this.peers = new Map()
    for (const p of msg.peers || []) if (p.client !== this.clientID) this.peers.set(p.client, normPeer(p))
    this.online = true
    this.setState(CONNECTED)
    this.emit("peers", {peers: this.peers})
    if (this.presence) this.sendPresence()
  }

  // snapshot sets every section to the server's text. A section still at
  // our synced version is kept as it is; elsewhere unconfirmed changes
  // cannot be rebased onto the snapshot (the updates in between are
  // unknown), so their text is handed to the app, never silently dropped.
  snapshot(doc, seq) {
    const old = this.sections
    this.sections = new Map()
    this.doc = doc
    this.seq = seq || doc.seq || 0
    for (const info of doc.sections || []) {
      const prev = old.get(info.id)
      if (prev && getSyncedVersion(prev.state) === (info.version || 0)) {
        // Same version, same text: keep the state and what is unconfirmed.
        prev.title = info.title || prev.title
        prev.kind = info.kind || prev.kind
        prev.guidance = info.guidance || ""
        prev.paras = info.paras || []
        prev.inflight = 0
        this.sections.set(info.id, prev)
        continue
      }
      let selection
      if (prev) {
        if (sendableUpdates(prev.state).length) this.emit("lost", {section: info.id, text: prev.state.doc.toString()})
        const sel = prev.state.selection.main, len = (info.text || "").length
        selection = {anchor: Math.min(sel.anchor, len), head: Math.min(sel.head, len)}
      }
      const state = this.newState(info, selection)
      const s = new Section(info, state)
      if (prev) {
        // Keep the editor view: it gets the new state in place.
        s.host = prev.host
        s.host.setState(state)
      }
      this.sections.set(info.id, s)
    }
    this.emit("document", {doc, snapshot: true})
  }

  stateExtensions(info) {
    return [collab({startVersion: info.version || 0, clientID: this.clientID}), this.extensions(info)]
  }

  newState(info, selection) {
    return EditorState.create({doc: info.text || "", selection, extensions: this.stateExtensions(info)})
  }

  updates(list) {
    // Consecutive updates of one section are received together: one
    // receiveUpdates, one transaction, one redraw.
    let run = null
    const flushRun = () => {
      if (run) this.receive(run.section, run.updates)
      run = null
    }
    for (const u of list) {
      if (u.seq <= this.seq) continue // seen before a reconnect
      if (u.seq !== this.seq + 1) {
        flushRun()
        this.gap(`update ${u.seq} after ${this.seq}`)
        return
      }
      if (u.structure) {
        flushRun()
        this.seq = u.seq
        this.structure(u.structure)
        continue
      }
      const s = this.sections.get(u.section)
      if (!s) {
        flushRun()
        this.gap(`update ${u.seq} for unknown section ${u.section}`)
        return
      }
      if (!run || run.section !== s) {
        flushRun()
        run = {section: s, updates: []}
      }
      const expect = getSyncedVersion(s.state) + run.updates.length + 1
      if (u.version !== expect) {
        flushRun()
        this.gap(`update ${u.seq} takes ${u.section} to version ${u.version}, expected ${expect}`)
        return
      }
      let changes
      try {
        changes = ChangeSet.fromJSON(u.changes)
      } catch (e) {
        flushRun()
        this.gap(`update ${u.seq}: ${e.message}`)
        return
      }
      run.updates.push({changes, clientID: u.client, seq: u.seq, paras: u.paras, merged: u.merged})
      this.seq = u.seq
    }
    flushRun()
  }

  // receive applies updates of one section that follow its synced version.
  receive(s, updates) {
    const before = s.state
    const unconfirmed = sendableUpdates(before).length
    let own = 0
    for (const u of updates) if (u.clientID === this.clientID && own < unconfirmed) own++
    // One update at a time: CodeMirror's mapping over a composed set can
    // place an insertion differently from mapping over its parts, and the
    // server rebases stepwise (docs/protocol.md), so a batch given to
    // receiveUpdates at once could leave this text different from the
    // server's.
    for (const u of updates) s.host.dispatch(receiveUpdates(s.state, [u]))
    s.inflight = Math.max(0, s.inflight - own)
    let version = getSyncedVersion(before)
    for (const u of updates) {
      version++
      s.log.push({version, changes: u.changes, clientID: u.clientID})
      this.movePeers(s, version, u.changes, u.clientID)
    }
    if (s.log.length > PEER_LOG) s.log.splice(0, s.log.length - PEER_LOG)
    const last = updates[updates.length - 1]
    for (const u of updates) {
      if (u.paras) {
        s.paras = u.paras
        this.emit("paras", {section: s.id, paras: u.paras, merged: u.merged || null})
      }
    }
    this.emit("update", {section: s.id, own: own === updates.length, seq: last.seq})
    // Our updates came back: tell the others where our cursor is now that
    // its position no longer depends on unconfirmed text.
    if (own && this.presence && this.presence.section === s.id) this.sendPresence()
  }

  structure(sc) {
    if (sc.op !== "add_section" || !sc.section || this.sections.has(sc.section.id)) return
    const info = sc.section
    const s = new Section(info, this.newState(info))
    this.sections.set(info.id, s)
    if (this.doc) this.doc.sections = [...(this.doc.sections || []), info]
    this.emit("section", {section: s})
  }

  // gap: the stream is not what the protocol promises; catch up afresh.
  gap(why) {
    this.emit("error", {code: "gap", message: why, reconnect: true})
    if (this.ws) this.drop(this.ws)
    this.scheduleReconnect()
  }

  errorMsg(e) {
    if (e.section) {
      const s = this.sections.get(e.section)
      if (s) {
        s.inflight = 0 // the refused push is not in flight any more
        if (!e.reconnect && !RECONNECT_CODES.has(e.code)) s.halted = e
      }
    }
    this.emit("error", e)
    if (e.reconnect || RECONNECT_CODES.has(e.code)) {
      // The server may not close for every reconnect code; do it here so
      // the catch-up and the re-push follow.
      if (this.ws) this.drop(this.ws)
      this.scheduleReconnect()
    } else if (!e.section && ["bad_protocol", "bad_client", "hello_first", "replaced", "not_found"].includes(e.code)) {
      this.fail(e)
    }
  }

  // ---- presence ----

  peersMsg(msg) {
    for (const p of msg.peers || []) if (p.client !== this.clientID) this.peers.set(p.client, normPeer(p))
    for (const id of msg.left || []) this.peers.delete(id)
    this.emit("peers", {peers: this.peers})
  }

  // movePeers brings peers' ranges reported at version-1 of s to version.
  movePeers(s, version, changes, author) {
    for (const p of this.peers.values()) {
      if (p.section !== s.id || p.version !== version - 1) continue
      p.ranges = mapRanges(p.ranges, changes, p.client === author)
      p.version = version
    }
  }

  // peerRanges returns the others' selections in section id, in positions
  // of its current local text (with our unconfirmed changes applied).
  peerRanges(id) {
    const s = this.sections.get(id)
    if (!s) return []
    const state = s.state
    const synced = getSyncedVersion(state)
    let local = null
    for (const u of sendableUpdates(state)) local = local ? local.composeDesc(u.changes.desc) : u.changes.desc
    const out = []
    for (const p of this.peers.values()) {
      if (p.section !== id) continue
      let ranges = p.ranges
      if (p.version < synced) {
        // Reported before updates we have already applied.
        const from = s.log.findIndex(e => e.version === p.version + 1)
        if (from < 0 || s.log.length - from !== synced - p.version) continue
        for (let i = from; i < s.log.length; i++) ranges = mapRanges(ranges, s.log[i].changes, p.client === s.log[i].clientID)
      } else if (p.version > synced) {
        continue // about text we have not received yet
      }
      if (local) ranges = mapRanges(ranges, local, false)
      const len = state.doc.length
      ranges = ranges.filter(r => r.anchor >= 0 && r.head >= 0 && r.anchor <= len && r.head <= len)
      out.push({client: p.client, name: p.name, color: p.color, ranges})
    }
    return out
  }

  // setPresence says we are in section id (or nowhere, with null) with
  // the section's current selection.
  setPresence(id) {
    this.presence = id ? {section: id} : null
    this.sendPresence()
  }

  // sendPresence sends where we are, at most once per presenceDelay: a
  // cursor held on an arrow key must not flood the others.
  sendPresence() {
    if (!this.presenceDelay) return this.presenceNow()
    if (this.presenceTimer != null) return
    this.presenceTimer = this.setTimeout(() => {
      this.presenceTimer = null
      this.presenceNow()
    }, this.presenceDelay)
  }

  presenceNow() {
    if (!this.welcomed) return
    const p = this.presence
    if (!p || !this.sections.has(p.section)) {
      this.send([{type: "presence"}])
      return
    }
    const s = this.sections.get(p.section)
    const state = s.state
    // The server expects positions at our synced version: map the local
    // selection back through the unconfirmed changes.
    let back = null
    for (const u of sendableUpdates(state)) back = back ? back.composeDesc(u.changes.desc) : u.changes.desc
    back = back && back.invertedDesc
    const ranges = state.selection.ranges.slice(0, 100).map(r => back
      ? {anchor: back.mapPos(r.anchor, -1), head: back.mapPos(r.head, -1)}
      : {anchor: r.anchor, head: r.head})
    this.send([{type: "presence", section: s.id, version: getSyncedVersion(state), ranges}])
  }

  // ---- local changes ----

  // changed is called after a local transaction in section id (by the
  // editor view's update listener, or by edit).
  changed(id, selectionOnly) {
    if (!selectionOnly) this.flush()
    if (this.presence && this.presence.section === id) this.sendPresence()
    this.status()
  }

  // edit applies a transaction spec to section id as a local change; for
  // tests and for callers without a view.
  edit(id, spec) {
    const s = this.sections.get(id)
    if (!s) throw new Error("unknown section " + id)
    s.host.dispatch(s.state.update(spec))
    this.changed(id)
  }

  text(id) {
    const s = this.sections.get(id)
    return s ? s.state.doc.toString() : null
  }

  // flush pushes the unconfirmed updates of every section that has none in
  // flight, at most one push per section at a time.
  flush() {
    if (!this.ws || !this.welcomed) return
    const msgs = []
    const max = (this.limits.max_message_bytes || 1 << 20) - 1024
    for (const s of this.sections.values()) {
      if (s.inflight || s.halted) continue
      const pending = sendableUpdates(s.state)
      if (!pending.length) continue
      const updates = []
      let size = 100
      for (const u of pending) {
        const j = {changes: u.changes.toJSON()}
        const n = JSON.stringify(j).length * 3 // worst case UTF-8 bytes
        if (updates.length && size + n > max) break
        updates.push(j)
        size += n
      }
      msgs.push({type: "push", section: s.id, version: getSyncedVersion(s.state), updates})
      s.inflight = updates.length
    }
    if (msgs.length && !this.send(msgs)) for (const s of this.sections.values()) s.inflight = 0
  }

  // ---- status ----

  setState(state) {
    this.state = state
    this.status()
  }

  status() {
    const pending = this.pending
    const key = this.state + "/" + pending + "/" + (this.error ? this.error.code : "")
    if (key === this.lastStatus) return
    this.lastStatus = key
    this.emit("status", {state: this.state, pending, error: this.error})
  }
}

// mapRanges maps selections through changes. A cursor where text is
// inserted moves past it only when its owner typed it: others' typing at
// the same place leaves it before.
function mapRanges(ranges, changes, byOwner) {
  const assoc = byOwner ? 1 : -1
  return ranges.map(r => ({anchor: changes.mapPos(r.anchor, assoc), head: changes.mapPos(r.head, assoc)}))
}

function normPeer(p) {
  return {
    client: p.client,
    name: p.name || "",
    color: /^#[0-9a-fA-F]{3,8}$/.test(p.color || "") ? p.color : "#505a5f",
    section: p.section || null,
    version: p.version || 0,
    ranges: (p.ranges || []).map(r => ({anchor: r.anchor, head: r.head})),
  }
}

function terminalMessage(code) {
  switch (code) {
    case "replaced": return "This document was opened again with the same identity (another tab?)."
    case "not_found": return "This document does not exist."
    case "bad_protocol": return "This page is out of date. Reload it."
    default: return "The server closed the connection (" + (code || "no reason") + ")."
  }
}

export {getClientID}
