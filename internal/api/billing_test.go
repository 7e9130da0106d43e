package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// testStripeSecret is the webhook signing secret of every test server (a
// test value, not a credential).
const testStripeSecret = "whsec_test0123456789abcdefghijklmnop"

// stripeEvent is a Stripe event's JSON: id, type, creation time and object.
func stripeEvent(id, typ string, created time.Time, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2025-03-31.basil", "type": typ,
		"created": created.Unix(), "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": object}})
	return b
}

// subscription is a Stripe subscription object of customer whose price's
// lookup key is plan.
func subscription(customer, status, plan string, periodEnd time.Time) map[string]any {
	return map[string]any{"id": "sub_" + strings.TrimPrefix(customer, "cus_"), "object": "subscription", "customer": customer, "status": status,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "current_period_end": periodEnd.Unix(),
			"price": map[string]any{"id": "price_1", "lookup_key": plan}}}}}
}

func invoice(customer string, attempt int) map[string]any {
	return map[string]any{"id": "in_" + strings.TrimPrefix(customer, "cus_"), "object": "invoice", "customer": customer,
		"amount_due": 4900, "currency": "eur", "attempt_count": attempt}
}

// sign signs payload as Stripe does (stripe-go's own test helper), at ts.
func sign(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

// deliver posts payload to the webhook with the Stripe-Signature header
// (none when header is ""), as Stripe does: no cookie, no Origin.
func (e *env) deliver(payload []byte, header string) resp {
	e.t.Helper()
	var h []string
	if header != "" {
		h = []string{"Stripe-Signature", header}
	}
	return e.do(e.client(), http.MethodPost, "/api/billing/webhook", string(payload), h...)
}

// link links org to customer as the operator's command does.
func (e *env) link(org rampart.Organization, customer string) {
	e.t.Helper()
	if _, err := billing.Link(context.Background(), e.store, org.ID, customer, "cli:test"); err != nil {
		e.t.Fatal(err)
	}
}

// billingState is everything the webhook may change: every plan state,
// the processed event ids and the audit log's size.
func (e *env) billingState() string {
	e.t.Helper()
	rows := e.admin(`SELECT coalesce((SELECT json_agg(b ORDER BY organization_id)::text FROM billing_accounts b), '')
  || '|' || (SELECT count(*) FROM stripe_events) || '|' || (SELECT count(*) FROM audit_events)`)
	defer rows.Close()
	var s string
	for rows.Next() {
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
	}
	return s
}

// TestBillingWebhookRefusesBadDeliveries: a delivery that is unsigned,
// badly signed, signed with another secret, stale, tampered or replayed
// is 400 problem+json naming the failed check, and changes nothing: no
// plan state, no processed event id, no audit event.
func TestBillingWebhookRefusesBadDeliveries(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	e.link(acme.org, "cus_Acme")
	now := time.Now()
	failed := stripeEvent("evt_failed1", "invoice.payment_failed", now, invoice("cus_Acme", 1))

	// A valid delivery first: it is applied (so the replay below is one).
	if r := e.deliver(failed, sign(failed, testStripeSecret, now)); r.status != http.StatusOK {
		t.Fatalf("valid delivery: %d %s", r.status, r.body)
	}
	before := e.billingState()
	tampered := []byte(strings.Replace(string(failed), `"amount_due":4900`, `"amount_due":1`, 1))
	other := stripeEvent("evt_other1", "customer.subscription.deleted", now, subscription("cus_Acme", "canceled", "team", now))
	cases := []struct {
		name    string
		payload []byte
		header  string
		detail  string
	}{
		{"no signature", other, "", "header is missing"},
		{"malformed header", other, "t=abc,v1=00", "malformed"},
		{"signed with another secret", other, sign(other, "whsec_someoneelse0123456789abcdef", now), "no signature matches"},
		{"signature of another body", tampered, sign(failed, testStripeSecret, now), "no signature matches"},
		{"stale timestamp", other, sign(other, testStripeSecret, now.Add(-billing.DefaultTolerance-time.Minute)), "older than the tolerance"},
		{"replayed event id", failed, sign(failed, testStripeSecret, time.Now()), "already processed"},
		{"replayed id, fresh signature, other body", stripeEvent("evt_failed1", "customer.subscription.deleted", now,
			subscription("cus_Acme", "canceled", "team", now)), "", "already processed"},
		{"not an event", []byte(`{"hello":"world"}`), "", "lacks an id"},
	}
	for _, tc := range cases {
		header := tc.header
		if header == "" && !strings.HasPrefix(tc.name, "no signature") {
			header = sign(tc.payload, testStripeSecret, time.Now())
		}
		p := problem(t, e.deliver(tc.payload, header), http.StatusBadRequest)
		if d, _ := p["detail"].(string); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: detail %q, want it to say %q", tc.name, d, tc.detail)
		}
		if after := e.billingState(); after != before {
			t.Errorf("%s changed something:\nbefore %s\nafter  %s", tc.name, before, after)
		}
	}
	// The plan state is still the valid delivery's: past due, not canceled.
	if s := e.scalar(`SELECT count(*)::int FROM billing_accounts WHERE status = 'past_due' AND organization_id = $1`, acme.org.ID); s != 1 {
		t.Errorf("acme's plan is not past_due after the refusals")
	}
}

