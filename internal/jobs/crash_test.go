//go:build linux

package jobs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// What the parent passes to its crash-worker child.
const (
	crashAppURLEnv     = "RAMPART_CRASH_APP_URL"
	crashServiceURLEnv = "RAMPART_CRASH_SERVICE_URL"
	crashAuditKeyEnv   = "RAMPART_CRASH_AUDIT_KEY"
	crashJobEnv        = "RAMPART_CRASH_JOB_ID"
	crashStartedMarker = "crash-worker: model call started for job "
)

// rescueHang bounds the wait for River's rescue: the dead child may hold
// River's leadership, which expires only after River's leader TTL (its
// elect interval, 5 s, plus 10 s of padding); the new leader's rescuer runs
// at once, and its scheduler makes the retry available.
const rescueHang = 90 * time.Second

// blockingProvider says on stdout that its call started, then holds it
// until ctx ends (in the child: until the parent kills the process).
type blockingProvider struct{ started func() }

func (blockingProvider) Name() string  { return "blocking" }
func (blockingProvider) Model() string { return "blocking-1" }
func (p blockingProvider) Stream(ctx context.Context, _ llm.Request, _ func(string) error) (llm.Response, error) {
	p.started()
	<-ctx.Done()
	return llm.Response{}, &rampart.Error{Op: "blocking.Stream", Kind: rampart.KindUnavailable, Message: "cancelled", Err: ctx.Err()}
}

// TestHelperCrashWorker is the child of TestWorkerSIGKILLRescue: a worker
// process whose model call never returns. It is not a test on its own.
func TestHelperCrashWorker(t *testing.T) {
	if os.Getenv(crashWorkerEnv) != "1" {
		t.Skip("the worker process of TestWorkerSIGKILLRescue; runs only as its child")
	}
	secret, err := hex.DecodeString(os.Getenv(crashAuditKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	jobID := os.Getenv(crashJobEnv)
	st := openStore(t, os.Getenv(crashAppURLEnv), os.Getenv(crashServiceURLEnv), secret)
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := startWatcher(t, st)
	p := blockingProvider{started: func() {
		fmt.Fprintln(os.Stdout, crashStartedMarker+jobID)
		_ = os.Stdout.Sync()
	}}
	q, err := New(context.Background(), st, Options{Provider: p, Guard: g, Watcher: w, Workers: 1,
		PollInterval: 20 * time.Millisecond, JobTimeout: 10 * time.Minute, ID: "crash-child", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Minute) // the parent kills this process long before
	t.Fatal("the crash worker was not killed")
}

// TestWorkerSIGKILLRescue: a worker process killed with SIGKILL mid-call
// leaves its job running; River's rescuer makes it available again, another
// worker finishes it, exactly once.
func TestWorkerSIGKILLRescue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	p := e.proposal(t, a.producer, "Launch in Lisbon", benignBrief)
	requester := e.newQueue(t, e.st, Options{Workers: 0})
	job := e.request(t, requester, a.producer, p.ID)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperCrashWorker$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		crashWorkerEnv+"=1",
		crashAppURLEnv+"="+e.db.AppURL,
		crashServiceURLEnv+"="+e.db.ServiceURL,
		crashAuditKeyEnv+"="+hex.EncodeToString(e.secret),
		crashJobEnv+"="+job.ID.String(),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive this test binary
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		waited <- cmd.Wait() // after stdout is drained, as exec requires
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
	})

	// The child's model call has started: the job is running there.
	deadline := time.After(hangAfter)
	for started := false; !started; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the crash worker exited before starting the job; its stderr:\n%s", stderr.String())
			}
			if strings.HasPrefix(l, crashStartedMarker) {
				if got := strings.TrimPrefix(l, crashStartedMarker); got != job.ID.String() {
					t.Fatalf("the crash worker started job %s, want %s", got, job.ID)
				}
				started = true
			}
		case <-deadline:
			t.Fatalf("hang: the crash worker did not start the job in %s; its stderr:\n%s", hangAfter, stderr.String())
		}
	}
	if j := e.job(t, a.producer, job.ID); j.Status != rampart.JobRunning || j.Attempt != 1 || j.EstimatedTokens == 0 {
		t.Fatalf("job in the child: status %s, attempt %d, reserved %d", j.Status, j.Attempt, j.EstimatedTokens)
	}

	// SIGKILL: no clean-up of any kind in the child.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("crash worker exit: %v, want killed", err)
	}
	waited <- nil // for the cleanup
	if r := e.riverJob(t, job.ID); r.State != "running" {
		t.Fatalf("river job after the crash: %s, want running (left behind)", r.State)
	}

	// A new worker here; the rescuer hands the job to it.
	e.startQueue(t, e.st, Options{Workers: 1, JobTimeout: 5 * time.Second, RescueAfter: 6 * time.Second})
	done := e.waitJob(t, a.producer, job.ID, rescueHang, "succeeded", func(j rampart.AIJob) bool { return rampart.JobFinished(j.Status) })
	if done.Status != rampart.JobSucceeded || done.Attempt < 2 || done.Provider != llm.ProviderOffline {
		t.Fatalf("rescued job: status %s (error %s), attempt %d, provider %s", done.Status, done.ErrorCode, done.Attempt, done.Provider)
	}
	if n := len(e.jobEvents(t, a.org.ID, job.ID, audit.ActionAIGenerationCompleted)); n != 1 {
		t.Errorf("%d completed events for the job, want exactly 1", n)
	}
	if n := len(e.jobEvents(t, a.org.ID, job.ID, audit.ActionAIGenerationRetried)); n < 1 {
		t.Errorf("no retried event for the rescued attempt")
	}
	got := e.readProposal(t, a.producer, p.ID)
	if got.BodyHTML == "" || got.Status != rampart.ProposalAIPendingReview {
		t.Errorf("proposal after the rescue: status %s, %d bytes of body", got.Status, len(got.BodyHTML))
	}
	// The crashed attempt's reservation is settled as used (its model call
	// may have run: the budget must not be overshot) and recorded on the
	// job with the rescue's actual use: the month's use is the job's tokens.
	crashed := int64(estimate(requester, p))
	if b := e.budget(t, a.producer); b.ReservedTokens != 0 || b.UsedTokens != int64(done.InputTokens+done.OutputTokens) || int64(done.InputTokens) <= crashed {
		t.Errorf("usage %+v after the rescue, job tokens %d in + %d out; want 0 reserved, the job's tokens used, and the crashed reservation (%d) among its input tokens",
			b, done.InputTokens, done.OutputTokens, crashed)
	}
	waitUntil(t, "River records the job completed", func() bool { return e.riverJob(t, job.ID).State == "completed" })
}
