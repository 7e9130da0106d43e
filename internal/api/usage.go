package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/refusal"
)

// usageAPI is the organization's usage for its admins: the rate-limit
// refusals of its members and tokens per day and tier (internal/refusal).
type usageAPI struct{ *Server }

func (s usageAPI) register(r *edge.Router) {
	r.Authed("GET /api/admin/usage/refusals", s.refusals)
	documentUsage(r)
}

// refusalsDefaultDays is the window without ?days (the console's).
const refusalsDefaultDays = 30

// refusals answers the organization's rate-limit refusals over ?days=1..400
// (default 30) days up to today (UTC).
func (s usageAPI) refusals(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	days := refusalsDefaultDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > refusal.MaxDays {
			return edge.FieldError("days", "must be a whole number from 1 to %d", refusal.MaxDays)
		}
		days = n
	}
	rep, err := refusal.PerDay(r.Context(), s.store, c, days, s.now())
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, refusalsView(rep))
}

type refusalDayView struct {
	Day      string           `json:"day"`
	Refusals int64            `json:"refusals"`
	ByTier   map[string]int64 `json:"by_tier"`
}

type refusalTierView struct {
	Tier     string `json:"tier"`
	Refusals int64  `json:"refusals"`
}

type refusalsReport struct {
	Days     int               `json:"days"`
	From     string            `json:"from"`
	To       string            `json:"to"`
	Refusals int64             `json:"refusals"`
	ByTier   []refusalTierView `json:"by_tier"`
	PerDay   []refusalDayView  `json:"per_day"`
}

func refusalsView(rep refusal.Report) refusalsReport {
	out := refusalsReport{Days: rep.Period, Refusals: rep.Total, ByTier: []refusalTierView{}, PerDay: make([]refusalDayView, len(rep.Days))}
	for i, d := range rep.Days {
		by := d.ByTier
		if by == nil {
			by = map[string]int64{}
		}
		out.PerDay[i] = refusalDayView{Day: d.Day.Format(time.DateOnly), Refusals: d.Refusals, ByTier: by}
	}
	if len(rep.Days) > 0 {
		out.From, out.To = rep.Days[0].Day.Format(time.DateOnly), rep.Days[len(rep.Days)-1].Day.Format(time.DateOnly)
	}
	for _, t := range rep.Tiers {
		out.ByTier = append(out.ByTier, refusalTierView{Tier: t.Tier, Refusals: t.Refusals})
	}
	return out
}

// documentUsage gives the usage routes their summary and example answer in
// /openapi.json.
func documentUsage(r *edge.Router) {
	ex := refusalsReport{Days: 3, From: "2026-12-04", To: "2026-12-06", Refusals: 57,
		ByTier: []refusalTierView{{Tier: "api", Refusals: 45}, {Tier: "org-api", Refusals: 12}},
		PerDay: []refusalDayView{
			{Day: "2026-12-04", Refusals: 0, ByTier: map[string]int64{}},
			{Day: "2026-12-05", Refusals: 12, ByTier: map[string]int64{"org-api": 12}},
			{Day: "2026-12-06", Refusals: 45, ByTier: map[string]int64{"api": 45}},
		}}
	r.Document("GET /api/admin/usage/refusals", edge.Doc{
		Summary: "Read the organization's rate-limit refusals per day",
		Description: "Admins (others 403). ?days=1..400 (default 30; anything else is 400 naming `days`): the UTC days up to today, oldest first, " +
			"every day present. Counts the 429s of the organization's authenticated requests per tier: its own budget (org-api, org-agent) and its " +
			"members' and tokens' (api, agent, chat, upload). Refusals before authentication (budgets per address) belong to no organization and are " +
			"not here. Each serve process adds its counts every 10 s and at shutdown, so the newest seconds may be missing; counters older than " +
			"400 days are pruned.",
		Example: ex})
}
