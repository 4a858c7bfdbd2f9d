// Operations on @codemirror/state and @codemirror/collab as the Go package
// editor exposes them, with plain JSON in and out. Used by cm-oracle.mjs
// (differential tests) and gen-change-vectors.mjs (committed vectors), so
// both ask the real library the same questions.
import {ChangeSet, MapMode, Text} from "@codemirror/state"
import {rebaseUpdates} from "@codemirror/collab"

// Documents travel as strings with "\n" line breaks, as the server keeps them.
export const text = s => Text.of(s.split("\n"))

const set = json => ChangeSet.fromJSON(json)

const modes = [MapMode.Simple, MapMode.TrackDel, MapMode.TrackBefore, MapMode.TrackAfter]

function info(cs) {
  return {length: cs.length, newLength: cs.newLength, empty: cs.empty}
}

export const ops = {
  apply: ({doc, changes}) => set(changes).apply(text(doc)).toString(),
  info: ({changes}) => info(set(changes)),
  of: ({changes, length}) => ChangeSet.of(changes, length).toJSON(),
  compose: ({a, b}) => set(a).compose(set(b)).toJSON(),
  map: ({a, b, before}) => set(a).map(set(b), before).toJSON(),
  invert: ({changes, doc}) => set(changes).invert(text(doc)).toJSON(),
  // probes: [[pos, assoc, mode], ...] -> [mapped or null, ...]
  mapPos: ({changes, probes}) => {
    let cs = set(changes)
    return probes.map(([pos, assoc, mode]) => cs.mapPos(pos, assoc, modes[mode]))
  },
  iter: ({changes, individual}) => {
    let out = []
    set(changes).iterChanges((fromA, toA, fromB, toB, ins) => out.push([fromA, toA, fromB, toB, ins.toString()]), individual)
    return out
  },
  rebase: ({updates, over}) => {
    let conv = us => us.map(u => ({changes: set(u.changes), clientID: u.clientID}))
    return rebaseUpdates(conv(updates), conv(over)).map(u => ({changes: u.changes.toJSON(), clientID: u.clientID}))
  },
}

export function run(req) {
  let op = ops[req.op]
  if (!op) throw new Error("unknown op " + req.op)
  return op(req)
}
