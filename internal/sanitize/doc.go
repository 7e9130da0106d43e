// Package sanitize turns model output (Markdown) into HTML that is safe to
// store and to render. It is the only maker of an HTML value, so code that
// takes sanitize.HTML (the store's AI-output column, the page renderer)
// accepts nothing that skipped it.
//
// Two layers, each enough on its own for the common attacks:
//
//   - goldmark renders CommonMark plus GFM tables and strikethrough, without
//     html.WithUnsafe: raw HTML blocks and inline HTML are dropped (rendered
//     as a comment the policy then removes) and javascript:, vbscript:,
//     file: and data: link targets are emptied.
//   - a bluemonday policy built from nothing (not UGCPolicy) keeps only an
//     allow-list of structural elements and https or mailto links; every
//     other element, every attribute but href (on a) and align (on th and
//     td, left|center|right), every comment and every other URL scheme or
//     relative URL is removed. Links get rel="nofollow noreferrer", and
//     https links also target="_blank" with rel "noopener".
//
// The policy's output is then parsed as the children of a <div>, as a
// browser would parse it, and written out again, so every output is a
// balanced fragment: each element it opens is closed, in order, and stray
// end tags are gone. Stored HTML that left an <a>, a <table> or a
// <blockquote> open can no longer swallow the page markup that follows it.
// If balancing would make the HTML more than four times larger (misnested
// formatting elements are reopened in every following block), only the
// text is kept.
//
// Finally the names of script URL schemes that survive as text ("write
// javascript: in the field") have their colon written as the character
// reference "&#58;": the page shows the same text, and the HTML source holds
// no "javascript:" for a later careless copy into an attribute to revive.
//
// Stored HTML is run through the same policy again when it is rendered
// (Resanitize), and a streamed completion is held by a StreamGate that shows
// nothing until the whole text is in and sanitised: partial output is never
// displayed (fail closed).
package sanitize
