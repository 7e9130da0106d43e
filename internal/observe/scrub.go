package observe

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Redaction placeholders. They are constants so tests and dashboards can
// recognise them.
const (
	redacted      = "[redacted]"
	redactedEmail = "[email]"
)

var (
	// Session cookies: v1.<kid>.<payload>.<mac> (base64url, no padding).
	// Matched before JWTs, which would otherwise eat three of its segments.
	sessionRE = regexp.MustCompile(`\bv1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
	// JWTs: a JSON header always base64url-encodes to "eyJ"; any other three
	// long base64url segments joined by dots are treated alike.
	jwtRE = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|\b[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)
	// "Bearer <credential>" and "Basic <credential>", as in an Authorization
	// header value that ended up in a message.
	bearerRE = regexp.MustCompile(`\b((?i:bearer)|Basic)(\s+)[A-Za-z0-9._~+/=-]{16,}`)
	// Email addresses, also percent-encoded inside URLs.
	emailRE = regexp.MustCompile(`(?i)[a-z0-9._%+-]+(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`)
	// key=value pairs (URL queries, form bodies, log messages) whose key
	// names a credential: the value goes, the key stays for debugging.
	queryRE = regexp.MustCompile(`(?i)\b([a-z0-9_.-]*(?:token|code|key|secret|password|passwd|signature|sig|session|email|auth)[a-z0-9_.-]*)(=|%3D)([^&\s#"'<>;,]+)`)
	// Long base64url runs: magic-link tokens (43 chars), API keys and other
	// random secrets. UUIDs are spared (see scrubLongSecret).
	longRE = regexp.MustCompile(`[A-Za-z0-9_-]{32,}`)
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// A SHA-256 MAC in lower-case hex.
	macHexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// publicLogValuer is implemented by values that are published on purpose
// and must survive scrubbing, such as an audit chain's head MAC
// (audit.PublicMAC): every seal logs it so that it can be kept outside
// the database and compared later (docs/audit.md, anchoring). A MAC
// reveals nothing about its key. Only a value shaped like a SHA-256 MAC
// (64 lower-case hex digits) is kept as it is; anything else is scrubbed
// as usual, and an attribute whose key is sensitive is redacted whatever
// its value's type.
type publicLogValuer interface{ PublicLogValue() string }

// scrubString removes every secret-looking substring from s.
func scrubString(s string) string {
	if s == "" {
		return s
	}
	s = sessionRE.ReplaceAllString(s, redacted)
	s = jwtRE.ReplaceAllString(s, redacted)
	s = bearerRE.ReplaceAllString(s, "${1}${2}"+redacted)
	s = emailRE.ReplaceAllString(s, redactedEmail)
	s = queryRE.ReplaceAllString(s, "${1}${2}"+redacted)
	s = longRE.ReplaceAllStringFunc(s, scrubLongSecret)
	return s
}

// scrubLongSecret decides whether a run of 32+ base64url characters is a
// secret. UUIDs (organization, user and object ids) must survive: logs
// without them are useless. Runs made of one character class only (a long
// identifier in letters, a long number) are not random secrets.
func scrubLongSecret(s string) string {
	if uuidRE.MatchString(s) {
		return s
	}
	var upper, lower, digit bool
	for _, c := range s {
		switch {
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsDigit(c):
			digit = true
		}
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit} {
		if b {
			classes++
		}
	}
	if classes < 2 {
		return s
	}
	return redacted
}

// sensitiveSubstrings mark a key as sensitive wherever they appear in it:
// "access_token", "X-Csrf-Token", "user_email", "system_prompt".
var sensitiveSubstrings = []string{
	"password", "passwd", "token", "secret", "cookie", "authorization",
	"prompt", "completion", "email", "apikey", "api_key", "api-key",
	"private_key", "credential", "dsn",
}

// costWords mark a key as a cost when they are one of its words
// ("unit_cost", "totalCost", "price_cents", "fee"). "rate" counts only as
// the last word ("hourly_rate", "rate") so "rate_limit_tier" survives.
var costWords = map[string]bool{
	"cost": true, "costs": true, "price": true, "prices": true, "pricing": true,
	"margin": true, "margins": true, "fee": true, "fees": true, "amount": true,
	"amounts": true,
}

// SensitiveKey reports whether an attribute, header, tag or field named key
// must have its value replaced by "[redacted]" whatever that value is.
func SensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveSubstrings {
		if strings.Contains(k, s) {
			return true
		}
	}
	words := splitWords(key)
	for i, w := range words {
		if costWords[w] {
			return true
		}
		if w == "rate" && i == len(words)-1 {
			return true
		}
	}
	return false
}

// splitWords splits snake_case, kebab-case, dotted and camelCase keys into
// lower-case words.
func splitWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
		case unicode.IsUpper(c) && i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))):
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return words
}

// queryKeysSensitive are URL query keys whose values are always dropped,
// in addition to every key SensitiveKey flags.
var queryKeysSensitive = map[string]bool{"token": true, "code": true, "key": true, "secret": true, "sig": true, "signature": true, "state": true}

// scrubQuery redacts the values of sensitive keys in a raw query string and
// scrubs the rest.
func scrubQuery(raw string) string {
	if raw == "" {
		return raw
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return scrubString(raw)
	}
	for k, vs := range vals {
		for i, v := range vs {
			if queryKeysSensitive[strings.ToLower(k)] || SensitiveKey(k) {
				vs[i] = redacted
			} else {
				vs[i] = scrubString(v)
			}
		}
	}
	// Encode escapes the brackets; readability matters less than safety.
	return vals.Encode()
}

// scrubURL scrubs a URL's query and user info, then the whole text.
func scrubURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return scrubString(s)
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	u.RawQuery = scrubQuery(u.RawQuery)
	u.Fragment, u.RawFragment = scrubString(u.Fragment), ""
	return scrubString(u.String())
}

// scrubAny scrubs an arbitrary value: strings are scrubbed, maps and slices
// walked (values under sensitive keys replaced), and anything else is
// flattened through JSON first so struct fields are walked too.
func scrubAny(v any) any {
	switch x := v.(type) {
	case publicLogValuer:
		p := x.PublicLogValue()
		if macHexRE.MatchString(p) {
			return p
		}
		return scrubString(p)
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return x
	case string:
		return scrubString(x)
	case []byte:
		return scrubString(string(x))
	case error:
		return scrubString(x.Error())
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if SensitiveKey(k) {
				out[k] = redacted
			} else {
				out[k] = scrubAny(e)
			}
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			if SensitiveKey(k) {
				out[k] = redacted
			} else {
				out[k] = scrubString(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubAny(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = scrubString(e)
		}
		return out
	case fmt.Stringer:
		if _, isJSON := v.(json.Marshaler); !isJSON {
			return scrubString(x.String())
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return scrubString(fmt.Sprint(v))
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return scrubString(string(b))
	}
	return scrubAny(generic)
}

// scrubMap scrubs a map of arbitrary values in place and returns it.
func scrubMap(m map[string]any) map[string]any { return scrubEntries(m, any(redacted), scrubAny) }

// scrubEntries redacts the values of sensitive keys and cleans the rest,
// in place.
func scrubEntries[V any](m map[string]V, redact V, clean func(V) V) map[string]V {
	for k, v := range m {
		if SensitiveKey(k) {
			m[k] = redact
		} else {
			m[k] = clean(v)
		}
	}
	return m
}
