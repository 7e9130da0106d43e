package signin

import (
	"context"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/store"
)

// The operators' use cases take the service transaction their command
// opened (only commands may open one: an architecture rule); the mail
// goes out after it commits.

// CreateOrganization creates organization name (slug given, or derived)
// with the person of adminEmail as its admin, and a sign-in link for
// them; it returns the organization and the link's token.
func CreateOrganization(ctx context.Context, tx *store.ServiceTx, name, slug, adminEmail string, ci store.ClientInfo) (store.NewOrganization, string, error) {
	out, err := tx.Provision().CreateOrganizationWithAdmin(ctx, name, slug, adminEmail)
	if err != nil {
		return store.NewOrganization{}, "", err
	}
	token, hash := auth.NewLinkToken()
	if _, err := tx.SignIn().CreateLoginLink(ctx, out.Admin.Email, hash, ci); err != nil {
		return store.NewOrganization{}, "", err
	}
	return out, token, nil
}

// InviteToSignUp stores a sign-up link for req (an operator's invitation:
// req.InvitedBy names them) and returns its token; ok is false when the
// address already holds too many live links.
func InviteToSignUp(ctx context.Context, tx *store.ServiceTx, req store.SignupRequest, ci store.ClientInfo) (token string, ok bool, err error) {
	token, hash := auth.NewLinkToken()
	ok, err = tx.SignIn().CreateSignup(ctx, req, hash, ci)
	if err != nil || !ok {
		return "", ok, err
	}
	return token, true, nil
}
