// The browser's side of the live co-editing protocol (docs/protocol.md).
//
// A Session owns one websocket to one document and one EditorState per
// section. All operational transformation is @codemirror/collab's: local
// transactions become unconfirmed updates (sendableUpdates), the server's
// updates are applied with receiveUpdates, which confirms our own and
// rebases the rest. This file needs no DOM, so node's test runner can drive
// it with a fake WebSocket; the app attaches an EditorView to each section
// as the "host" of its state.

import {EditorState, ChangeSet, Text} from "@codemirror/state"
import {collab, getSyncedVersion, sendableUpdates, receiveUpdates, getClientID} from "@codemirror/collab"
import table from "../../collab/wire/protocol.json" with {type: "json"}

// The protocol's version, close codes and error codes with their kinds
// come from the one table the server reads too (collab/wire/protocol.json).
export const PROTOCOL = table.protocol

// Close codes, by what the client should do.
export const CLOSE_RECONNECT = table.close.reconnect
export const CLOSE_TERMINAL = table.close.terminal
export const CLOSE_RESYNC = table.close.resync

// The kinds of error codes.
export const TERMINAL = "terminal"
export const RECONNECT = "reconnect"
export const RESYNC = "resync"

const KINDS = new Map(table.codes.map(c => [c.code, c.kind]))

// kindOf returns the kind of an error code in the table; a code it does
// not list is terminal (as on the server).
export function kindOf(code) {
  return KINDS.get(code) || TERMINAL
}

// errorKind says what to do about an error message: its own kind when it
// names one we know, otherwise the table's kind of its code.
function errorKind(e) {
  return Object.hasOwn(table.kinds, e.kind || "") ? e.kind : kindOf(e.code)
}

// Connection states, as shown to people.
export const CONNECTING = "connecting"
export const CONNECTED = "connected"
export const RECONNECTING = "reconnecting"
export const OFFLINE = "offline"

// How many received change sets per section are kept to bring a peer's
// selection, reported at an older version, up to ours.
const PEER_LOG = 200

// What a client's secret key looks like (docs/protocol.md).
export const KEY = /^[A-Za-z0-9_-]{16,128}$/

// randomKey returns a fresh secret key: 32 characters of 6 random bits
// each (192 bits), from the browser's cryptographic source.
export function randomKey() {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  let s = ""
  for (const b of bytes) s += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b & 63]
  return s
}

// Where a tab keeps its key, and the key's tag: a random value stored
// with it that names it to other tabs without showing it.
const KEY_ITEM = "bpfdraft.key"
const TAG_ITEM = "bpfdraft.key-tag"

// tabKey returns this tab's key. storage is the tab's sessionStorage: a
// reload keeps the key, so the server recognises the updates it already
// accepted from this tab. A duplicated tab inherits sessionStorage, and
// two open tabs must not share a key (the second hello would replace the
// first tab's connection): before using a stored key the tab asks the
// other tabs on channel (a BroadcastChannel) whether one of them holds it,
// and takes a new one if so. Either may be null.
export async function tabKey(storage, channel, wait = 150) {
  let key = null, tag = null
  try {
    key = storage.getItem(KEY_ITEM)
    tag = storage.getItem(TAG_ITEM)
  } catch {}
  if (key && tag && KEY.test(key) && channel) {
    const taken = await new Promise(resolve => {
      const timer = setTimeout(() => resolve(false), wait)
      channel.onmessage = e => {
        if (e.data && e.data.taken === tag) {
          clearTimeout(timer)
          resolve(true)
        }
      }
      channel.postMessage({ask: tag})
    })
    if (taken) key = null
  }
  if (!key || !tag || !KEY.test(key)) {
    key = randomKey()
    tag = randomKey()
  }
  try {
    storage.setItem(KEY_ITEM, key)
    storage.setItem(TAG_ITEM, tag)
  } catch {}
  if (channel) channel.onmessage = e => { if (e.data && e.data.ask === tag) channel.postMessage({taken: tag}) }
  return key
}

// saveKey keeps a key the server issued in place of the tab's.
export function saveKey(storage, key) {
  try { storage.setItem(KEY_ITEM, key) } catch {}
}

// ---- checksums ----

let crcTable = null

function crcTableOf() {
  if (crcTable) return crcTable
  crcTable = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    crcTable[n] = c >>> 0
  }
  return crcTable
}

const utf8 = new TextEncoder()

