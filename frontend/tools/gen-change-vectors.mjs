// gen-change-vectors writes editor/testdata/changes/*.json: inputs and the
// results @codemirror/state and @codemirror/collab give for them, which the
// Go tests must reproduce exactly. The PRNG is seeded, so running it again
// with the same library versions rewrites identical files.
//
//   node frontend/tools/gen-change-vectors.mjs [seed]
//   node frontend/tools/gen-change-vectors.mjs --check
//
// --check writes nothing and exits 1 if the committed files differ from what
// the installed library gives (say after an upgrade): regenerate them then.
import {writeFileSync, mkdirSync, readFileSync} from "node:fs"
import {ChangeSet} from "@codemirror/state"
import {run, text} from "./cm-ops.mjs"

const check = process.argv[2] == "--check"
const seed = Number(!check && process.argv[2] || 20240611)
const outDir = new URL("../../editor/testdata/changes/", import.meta.url)

// mulberry32: small, seedable, and the same on every Node version.
function prng(a) {
  return () => {
    a |= 0; a = a + 0x6D2B79F5 | 0
    let t = Math.imul(a ^ a >>> 15, 1 | a)
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t
    return ((t ^ t >>> 14) >>> 0) / 4294967296
  }
}
const rand = prng(seed)
const int = n => Math.floor(rand() * n)
const pick = xs => xs[int(xs.length)]

// Pieces of text: ASCII, line breaks, emoji (surrogate pairs, with
// modifiers, flags and ZWJ sequences), CJK, combining marks.
const pieces = [
  "a", "b", "c", "x", "y", "z", " ", " ", "the ", "forum ", ".", ",", "#", "*",
  "\n", "\n", "\n\n",
  "😀", "👍🏽", "🇫🇷", "👩‍💻", "🎉", "𝕏",
  "中", "文", "字", "論", "壇",
  "é", "e\u0301", "a\u0308", "n\u0303", "\u0301",
  "ü", "ß", "Ω",
]

function randomText(max) {
  let n = int(max + 1), s = ""
  for (let i = 0; i < n; i++) s += pick(pieces)
  return s
}

function randomDoc() {
  let r = rand()
  if (r < 0.1) return ""
  if (r < 0.8) return randomText(24)
  if (r < 0.95) return randomText(300)
  // Long: 10k+ UTF-16 units.
  let s = ""
  while (s.length < 10000 + int(3000)) s += randomText(40)
  return s
}

// Offsets in s that do not split a surrogate pair.
function boundaries(s) {
  let out = [0]
  for (let i = 0; i < s.length;) {
    let c = s.charCodeAt(i)
    i += c >= 0xd800 && c < 0xdc00 ? 2 : 1
    out.push(i)
  }
  return out
}

// Random simple changes on doc, in random order, possibly overlapping.
function randomSpecs(doc, max = 4) {
  let bs = boundaries(doc), n = int(max + 1), specs = []
  for (let i = 0; i < n; i++) {
    let a = pick(bs), b = rand() < 0.4 ? a : pick(bs)
    let from = Math.min(a, b), to = Math.max(a, b)
    // Keep changes short so deletions do not swallow the whole document.
    if (to - from > 12 && rand() < 0.8) to = bs[Math.min(bs.length - 1, bs.indexOf(from) + 1 + int(8))]
    specs.push({from, to, insert: rand() < 0.25 ? "" : randomText(5)})
  }
  return specs
}

function randomChanges(doc, max) {
  return ChangeSet.of(randomSpecs(doc, max), doc.length).toJSON()
}

const apply = (doc, cs) => run({op: "apply", doc, changes: cs})

const vectors = {
  of: [], apply: [], iter: [], compose: [], map: [], mappos: [], invert: [], rebase: [],
}

// ChangeSet.of, including unsorted and overlapping specs and "\r\n".
for (let i = 0; i < 150; i++) {
  let doc = randomDoc(), specs = randomSpecs(doc, 6)
  if (rand() < 0.2) specs.push({from: 0, to: 0, insert: "one\r\ntwo\rthree"})
  vectors.of.push({length: doc.length, changes: specs, want: run({op: "of", changes: specs, length: doc.length})})
}

for (let i = 0; i < 150; i++) {
  let doc = randomDoc(), cs = randomChanges(doc, 5)
  vectors.apply.push({doc, changes: cs, want: apply(doc, cs), info: run({op: "info", changes: cs})})
}