// TestBillingPaymentFailed: a valid invoice.payment_failed sets the
// organization's plan state (past due, the failure, a grace period) and
// writes billing.payment.failed with before and after into that
// organization's audit log; the other organization is untouched.
func TestBillingPaymentFailed(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	e.link(acme.org, "cus_Acme")
	e.link(globex.org, "cus_Globex")
	now := time.Now().Truncate(time.Second)
	created := stripeEvent("evt_sub1", "customer.subscription.created", now.Add(-time.Hour), subscription("cus_Acme", "active", "team", now.AddDate(0, 1, 0)))
	if r := e.deliver(created, sign(created, testStripeSecret, time.Now())); r.status != http.StatusOK {
		t.Fatalf("subscription created: %d %s", r.status, r.body)
	}
	globexBefore := e.scalar(`SELECT count(*)::int FROM audit_events WHERE organization_id = $1`, globex.org.ID)
	failed := stripeEvent("evt_fail1", "invoice.payment_failed", now, invoice("cus_Acme", 2))
	r := e.deliver(failed, sign(failed, testStripeSecret, time.Now()))
	if r.status != http.StatusOK {
		t.Fatalf("payment failed: %d %s", r.status, r.body)
	}
	if got := r.json(t); got["outcome"] != "applied" || got["event_id"] != "evt_fail1" {
		t.Errorf("answer %v", got)
	}
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	acct := e.do(admin, http.MethodGet, "/api/billing", nil).json(t)
	if acct["status"] != "past_due" || acct["plan"] != "team" || acct["last_payment_failure"] != "invoice in_Acme: payment attempt 2 failed (4900 EUR due)" {
		t.Errorf("plan state %v", acct)
	}
	grace, _ := time.Parse(time.RFC3339, acct["ai_grace_until"].(string))
	if want := now.Add(billing.DefaultGrace); !grace.Equal(want) {
		t.Errorf("ai_grace_until %v, want the event's time plus the grace period, %v", grace, want)
	}
	rows := e.admin(`SELECT organization_id::text, actor_type, before->>'status', after->>'status', metadata->>'stripe_event_id', reason
FROM audit_events WHERE action = 'billing.payment.failed'`)
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var org, actor, before, after, evID, reason string
		if err := rows.Scan(&org, &actor, &before, &after, &evID, &reason); err != nil {
			t.Fatal(err)
		}
		if org != acme.org.ID.String() || actor != "service" || before != "active" || after != "past_due" || evID != "evt_fail1" || !strings.Contains(reason, "attempt 2") {
			t.Errorf("event: org %s actor %s %s→%s event %s reason %q", org, actor, before, after, evID, reason)
		}
	}
	if n != 1 {
		t.Fatalf("%d billing.payment.failed events, want 1", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE organization_id = $1`, globex.org.ID); n != globexBefore {
		t.Errorf("globex's audit log changed: %d events, was %d", n, globexBefore)
	}
	if n := e.scalar(`SELECT count(*)::int FROM billing_accounts WHERE organization_id = $1 AND status = 'none'`, globex.org.ID); n != 1 {
		t.Errorf("globex's plan state changed")
	}
	// Another organization's admin reads their own account, never acme's;
	// a non-admin reads none.
	if g := e.do(e.signIn(globex.email(rampart.RoleAdmin)), http.MethodGet, "/api/billing", nil).json(t); g["stripe_customer_id"] != "cus_Globex" {
		t.Errorf("globex admin read %v", g)
	}
	problem(t, e.do(e.signIn(acme.email(rampart.RoleProducer)), http.MethodGet, "/api/billing", nil), http.StatusForbidden)

	// A payment that succeeds later makes the plan active again.
	ok := stripeEvent("evt_paid1", "invoice.payment_succeeded", now.Add(time.Minute), invoice("cus_Acme", 3))
	if r := e.deliver(ok, sign(ok, testStripeSecret, time.Now())); r.status != http.StatusOK {
		t.Fatalf("payment succeeded: %d %s", r.status, r.body)
	}
	if acct := e.do(admin, http.MethodGet, "/api/billing", nil).json(t); acct["status"] != "active" || acct["ai_grace_until"] != nil {
		t.Errorf("after payment: %v", acct)
	}
}

// TestBillingSubscriptionLifecycle: created → updated (upgrade, past due)
// → a late, older event (stale: audited, no change) → deleted; the
// plan's cap bounds the admin's budget.
func TestBillingSubscriptionLifecycle(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	e.link(acme.org, "cus_Acme")
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	send := func(id, typ string, at time.Time, obj map[string]any) map[string]any {
		t.Helper()
		p := stripeEvent(id, typ, at, obj)
		r := e.deliver(p, sign(p, testStripeSecret, time.Now()))
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", id, r.status, r.body)
		}
		return r.json(t)
	}
	state := func() map[string]any { return e.do(admin, http.MethodGet, "/api/billing", nil).json(t) }

	send("evt_1", "customer.subscription.created", t0, subscription("cus_Acme", "trialing", "starter", t0.AddDate(0, 1, 0)))
	if s := state(); s["plan"] != "starter" || s["status"] != "active" || s["plan_monthly_tokens"] != float64(2_000_000) {
		t.Fatalf("created: %v", s)
	}
	// The plan's cap bounds the admin's budget.
	p := problem(t, e.do(admin, http.MethodPut, "/api/ai/budget", map[string]any{"monthly_tokens": 3_000_000}), http.StatusBadRequest)
	if d := p["detail"].(string); !strings.Contains(d, "monthly_tokens") || !strings.Contains(d, "2000000") {
		t.Errorf("over the cap: %q", d)
	}
	if r := e.do(admin, http.MethodPut, "/api/ai/budget", map[string]any{"monthly_tokens": 1_000_000}); r.status != http.StatusOK {
		t.Errorf("under the cap: %d %s", r.status, r.body)
	}
	if b := e.do(admin, http.MethodGet, "/api/ai/budget", nil).json(t); b["plan"] != "starter" || b["remaining_tokens"] != float64(1_000_000) {
		t.Errorf("budget view %v", b)
	}

	send("evt_2", "customer.subscription.updated", t0.Add(10*time.Minute), subscription("cus_Acme", "past_due", "business", t0.AddDate(0, 1, 0)))
	if s := state(); s["plan"] != "business" || s["status"] != "past_due" || s["ai_grace_until"] == nil {
		t.Fatalf("updated: %v", s)
	}
	before := e.billingState()
	// Stripe does not deliver in order: an older update arriving late is
	// recorded and audited, and changes no plan state.
	if got := send("evt_3", "customer.subscription.updated", t0.Add(5*time.Minute), subscription("cus_Acme", "active", "starter", t0)); got["outcome"] != "stale" {
		t.Errorf("late event: %v", got)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'billing.subscription.changed' AND metadata->>'outcome' = 'stale'`); n != 1 {
		t.Errorf("%d stale events audited, want 1", n)
	}
	if s := state(); s["plan"] != "business" || s["status"] != "past_due" {
		t.Errorf("the late event changed the plan: %v", s)
	}
	if after := e.billingState(); strings.Split(after, "|")[0] != strings.Split(before, "|")[0] {
		t.Errorf("the late event changed a plan state")
	}

	send("evt_4", "customer.subscription.deleted", t0.Add(20*time.Minute), subscription("cus_Acme", "canceled", "business", t0))
	s := state()
	if s["status"] != "canceled" {
		t.Fatalf("deleted: %v", s)
	}
	// The grace period runs from the first lapse (evt_2), not from the cancellation.
	grace, _ := time.Parse(time.RFC3339, s["ai_grace_until"].(string))
	if want := t0.Add(10 * time.Minute).Add(billing.DefaultGrace); !grace.Equal(want) {
		t.Errorf("grace until %v, want %v", grace, want)
	}
	if n := e.events("billing.subscription.changed"); n != 4 {
		t.Errorf("%d billing.subscription.changed events, want 4", n)
	}
}

