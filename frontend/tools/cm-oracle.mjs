// cm-oracle answers questions about change sets with the real
// @codemirror/state and @codemirror/collab, for the Go differential tests
// in editor/. Protocol: one JSON request per line on stdin, {"op": ...}
// (see cm-ops.mjs); one line per request on stdout, in order, either
// {"ok": result} or {"error": message}.
import {createInterface} from "node:readline"
import {run} from "./cm-ops.mjs"

const out = []
let scheduled = false
function flush() {
  scheduled = false
  if (out.length) process.stdout.write(out.join(""))
  out.length = 0
}

const rl = createInterface({input: process.stdin, crlfDelay: Infinity})
rl.on("line", line => {
  if (!line.trim()) return
  let reply
  try {
    reply = {ok: run(JSON.parse(line))}
  } catch (e) {
    reply = {error: String(e && e.message || e)}
  }
  out.push(JSON.stringify(reply) + "\n")
  // Batch the replies to lines that arrived together, yet answer as soon
  // as input pauses, so a caller waiting for each reply still works.
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
})
rl.on("close", flush)
