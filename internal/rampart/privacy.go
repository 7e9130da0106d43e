package rampart

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// The kinds of data subject request.
const (
	PrivacyExport  = "export"
	PrivacyErasure = "erasure"
)

// The states of a data subject request: an export is pending until the
// worker builds its archive, ready until its one download, then
// downloaded; an erasure completes in the request's own transaction.
const (
	PrivacyPending    = "pending"
	PrivacyReady      = "ready"
	PrivacyDownloaded = "downloaded"
	PrivacyCompleted  = "completed"
	PrivacyFailed     = "failed"
)

// PrivacyRequest is an admin's export or erasure of one member's data
// (docs/privacy.md). The subject is named by id only: the record of an
// erasure holds nothing left to erase.
type PrivacyRequest struct {
	OrganizationID uuid.UUID       `json:"organization_id"`
	ID             uuid.UUID       `json:"id"`
	Kind           string          `json:"kind" enum:"export,erasure"`
	SubjectUserID  uuid.UUID       `json:"subject_user_id"`
	RequestedBy    uuid.UUID       `json:"requested_by"`
	Status         string          `json:"status" enum:"pending,ready,downloaded,completed,failed"`
	Outcome        json.RawMessage `json:"outcome,omitempty" doc:"what the export holds (rows per table) or what the erasure did"`
	Error          string          `json:"error,omitempty"`
	ArchiveBytes   *int64          `json:"archive_bytes,omitempty"`
	ArchiveSHA256  string          `json:"archive_sha256,omitempty"`
	LinkExpiresAt  *time.Time      `json:"link_expires_at,omitempty"`
	DownloadedAt   *time.Time      `json:"downloaded_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
}
