package access

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
)

func TestGrantWithin(t *testing.T) {
	org, user := uuid.New(), uuid.New()
	as := func(r rampart.Role, codes ...string) rampart.Claims {
		return rampart.Claims{OrganizationID: org, UserID: user, Role: r, VenueCodes: codes}
	}
	cases := []struct {
		grantor rampart.Claims
		role    rampart.Role
		codes   []string
		want    bool
	}{
		{as(rampart.RoleAdmin), rampart.RoleAdmin, nil, true},
		{as(rampart.RoleAdmin), rampart.RoleVenueManager, []string{"ANY"}, true},
		{as(rampart.RoleProducer), rampart.RoleViewer, nil, true},
		{as(rampart.RoleProducer), rampart.RoleProducer, nil, true},
		{as(rampart.RoleProducer), rampart.RoleExecutiveProducer, nil, false}, // signs SOWs
		{as(rampart.RoleProducer), rampart.RoleAdmin, nil, false},
		{as(rampart.RoleTechnicalDirector), rampart.RoleProducer, nil, false},
		{as(rampart.RoleVenueManager, "LDN"), rampart.RoleVenueManager, []string{"LDN"}, true},
		{as(rampart.RoleVenueManager, "LDN"), rampart.RoleVenueManager, []string{"BER"}, false},
		{as(rampart.RoleVenueManager, "LDN"), rampart.RoleVenueManager, []string{"LDN", "BER"}, false},
		{as(rampart.RoleViewer), rampart.RoleStakeholder, nil, false}, // may comment
		{as(rampart.RoleViewer), rampart.RoleViewer, nil, true},
		{as(rampart.RoleAdmin), rampart.Role("owner"), nil, false},
		{as(rampart.RoleAdmin), rampart.RoleViewer, []string{"LDN"}, false},       // codes only on venue managers
		{rampart.Claims{Role: rampart.RoleAdmin}, rampart.RoleViewer, nil, false}, // no tenant: fail closed
	}
	for _, c := range cases {
		if got := GrantWithin(c.grantor, c.role, c.codes); got != c.want {
			t.Errorf("%s%v granting %s%v = %v, want %v", c.grantor.Role, c.grantor.VenueCodes, c.role, c.codes, got, c.want)
		}
	}
}
