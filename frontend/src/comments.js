// Comments on a document, as the editing view shows them: what the
// server's API says (GET /api/documents/{id}/comments), loaded at start
// and again, a moment later, whenever a comment event or a change to
// commented text comes over the websocket. This file needs no DOM, so
// node's test runner can drive it; comments-ui.js draws it.
//
// A thread is the API's: {id, name, team, text, created, edited, mine,
// status ("open" | "withdrawn" | "hidden" | "orphaned"), hidden_reason,
// anchor: {section, para, quote: {exact, prefix, suffix}, start, end,
// version, seq, state, score}, replies: [...]}. Only the API decides what
// a person may see (withdrawn and hidden texts, names); the websocket's
// comment events are only a sign that something changed.

// paragraphSpans splits text into paragraphs by the server's rule
// (editor.Paragraphs): runs of lines holding something besides spaces,
// tabs and carriage returns, separated by blank lines. It returns
// [{start, end}] in UTF-16 units, end at the end of the paragraph's last
// line (before its line break).
export function paragraphSpans(text) {
  const out = []
  let start = -1, end = 0, pos = 0
  for (;;) {
    let lineEnd = text.indexOf("\n", pos)
    const last = lineEnd < 0
    if (last) lineEnd = text.length
    if (/[^ \t\r]/.test(text.slice(pos, lineEnd))) {
      if (start < 0) start = pos
      end = lineEnd
    } else if (start >= 0) {
      out.push({start, end})
      start = -1
    }
    if (last) break
    pos = lineEnd + 1
  }
  if (start >= 0) out.push({start, end})
  return out
}

// The statuses of a thread, as the panel's filter groups them.
export const STATUSES = ["open", "resolved", "orphaned", "withdrawn", "hidden"]

// statusLabel says in words what a status means; "" for open.
export function statusLabel(status) {
  switch (status) {
    case "resolved": return "Dealt with by the team"
    case "orphaned": return "Its words are no longer in the text"
    case "withdrawn": return "Withdrawn by its author"
    case "hidden": return "Hidden by the moderator"
  }
  return ""
}

// every returns every comment of threads, replies included, in order.
export function every(threads) {
  const out = []
  for (const t of threads || []) {
    out.push(t)
    for (const r of t.replies || []) out.push(r)
  }
  return out
}

// WHOLE is the section filter's value for comments on the whole document.
export const WHOLE = "*document"

// sectionOf is the section a thread is about ("" for the whole document).
export function sectionOf(thread) {
  return (thread.anchor && thread.anchor.section) || ""
}

// filterThreads keeps the threads about section (WHOLE: the whole
// document; "" any) of status ("gone": withdrawn or hidden; "" any).
export function filterThreads(threads, {section = "", status = ""} = {}) {
  return (threads || []).filter(t => {
    if (section === WHOLE ? sectionOf(t) !== "" : section && sectionOf(t) !== section) return false
    if (status === "gone") return t.status === "withdrawn" || t.status === "hidden"
    return !status || t.status === status
  })
}

// sortThreads orders threads as the document does: by section (in the
// order given), then paragraph (in the section's order), then position
// in the text, then time; the whole document's last, orphans at the end
// of their section.
export function sortThreads(threads, sectionOrder = [], parasOf = () => []) {
  const secIndex = new Map(sectionOrder.map((id, i) => [id, i]))
  const key = t => {
    const a = t.anchor || {}
    const sec = a.section ? secIndex.get(a.section) ?? sectionOrder.length : sectionOrder.length + 1
    let para = -1, pos = -1
    if (a.section && a.para && a.state !== "orphaned") {
      const i = parasOf(a.section).indexOf(a.para)
      para = i < 0 ? Infinity : i
      pos = a.quote ? a.start || 0 : -1
    } else if (a.state === "orphaned") {
      para = Infinity
    }
    return [sec, para, pos, Date.parse(t.created) || 0]
  }
  const keys = new Map(threads.map(t => [t, key(t)]))
  return [...threads].sort((x, y) => {
    const a = keys.get(x), b = keys.get(y)
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
    return 0
  })
}

// shownInText says whether a thread is marked in the text: open, and
// its anchor found (anchored or fuzzy).
function shownInText(t) {
  const a = t.anchor
  return t.status === "open" && a && a.section && a.para && (a.state === "anchored" || a.state === "fuzzy")
}

// quoteMarks returns the quotes of section's open threads that are found
// in the text: [{id, start, end, version, fuzzy, name}], positions in
// the server's text at version.
export function quoteMarks(threads, section) {
  const out = []
  for (const t of threads || []) {
    const a = t.anchor
    if (!shownInText(t) || a.section !== section || !a.quote) continue
    if (!Number.isInteger(a.start) || !Number.isInteger(a.end) || a.end <= a.start) continue
    out.push({id: t.id, start: a.start, end: a.end, version: a.version, fuzzy: a.state === "fuzzy", name: t.name || ""})
  }
  return out
}

