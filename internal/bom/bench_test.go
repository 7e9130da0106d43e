package bom_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func benchScale(quick, full int) int {
	if os.Getenv("RAMPART_BENCH_SCALE") == "full" {
		return full
	}
	return quick
}

// seedBill gives a new HALL-A proposal n lines with every sealed field.
func seedBill(b *testing.B, f *storetest.Fixture, n int) rampart.Proposal {
	b.Helper()
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	p, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Bench", VenueCode: "HALL-A"})
	if err != nil {
		b.Fatal(err)
	}
	err = f.Store.InTenant(ctx, producer, func(ctx context.Context, tx *store.TenantTx) error {
		for i := range n {
			lead := i % 90
			cost := rampart.LineCost{UnitCost: &rampart.Money{Minor: int64(1000 + i), Currency: "EUR"}, Sourcing: "Supplier notes for line, quote and contact", LeadTimeDays: &lead}
			if _, err := tx.BOMLines().Create(ctx, p.ID, rampart.BOMLine{Item: "Moving head spot fixture", Category: "lighting", Quantity: 2500, Unit: "day"}, nil, cost); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBOMRead is the cost of field encryption on the read path: one
// bill of 200 lines read with its sealed fields opened (600 AES-GCM opens,
// the totals) by a producer, against the same bill without them, as a
// technical director reads it, in alternating phases on one connection
// each. ratio = costed reads/s ÷ plain reads/s.
func BenchmarkBOMRead(b *testing.B) {
	f := storetest.New(b)
	p := seedBill(b, f, 200)
	ctx := context.Background()
	producer, td := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleTechnicalDirector)
	phase := time.Duration(benchScale(300, 1000)) * time.Millisecond
	costed := func() {
		if bl, err := bom.GetCosted(ctx, f.Store, producer, p.ID); err != nil || len(bl.Lines) != 200 {
			b.Fatal(err)
		}
	}
	plain := func() {
		if bl, err := bom.Get(ctx, f.Store, td, p.ID); err != nil || len(bl.Lines) != 200 {
			b.Fatal(err)
		}
	}
	for range 20 { // warm the pool and the plans
		costed()
		plain()
	}
	run := func(fn func()) (int, time.Duration) {
		n, start := 0, time.Now()
		for time.Since(start) < phase {
			fn()
			n++
		}
		return n, time.Since(start)
	}
	var nc, np int
	var tc, tp time.Duration
	b.ResetTimer()
	for range max(b.N, 4) {
		n, d := run(costed)
		nc, tc = nc+n, tc+d
		n, d = run(plain)
		np, tp = np+n, tp+d
	}
	b.StopTimer()
	cps, pps := float64(nc)/tc.Seconds(), float64(np)/tp.Seconds()
	b.ReportMetric(cps, "costed-reads/s")
	b.ReportMetric(pps, "plain-reads/s")
	b.ReportMetric(cps/pps, "ratio")
	b.ReportMetric(float64(tc.Microseconds())/float64(nc), "costed-µs/read")
	b.ReportMetric(float64(tp.Microseconds())/float64(np), "plain-µs/read")
}

// BenchmarkKeyRotation is the rotation rate: values re-sealed per second
// by store.FieldKeys rotation (batches of 500 rows, three values a row),
// from f1 to f2, on the test cluster.
func BenchmarkKeyRotation(b *testing.B) {
	rows := benchScale(2000, 10000)
	f := storetest.New(b)
	ctx := context.Background()
	for left := rows; left > 0; left -= 1000 {
		seedBill(b, f, min(left, 1000))
	}
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		b.Fatal(err)
	}
	keys := []string{"f1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	var total int64
	var elapsed time.Duration
	b.ResetTimer()
	for i := range max(b.N, 1) {
		next, err := fieldcrypt.NewKey(fmt.Sprintf("r%d", i))
		if err != nil {
			b.Fatal(err)
		}
		keys = append([]string{next}, keys...)
		ring, err := fieldcrypt.ParseRing(strings.Join(keys, ","))
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(ctx, f.DB.AppURL, store.Options{MaxConns: 2, ServiceURL: f.DB.ServiceURL, Audit: k, FieldKeys: ring})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rot, err := st.FieldKeys().StartRotation(ctx, ring)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, failed, done, err := rot.Next(ctx, 500)
			if err != nil || failed != 0 {
				b.Fatal(err, failed)
			}
			if done {
				break
			}
		}
		if err := rot.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		total += rot.Resealed
		st.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "values/s")
}
