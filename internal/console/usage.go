package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart/internal/aijob"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/refusal"
)

// The usage page: the organization's AI jobs and tokens per day against
// its monthly budget, its rate-limit refusals per day and by tier, and the
// kill switch's history, drawn as SVG on the server (no script, no
// third-party chart service).

// usageDays is the window of the usage page.
const usageDays = 30

// barChart is an SVG bar chart laid out on the server: the template only
// writes the numbers.
type barChart struct {
	Title       string
	Width       int
	Height      int
	Bars        []bar
	Max         int64
	Limit       *chartLine // a horizontal line (e.g. the daily share of the budget), nil for none
	FirstLabel  string
	LastLabel   string
	Description string // the chart's text alternative
}

type bar struct {
	X, Y, W, H int
	Label      string // the tooltip: "2026-12-06: 3"
}

type chartLine struct {
	Y     int
	Label string
}

const (
	chartW, chartH = 600, 160
	chartTop       = 10
)

// newBarChart lays out one bar per value; limit (0: none) is drawn as a
// line and counts towards the scale.
func newBarChart(title, unit string, days []time.Time, values []int64, limit int64, limitLabel string) barChart {
	c := barChart{Title: title, Width: chartW, Height: chartH + 20}
	for _, v := range values {
		c.Max = max(c.Max, v)
	}
	scale := max(c.Max, limit, 1)
	slot := chartW / max(len(values), 1)
	var total int64
	for i, v := range values {
		h := int(v * int64(chartH-chartTop) / scale)
		if v > 0 && h == 0 {
			h = 1
		}
		c.Bars = append(c.Bars, bar{X: i*slot + 1, Y: chartH - h, W: max(slot-2, 1), H: h,
			Label: days[i].Format(time.DateOnly) + ": " + strconv.FormatInt(v, 10) + " " + unit})
		total += v
	}
	if limit > 0 {
		c.Limit = &chartLine{Y: chartH - int(limit*int64(chartH-chartTop)/scale), Label: limitLabel}
	}
	if len(days) > 0 {
		c.FirstLabel, c.LastLabel = days[0].Format("Jan 2"), days[len(days)-1].Format("Jan 2")
	}
	c.Description = title + ": " + strconv.FormatInt(total, 10) + " " + unit + " over " + strconv.Itoa(len(values)) +
		" days, at most " + strconv.FormatInt(c.Max, 10) + " in a day."
	return c
}

type usageData struct {
	Jobs, Tokens barChart
	Budget       rampart.TokenBudget
	// UsedPercent is this month's used and reserved tokens as a share of
	// the budget (0 to 100; 0 without a budget).
	UsedPercent int
	Switches    []audit.Stored
	Refused     int
	// RateLimited is the organization's rate-limit refusals (429s of its
	// authenticated requests) per day; RateLimitTiers their totals by tier.
	RateLimited    barChart
	RateLimitTiers []refusal.TierTotal
	RateLimitTotal int64
}

// usagePage is for admins (aijob.Usage and aijob.Budget check).
func (s adminPages) usagePage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	now := time.Now().UTC()
	days, err := aijob.Usage(r.Context(), s.store, c, usageDays, now)
	if err != nil {
		return err
	}
	budget, err := aijob.Budget(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d := usageData{Budget: budget}
	var when []time.Time
	var jobs, tokens []int64
	for _, u := range days {
		when = append(when, u.Day)
		jobs = append(jobs, int64(u.Jobs))
		tokens = append(tokens, u.Tokens)
		d.Refused += u.Refused
	}
	var daily int64
	label := ""
	if budget.MonthlyTokens != nil {
		daily = *budget.MonthlyTokens / 30
		label = "a 30th of the monthly budget"
		d.UsedPercent = int(min(100, (budget.UsedTokens+budget.ReservedTokens)*100/max(*budget.MonthlyTokens, 1)))
	}
	d.Jobs = newBarChart("AI jobs per day", "jobs", when, jobs, 0, "")
	d.Tokens = newBarChart("Tokens per day", "tokens", when, tokens, daily, label)
	refused, err := refusal.PerDay(r.Context(), s.store, c, usageDays, now)
	if err != nil {
		return err
	}
	var rdays []time.Time
	var rcounts []int64
	for _, day := range refused.Days {
		rdays = append(rdays, day.Day)
		rcounts = append(rcounts, day.Refusals)
	}
	d.RateLimited = newBarChart("Rate-limit refusals per day", "refusals", rdays, rcounts, 0, "")
	d.RateLimitTiers, d.RateLimitTotal = refused.Tiers, refused.Total
	if d.Switches, err = s.killSwitchHistory(r.Context(), c, 20); err != nil {
		return err
	}
	return s.render(w, r, c, http.StatusOK, "usage", view{Title: "Usage", Section: "usage", Data: d})
}