for (let i = 0; i < 100; i++) {
  let doc = randomDoc(), cs = randomChanges(doc, 6)
  let individual = rand() < 0.5
  vectors.iter.push({changes: cs, individual, want: run({op: "iter", changes: cs, individual})})
}

// compose: chains of two or three sets.
for (let i = 0; i < 150; i++) {
  let doc = randomDoc(), a = randomChanges(doc, 4)
  let doc1 = apply(doc, a), b = randomChanges(doc1, 4)
  let want = run({op: "compose", a, b})
  let c = rand() < 0.4 ? randomChanges(apply(doc1, b), 3) : null
  let v = {doc, a, b, want}
  if (c) {
    v.c = c
    v.wantABC = run({op: "compose", a: want, b: c})
  }
  vectors.compose.push(v)
}

// map both ways, with inserts at the same position made likely.
for (let i = 0; i < 200; i++) {
  let doc = randomDoc(), a = randomChanges(doc, 4), b
  if (rand() < 0.3) {
    let p = pick(boundaries(doc))
    a = run({op: "of", changes: [{from: p, insert: randomText(3) || "A"}], length: doc.length})
    b = run({op: "of", changes: [{from: p, insert: randomText(3) || "B"}], length: doc.length})
  } else {
    b = randomChanges(doc, 4)
  }
  vectors.map.push({
    doc, a, b,
    wantBefore: run({op: "map", a, b, before: true}),
    wantAfter: run({op: "map", a, b, before: false}),
  })
}

// mapPos: every position of short sets, sampled positions of long ones,
// both associations, every mode.
for (let i = 0; i < 80; i++) {
  let doc = randomDoc(), cs = randomChanges(doc, 4)
  let positions = []
  if (doc.length <= 60) for (let p = 0; p <= doc.length; p++) positions.push(p)
  else for (let k = 0; k < 60; k++) positions.push(int(doc.length + 1))
  let probes = []
  for (let p of positions) for (let assoc of [-1, 1]) for (let mode = 0; mode < 4; mode++) probes.push([p, assoc, mode])
  let results = run({op: "mapPos", changes: cs, probes})
  vectors.mappos.push({changes: cs, probes: probes.map((p, k) => [...p, results[k]])})
}

for (let i = 0; i < 120; i++) {
  let doc = randomDoc(), cs = randomChanges(doc, 5)
  vectors.invert.push({doc, changes: cs, want: run({op: "invert", changes: cs, doc})})
}

// rebaseUpdates, as the server uses it: clients push the updates they have
// not seen confirmed, at the version they last saw, sometimes again after
// a lost confirmation; the server rebases them over what it accepted since.
for (let round = 0; round < 30; round++) {
  let docs = [randomDoc()], authority = []
  let clients = ["alice", "bob", "carol"].map(id => ({id, version: 0, pending: []}))
  for (let step = 0; step < 12; step++) {
    let c = pick(clients)
    let local = c.pending.reduce((d, u) => apply(d, u.changes), docs[c.version])
    if (rand() < 0.55 || !c.pending.length) {
      c.pending.push({changes: randomChanges(local, 3), clientID: c.id})
      continue
    }
    let over = authority.slice(c.version)
    let want = run({op: "rebase", updates: c.pending, over})
    vectors.rebase.push({doc: docs[c.version], updates: c.pending.slice(), over, want})
    for (let u of want) {
      authority.push(u)
      docs.push(apply(docs[docs.length - 1], u.changes))
    }
    if (rand() < 0.3) continue // confirmation lost: push the same again later
    c.version = authority.length
    c.pending = []
  }
}

mkdirSync(outDir, {recursive: true})
let stale = []
for (let [name, cases] of Object.entries(vectors)) {
  let body = {
    generator: "frontend/tools/gen-change-vectors.mjs",
    seed,
    cases,
  }
  let file = new URL(name + ".json", outDir)
  let content = JSON.stringify(body, null, 0).replace(/\},\{"/g, '},\n{"') + "\n"
  if (!check) writeFileSync(file, content)
  else if (readFileSync(file, "utf8") != content) stale.push(name + ".json")
}
if (stale.length) {
  console.error("stale vectors: " + stale.join(", ") + "; run node frontend/tools/gen-change-vectors.mjs")
  process.exit(1)
}
console.log(check ? "vectors up to date:" : "wrote", Object.entries(vectors).map(([k, v]) => `${k}: ${v.length}`).join(", "))