// checksum is the protocol's checksum of a text (a string or a CodeMirror
// Text): the CRC-32 (IEEE, as zlib's crc32) of its UTF-8 bytes, as an
// unsigned number.
export function checksum(text) {
  const t = crcTableOf()
  let crc = 0xffffffff
  const add = s => {
    const bytes = utf8.encode(s)
    for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
  }
  if (typeof text == "string") add(text)
  else for (const chunk of text.iter()) add(chunk) // lines and line breaks: no pair is cut
  return (crc ^ 0xffffffff) >>> 0
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
    // The text at the synced version: the server's text as we know it,
    // kept up to date with every update received. A push that carries
    // only some of the unconfirmed updates checks this with them applied.
    this.synced = Text.of((info.text || "").split("\n"))
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
//   document  {doc, snapshot}          a snapshot (re)built the sections; without snapshot:
//                                      the document was renamed, or a section renamed, moved
//                                      or removed
//   section   {section}                a section was added (structure add_section)
//   update    {section, own, seq}      updates were applied to a section
//   paras     {section, paras, merged} a section's paragraph ids changed
//   peers     {peers}                  presence changed (a Map, by client id)
//   error     {code, kind, message, ...} an error message from the server, or a local one;
//                                      kind is terminal, reconnect or resync
//   lost      {section, text}          a snapshot replaced text that was not confirmed
//   key       {key}                    the server issued our key (keep it for the next page load)
//   comment   {event, seq}             a comment was made, edited, withdrawn, reported or hidden
//                                      (structure comment); event is the server's, for a hint
//                                      only: what a person may see of comments is the API's
export class Session {
  // opts: url (the websocket URL), key (the secret key; without one the
  // server issues one), name, WebSocket (constructor),
  // extensions(sectionInfo) → extra state extensions (the editor's),
  // setTimeout/clearTimeout, random (for backoff jitter), backoff
  // {base, max} in ms, pingInterval and deadAfter in ms (0 disables).
  constructor(opts) {
    if (opts.key != null && !KEY.test(opts.key)) throw new Error("bad key: it must be 16-128 of A-Z a-z 0-9 _ -")
    this.url = opts.url
    this.key = opts.key || null
    // Our public client id, derived from the key by the server and told
    // in the welcome; the sections' collab states are made with it.
    this.clientID = null
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
    this.lastError = null // the last terminal error message, named by a 4001 close that follows it
    // Set when our copy cannot be trusted (kind resync): the next hello
    // asks for a snapshot, which replaces every section whose synced text
    // is not the server's.
    this.resync = false
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
      const hello = {type: "hello", protocol: PROTOCOL, name: this.name}
      if (this.key) hello.key = this.key
      // Once we hold the document, catch up from what we have (even seq 0:
      // our own unconfirmed updates may be among those to come); without
      // seq comes the whole document, which a resync needs.
      if (this.doc && !this.resync) hello.seq = this.seq
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
      // The error message before the close says why, unless it could
      // not be sent.
      const e = this.lastError && (!reason || this.lastError.code === reason) ? this.lastError : {code: reason || "terminal", kind: TERMINAL}
      this.fail(e)
      return
    }
    if (code === CLOSE_RESYNC) {
      // A bare 4002 (the error message before it was lost).
      this.emit("error", {code: reason || "diverged", kind: RESYNC, message: "the server closed the connection to resync"})
      this.resync = true
    }
    this.scheduleReconnect()
  }

  // fail stops the session after a terminal error and says why.
  fail(e) {
    const err = Object.assign({}, e, {kind: TERMINAL, message: terminalMessage(e.code) || e.message || `The server closed the connection (${e.code}).`})
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
    if (msg.key) {
      // Issued by the server: ours from now on, for every hello.
      this.key = msg.key
      this.emit("key", {key: msg.key})
    }
    if (this.clientID && msg.client !== this.clientID) {
      // The same key always gives the same id; the sections' states are
      // bound to it.
      this.fail({code: "identity", message: `the server changed this client's id from ${this.clientID} to ${msg.client}`})
      return
    }
    this.clientID = msg.client
    this.welcomed = true
    this.attempt = 0
    this.lastError = null
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
  // our synced version, with the server's text there, is kept as it is;
  // elsewhere unconfirmed changes cannot be rebased onto the snapshot (the
  // updates in between are unknown, or our copy differs from the
  // server's), so their text is handed to the app, never silently dropped.
  snapshot(doc, seq) {
    const old = this.sections
    this.sections = new Map()
    this.doc = doc
    this.seq = seq ?? doc.seq ?? 0
    this.resync = false
    for (const info of doc.sections || []) {
      const prev = old.get(info.id)
      if (prev && getSyncedVersion(prev.state) === (info.version || 0) && prev.synced.eq(Text.of((info.text || "").split("\n")))) {
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
    // Consecutive updates of one section make a run: applied one at a
    // time, reported once.
    let run = null
    const flushRun = () => {
      if (run && run.updates.length) this.receive(run.section, run.updates)
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
        this.structure(u.structure, u.seq)
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
      const synced = run.updates.length ? run.updates[run.updates.length - 1].synced : s.synced
      if (changes.length !== synced.length) {
        // The server's update is not made for our text of the section:
        // our copy cannot be trusted.
        flushRun()
        this.mismatch(`update ${u.seq} applies to ${changes.length} units of ${u.section}; our text there has ${synced.length}`)
        return
      }
      run.updates.push({changes, clientID: u.client, seq: u.seq, paras: u.paras, merged: u.merged, synced: changes.apply(synced)})
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
    for (const u of updates) {
      s.host.dispatch(receiveUpdates(s.state, [u]))
      s.synced = u.synced
    }
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

  structure(sc, seq) {
    if (sc.op === "comment") {
      this.emit("comment", {event: sc.comment || null, seq})
      return
    }
    if (sc.op === "rename_document") {
      if (this.doc) this.doc.title = sc.title
      this.emit("document", {})
      return
    }
    if (!sc.section) return
    const id = sc.section.id
    if (sc.op === "add_section") {
      if (this.sections.has(id)) return
      const info = sc.section
      const s = new Section(info, this.newState(info))
      this.sections.set(id, s)
      if (this.doc) this.doc.sections = [...(this.doc.sections || []), info]
      this.emit("section", {section: s})
      return
    }
    const s = this.sections.get(id)
    if (!s) return
    if (sc.op === "rename_section") {
      s.title = sc.title
    } else if (sc.op === "move_section" && Number.isInteger(sc.index)) {
      const order = [...this.sections.entries()].filter(([k]) => k !== id)
      order.splice(Math.min(sc.index, order.length), 0, [id, s])
      this.sections = new Map(order)
    } else if (sc.op === "remove_section") {
      this.sections.delete(id)
    } else {
      return
    }
    this.emit("document", {})
  }

  // gap: the stream is not what the protocol promises; catch up afresh.
  gap(why) {
    this.emit("error", {code: "gap", kind: RECONNECT, message: why})
    if (this.ws) this.drop(this.ws)
    this.scheduleReconnect()
  }

  // mismatch: what the server sent does not fit our copy of the
  // document; take a snapshot.
  mismatch(why) {
    this.emit("error", {code: "mismatch", kind: RESYNC, message: why})
    this.resync = true
    if (this.ws) this.drop(this.ws)
    this.scheduleReconnect()
  }

  // errorMsg acts on an error from the server by its kind.
  errorMsg(msg) {
    const e = Object.assign({}, msg, {kind: errorKind(msg)})
    delete e.type
    if (e.section) {
      const s = this.sections.get(e.section)
      if (s) {
        s.inflight = 0 // the refused push is not in flight any more
        // Pushing the same again would fail the same way: this section
        // stops pushing until the page is reloaded.
        if (e.kind === TERMINAL) s.halted = e
      }
    }
    this.emit("error", e)
    switch (e.kind) {
      case RESYNC:
        // Our copy differs from the server's: a snapshot replaces it, and
        // what was unconfirmed where it differs goes to the app (lost).
        this.resync = true
        // falls through
      case RECONNECT:
        // The server may not close for every such code; do it here so
        // the catch-up (or snapshot) and the re-push follow.
        if (this.ws) this.drop(this.ws)
        this.scheduleReconnect()
        break
      default:
        // A terminal error that ends the connection is followed by a
        // close with 4001, which stops the session (closed).
        this.lastError = e
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

  // toLocal maps positions in section id's text as the server had it at
  // version to the text as it is here now: through the updates received
  // since (kept for the last PEER_LOG of them), then through our own not
  // yet confirmed. points is a list of {pos, assoc} (assoc as in
  // ChangeSet.mapPos). It returns the positions, or null when they cannot
  // be mapped: a version we have not received yet, one too old for the
  // log, or a position outside the text of that version.
  toLocal(id, version, points) {
    const s = this.sections.get(id)
    if (!s || !Number.isInteger(version)) return null
    const state = s.state
    const synced = getSyncedVersion(state)
    if (version > synced) return null
    let from = s.log.length, length = s.synced.length
    if (version < synced) {
      from = s.log.findIndex(e => e.version === version + 1)
      if (from < 0 || s.log.length - from !== synced - version) return null
      length = s.log[from].changes.length
    }
    if (points.some(p => !Number.isInteger(p.pos) || p.pos < 0 || p.pos > length)) return null
    let pos = points.map(p => p.pos)
    const map = changes => { pos = pos.map((p, i) => changes.mapPos(p, points[i].assoc || -1)) }
    for (let i = from; i < s.log.length; i++) map(s.log[i].changes)
    for (const u of sendableUpdates(state)) map(u.changes)
    return pos
  }

  // serverText returns what we know of section id's text as the server has
  // it: {text (a string), version, paras (one id per paragraph)}, or null.
  serverText(id) {
    const s = this.sections.get(id)
    return s ? {text: s.synced.toString(), version: getSyncedVersion(s.state), paras: s.paras} : null
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
      // check: the checksum of our text after the pushed updates; for a
      // part of them, the synced text with that part applied.
      let after = s.state.doc
      if (updates.length < pending.length) {
        after = s.synced
        for (let i = 0; i < updates.length; i++) after = pending[i].changes.apply(after)
      }
      msgs.push({type: "push", section: s.id, version: getSyncedVersion(s.state), check: checksum(after), updates})
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

// terminalMessage says in words why the session stopped, for the codes a
// person may meet; null for others (the server's message says it).
function terminalMessage(code) {
  switch (code) {
    case "replaced": return "This document was opened again with the same identity (another tab?)."
    case "not_found": return "This document does not exist."
    case "bad_protocol": return "This page is out of date. Reload it."
    default: return null
  }
}

export {getClientID}
