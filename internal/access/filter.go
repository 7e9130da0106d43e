package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// The sensitive-key rules below are the one declaration of what the output
// filter (layer 3) removes for roles without full cost access. A key is
// split into words — at '_', '-', spaces and any other non-alphanumeric
// rune, and at camelCase boundaries ("unitRate" → unit, rate;
// "MSRPValue" → msrp, value) — and lower-cased. It is sensitive when:
//
//   - the words joined without separators contain a sensitive part
//     ("unitCost", "Unit-Cost", "LEAD TIME", "leadTimeDays", "VendorQuote",
//     "leaddays" are all caught);
//   - one of its words is a sensitive word ("day_rate", "grand_total",
//     "booking_fee", "eta_date", "data_source", "delivery_weeks");
//   - one of its words ends with a sensitive word suffix ("dayrate",
//     "grandtotal", "bookingfee");
//   - one of its words starts with a sensitive word prefix ("sourced_from",
//     "delivered_at");
//   - it is exactly a sensitive name ("lead").
//
// The rules prefer removing too much to leaking: "costume" (cost),
// "frame_rate" and "rate_limit" (rate), "accurate" and "corporate" (…rate),
// "coffee" (…fee), "open_source" (source), "delivery_address" (delivery)
// and a pagination "total" are all removed for those roles. Name such
// fields differently ("count", "fps") if a filtered role must see them.
// "rated_power", "resource", "beta", "metadata", "feedback" and
// "team_lead" are kept: their words are not sensitive.
var (
	// sensitiveKeyParts are removed wherever they occur in the key with
	// separators removed.
	sensitiveKeyParts = []string{
		"cost", "price", "margin", "markup", "amount", "subtotal", "msrp", "rate_card", // cost
		"sourcing", "supplier", "vendor", "quote", "manufacturer", // sourcing
		"lead_time", "lead_day", "lead_week", "lead_month", "lead_hour", // lead time
	}
	// sensitiveKeyWords are removed when they are one of the key's words.
	sensitiveKeyWords = []string{"rate", "rates", "total", "totals", "fee", "fees", "source", "sources", "eta", "delivery", "deliveries"}
	// sensitiveKeyWordSuffixes are removed when one of the key's words ends with them.
	sensitiveKeyWordSuffixes = []string{"rate", "rates", "total", "totals", "fee", "fees"}
	// sensitiveKeyWordPrefixes are removed when one of the key's words starts with them.
	sensitiveKeyWordPrefixes = []string{"sourced", "deliver"}
	// sensitiveKeyNames are removed when they are the whole key.
	sensitiveKeyNames = []string{"lead"}
)

// IsSensitiveKey reports whether an object key or column name carries cost,
// sourcing or lead-time information that only roles with full cost access
// may see. It errs on the side of removal (see the rules above).
func IsSensitiveKey(key string) bool {
	words := keyWords(key)
	if len(words) == 0 {
		return false
	}
	squashed := strings.Join(words, "")
	for _, p := range sensitiveKeyParts {
		if strings.Contains(squashed, strings.ReplaceAll(p, "_", "")) {
			return true
		}
	}
	for _, n := range sensitiveKeyNames {
		if squashed == n {
			return true
		}
	}
	for _, w := range words {
		if slices.Contains(sensitiveKeyWords, w) {
			return true
		}
		for _, suf := range sensitiveKeyWordSuffixes {
			if strings.HasSuffix(w, suf) {
				return true
			}
		}
		for _, pre := range sensitiveKeyWordPrefixes {
			if strings.HasPrefix(w, pre) {
				return true
			}
		}
	}
	return false
}

// keyWords splits a key into lower-case words at every rune that is not a
// letter or digit and at camelCase boundaries: a lower-case letter or
// digit followed by an upper-case one ("unitRate"), and the last capital of
// a run followed by a lower-case letter ("MSRPValue" → MSRP, Value).
func keyWords(key string) []string {
	rs := []rune(key)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// describeSensitiveKeys states the rules for docs/permissions.md.
func describeSensitiveKeys() string {
	return fmt.Sprintf("each object key or column that — split into lower-case words at separators and camelCase boundaries — "+
		"contains, with separators removed, %s; has a word that is %s; has a word ending in %s; has a word starting with %s; "+
		"or is exactly %s. The rules prefer removing too much: `costume`, `frame_rate`, `corporate`, `open_source` and a pagination `total` "+
		"are removed too",
		codeList(sensitiveKeyParts), codeList(sensitiveKeyWords), codeList(sensitiveKeyWordSuffixes), codeList(sensitiveKeyWordPrefixes),
		codeList(sensitiveKeyNames))
}

// HasFullCostAccess reports whether role r may see cost, sourcing and
// lead-time fields: the ActionViewCost cell of the matrix is "all". False
// for an unknown role.
func HasFullCostAccess(r rampart.Role) bool {
	return ScopeFor(r, ActionViewCost) == ScopeAll
}

// FilterForRole applies the output filter for role r to v. For a role with
// full cost access it returns v unchanged. Otherwise it round-trips v
// through JSON (numbers kept exact as json.Number) and removes every
// sensitive key (IsSensitiveKey) from every object at any depth, including
// objects inside arrays; the result is a generic value of map[string]any,
// []any, string, json.Number, bool and nil, ready to encode. The filter
// works on the JSON form, so it sees exactly the keys a client would see.
//
// It returns a *rampart.Error of KindInternal when v cannot be encoded.
func FilterForRole(r rampart.Role, v any) (any, error) {
	if HasFullCostAccess(r) {
		return v, nil
	}
	const op = "access.FilterForRole"
	b, err := json.Marshal(v)
	if err != nil {
		return nil, rampart.Wrap(op, rampart.KindInternal, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return nil, rampart.Wrap(op, rampart.KindInternal, err)
	}
	stripSensitive(g)
	return g, nil
}

// stripSensitive deletes sensitive keys in place from the generic value g.
func stripSensitive(g any) {
	switch g := g.(type) {
	case map[string]any:
		for k, v := range g {
			if IsSensitiveKey(k) {
				delete(g, k)
				continue
			}
			stripSensitive(v)
		}
	case []any:
		for _, v := range g {
			stripSensitive(v)
		}
	}
}

// EncodeJSON writes v as JSON to w after the output filter for role r. It
// is the encoder every JSON response path uses, so a role without full cost
// access cannot receive a sensitive field by way of a handler that forgot
// to filter.
func EncodeJSON(w io.Writer, r rampart.Role, v any) error {
	f, err := FilterForRole(r, v)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(f); err != nil {
		return rampart.Wrap("access.EncodeJSON", rampart.KindInternal, err)
	}
	return nil
}

// FilterTable applies the output filter for role r to a table (CSV export,
// console listing): columns whose header is sensitive are dropped from the
// header and from every row. Cells beyond the header's width have no name
// and are dropped too. For a role with full cost access header and rows are
// returned unchanged; otherwise the result is a new table and the inputs
// are not modified.
func FilterTable(r rampart.Role, header []string, rows [][]string) ([]string, [][]string) {
	if HasFullCostAccess(r) {
		return header, rows
	}
	keep := make([]int, 0, len(header))
	outHeader := make([]string, 0, len(header))
	for i, h := range header {
		if !IsSensitiveKey(h) {
			keep = append(keep, i)
			outHeader = append(outHeader, h)
		}
	}
	outRows := make([][]string, len(rows))
	for j, row := range rows {
		out := make([]string, 0, len(keep))
		for _, i := range keep {
			if i < len(row) {
				out = append(out, row[i])
			}
		}
		outRows[j] = out
	}
	return outHeader, outRows
}
