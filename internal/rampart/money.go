package rampart

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
)

// currencyDigits maps each active ISO 4217 currency code to its number of
// minor-unit digits. Funds codes, precious metals and testing codes are
// left out: a bill of materials is priced in money people pay with.
var currencyDigits = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// ValidCurrency reports whether code is an active ISO 4217 currency code.
func ValidCurrency(code string) bool { _, ok := currencyDigits[code]; return ok }

// CurrencyDigits is the number of minor-unit digits of a valid currency.
func CurrencyDigits(code string) int { return currencyDigits[code] }

// MaxUnitCostMinor bounds a unit cost: 10^12 minor units (ten billion
// dollars in cents). Larger is a typo, and the bound keeps every product
// of a unit cost and a quantity exact.
const MaxUnitCostMinor = 1_000_000_000_000

// Money is an exact amount in one currency, held in minor units (cents).
// It marshals as {"amount":"12.50","currency":"EUR"}: the amount is a
// decimal string with exactly the currency's minor digits, so no client
// parses it into a binary float.
type Money struct {
	Minor    int64
	Currency string
}

// ParseMoney reads a decimal amount ("12", "12.5", "12.50") in currency.
// A negative amount, more decimals than the currency has, a value beyond
// MaxUnitCostMinor or an unknown currency is an error naming field.
func ParseMoney(field, amount, currency string) (Money, error) {
	const op = "rampart.Money"
	if !ValidCurrency(currency) {
		return Money{}, FieldError(op, field+".currency", "%q is not an ISO 4217 currency code (e.g. EUR, USD, GBP)", currency)
	}
	digits := currencyDigits[currency]
	whole, frac, hasFrac := strings.Cut(amount, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) || len(whole) > 15 {
		return Money{}, FieldError(op, field+".amount", "must be a non-negative decimal such as \"12.50\"")
	}
	if len(frac) > digits {
		return Money{}, FieldError(op, field+".amount", "%s has %d decimal places; at most %d", currency, digits, digits)
	}
	frac += strings.Repeat("0", digits-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n > MaxUnitCostMinor {
		return Money{}, FieldError(op, field+".amount", "must be at most %s", Money{MaxUnitCostMinor, currency}.Amount())
	}
	return Money{Minor: n, Currency: currency}, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Amount is the decimal string of m, with the currency's minor digits.
func (m Money) Amount() string {
	return formatMinor(big.NewInt(m.Minor), currencyDigits[m.Currency])
}

func formatMinor(n *big.Int, digits int) string {
	neg := n.Sign() < 0
	s := new(big.Int).Abs(n).String()
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

type moneyJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// MarshalJSON writes {"amount":"12.50","currency":"EUR"}.
func (m Money) MarshalJSON() ([]byte, error) {
	return json.Marshal(moneyJSON{Amount: m.Amount(), Currency: m.Currency})
}

// Total is an exact sum of amounts in one currency; sums of lines can
// exceed int64, so it is a big.Int of minor units.
type Total struct {
	Minor    *big.Int
	Currency string
}

// MarshalJSON writes {"amount":"1234.50","currency":"EUR"}.
// Amount is the total as a decimal string in its currency's minor units
// ("1234.50").
func (t Total) Amount() string { return formatMinor(t.Minor, currencyDigits[t.Currency]) }

func (t Total) MarshalJSON() ([]byte, error) {
	return json.Marshal(moneyJSON{Amount: formatMinor(t.Minor, currencyDigits[t.Currency]), Currency: t.Currency})
}

// Quantity is a non-negative decimal with up to three decimal places,
// held in thousandths (2.5 is 2500). It marshals as a JSON number.
type Quantity int64

// MaxQuantity is the largest quantity of one line: one million.
const MaxQuantity Quantity = 1_000_000_000

// ParseQuantity reads a positive decimal of at most three decimal places
// and at most one million.
func ParseQuantity(field, s string) (Quantity, error) {
	const op = "rampart.Quantity"
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) || len(whole) > 7 {
		return 0, FieldError(op, field, "must be a positive number such as 4 or 2.5")
	}
	if len(frac) > 3 {
		return 0, FieldError(op, field, "at most 3 decimal places")
	}
	frac += strings.Repeat("0", 3-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 || Quantity(n) > MaxQuantity {
		return 0, FieldError(op, field, "must be greater than 0 and at most 1000000")
	}
	return Quantity(n), nil
}

// String is the quantity as a decimal without trailing zeros ("2.5", "4").
func (q Quantity) String() string {
	s := formatMinor(big.NewInt(int64(q)), 3)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// MarshalJSON writes the quantity as a JSON number.
func (q Quantity) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalJSON reads a JSON number as ParseQuantity does (a stored agent
// proposal, a model's draft): 2.5 is 2500 thousandths, never truncated.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	v, err := ParseQuantity("quantity", strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// Times is the exact cost of q units at m each, rounded half up to the
// currency's minor unit.
func (q Quantity) Times(m Money) Total {
	p := new(big.Int).Mul(big.NewInt(int64(q)), big.NewInt(m.Minor))
	p.Add(p, big.NewInt(500))
	p.Quo(p, big.NewInt(1000))
	return Total{Minor: p, Currency: m.Currency}
}
