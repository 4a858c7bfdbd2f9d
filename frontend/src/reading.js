// The reading view's comments on words (/d/{id}): for a person who may
// comment (the page then has a "Comment on paragraph N" link after each
// paragraph), selecting words inside one paragraph shows a link "Comment
// on these words", which opens the paragraph's comment page with the
// words filled in. Without this script the comment page's field takes
// the words, copied by hand. Loaded as a deferred classic script, under
// a CSP of script-src 'self': no inline script, styles set through the
// CSSOM only.

import {MAX_QUOTE, normalizeQuote, quoteHref, paraOfLink} from "./quote.js"

function start() {
  const base = location.href
  // Each paragraph's comment link, by its section element and paragraph.
  const links = new Map() // section element → Map(para → href)
  for (const a of document.querySelectorAll('.comments .comment-add a[href*="/comment?"]')) {
    const target = paraOfLink(a.getAttribute("href"), base)
    const section = a.closest("section.doc-section")
    if (!target || !section) continue
    if (!links.has(section)) links.set(section, new Map())
    links.get(section).set(target.para, a.getAttribute("href"))
  }
  if (!links.size) return

  const button = document.createElement("a")
  button.id = "comment-on-words"
  button.className = "button comment-on-words"
  button.textContent = "Comment on these words"
  button.hidden = true
  // Set through the CSSOM, which the CSP allows (style attributes it
  // does not): the reading view's stylesheet is not this script's.
  Object.assign(button.style, {position: "absolute", zIndex: "5", color: "#fff", textDecoration: "none", whiteSpace: "nowrap",
    margin: "0", fontSize: "1rem", lineHeight: "1.25", padding: "0.4rem 0.75rem"})
  // Pressing the link must not clear the selection before it is followed.
  button.addEventListener("mousedown", e => e.preventDefault())
  const status = document.createElement("p")
  status.className = "visually-hidden"
  status.setAttribute("role", "status")
  document.body.append(status)

  // blockOf returns the paragraph block (an element with data-para) of a
  // node, or null.
  const blockOf = node => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement)
    return el ? el.closest("[data-para]") : null
  }

  // ends returns the first and last text nodes the range holds some of,
  // ignoring white space between blocks (a paragraph selected with three
  // clicks ends at the start of the next block).
  const ends = range => {
    const root = range.commonAncestorContainer
    if (root.nodeType === 3) return [root, root]
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
    let first = null, last = null
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!range.intersectsNode(n) || !n.data.trim()) continue
      if (n === range.endContainer && range.endOffset === 0) continue
      if (n === range.startContainer && range.startOffset >= n.data.length) continue
      if (!first) first = n
      last = n
    }
    return [first, last]
  }

  // target says what the selection can be commented as: {href, block,
  // section, range}, or null.
  const target = () => {
    const sel = window.getSelection()
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null
    const range = sel.getRangeAt(0)
    const [first, last] = ends(range)
    const a = blockOf(first), b = blockOf(last)
    if (!a || !b || a.dataset.para !== b.dataset.para) return null
    const section = a.closest("section.doc-section")
    if (!section || b.closest("section.doc-section") !== section) return null
    const href = links.get(section)?.get(a.dataset.para)
    const quote = normalizeQuote(sel.toString())
    if (!href || !quote || quote.length > MAX_QUOTE) return null
    const to = quoteHref(href, quote, base)
    if (!to) return null
    // The last block of the paragraph: the link follows it in the
    // order of the page, just before the paragraph's comments.
    let end = b
    while (end.nextElementSibling && end.nextElementSibling.dataset && end.nextElementSibling.dataset.para === b.dataset.para) end = end.nextElementSibling
    return {href: to, end, section, range}
  }

  const hide = () => {
    if (button.hidden) return
    if (document.activeElement === button) return // a keyboard user on their way to it
    button.hidden = true
    button.remove()
  }

  const show = t => {
    const wasHidden = button.hidden
    button.href = t.href
    if (button.previousElementSibling !== t.end || button.parentElement !== t.end.parentElement) t.end.after(button)
    button.hidden = false
    // Above the start of the selection (below it when there is no room),
    // over the text rather than over the paragraph's links; inside the
    // section, which the stylesheet positions.
    const rects = t.range.getClientRects()
    const r = rects.length ? rects[0] : t.range.getBoundingClientRect()
    const parent = button.offsetParent || t.section
    const p = parent.getBoundingClientRect()
    const width = button.offsetWidth, height = button.offsetHeight
    const left = Math.max(0, Math.min(r.left - p.left, p.width - width))
    let top = r.top - p.top - height - 6
    if (r.top - height - 6 < 0) top = (rects.length ? rects[rects.length - 1] : r).bottom - p.top + 6
    button.style.left = Math.round(left) + "px"
    button.style.top = Math.round(top) + "px"
    if (wasHidden) {
      status.textContent = ""
      setTimeout(() => { status.textContent = "A link to comment on the selected words follows the paragraph." }, 50)
    }
  }

  let frame = 0
  const update = () => {
    frame = 0
    const t = target()
    if (t) show(t)
    else hide()
  }
  document.addEventListener("selectionchange", () => {
    if (!frame) frame = requestAnimationFrame(update)
  })
  window.addEventListener("resize", () => { if (!button.hidden && !frame) frame = requestAnimationFrame(update) })
  button.addEventListener("blur", () => setTimeout(() => { if (!target()) hide() }, 0))
  document.addEventListener("keydown", e => {
    if (e.key === "Escape" && !button.hidden) {
      button.blur()
      button.hidden = true
      button.remove()
    }
  })
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start)
else start()
