// Words selected on the reading view, made into the quote of a comment:
// pure helpers of reading.js, which node's tests drive.

// MAX_QUOTE is the longest quote offered, in UTF-16 units (the server's
// comments.MaxQuoteUnits): a longer selection is a comment on the
// paragraph.
export const MAX_QUOTE = 1000

// normalizeQuote turns the text of a selection into a quote: trimmed,
// each run of white space (line breaks of the rendered page among them)
// one space. "" when nothing is left.
export function normalizeQuote(text) {
  return String(text || "").replace(/\s+/g, " ").trim()
}

// quoteHref adds quote to the link of a paragraph's comment page
// (/d/{id}/comment?section=…&para=…), keeping its other parameters. base
// is the page's URL, against which href is read. It returns a path and
// query on the same site, or "" when href is not such a link.
export function quoteHref(href, quote, base) {
  let u
  try { u = new URL(href, base) } catch { return "" }
  const b = new URL(base)
  if (u.origin !== b.origin || !/^\/d\/[^/]+\/comment$/.test(u.pathname) || !u.searchParams.get("para")) return ""
  u.searchParams.set("quote", quote)
  return u.pathname + u.search
}

// paraOfLink returns the section and paragraph a comment link names, or
// null.
export function paraOfLink(href, base) {
  let u
  try { u = new URL(href, base) } catch { return null }
  const para = u.searchParams.get("para"), section = u.searchParams.get("section")
  return para && section ? {section, para} : null
}