// paraCounts counts the open threads on each paragraph of section (on
// the paragraph or on words of it): a Map of paragraph id → count.
export function paraCounts(threads, section) {
  const m = new Map()
  for (const t of threads || []) {
    if (!shownInText(t) || t.anchor.section !== section) continue
    m.set(t.anchor.para, (m.get(t.anchor.para) || 0) + 1)
  }
  return m
}

// countLabel: "1 comment", "3 comments".
export function countLabel(n, one = "comment", many = one + "s") {
  return n + " " + (n === 1 ? one : many)
}

// newIDs returns the ids of comments (replies included) in threads that
// are not in seen (a Set).
export function newIDs(seen, threads) {
  return every(threads).map(c => c.id).filter(id => !seen.has(id))
}

// announcement is what the live region says of n new comments.
export function announcement(n) {
  if (n <= 0) return ""
  return n === 1 ? "1 new comment" : n + " new comments"
}

// paragraphLines finds the start of each paragraph of a section that has
// comments, given the server's text of it (text, with one id per
// paragraph in paras) and counts (paraCounts): [{para, pos, count}],
// pos in that text.
export function paragraphStarts(text, paras, counts) {
  if (!counts.size) return []
  const spans = paragraphSpans(text)
  const out = []
  for (let i = 0; i < spans.length && i < paras.length; i++) {
    const n = counts.get(paras[i])
    if (n) out.push({para: paras[i], pos: spans[i].start, count: n})
  }
  return out
}

// CommentStore holds a document's comments as the API last said, and
// reloads them when asked, never more than one request at a time.
// Events (on): "change" {threads, added (ids new since the last load;
// none on the first)}, "error" {error}, "loading" {}.
export class CommentStore {
  // opts: url (the API's comments URL), fetch, setTimeout, clearTimeout,
  // now (ms).
  constructor(opts) {
    this.url = opts.url
    this.fetch = opts.fetch || ((...a) => globalThis.fetch(...a))
    this.setTimeout = opts.setTimeout || globalThis.setTimeout.bind(globalThis)
    this.clearTimeout = opts.clearTimeout || globalThis.clearTimeout.bind(globalThis)
    this.now = opts.now || Date.now
    this.threads = []
    this.loaded = false
    this.error = null
    this.seen = new Set()
    this.listeners = new Map()
    this.timer = null
    this.deadline = 0 // the latest the waiting reload may start (ms)
    this.inflight = null // the request under way (a promise)
    this.again = false // asked again while a request was under way
    this.stopped = false
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

  // refresh asks for a reload delay ms from now: asked again before
  // then, the reload waits for the latest ask's delay (so a burst of
  // changes makes one request), but never beyond the maxWait of any ask
  // still waiting, so a stream of changes still shows within maxWait.
  refresh(delay = 300, maxWait = 5000) {
    if (this.stopped) return
    const now = this.now()
    const deadline = now + Math.max(delay, maxWait)
    this.deadline = this.timer == null ? deadline : Math.min(this.deadline, deadline)
    const due = Math.min(this.deadline, now + delay)
    if (this.timer != null) this.clearTimeout(this.timer)
    this.timer = this.setTimeout(() => {
      this.timer = null
      this.load()
    }, Math.max(0, due - now))
  }

  // load reloads the comments now (after the request under way, if any)
  // and resolves when they are loaded or have failed.
  load() {
    if (this.stopped) return Promise.resolve()
    if (this.timer != null) {
      this.clearTimeout(this.timer)
      this.timer = null
    }
    if (this.inflight) {
      this.again = true
      return this.inflight
    }
    this.emit("loading", {})
    this.inflight = this.request().finally(() => {
      this.inflight = null
      if (this.again && !this.stopped) {
        this.again = false
        return this.load()
      }
    })
    return this.inflight
  }

  async request() {
    let threads
    try {
      const resp = await this.fetch(this.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      const data = await resp.json().catch(() => null)
      if (!resp.ok) throw new Error(data && data.error && data.error.message ? data.error.message : "the server answered " + resp.status)
      if (!data || !Array.isArray(data.comments)) throw new Error("the server's answer has no comments")
      threads = data.comments
    } catch (error) {
      this.error = error
      this.emit("error", {error})
      return
    }
    if (this.stopped) return
    const added = this.loaded ? newIDs(this.seen, threads) : []
    for (const c of every(threads)) this.seen.add(c.id)
    this.threads = threads
    this.loaded = true
    this.error = null
    this.emit("change", {threads, added})
  }

  // sections returns the ids of the sections that have threads.
  sections() {
    return new Set(this.threads.map(sectionOf).filter(Boolean))
  }

  stop() {
    this.stopped = true
    if (this.timer != null) this.clearTimeout(this.timer)
    this.timer = null
  }
}