// TestBillingUnknownCustomerIsAcknowledged: an event for a customer no
// organization is linked to, or of a type that changes no plan, is
// acknowledged (200, so Stripe stops retrying), recorded once, audited on
// the service path as a platform event, and changes no plan state.
func TestBillingUnknownCustomerIsAcknowledged(t *testing.T) {
	e := setup(t)
	e.link(e.orgs["acme"].org, "cus_Acme")
	plans := func() string { return strings.Split(e.billingState(), "|")[0] }
	before := plans()
	now := time.Now()
	for _, tc := range []struct {
		id, typ string
		obj     map[string]any
		outcome string
	}{
		{"evt_unknown1", "invoice.payment_failed", invoice("cus_Nobody", 1), "unknown_customer"},
		{"evt_unknown2", "customer.subscription.deleted", subscription("cus_Nobody", "canceled", "team", now), "unknown_customer"},
		{"evt_other1", "customer.created", map[string]any{"id": "cus_Acme", "object": "customer"}, "ignored"},
	} {
		p := stripeEvent(tc.id, tc.typ, now, tc.obj)
		r := e.deliver(p, sign(p, testStripeSecret, time.Now()))
		if r.status != http.StatusOK || r.json(t)["outcome"] != tc.outcome {
			t.Errorf("%s: %d %s, want 200 %s", tc.id, r.status, r.body, tc.outcome)
		}
	}
	if after := plans(); after != before {
		t.Errorf("plan state changed:\n%s\n%s", before, after)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'billing.event.ignored' AND organization_id IS NULL`); n != 3 {
		t.Errorf("%d platform billing.event.ignored events, want 3", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM stripe_events WHERE outcome IN ('unknown_customer', 'ignored')`); n != 3 {
		t.Errorf("%d events recorded, want 3", n)
	}
}

