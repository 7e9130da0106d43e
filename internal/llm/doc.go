// Package llm is the single choke point between Rampart and a language model.
// It is the only package of the module that imports a model SDK (Anthropic's
// and OpenAI's official Go SDKs); everything else talks to a model through
// [Provider].
//
// What it guarantees:
//
//   - Untrusted content reaches a prompt only as [guard.Text], which only the
//     guard can make. The user message is built from the guard's fenced texts
//     and nothing else; the system prompt is one of the [Prompt] values this
//     package declares, which never contain user text. A zero Prompt or an
//     invalid (zero) guard.Text is refused before anything is sent.
//   - The Anthropic client is built with the SDK's production base URL, no
//     base-URL option, no beta or training headers, and with the SDK's
//     environment defaults switched off, so neither ANTHROPIC_BASE_URL nor
//     ANTHROPIC_CUSTOM_HEADERS can redirect or decorate a request. The OpenAI
//     client's destination is the configured base URL or the SDK default,
//     never OPENAI_BASE_URL.
//   - Prompt and completion text are never logged, traced or put in an error:
//     provider errors carry the HTTP status, the provider's error type and the
//     request id only ([ProviderError]).
//   - Cancelling the context of [Provider.Stream] cancels the HTTP request at
//     once; no delta is delivered after the cancellation is seen, and the
//     returned error wraps ctx.Err().
//
// The offline provider, the default, needs no network and no key: it turns
// the brief into a deterministic, structured proposal, so the demo and the
// tests run anywhere.
//
// Errors are *rampart.Error values: KindInvalid for a bad configuration or a
// refused request, KindUnavailable for a provider failure, a timeout or a
// cancellation. An error returned by the caller's onDelta callback comes
// back wrapped with fmt.Errorf, so errors.Is, errors.As and
// rampart.ErrorKind see the callback's own error.
package llm
