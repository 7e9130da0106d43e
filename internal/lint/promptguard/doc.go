// Package promptguard is the prompt-guard analyzer: no arbitrary string
// becomes prompt content outside the guard. Untrusted text reaches a model
// only as a guard.Text (the type makes that one path), and the system
// prompts are constants declared by internal/llm. The analyzer holds the
// last stretch, where typed values turn back into strings for the SDK:
//   - a string passed to a model SDK's content sink (a message or text
//     block constructor, a Text or Content field of an SDK type: Sinks)
//     is a constant or a field of a vetted type (llm's prepared request,
//     VettedTypes);
//   - a vetted type's string fields are set only from a Prompt's text or
//     from llm's userMessage, which joins the guard's fenced texts;
//   - an llm.Prompt's text is a constant.
//
// An exception needs a //rampart:prompt-injection-safe <why> comment on
// the line or the line above; one without a reason excuses nothing and
// is reported. With
// -promptguard.list every exception is reported too, so `make lint` can
// list them all for review.
package promptguard