// TestBillingNotConfigured: without a signing secret the webhook answers
// 503 and says why, whatever the delivery.
func TestBillingNotConfigured(t *testing.T) {
	e := setup(t)
	srv, _ := e.serverWith(func(o *Options) { o.Billing = nil })
	p := stripeEvent("evt_x", "invoice.payment_failed", time.Now(), invoice("cus_Acme", 1))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/billing/webhook", strings.NewReader(string(p)))
	req.Header.Set("Stripe-Signature", sign(p, testStripeSecret, time.Now()))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(body["detail"]), "RAMPART_STRIPE_WEBHOOK_SECRET") {
		t.Errorf("%d %v, want 503 naming the variable", res.StatusCode, body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM stripe_events`); n != 0 {
		t.Errorf("%d events recorded", n)
	}
}

// TestBillingPlanGatesAI: a canceled plan whose grace period has ended
// refuses new AI requests with 402 (audited, nothing queued); while the
// plan is active, and in another organization, requests pass.
func TestBillingPlanGatesAI(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	e.link(acme.org, "cus_Acme")
	producer := e.signIn(acme.email(rampart.RoleProducer))
	long := time.Now().Add(-30 * 24 * time.Hour)
	created := stripeEvent("evt_c1", "customer.subscription.created", long, subscription("cus_Acme", "active", "team", time.Now()))
	if r := e.deliver(created, sign(created, testStripeSecret, time.Now())); r.status != http.StatusOK {
		t.Fatal(r.status, string(r.body))
	}
	first := e.newProposal(producer, map[string]any{"title": "Before the lapse", "venue_code": "HALL-A"})
	e.mustGenerate(producer, first) // active: allowed

	// A failed payment a day ago: past due, inside its grace period: allowed.
	failed := stripeEvent("evt_f1", "invoice.payment_failed", time.Now().Add(-24*time.Hour), invoice("cus_Acme", 1))
	if r := e.deliver(failed, sign(failed, testStripeSecret, time.Now())); r.status != http.StatusOK {
		t.Fatal(r.status, string(r.body))
	}
	e.mustGenerate(producer, e.newProposal(producer, map[string]any{"title": "In the grace period", "venue_code": "HALL-A"}))

	// Canceled an hour ago: the grace period still runs from the first
	// lapse, a day ago, so requests pass. Then its deadline passes (set
	// to yesterday, as a week's wait would).
	deleted := stripeEvent("evt_d1", "customer.subscription.deleted", time.Now().Add(-time.Hour),
		subscription("cus_Acme", "canceled", "team", time.Now()))
	if r := e.deliver(deleted, sign(deleted, testStripeSecret, time.Now())); r.status != http.StatusOK {
		t.Fatal(r.status, string(r.body))
	}
	e.mustGenerate(producer, e.newProposal(producer, map[string]any{"title": "Canceled, still in grace", "venue_code": "HALL-A"}))
	e.exec(`UPDATE billing_accounts SET ai_grace_until = now() - interval '1 day' WHERE organization_id = $1`, acme.org.ID)
	second := e.newProposal(producer, map[string]any{"title": "After the lapse", "venue_code": "HALL-A"})
	jobs := e.scalar(`SELECT count(*)::int FROM ai_jobs`)
	p := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+second+"/generate", nil), http.StatusPaymentRequired)
	if d := p["detail"].(string); !strings.Contains(d, "canceled") || !strings.Contains(d, "grace period ended") {
		t.Errorf("detail %q", d)
	}
	if n := e.scalar(`SELECT count(*)::int FROM ai_jobs`); n != jobs {
		t.Errorf("a job was recorded: %d, was %d", n, jobs)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'ai.generation.refused_by_plan' AND organization_id = $1`, acme.org.ID); n != 1 {
		t.Errorf("%d refusal events, want 1", n)
	}
	// Another organization is not affected.
	gp := e.signIn(globex.email(rampart.RoleProducer))
	e.mustGenerate(gp, e.newProposal(gp, map[string]any{"title": "Globex", "venue_code": "HALL-A"}))
}

