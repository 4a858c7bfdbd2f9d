// Undo with collab: the history extension must undo only this person's
// changes, because receiveUpdates marks remote ones as not for history.

import {test, afterEach} from "node:test"
import assert from "node:assert/strict"
import {history, undo, redo} from "@codemirror/commands"
import {Session, CONNECTED} from "../src/protocol.js"
import {FakeNet, FakeServer, waitFor} from "../testutil/fake.mjs"

const live = []
afterEach(() => { for (const s of live.splice(0)) s.stop() })

function session(net, name) {
  const s = new Session({url: "ws://test/ws", key: "key-of-" + name + "-0123456789", name, WebSocket: net.WebSocket,
    backoff: {base: 1, max: 8}, pingInterval: 0, extensions: () => [history()]})
  live.push(s)
  s.start()
  return s
}

// command runs a StateCommand on a section as the editor's key binding would.
function command(s, id, cmd) {
  const sec = s.section(id)
  const ran = cmd({state: sec.state, dispatch: tr => sec.host.dispatch(tr)})
  s.changed(id)
  return ran
}

test("undo and redo touch only one's own changes", async () => {
  const server = new FakeServer([{id: "issues", text: "middle"}])
  const net = new FakeNet(server)
  const a = session(net, "alice"), b = session(net, "bob1")
  await waitFor(() => a.state === CONNECTED && b.state === CONNECTED && a.sections.size && b.sections.size)
  a.edit("issues", {changes: {from: 0, insert: "A "}, userEvent: "input.type"})
  await waitFor(() => b.text("issues") === "A middle")
  b.edit("issues", {changes: {from: 8, insert: " B"}, userEvent: "input.type"})
  server.edit("issues", {from: 2, insert: "api "})
  await waitFor(() => a.text("issues") === "A api middle B" && a.pending === 0)

  assert.ok(command(a, "issues", undo))
  assert.equal(a.text("issues"), "api middle B", "A's undo removes A's text only")
  await waitFor(() => b.text("issues") === "api middle B" && a.pending === 0)
  // Nothing of A's left to undo: B's and the API's text stay.
  assert.equal(command(a, "issues", undo), false)
  assert.equal(a.text("issues"), "api middle B")

  assert.ok(command(a, "issues", redo))
  await waitFor(() => b.text("issues") === "A api middle B" && a.pending === 0 && server.text("issues") === "A api middle B")

  assert.ok(command(b, "issues", undo))
  await waitFor(() => a.text("issues") === "A api middle" && b.pending === 0)
  assert.equal(server.text("issues"), "A api middle")
})
