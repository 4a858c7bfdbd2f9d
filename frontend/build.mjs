// Bundles the editing app (app.js, app.css) and the reading view's script
// (reading.js) into dist/, which is committed and embedded in the Go
// binary, so running bpfdraft needs no npm.
//
//   node build.mjs           rebuild dist/
//   node build.mjs --check   rebuild into a temporary directory and fail
//                            when the committed dist/ differs from it
//
// The output depends only on the sources and the locked package versions:
// fixed file names, no source maps, no paths or dates in the output.

import * as esbuild from "esbuild"
import {mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync} from "node:fs"
import {tmpdir} from "node:os"
import {join, dirname} from "node:path"
import {fileURLToPath} from "node:url"

const root = dirname(fileURLToPath(import.meta.url))
const check = process.argv.includes("--check")

// CodeMirror injects its styles with style-mod, which on a document uses a
// <style> element; the server's Content-Security-Policy (style-src 'self',
// no 'unsafe-inline') blocks that, leaving editors without their base
// theme and highlighting. Constructed stylesheets (adoptedStyleSheets) are
// not subject to style-src, and style-mod already uses them for shadow
// roots: this makes it use them for the document too. Adopted sheets come
// after the page's own in the cascade, so app.css overrides CodeMirror's
// rules with more specific selectors (#sections ...).
const cspStyles = {
  name: "csp-styles",
  setup(b) {
    b.onLoad({filter: /[\\/]style-mod[\\/]src[\\/]style-mod\.js$/}, args => {
      const src = readFileSync(args.path, "utf8")
      const from = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {"
      if (!src.includes(from)) throw new Error("style-mod changed: cannot make it use adoptedStyleSheets; see build.mjs")
      return {contents: src.replace(from, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {"), loader: "js"}
    })
  },
}

async function build(outdir) {
  mkdirSync(outdir, {recursive: true})
  const common = {
    absWorkingDir: root,
    bundle: true,
    minify: true,
    outdir,
    entryNames: "[name]",
    legalComments: "eof",
    logLevel: "warning",
    sourcemap: false,
  }
  await esbuild.build({...common, entryPoints: ["src/app.js"], format: "esm", plugins: [cspStyles], target: ["es2020", "chrome90", "firefox90", "safari15"]})
  await esbuild.build({...common, entryPoints: ["src/app.css"], target: ["chrome90", "firefox90", "safari15"]})
  // The reading view's script (/d/{id}): a classic script, loaded with
  // defer, for progressive enhancement.
  await esbuild.build({...common, entryPoints: ["src/reading.js"], format: "iife", target: ["es2020", "chrome90", "firefox90", "safari15"]})
}

if (!check) {
  const dist = join(root, "dist")
  rmSync(dist, {recursive: true, force: true})
  await build(dist)
  for (const f of readdirSync(dist).sort()) console.log("dist/" + f, readFileSync(join(dist, f)).length, "bytes")
} else {
  const tmp = mkdtempSync(join(tmpdir(), "bpfdraft-bundle-"))
  try {
    await build(tmp)
    const dist = join(root, "dist")
    let committed = []
    try { committed = readdirSync(dist).sort() } catch {}
    const fresh = readdirSync(tmp).sort()
    const problems = []
    for (const f of fresh) {
      if (!committed.includes(f)) problems.push(`dist/${f} is missing`)
      else if (!readFileSync(join(dist, f)).equals(readFileSync(join(tmp, f)))) problems.push(`dist/${f} differs from a fresh build`)
    }
    for (const f of committed) if (!fresh.includes(f)) problems.push(`dist/${f} is not produced by the build`)
    if (problems.length) {
      console.error("frontend/dist is stale:\n  " + problems.join("\n  ") +
        "\nRun `npm run build --prefix frontend` and commit frontend/dist.")
      process.exit(1)
    }
    console.log("frontend/dist matches the sources")
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
