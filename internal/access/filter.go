package access

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// sensitiveKeyParts and sensitiveKeyNames are the one declaration of what
// the output filter (layer 3) removes for roles without full cost access.
// Keys are compared after normalising: lower case, '-' and ' ' become '_',
// and the parts are also matched with every '_' removed, so "unitCost",
// "Unit-Cost", "LEAD TIME", "leadTimeDays" and "VendorQuote" are all caught.
var (
	// sensitiveKeyParts are removed wherever they occur inside a key.
	sensitiveKeyParts = []string{"cost", "price", "margin", "markup", "sourcing", "supplier", "vendor_quote", "lead_time", "leadtime"}
	// sensitiveKeyNames are removed when they are the whole key.
	sensitiveKeyNames = []string{"rate", "rates", "sourced_from"}
)

// IsSensitiveKey reports whether an object key or column name carries cost,
// sourcing or lead-time information that only roles with full cost access
// may see. It errs on the side of removal: "costume" matches "cost".
func IsSensitiveKey(key string) bool {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(key))
	squashed := strings.ReplaceAll(norm, "_", "")
	for _, p := range sensitiveKeyParts {
		if strings.Contains(norm, p) || strings.Contains(squashed, strings.ReplaceAll(p, "_", "")) {
			return true
		}
	}
	for _, n := range sensitiveKeyNames {
		if norm == n || squashed == strings.ReplaceAll(n, "_", "") {
			return true
		}
	}
	return false
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
