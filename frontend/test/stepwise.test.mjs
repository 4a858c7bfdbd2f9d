// The server rebases stepwise (editor.RebaseStepwise); the browser must
// receive updates one at a time to agree with it. The fixture is shared
// with the Go tests (editor/testdata/rebase/compose-vs-stepwise.json).
import {test} from "node:test"
import assert from "node:assert/strict"
import {readFileSync} from "node:fs"
import {fileURLToPath} from "node:url"
import {EditorState, ChangeSet} from "@codemirror/state"
import {collab, receiveUpdates, sendableUpdates} from "@codemirror/collab"

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL("../../editor/testdata/rebase/compose-vs-stepwise.json", import.meta.url))))
const conv = us => us.map(u => ({changes: ChangeSet.fromJSON(u.changes), clientID: u.clientID}))

function pendingAfter(receive) {
  const own = conv(fixture.updates).filter((_, i) => made[i])
  const base = "x".repeat(own[0].changes.length)
  let state = EditorState.create({doc: base, extensions: collab({clientID: own[0].clientID})})
  for (const u of own) state = state.update({changes: u.changes}).state
  state = receive(state, conv(fixture.over))
  return sendableUpdates(state).map(u => JSON.stringify(u.changes.toJSON()))
}

// An editor never makes an update without changes (the Go client that
// recorded the case did), so those drop out on both sides.
const made = fixture.updates.map(u => !ChangeSet.fromJSON(u.changes).empty)
const want = fixture.stepwise.filter((_, i) => made[i]).map(u => JSON.stringify(u.changes))

test("receiving updates one at a time leaves what the server's stepwise rebase accepts", () => {
  const got = pendingAfter((state, over) => {
    for (const u of over) state = receiveUpdates(state, [u]).state
    return state
  })
  assert.deepEqual(got, want)
})

test("receiving them as one batch does not (why the binding never batches)", () => {
  const got = pendingAfter((state, over) => receiveUpdates(state, over).state)
  assert.notDeepEqual(got, want)
})
