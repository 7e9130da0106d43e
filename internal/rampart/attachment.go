package rampart

import (
	"time"

	"github.com/google/uuid"
)

// Attachment is a file attached to a proposal (a rider, a floor plan, a
// quote). Its content type was sniffed from its bytes against the
// allow-list of internal/attachment, never taken from the client; its
// name was sanitised. Content is empty in lists: only a download reads it.
type Attachment struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	ProposalID     uuid.UUID `json:"proposal_id"`
	VenueCode      *string   `json:"venue_code"`
	Filename       string    `json:"filename"`
	ContentType    string    `json:"content_type"`
	SizeBytes      int64     `json:"size_bytes"`
	SHA256         []byte    `json:"-"`
	// SHA256Hex is SHA256 in lower-case hex, as the API shows it.
	SHA256Hex  string    `json:"sha256"`
	UploadedBy uuid.UUID `json:"uploaded_by"`
	CreatedAt  time.Time `json:"created_at"`
	Content    []byte    `json:"-"`
}
