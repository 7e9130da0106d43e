// Package guard is the only way untrusted text (a brief, a title, a client
// name) reaches a model prompt. Guard.Inspect turns a raw string into a Text
// and a Verdict.
//
// What a Text guarantees:
//
//   - Normalised: valid UTF-8 in NFKC; no control characters but '\n' and
//     '\t' (every line ending becomes '\n'); no zero-width, bidi-control,
//     tag or other invisible characters; at most two blank lines in a row;
//     no trailing spaces.
//   - Capped: at most Options.MaxRunes runes of content (Verdict.Truncated
//     says when text was cut).
//   - Fenced as data: the content sits between exactly one opening and one
//     closing fence, and holds no '<' or '>' (each is replaced with its
//     fullwidth form, ＜ or ＞), so it can neither close the fence nor open
//     another. LABEL is a lower-case identifier, so it cannot break out of
//     its attribute.
//
// Fenced is:
//
//	<untrusted_data source="LABEL">
//	content
//	</untrusted_data>
//
// The Verdict scores the text against five rules (instruction_override,
// role_play_system, delimiter_spoof, exfiltration, encoded_payload), each
// matched rule one Finding, and with a learned linear detector whose
// weights are embedded (Model; a "model" Finding when it counts). Score
// combines the rules' sum and the model's points (decision 0014), capped at
// 100, and Blocked is Score >= Options.Threshold. Text smuggled in tag
// characters or variation selectors, encoded in base64, hex, escapes or
// rot13, or split by markup is recovered and scanned too. Inspect returns a Text even when the
// verdict is Blocked: refusing the job or routing it to human review is the
// caller's decision (docs/ai-guard.md). Detection is a heuristic that raises
// the cost of an attack; the fence, the constant system prompts and the
// review of every AI output are what contain one that gets through.
//
// # Evidence
//
// Evaluate scores a guard on labelled texts (`rampart guard eval`), and
// EmbeddedScorecard on the evaluation sets embedded in the binary, so a
// running install (the trust report) can show its own guard's recall and
// false-positive rate.
//
// # The compile-time property
//
// Text's fields are unexported, so no other package can make a Text that
// skipped the guard: a string cannot be passed where internal/llm wants a
// guard.Text, converted to one, or assembled as a composite literal — each
// is a compile error (TestTextCannotBeForged type-checks exactly these). The
// zero Text compiles but is not Valid; code that builds a prompt must check
// Valid and refuse the zero Text. Only package unsafe or reflection could
// forge a Text, which is why neither belongs in the AI path.
package guard
