package chat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// TestChatStreamClosedIsAcknowledged (decision 0027): a chat answer
// streaming when its organization's switch is raised is counted as one
// model stream closed, not an AI job stopped, in the process's
// acknowledgement of that change.
func TestChatStreamClosedIsAcknowledged(t *testing.T) {
	f := setup(t, []string{"First block of the answer.\n\n", "After the switch.\n\n"}, 1)
	ctx := context.Background()
	firstBlock := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := f.svc.Ask(ctx, f.Acme.As(rampart.RoleProducer), f.p.ID, "Summarise the plan", chat.Stream{Block: func(sanitize.HTML) error {
			select {
			case firstBlock <- struct{}{}:
			default:
			}
			return nil
		}})
		errc <- err
	}()
	select {
	case <-firstBlock:
	case <-time.After(hangLimit):
		t.Fatal("no block arrived")
	}
	<-f.model.held
	_, _ = f.watcher.TakeAcks() // nothing before the switch
	if _, err := killswitch.SetOrganization(ctx, f.Store, f.watcher, f.Acme.As(rampart.RoleAdmin), true, "stop the chat"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, chat.ErrStopped) {
			t.Fatalf("err = %v, want a kill-switch stop", err)
		}
	case <-time.After(hangLimit):
		close(f.model.release)
		t.Fatal("the answer did not end when the kill switch was raised")
	}
	acks, _ := f.watcher.TakeAcks()
	var streams, jobs, mine int
	for _, a := range acks {
		if a.OrganizationID != nil && *a.OrganizationID == f.Acme.Organization.ID {
			mine++
			streams += a.StreamsClosed
			jobs += a.JobsStopped
		}
	}
	if mine != 1 || streams != 1 || jobs != 0 {
		t.Fatalf("acknowledgements %+v: %d of acme's switch, %d streams closed, %d jobs stopped; want 1, 1, 0", acks, mine, streams, jobs)
	}
}
