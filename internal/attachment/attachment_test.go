package attachment_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/attachment"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func tinyPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAttachmentRules runs the use cases on PostgreSQL: who may upload,
// list, download and delete; another organization's and another venue's
// proposal or attachment is not found (never forbidden) and nothing
// changes; a refused file writes nothing; the venue follows the proposal;
// every write and download is audited.
func TestAttachmentRules(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	acme := f.Acme
	producer, vm, admin := acme.As(rampart.RoleProducer), acme.As(rampart.RoleVenueManager), acme.As(rampart.RoleAdmin)
	hallA, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Gala", VenueCode: "HALL-A"})
	if err != nil {
		t.Fatal(err)
	}
	hallB, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Expo", VenueCode: "HALL-B"})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int { return f.Count(t, `SELECT count(*)::int FROM attachments`) }
	events := func(action string) int {
		return f.Count(t, `SELECT count(*)::int FROM audit_events WHERE action = $1`, action)
	}
	content := tinyPNG(t)
	a, err := attachment.Upload(ctx, f.Store, producer, hallA.ID, attachment.Input{Name: "../plan.jpg", Content: content})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if a.Filename != "plan.png" || a.ContentType != "image/png" || a.SizeBytes != int64(len(content)) || a.SHA256Hex != hex.EncodeToString(sum[:]) ||
		a.VenueCode == nil || *a.VenueCode != "HALL-A" || a.UploadedBy != producer.UserID {
		t.Fatalf("stored %+v", a)
	}
	if _, err := attachment.Upload(ctx, f.Store, vm, hallA.ID, attachment.Input{Name: "notes.txt", Content: []byte("hello\n")}); err != nil {
		t.Fatalf("venue manager on their venue: %v", err)
	}
	b, err := attachment.Upload(ctx, f.Store, admin, hallB.ID, attachment.Input{Name: "b.csv", Content: []byte("a,b\n1,2\n")})
	if err != nil || b.ContentType != "text/csv" {
		t.Fatalf("csv: %+v %v", b, err)
	}
	before, uploaded := count(), events("attachment.uploaded")
	if before != 3 || uploaded != 3 {
		t.Fatalf("%d attachments and %d upload events, want 3 and 3", before, uploaded)
	}

	for _, tc := range []struct {
		desc string
		c    rampart.Claims
		id   uuid.UUID
		data []byte
		want rampart.Kind
	}{
		{"another organization's admin", f.Globex.As(rampart.RoleAdmin), hallA.ID, content, rampart.KindNotFound},
		{"a venue manager outside their venue", vm, hallB.ID, content, rampart.KindNotFound},
		{"a viewer", acme.As(rampart.RoleViewer), hallA.ID, content, rampart.KindForbidden},
		{"a stakeholder", acme.As(rampart.RoleStakeholder), hallA.ID, content, rampart.KindForbidden},
		{"a technical director (edits BOMs only)", acme.As(rampart.RoleTechnicalDirector), hallA.ID, content, rampart.KindForbidden},
		{"a proposal that does not exist", producer, uuid.New(), content, rampart.KindNotFound},
		{"HTML named .pdf", producer, hallA.ID, []byte("<html><script>alert(1)</script></html>"), rampart.KindUnsupportedMedia},
		{"a viewer with HTML: access first", acme.As(rampart.RoleViewer), hallA.ID, []byte("<html>"), rampart.KindForbidden},
		{"another organization with HTML: not found first", f.Globex.As(rampart.RoleAdmin), hallA.ID, []byte("<html>"), rampart.KindNotFound},
	} {
		_, err := attachment.Upload(ctx, f.Store, tc.c, tc.id, attachment.Input{Name: "x.pdf", Content: tc.data})
		storetest.Kind(t, "upload by "+tc.desc, err, tc.want)
	}
	if n, e := count(), events("attachment.uploaded"); n != before || e != uploaded {
		t.Fatalf("refused uploads wrote: %d attachments, %d events", n, e)
	}

	// Reading: whoever may read the proposal.
	for _, role := range []rampart.Role{rampart.RoleViewer, rampart.RoleStakeholder, rampart.RoleTechnicalDirector} {
		list, err := attachment.List(ctx, f.Store, acme.As(role), hallA.ID)
		if err != nil || len(list) != 2 {
			t.Errorf("%s lists %d (%v), want 2", role, len(list), err)
		}
		got, err := attachment.Download(ctx, f.Store, acme.As(role), a.ID)
		if err != nil || !bytes.Equal(got.Content, content) {
			t.Errorf("%s downloads: %v", role, err)
		}
	}
	if n := events("attachment.downloaded"); n != 3 {
		t.Errorf("%d download events, want 3", n)
	}
	_, err = attachment.List(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), hallA.ID)
	storetest.Kind(t, "another organization lists", err, rampart.KindNotFound)
	_, err = attachment.List(ctx, f.Store, vm, hallB.ID)
	storetest.Kind(t, "a venue manager lists outside their venue", err, rampart.KindNotFound)
	_, err = attachment.Download(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), a.ID)
	storetest.Kind(t, "another organization downloads", err, rampart.KindNotFound)
	_, err = attachment.Download(ctx, f.Store, vm, b.ID)
	storetest.Kind(t, "a venue manager downloads outside their venue", err, rampart.KindNotFound)
	if n := events("attachment.downloaded"); n != 3 {
		t.Errorf("refused downloads were audited: %d events", n)
	}

	// Deleting: editors only; others see not found or forbidden, nothing changes.
	storetest.Kind(t, "another organization deletes", attachment.Delete(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), a.ID), rampart.KindNotFound)
	storetest.Kind(t, "a venue manager deletes outside their venue", attachment.Delete(ctx, f.Store, vm, b.ID), rampart.KindNotFound)
	storetest.Kind(t, "a viewer deletes", attachment.Delete(ctx, f.Store, acme.As(rampart.RoleViewer), a.ID), rampart.KindForbidden)
	storetest.Kind(t, "a stakeholder deletes", attachment.Delete(ctx, f.Store, acme.As(rampart.RoleStakeholder), a.ID), rampart.KindForbidden)
	if n := count(); n != 3 {
		t.Fatalf("refused deletions removed attachments: %d left", n)
	}
	if err := attachment.Delete(ctx, f.Store, producer, b.ID); err != nil {
		t.Fatal(err)
	}
	if n, e := count(), events("attachment.deleted"); n != 2 || e != 1 {
		t.Fatalf("after a deletion: %d attachments, %d events", n, e)
	}

	// The venue follows the proposal: moved to HALL-B, the venue manager of
	// HALL-A no longer sees its attachments, row-level security included.
	hb := "HALL-B"
	if _, err := proposal.Update(ctx, f.Store, admin, hallA.ID, proposal.Patch{VenueCode: &hb}); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM attachments WHERE proposal_id = $1 AND venue_code = 'HALL-B'`, hallA.ID); n != 2 {
		t.Fatalf("%d attachments moved with their proposal, want 2", n)
	}
	_, err = attachment.Download(ctx, f.Store, vm, a.ID)
	storetest.Kind(t, "a venue manager after the proposal left their venue", err, rampart.KindNotFound)
}
