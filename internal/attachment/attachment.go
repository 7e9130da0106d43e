package attachment

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Input is a file to attach: the client's name for it and its bytes (the
// edge has capped their size already).
type Input struct {
	Name    string
	Content []byte
}

func notFound(op string) error { return rampart.Errorf(op, rampart.KindNotFound, "not found") }

// resource is the proposal an attachment belongs to, as the access matrix
// sees it: attachments are part of their proposal.
func resource(venue *string) access.Resource {
	r := access.Resource{Kind: access.KindProposal}
	if venue != nil {
		r.VenueCode = *venue
	}
	return r
}

// Upload attaches a file to a proposal the caller may edit. The answers,
// in order: the proposal is not found when the caller cannot read it
// (another organization's, another venue's); forbidden when they may
// read but not edit it; then the content checks (Sniff: unsupported
// media type or invalid, naming the rule). Nothing is written unless all
// pass.
func Upload(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, in Input) (rampart.Attachment, error) {
	const op = "attachment.Upload"
	// The checks need no database: run them before the transaction (it
	// holds a connection), answer them after the access checks.
	typ, sniffErr := Sniff(in.Content, in.Name)
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Attachment, error) {
		p, err := proposal.Readable(ctx, tx, op, proposalID)
		if err != nil {
			return rampart.Attachment{}, err
		}
		if err := access.Check(c, access.ActionEdit, proposal.Resource(p)); err != nil {
			return rampart.Attachment{}, err
		}
		if sniffErr != nil {
			return rampart.Attachment{}, sniffErr
		}
		return tx.Attachments().Create(ctx, store.NewAttachment{ProposalID: p.ID, Filename: SanitizeName(in.Name, typ),
			ContentType: typ.MediaType, Content: in.Content})
	})
}

// List returns the attachments (metadata only) of a proposal the caller
// may read.
func List(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.Attachment, error) {
	const op = "attachment.List"
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Attachment, error) {
		p, err := proposal.Readable(ctx, tx, op, proposalID)
		if err != nil {
			return nil, err
		}
		return tx.Attachments().List(ctx, p.ID)
	})
}

// errUnreadable rolls back a download the caller may not read, so its
// audit event is not written.
var errUnreadable = errors.New("attachment not readable")

// Download returns an attachment with its content, for a caller who may
// read its proposal; the download is audited.
func Download(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.Attachment, error) {
	const op = "attachment.Download"
	a, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Attachment, error) {
		a, err := tx.Attachments().Download(ctx, id)
		if err != nil {
			return a, err
		}
		if !access.Can(c, access.ActionRead, resource(a.VenueCode)) {
			return rampart.Attachment{}, errUnreadable
		}
		return a, nil
	})
	if errors.Is(err, errUnreadable) {
		return rampart.Attachment{}, notFound(op)
	}
	return a, err
}

// Delete removes an attachment of a proposal the caller may edit: not
// found when they cannot read it, forbidden when they may read but not
// edit it.
func Delete(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "attachment.Delete"
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		a, err := tx.Attachments().Get(ctx, id)
		if err != nil {
			return err
		}
		if !access.Can(c, access.ActionRead, resource(a.VenueCode)) {
			return notFound(op)
		}
		if err := access.Check(c, access.ActionEdit, resource(a.VenueCode)); err != nil {
			return err
		}
		_, err = tx.Attachments().Delete(ctx, id)
		return err
	})
}
