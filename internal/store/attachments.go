package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/attachments.sql.
var (
	sqlCreateAttachment     = query("CreateAttachment")
	sqlListAttachments      = query("ListAttachments")
	sqlGetAttachment        = query("GetAttachment")
	sqlGetAttachmentContent = query("GetAttachmentContent")
	sqlDeleteAttachment     = query("DeleteAttachment")
)

// NewAttachment is a file to store: its name already sanitised and its
// type already sniffed (internal/attachment); the store computes the size
// and the digest from the bytes.
type NewAttachment struct {
	ProposalID  uuid.UUID
	Filename    string
	ContentType string
	Content     []byte
}

// Create stores a file on a proposal the tenant context may edit; the
// attachment takes the proposal's venue. A proposal the context cannot
// see (another organization's, another venue's) is not found, and so is
// one it may read but not edit (row-level security refuses the write).
func (tx AttachmentsTx) Create(ctx context.Context, a NewAttachment) (rampart.Attachment, error) {
	const op = "store.CreateAttachment"
	c := tx.tc
	sum := sha256.Sum256(a.Content)
	out, err := scanAttachment(tx.queryRow(ctx, sqlCreateAttachment, c.OrganizationID, a.ProposalID, a.Filename, a.ContentType,
		int64(len(a.Content)), sum[:], a.Content, c.UserID))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAttachmentUploaded,
		TargetType: "attachment", TargetID: out.ID.String(), After: attachmentSnapshot(out)}))
}

// List returns the attachments of a proposal (metadata, no content),
// oldest first.
func (tx AttachmentsTx) List(ctx context.Context, proposalID uuid.UUID) ([]rampart.Attachment, error) {
	const op = "store.Attachments"
	rows, err := tx.query(ctx, sqlListAttachments, tx.tc.OrganizationID, proposalID)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Attachment, error) { return scanAttachment(r) })
	if err != nil {
		return nil, classify(op, err)
	}
	return out, nil
}

// Get reads one attachment's metadata; another tenant's (or another
// venue's) is not found.
func (tx AttachmentsTx) Get(ctx context.Context, id uuid.UUID) (rampart.Attachment, error) {
	const op = "store.Attachment"
	a, err := scanAttachment(tx.queryRow(ctx, sqlGetAttachment, tx.tc.OrganizationID, id))
	return a, classify(op, err)
}

// Download reads one attachment with its content and records the
// download in the audit log (sent with the COMMIT: no extra round trip).
func (tx AttachmentsTx) Download(ctx context.Context, id uuid.UUID) (rampart.Attachment, error) {
	const op = "store.DownloadAttachment"
	var a rampart.Attachment
	err := tx.queryRow(ctx, sqlGetAttachmentContent, tx.tc.OrganizationID, id).Scan(append(attachmentDest(&a), &a.Content)...)
	if err != nil {
		return rampart.Attachment{}, classify(op, err)
	}
	a.SHA256Hex = hex.EncodeToString(a.SHA256)
	return a, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAttachmentDownloaded,
		TargetType: "attachment", TargetID: a.ID.String(), Metadata: attachmentSnapshot(a)}))
}

// Delete removes an attachment the tenant context may edit and returns
// what it removed.
func (tx AttachmentsTx) Delete(ctx context.Context, id uuid.UUID) (rampart.Attachment, error) {
	const op = "store.DeleteAttachment"
	before, err := scanAttachment(tx.queryRow(ctx, sqlDeleteAttachment, tx.tc.OrganizationID, id))
	if err != nil {
		return before, classify(op, err)
	}
	return before, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAttachmentDeleted,
		TargetType: "attachment", TargetID: before.ID.String(), Before: attachmentSnapshot(before)}))
}

// attachmentDest is where the columns of the attachment_columns fragment
// scan to, in its order.
func attachmentDest(a *rampart.Attachment) []any {
	return []any{&a.OrganizationID, &a.ID, &a.ProposalID, &a.VenueCode, &a.Filename, &a.ContentType, &a.SizeBytes,
		&a.SHA256, &a.UploadedBy, &a.CreatedAt}
}

func scanAttachment(r pgx.Row) (rampart.Attachment, error) {
	var a rampart.Attachment
	if err := r.Scan(attachmentDest(&a)...); err != nil {
		return a, err
	}
	a.SHA256Hex = hex.EncodeToString(a.SHA256)
	return a, nil
}

// attachmentSnapshot is the audit trail's view of an attachment: its
// metadata and digest, never its content.
func attachmentSnapshot(a rampart.Attachment) []byte {
	return snapshot(map[string]any{
		"id": a.ID, "proposal_id": a.ProposalID, "venue_code": a.VenueCode, "filename": a.Filename,
		"content_type": a.ContentType, "size_bytes": a.SizeBytes, "sha256": a.SHA256Hex,
	})
}
