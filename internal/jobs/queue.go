package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// QueueName is River's queue for AI jobs.
const QueueName = "ai"

// Guard modes: what happens to a job whose input scores above the guard's threshold.
const (
	GuardRefuse = "refuse" // the job ends as refused
	GuardReview = "review" // the job ends as needs_review, for a human to look at
)

// Options configure a Queue.
type Options struct {
	Provider  llm.Provider
	Guard     *guard.Guard
	GuardMode string // GuardRefuse (default) or GuardReview
	Watcher   *killswitch.Watcher
	// Workers is the process's concurrency; 0 makes an insert-only queue
	// (a process that requests jobs but does not work them).
	Workers int
	// PerOrg bounds the jobs of one organization running at once: in this
	// process (a slot), and in the whole cluster (store.StartAIJob counts
	// the running jobs of every process under a per-organization lock).
	PerOrg int
	// MaxAttempts per job (River retries with exponential backoff); default 5.
	MaxAttempts int
	// PollInterval is how often an idle worker looks for jobs; default 200 ms.
	PollInterval time.Duration
	// JobTimeout bounds one attempt; default 5 m.
	JobTimeout time.Duration
	// RescueAfter is when a job left running by a dead worker becomes
	// available again; default JobTimeout + 1 m.
	RescueAfter time.Duration
	// MaxTokens bounds the model's output per job; 0 = llm's default.
	MaxTokens int
	// ID names this process in River (unique per process); "" = random.
	ID     string
	Logger *slog.Logger
	// Metrics, when set, receives the queue's Prometheus collectors.
	Metrics prometheus.Registerer

	// extraWorkers adds River workers of other kinds to the queue
	// (benchmarks of the queue's own overhead); nil outside tests.
	extraWorkers func(*river.Workers) error
	// timings, when set, receives each generation attempt's time in the
	// guard and in the whole attempt (the benchmark of the guard's share);
	// nil outside tests.
	timings func(guard, attempt time.Duration)
}

// Queue requests and works AI jobs.
type Queue struct {
	store  *store.Store
	opts   Options
	client *river.Client[pgx.Tx]
	closer func()
	ping   func(context.Context) error
	log    *slog.Logger
	met    *metrics

	mu   sync.Mutex
	orgs map[uuid.UUID]int
}

// New builds a queue on st's service login (River's pool runs as
// rampart_queue). Start begins working jobs.
func New(ctx context.Context, st *store.Store, opts Options) (*Queue, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	q := &Queue{store: st, opts: opts, log: opts.Logger, orgs: map[uuid.UUID]int{}}
	met, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, fmt.Errorf("job queue metrics: %w", err)
	}
	q.met = met
	driver, err := st.Jobs().QueueDriver(ctx, int32(max(4, opts.Workers/4+2)))
	if err != nil {
		return nil, err
	}
	cfg := &river.Config{
		Schema:               store.QueueSchema,
		PollOnly:             true,
		FetchPollInterval:    opts.PollInterval,
		FetchCooldown:        fetchCooldown(opts.PollInterval),
		MaxAttempts:          opts.MaxAttempts,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueAfter,
		ID:                   opts.ID,
		Logger:               opts.Logger,
	}
	if opts.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &generateWorker{q: q}); err != nil {
			driver.Close()
			return nil, err
		}
		if opts.extraWorkers != nil {
			if err := opts.extraWorkers(workers); err != nil {
				driver.Close()
				return nil, err
			}
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{QueueName: {MaxWorkers: opts.Workers}}
	}
	client, err := river.NewClient[pgx.Tx](quietDriver{driver.Driver}, cfg)
	if err != nil {
		driver.Close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.client, q.closer, q.ping = client, driver.Close, driver.Ping
	return q, nil
}

