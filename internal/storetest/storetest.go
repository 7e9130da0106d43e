package storetest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Main runs a test binary with the migrated template database; call it
// from TestMain.
func Main(m *testing.M) { pgtest.Main(m, store.Prepare) }

// Org is one seeded organization.
type Org struct {
	Organization rampart.Organization
	// Members are the claims of a member of each role.
	Members map[rampart.Role]rampart.Claims
	Venues  map[string]rampart.Venue // by code
}

// As returns the claims of org's member of role.
func (o Org) As(role rampart.Role) rampart.Claims { return o.Members[role] }

// Fixture is a store with organizations "acme" and "globex".
type Fixture struct {
	DB     *pgtest.DB
	Store  *store.Store
	Acme   Org
	Globex Org
}

// FieldKeySpec is the field-encryption key ring of the fixture's store
// (one key, "f1").
const FieldKeySpec = "f1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// New opens a store on a fresh database and seeds it.
func New(t testing.TB) *Fixture {
	t.Helper()
	db := pgtest.New(t)
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := fieldcrypt.ParseRing(FieldKeySpec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db.AppURL, store.Options{MaxConns: 4, ServiceURL: db.ServiceURL, Audit: k, Actor: "storetest",
		FieldKeys: ring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	f := &Fixture{DB: db, Store: st}
	f.Acme, f.Globex = f.seed(t, "acme"), f.seed(t, "globex")
	return f
}

func (f *Fixture) seed(t testing.TB, slug string) Org {
	t.Helper()
	o := Org{Members: map[rampart.Role]rampart.Claims{}, Venues: map[string]rampart.Venue{}}
	err := f.Store.AsService(context.Background(), "storetest fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if o.Organization, err = tx.Provision().CreateOrganization(ctx, "Org "+slug, slug); err != nil {
			return err
		}
		for _, role := range rampart.Roles {
			u, err := tx.Provision().UpsertUser(ctx, string(role)+"@"+slug+".example", "")
			if err != nil {
				return err
			}
			m := rampart.Membership{OrganizationID: o.Organization.ID, UserID: u.ID, Role: role}
			if role == rampart.RoleVenueManager {
				m.VenueCodes = []string{"HALL-A"}
			}
			if err := tx.Provision().AddMembership(ctx, m); err != nil {
				return err
			}
			o.Members[role] = rampart.Claims{OrganizationID: o.Organization.ID, UserID: u.ID, Role: role, VenueCodes: m.VenueCodes}
		}
		for _, code := range []string{"HALL-A", "HALL-B"} {
			v, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: o.Organization.ID, Code: code, Name: code + " of " + slug})
			if err != nil {
				return err
			}
			o.Venues[code] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Count runs a count query as the superuser (assertions only: it bypasses
// row-level security).
func (f *Fixture) Count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Kind fails the test unless err is of kind want.
func Kind(t *testing.T, what string, err error, want rampart.Kind) {
	t.Helper()
	if got := rampart.ErrorKind(err); got != want || err == nil {
		t.Errorf("%s: %v (kind %v), want kind %v", what, err, got, want)
	}
}