// TestBillingWebhookEdge: the webhook's body cap (413, nothing changes),
// its own rate-limit tier per address (429), and no cross-origin or
// session check (a delivery with another site's Origin reaches the
// signature check, which is the credential).
func TestBillingWebhookEdge(t *testing.T) {
	e := setup(t)
	e.link(e.orgs["acme"].org, "cus_Acme")
	before := e.billingState()
	big := []byte(`{"id":"evt_big","pad":"` + strings.Repeat("a", billing.MaxPayload) + `"}`)
	problem(t, e.deliver(big, sign(big, testStripeSecret, time.Now())), http.StatusRequestEntityTooLarge)
	if after := e.billingState(); after != before {
		t.Errorf("an oversized delivery changed something")
	}
	p := stripeEvent("evt_xs", "invoice.payment_failed", time.Now(), invoice("cus_Acme", 1))
	r := e.do(e.client(), http.MethodPost, "/api/billing/webhook", string(p), "Stripe-Signature", "t=1,v1=00",
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if d := problem(t, r, http.StatusBadRequest)["detail"]; !strings.Contains(fmt.Sprint(d), "Stripe-Signature") {
		t.Errorf("cross-site delivery: %v", d)
	}

	tiers := roomyTiers()
	tiers["webhook"] = ratelimit.Limit{N: 2, Period: time.Minute}
	srv, _ := e.serverWith(func(o *Options) {
		o.Tiers, o.Billing = tiers, billing.New(e.store, billing.Options{Secrets: []string{testStripeSecret}})
	})
	statuses := []int{}
	for i := range 3 {
		ev := stripeEvent(fmt.Sprintf("evt_rl%d", i), "customer.created", time.Now(), map[string]any{"id": "cus_X"})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/billing/webhook", strings.NewReader(string(ev)))
		req.Header.Set("Stripe-Signature", sign(ev, testStripeSecret, time.Now()))
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
	}
	if fmt.Sprint(statuses) != "[200 200 429]" {
		t.Errorf("statuses %v, want [200 200 429]", statuses)
	}
}
