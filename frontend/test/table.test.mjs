// The protocol's version, close codes and error codes with their kinds
// are one table, collab/wire/protocol.json: protocol.js must expose what
// it says, and docs/protocol.md must show exactly it.

import {test} from "node:test"
import assert from "node:assert/strict"
import {readFileSync} from "node:fs"
import {fileURLToPath} from "node:url"
import table from "../../collab/wire/protocol.json" with {type: "json"}
import * as P from "../src/protocol.js"

const doc = readFileSync(fileURLToPath(new URL("../../docs/protocol.md", import.meta.url)), "utf8")

// mdTable returns the rows of the markdown table whose header row is
// header, as arrays of cells with the backticks around them removed.
function mdTable(header) {
  const lines = doc.split("\n")
  const at = lines.findIndex(l => l.trim() === header)
  assert.ok(at >= 0, `docs/protocol.md has no table headed ${header}`)
  const rows = []
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith("|")) break
    rows.push(line.slice(1, line.trimEnd().length - 1).split(" | ").map(c => c.trim().replace(/^`(.*)`$/, "$1")))
  }
  return rows
}

test("protocol.js exposes the table's version, close codes and kinds", () => {
  assert.equal(P.PROTOCOL, table.protocol)
  assert.equal(P.CLOSE_RECONNECT, table.close.reconnect)
  assert.equal(P.CLOSE_TERMINAL, table.close.terminal)
  assert.equal(P.CLOSE_RESYNC, table.close.resync)
  assert.deepEqual(Object.keys(table.close).sort(), Object.keys(table.kinds).sort(), "a close code per kind")
  assert.deepEqual([P.TERMINAL, P.RECONNECT, P.RESYNC].sort(), Object.keys(table.kinds).sort())
  const seen = new Set()
  for (const {code, kind} of table.codes) {
    assert.ok(!seen.has(code), `${code} is listed twice`)
    seen.add(code)
    assert.ok(Object.hasOwn(table.kinds, kind), `${code} has an unknown kind ${kind}`)
    assert.equal(P.kindOf(code), kind, code)
  }
  assert.equal(P.kindOf("no_such_code"), P.TERMINAL, "a code not in the table is terminal")
  assert.equal(P.kindOf("constructor"), P.TERMINAL)
})

test("docs/protocol.md's tables list exactly the table's codes, kinds and meanings", () => {
  assert.deepEqual(mdTable("| code | kind | meaning |"), table.codes.map(c => [c.code, c.kind, c.meaning]))
  assert.deepEqual(mdTable("| kind | what to do |"), Object.entries(table.kinds))
})

test("docs/protocol.md names the table's protocol version and close codes", () => {
  const version = doc.match(/This is\s+protocol \*\*(\d+)\*\*/)
  assert.ok(version, "the version is stated as: This is protocol **N**")
  assert.equal(Number(version[1]), table.protocol)
  assert.ok(doc.includes(`"protocol": ${table.protocol}`), "the hello example says the version")
  // "**4000** when the client should reconnect ..., **4001** when
  // reconnecting without a change would not help ..., and **4002** when
  // the client must resync"
  const closing = doc.slice(doc.indexOf("## Closing"), doc.indexOf("## Limits")).replace(/\s+/g, " ")
  const said = {
    reconnect: /\*\*(\d+)\*\* when the client should reconnect/,
    terminal: /\*\*(\d+)\*\* when reconnecting without a change would not help/,
    resync: /\*\*(\d+)\*\* when the client must resync/,
  }
  for (const [kind, re] of Object.entries(said)) {
    const m = closing.match(re)
    assert.ok(m, `the Closing section gives the close code for ${kind}`)
    assert.equal(Number(m[1]), table.close[kind], kind)
  }
  assert.deepEqual(Object.keys(said).sort(), Object.keys(table.close).sort())
})