func (o *Options) defaults() error {
	if o.Provider == nil || o.Guard == nil || o.Watcher == nil {
		return errors.New("job queue: Provider, Guard and Watcher are required")
	}
	o.GuardMode = cmp.Or(o.GuardMode, GuardRefuse)
	if o.GuardMode != GuardRefuse && o.GuardMode != GuardReview {
		return fmt.Errorf("guard mode must be %q or %q, got %q", GuardRefuse, GuardReview, o.GuardMode)
	}
	if o.Workers < 0 || o.Workers > 1000 {
		return fmt.Errorf("AI workers must be between 0 and 1000, got %d", o.Workers)
	}
	o.PerOrg = cmp.Or(o.PerOrg, 2)
	if o.PerOrg < 1 || o.PerOrg > 1000 {
		return fmt.Errorf("AI jobs per organization must be between 1 and 1000, got %d", o.PerOrg)
	}
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 5)
	if o.MaxAttempts < 1 || o.MaxAttempts > 25 {
		return fmt.Errorf("AI job attempts must be between 1 and 25, got %d", o.MaxAttempts)
	}
	o.PollInterval = cmp.Or(o.PollInterval, 200*time.Millisecond)
	o.JobTimeout = cmp.Or(o.JobTimeout, 5*time.Minute)
	o.RescueAfter = cmp.Or(o.RescueAfter, o.JobTimeout+time.Minute)
	if o.PollInterval < time.Millisecond || o.JobTimeout < time.Second || o.RescueAfter <= o.JobTimeout {
		return fmt.Errorf("job queue timings: poll interval ≥ 1ms, job timeout ≥ 1s and rescue after > job timeout (got %s, %s, %s)", o.PollInterval, o.JobTimeout, o.RescueAfter)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// fetchCooldown is the shortest pause between two fetches of a busy
// worker: a freed worker waits at most this long for its next job.
func fetchCooldown(poll time.Duration) time.Duration { return min(poll, 5*time.Millisecond) }

// Start begins working jobs (a no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if q.opts.Workers == 0 {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop stops fetching, lets running jobs finish until ctx ends (then
// cancels them; River retries them later) and closes the pool.
func (q *Queue) Stop(ctx context.Context) error {
	var err error
	if q.opts.Workers > 0 {
		if err = q.client.Stop(ctx); err != nil {
			err = q.client.StopAndCancel(context.Background())
		}
	}
	q.closer()
	return err
}

// Kill stops working at once without waiting for jobs (tests of crashes).
func (q *Queue) Kill() {
	if q.opts.Workers > 0 {
		_ = q.client.StopAndCancel(context.Background())
	}
	q.closer()
}

// Healthy checks that the queue's database connection answers.
func (q *Queue) Healthy(ctx context.Context) error {
	if err := q.ping(ctx); err != nil {
		return rampart.Wrap("jobs.Healthy", rampart.KindUnavailable, err)
	}
	return nil
}

// Provider names the model provider and model (health, docs).
func (q *Queue) Provider() (name, model string) {
	return q.opts.Provider.Name(), q.opts.Provider.Model()
}

// Request records a generation request for a proposal as claims' user,
// with its River job and audit event in one transaction. It refuses, with
// 423 and the reason, when a kill switch covers the organization; when the
// organization's token budget is spent (audited); and when the proposal
// already has a job under way.
func (q *Queue) Request(ctx context.Context, claims rampart.Claims, proposalID uuid.UUID, agent string) (rampart.AIJob, error) {
	return q.request(ctx, claims, proposalID, agent, q.enqueue())
}

// enqueue is the River job of a generation request, inserted in the
// request's transaction at the priority fairPriority gives its
// organization's backlog.
func (q *Queue) enqueue() store.QueueRequest {
	return store.QueueRequest{BacklogCap: fairTiers * q.opts.PerOrg, Insert: func(job rampart.AIJob, backlog int) store.QueueInsert {
		return func(ctx context.Context, ptx pgx.Tx) (int64, error) {
			res, err := q.client.InsertTx(ctx, ptx, GenerateArgs{OrganizationID: job.OrganizationID, JobID: job.ID},
				&river.InsertOpts{Queue: QueueName, MaxAttempts: q.opts.MaxAttempts, Priority: fairPriority(backlog, q.opts.PerOrg)})
			if err != nil {
				return 0, err
			}
			return res.Job.ID, nil
		}
	}}
}

// fairTiers × PerOrg unfinished jobs put an organization's new job in the
// last priority tier (fairPriority).
const fairTiers = 16

// fairPriority is the River priority (1 runs first, 4 last) of a new job of
// an organization that already has backlog unfinished jobs, with perOrg of
// them allowed to run at once: below perOrg the job can start at once (1);
// then 2 up to 4 × perOrg, 3 up to fairTiers × perOrg, and 4 beyond.
// River fetches by priority, then age, so one organization's flood queues
// behind every other organization's first jobs instead of ahead of them
// (decision 0011); an organization's own jobs keep their order while its
// backlog grows.
func fairPriority(backlog, perOrg int) int {
	switch {
	case backlog < perOrg:
		return 1
	case backlog < 4*perOrg:
		return 2
	case backlog < fairTiers*perOrg:
		return 3
	default:
		return 4
	}
}

// request is Request with the queue insert given (benchmarks compare it
// with an insert that writes nothing).
func (q *Queue) request(ctx context.Context, claims rampart.Claims, proposalID uuid.UUID, agent string, enqueue store.QueueRequest) (rampart.AIJob, error) {
	const op = "jobs.Request"
	if err := q.opts.Watcher.Check(claims.OrganizationID); err != nil {
		return rampart.AIJob{}, q.refuseKilled(ctx, op, claims, err)
	}
	// One transaction: the budget (with the billing plan's state) is read
	// and the job requested together.
	var spent *int64
	var lapsed *rampart.TokenBudget
	job, err := store.InTenantValue(ctx, q.store, claims, func(ctx context.Context, tx *store.TenantTx) (rampart.AIJob, error) {
		budget, err := tx.Budget().Get(ctx)
		if err != nil {
			return rampart.AIJob{}, err
		}
		if budget.PlanRefused {
			lapsed = &budget
			return rampart.AIJob{}, store.ErrBudgetExhausted
		}
		if budget.Remaining() == 0 {
			spent = budget.Limit()
			return rampart.AIJob{}, store.ErrBudgetExhausted
		}
		return tx.AIJobs().Request(ctx, proposalID, agent, enqueue)
	})
	if lapsed != nil {
		// A lapsed plan (docs/billing.md): past due or canceled, and its
		// grace period over. Recorded on its own, like a spent budget.
		_ = q.store.Audit().RecordTenantEvent(ctx, claims, audit.Event{Action: audit.ActionAIPlanRefused,
			TargetType: "proposal", TargetID: proposalID.String(),
			Reason: "new AI request refused: the billing plan is " + string(lapsed.PlanStatus)})
		since := ""
		if lapsed.AIGraceUntil != nil {
			since = " since " + lapsed.AIGraceUntil.UTC().Format(time.RFC3339)
		}
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindPaymentRequired,
			"the organization's %s plan is %s and its grace period ended%s: new AI requests are refused until an admin settles the subscription",
			lapsed.Plan, lapsed.PlanStatus, since)
	}
	if spent != nil {
		// The refusal is recorded on its own: the request's transaction rolled back.
		_ = q.store.Audit().RecordTenantEvent(ctx, claims, audit.Event{Action: audit.ActionAIBudgetExhausted,
			TargetType: "proposal", TargetID: proposalID.String(),
			Reason: "new AI request refused: the monthly token budget is spent"})
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindQuotaExceeded, "the organization's monthly AI token budget (%d tokens) is spent", *spent)
	}
	return job, err
}

