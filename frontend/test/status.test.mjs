import {test} from "node:test"
import assert from "node:assert/strict"
import {Text} from "@codemirror/state"
import {isEmptyText, sectionStatus} from "../src/status.js"

test("isEmptyText: whitespace and HTML comments are empty", () => {
  const cases = [
    ["", true],
    ["   \n\t\n", true],
    ["<!-- What is the issue? -->", true],
    ["<!-- one -->\n\n  <!-- two\nlines -->\n", true],
    ["<!-- a --><!-- b -->", true],
    ["<!-- unclosed\n\nstill a comment", true],
    ["x", false],
    ["<!-- c --> text", false],
    ["<!-- c -->\n\nSome text", false],
    ["# Heading", false],
    ["-->", false],
    ["😀", false],
    ["漢字", false],
  ]
  for (const [text, want] of cases) {
    assert.equal(isEmptyText(text), want, JSON.stringify(text))
    assert.equal(isEmptyText(Text.of(text.split("\n"))), want, "Text " + JSON.stringify(text))
  }
})

test("sectionStatus: required empty is an error, recommended and custom advisories", () => {
  assert.equal(sectionStatus("required", true).status, "error")
  assert.equal(sectionStatus("recommended", true).status, "advisory")
  assert.equal(sectionStatus("custom", true).status, "advisory")
  for (const k of ["required", "recommended", "custom"]) assert.equal(sectionStatus(k, false).status, "ok")
})
