// Sessions (src/protocol.js) on a FakeNet, with what the tests read of
// them: their events, the messages they sent, their sockets.

import {afterEach} from "node:test"
import {Session, CONNECTED} from "../src/protocol.js"
import {FakeNet, FakeServer} from "./fake.mjs"

export const SECTIONS = [
  {id: "issues", title: "Issues", kind: "required", text: "Hello world"},
  {id: "methods", title: "Methods", kind: "required", text: ""},
]

// Sessions still running after a test (a failed one, say) would keep
// reconnecting and the test process alive.
const live = []
afterEach(() => { for (const s of live.splice(0)) s.stop() })

// session starts a session with a key of its own (opts.key null: the
// server issues one). s.events holds what it emitted, s.mine its sockets.
let n = 0
export function session(net, opts = {}) {
  n++
  // The session's sockets, whoever it says it is.
  const mine = new Set()
  const s = new Session(Object.assign({
    url: "ws://test/api/documents/doc1/ws",
    key: "key-of-client-" + n + "-0123456789",
    name: opts.name || "Person " + n,
    WebSocket: class extends net.WebSocket {
      constructor(url) { super(url); mine.add(this) }
    },
    backoff: {base: 1, max: 8},
    pingInterval: 0,
  }, opts))
  s.mine = mine
  const events = {status: [], error: [], document: [], lost: [], section: [], paras: [], peers: [], key: []}
  for (const k of Object.keys(events)) s.on(k, e => events[k].push(e))
  s.events = events
  live.push(s)
  s.start()
  return s
}

export function setup(sections = SECTIONS, opts) {
  const server = new FakeServer(sections, opts)
  const net = new FakeNet(server)
  return {server, net}
}

export const connected = s => () => s.state === CONNECTED && s.sections.size > 0
export const synced = (server, ...ss) => () => ss.every(s => s.pending === 0 && [...s.sections.keys()].every(id => s.text(id) === server.text(id)))

// sent returns the messages sent on sockets.
export function sent(sockets) {
  return sockets.flatMap(ws => ws.sent).flatMap(f => f.split("\n")).map(l => JSON.parse(l))
}

// hellos returns the hello messages a session sent.
export function hellos(net, s) {
  return sent(net.sockets.filter(ws => s.mine.has(ws))).filter(m => m.type === "hello")
}

// socketOf returns a session's open socket.
export function socketOf(net, s) {
  return net.open().find(ws => s.mine.has(ws))
}

export function pushes(ws) {
  return sent([ws]).filter(m => m.type === "push")
}