// refuseKilled answers a request in a killed scope: 423 with the reason
// (the organization's own reason, read through RLS), audited.
func (q *Queue) refuseKilled(ctx context.Context, op string, claims rampart.Claims, checkErr error) error {
	var orgReason string
	var st *killswitch.Stopped
	if errors.As(checkErr, &st) && st.Scope == "organization" {
		ks, err := store.InTenantValue(ctx, q.store, claims, func(ctx context.Context, tx *store.TenantTx) (rampart.KillSwitch, error) {
			return tx.KillSwitch().Get(ctx)
		})
		if err == nil {
			orgReason = ks.Reason
		}
	}
	refusal := killswitch.Refuse(op, checkErr, orgReason)
	_ = q.store.Audit().RecordTenantEvent(ctx, claims, audit.Event{Action: audit.ActionAIGenerationKillBlocked,
		TargetType: "organization", TargetID: claims.OrganizationID.String(), Reason: rampart.ErrorMessage(refusal)})
	return refusal
}

// acquireOrg takes one of the organization's slots in this process.
func (q *Queue) acquireOrg(org uuid.UUID) (release func(), ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.orgs[org] >= q.opts.PerOrg {
		return nil, false
	}
	q.orgs[org]++
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.orgs[org]--; q.orgs[org] == 0 {
			delete(q.orgs, org)
		}
	}, true
}

// quietDriver is River's pgx driver whose transactional inserts never
// NOTIFY. River sends pg_notify from InsertTx so LISTENing workers wake at
// once; Rampart's workers poll (PollOnly), so the notification would only
// cost every request transaction that enqueues a job (a NOTIFY serialises
// commits on the notification queue). Workers find jobs within PollInterval.
type quietDriver struct{ *riverpgxv5.Driver }

func (d quietDriver) UnwrapExecutor(tx pgx.Tx) riverdriver.ExecutorTx {
	return quietExecutorTx{d.Driver.UnwrapExecutor(tx)}
}

type quietExecutorTx struct{ riverdriver.ExecutorTx }

func (quietExecutorTx) NotifyMany(context.Context, *riverdriver.NotifyManyParams) error { return nil }

// ProbeModel asks the configured model provider whether it answers and
// accepts its credentials, spending no tokens (llm.Probe).
func (q *Queue) ProbeModel(ctx context.Context) error { return llm.Probe(ctx, q.opts.Provider) }
