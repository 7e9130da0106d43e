package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Slug is the demo organization's slug.
const Slug = "demo"

// Domain is the mail domain of the demo users (reserved, never delivered).
const Domain = "demo.rampart.test"

// Result describes the seeded organization.
type Result struct {
	Organization rampart.Organization
	Users        map[rampart.Role]rampart.User
	Created      bool // false when the demo organization already existed
}

var venues = []rampart.Venue{
	{Code: "LDN-RIV", Name: "Riverside Arena", City: "London", Capacity: ptr(20000), Location: &rampart.GeoPoint{Latitude: 51.5033, Longitude: 0.0031}},
	{Code: "BER-KES", Name: "Kesselhaus Hall", City: "Berlin", Capacity: ptr(4350), Location: &rampart.GeoPoint{Latitude: 52.5390, Longitude: 13.4128}},
	{Code: "NYC-HEC", Name: "Harbor Expo Center", City: "New York", Capacity: ptr(12000)},
}

// vendors and crew give the demo's rankers something to rank (the crew's
// day rates are sealed like every cost field).
var (
	demoVendors = []rampart.Vendor{
		{Name: "Thames Audio Hire", Category: "audio", PriceBand: 3, LeadTimeDays: 7, OnTimeCount: 41, LateCount: 3, Depot: &rampart.GeoPoint{Latitude: 51.4613, Longitude: -0.0106}},
		{Name: "Northern Line Array", Category: "audio", PriceBand: 2, LeadTimeDays: 14, OnTimeCount: 12, LateCount: 5, Depot: &rampart.GeoPoint{Latitude: 53.4808, Longitude: -2.2426}},
		{Name: "Spree Sound", Category: "audio", PriceBand: 1, LeadTimeDays: 21, OnTimeCount: 3, LateCount: 2, Depot: &rampart.GeoPoint{Latitude: 52.5200, Longitude: 13.4050}},
		{Name: "Pixel Wall Co", Category: "video", PriceBand: 4, LeadTimeDays: 10, OnTimeCount: 30, LateCount: 1, Depot: &rampart.GeoPoint{Latitude: 51.5155, Longitude: -0.1419}},
	}
	demoCrew = []struct {
		m    rampart.CrewMember
		rate int64
	}{
		{rampart.CrewMember{Name: "Jo Rigger", Skills: []string{"rigging", "follow spot"}, Certifications: []rampart.Certification{{Name: "ipaf", ExpiresOn: "2028-06-30"}},
			Availability: []rampart.DateRange{{From: "2027-03-01", To: "2027-03-31"}}}, 45000},
		{rampart.CrewMember{Name: "Kai Audio", Skills: []string{"audio", "rf"}, Certifications: []rampart.Certification{{Name: "first aid", ExpiresOn: "2027-01-31"}},
			Availability: []rampart.DateRange{{From: "2027-03-10", To: "2027-03-20"}}}, 52000},
		{rampart.CrewMember{Name: "Lee Video", Skills: []string{"video", "led wall"},
			Availability: []rampart.DateRange{{From: "2027-02-01", To: "2027-03-12"}}}, 48000},
	}
)

// VenueManagerCodes are the venues the demo venue manager is scoped to.
var VenueManagerCodes = []string{"LDN-RIV"}

// Seed creates the demo organization unless it exists, in one service transaction.
func Seed(ctx context.Context, s *store.Store) (Result, error) {
	res := Result{Users: map[rampart.Role]rampart.User{}}
	err := s.AsService(ctx, "seed demo organization (rampart serve --demo)", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().OrganizationBySlug(ctx, Slug)
		switch {
		case err == nil:
			res.Organization = org
		case rampart.ErrorKind(err) == rampart.KindNotFound:
			if org, err = tx.Provision().CreateOrganization(ctx, "Demo Productions", Slug); err != nil {
				return err
			}
			res.Organization, res.Created = org, true
		default:
			return err
		}
		for _, role := range rampart.Roles {
			u, err := tx.Provision().UpsertUser(ctx, fmt.Sprintf("%s@%s", role, Domain), displayName(role))
			if err != nil {
				return err
			}
			res.Users[role] = u
			if !res.Created {
				continue
			}
			m := rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: role}
			if role == rampart.RoleVenueManager {
				m.VenueCodes = VenueManagerCodes
			}
			if err := tx.Provision().AddMembership(ctx, m); err != nil {
				return err
			}
		}
		if !res.Created {
			return nil
		}
		for _, v := range venues {
			v.OrganizationID = org.ID
			if _, err := tx.Provision().CreateVenue(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, errors.Join(errors.New("seed demo organization"), err)
	}
	if res.Created {
		// A draft proposal for the producer to try generation on (offline
		// provider by default: no network needed).
		producer := res.Users[rampart.RoleProducer]
		claims := rampart.Claims{OrganizationID: res.Organization.ID, UserID: producer.ID, Role: rampart.RoleProducer}
		err = s.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
			code := "LDN-RIV"
			_, err := tx.Proposals().Create(ctx, rampart.Proposal{ProposalSummary: rampart.ProposalSummary{
				Title: "Aurora headphones launch", ClientName: "Northwind Audio", VenueCode: &code}, Brief: demoBrief})
			if err != nil {
				return err
			}
			for _, v := range demoVendors {
				if _, err := tx.Vendors().Create(ctx, v); err != nil {
					return err
				}
			}
			for _, c := range demoCrew {
				if _, err := tx.Crew().Create(ctx, c.m, &rampart.Money{Minor: c.rate, Currency: "GBP"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return Result{}, errors.Join(errors.New("seed demo proposal"), err)
		}
	}
	return res, nil
}

const demoBrief = `Product launch for the Aurora wireless headphones on 14 March, evening event for 650 guests
(press, retail partners, creators). Keynote with a live product reveal, a short acoustic set, then
demo stations and drinks. We want a 12 m LED wall behind the stage, line-array audio, a livestream
to YouTube and LinkedIn, and moody lighting that matches the teal brand colour. Load-in the day
before; the venue has a 23:00 curfew.`

func displayName(r rampart.Role) string {
	names := map[rampart.Role]string{
		rampart.RoleAdmin: "Ada Admin", rampart.RoleExecutiveProducer: "Eve Executive",
		rampart.RoleProducer: "Pat Producer", rampart.RoleTechnicalDirector: "Theo Technical",
		rampart.RoleVenueManager: "Val Venue", rampart.RoleStakeholder: "Sam Stakeholder",
		rampart.RoleViewer: "Vic Viewer",
	}
	return names[r]
}

func ptr[T any](v T) *T { return &v }
