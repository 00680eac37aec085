// Package build runs builds: it alone knows the order of the steps (see
// steps.go, which reads top to bottom as the whole build) and owns the
// promise that every temporary resource is destroyed, on success, on error
// and on cancel.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/sbom"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// Cloud is what a build needs from the Vultr API; *vultr.Client has it.
type Cloud interface {
	leftovers.Cloud
	Resolve(ctx context.Context, v spec.Vultr) (*vultr.Resolved, error)
	CreateSSHKey(ctx context.Context, name, publicKey string) (*vultr.SSHKey, error)
	CreateInstance(ctx context.Context, req vultr.CreateInstanceRequest) (*vultr.Instance, error)
	WaitInstance(ctx context.Context, id string, cond func(*vultr.Instance) (bool, error), opts vultr.WaitOptions) (*vultr.Instance, error)
	HaltInstance(ctx context.Context, id string) error
	CreateSnapshot(ctx context.Context, instanceID, description string, known func(id string) bool) (*vultr.Snapshot, error)
	WaitSnapshot(ctx context.Context, id string, opts vultr.WaitOptions) (*vultr.Snapshot, error)
	GetSnapshot(ctx context.Context, id string) (*vultr.Snapshot, error)
	ListSnapshots(ctx context.Context, description string) ([]vultr.Snapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
}

// Comm is a connection to a build's machine; *remote.Client has it.
type Comm interface {
	provision.Communicator
	HostKeyFingerprint() string
	Close() error
}

// UI is the run's log; *ui.Console has it.
type UI interface {
	Say(build, msg string)
	Message(build, msg string)
	Phase(build, phase string) (end func())
	Warn(build, msg string, pos spec.Pos)
	Error(build, msg string, pos spec.Pos, title string)
	Debug(msg string)
	Output(build string) io.WriteCloser
	Success(build, msg string)
}

// Secrets receives values that must be masked from now on: generated keys,
// the instance's root password. *redact.Redactor has it.
type Secrets interface {
	Add(secrets ...string)
	Secrets() []string
}

// Tracker records live temporary resources so that a later process (the
// action's post step) can delete them if this one is killed, and the ones
// on-error=abort keeps, so that it leaves those alone.
type Tracker interface {
	Track(kind leftovers.Kind, id string)
	Untrack(kind leftovers.Kind, id string)
	// Keep records a resource kept on purpose, and why: the post step
	// leaves it alone and says why.
	Keep(kind leftovers.Kind, id, why string)
}

// Options configures a run of builds.
type Options struct {
	// Cloud returns the API client for a build's api_key. Builds with the
	// same key should share a client, so they share its rate limit.
	Cloud   func(apiKey string) (Cloud, error)
	UI      UI
	Secrets Secrets
	Tracker Tracker // may be nil

	// Connect opens an SSH connection; default remote.Connect.
	Connect func(ctx context.Context, cfg remote.Config) (Comm, error)
	// Dial, when set, is used for every SSH dial (the embedded emulator
	// rewrites instance addresses through it).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// IPv6Reachable reports whether this host can reach IPv6 addresses (a
	// plan without IPv4 needs it, unless ssh_host or a bastion is set).
	// Nil means it can.
	IPv6Reachable func() bool

	// RunID identifies this run in tags, labels and key names; RunUUID is
	// Packer's packer_run_uuid for the manifest.
	RunID   string
	RunUUID string
	// WorkDir is where relative post-processor outputs are written.
	WorkDir string
	// Now is the clock.
	Now func() time.Time
	// Getenv is the process environment for the SSH agent socket and
	// shell-local provisioners.
	Getenv  func(string) string
	Environ []string

	// ParallelBuilds bounds concurrent builds; 0 means unlimited.
	ParallelBuilds int
	// OnError is Packer's -on-error: "cleanup" (default), "abort" (keep a
	// failed build's instance for debugging), "run-cleanup-provisioner"
	// (run the error-cleanup-provisioner, then keep it) or "ask".
	OnError string
	// Pause, set when a person can answer in a terminal, shows a message
	// and waits for Enter: the breakpoint provisioner.
	Pause func(ctx context.Context, msg string) error
	// Interactive answers a bastion's keyboard-interactive questions
	// (ssh_bastion_interactive) in the terminal; nil without one.
	Interactive func(name, instruction string, questions []string, echos []bool) ([]string, error)
	// Ask decides, for -on-error=ask, what to do with a failed build:
	// "cleanup", "abort" or "run-cleanup-provisioner".
	Ask func(ctx context.Context, build string, err error) string

	// CleanupTimeout bounds each delete after a normal finish or failure;
	// CancelBudget bounds each after a cancel (GitHub kills the step ~10 s
	// after the first signal). Deletes run concurrently, each on its own
	// budget.
	CleanupTimeout time.Duration
	CancelBudget   time.Duration
	// Stop, when it ends, stops cleanup waiting (the CLI's second Ctrl-C).
	// Whatever is left is reported in Result.Left.
	Stop context.Context

	// Version is this tool's version, recorded in provenance.
	Version string
	// HTTPClient asks GitHub for the job's OIDC token (keyless signing);
	// default one with a 30 s time-out.
	HTTPClient *http.Client

	// Poll tunes the waits (tests shrink it).
	Poll vultr.WaitOptions
	// SSHBackoff tunes the wait for SSH (tests shrink it).
	SSHBackoff time.Duration
}

// Phase is the timing of one phase of a build.
type Phase struct {
	Name  string
	Start time.Time
	End   time.Time
	Err   error
}

// Status of a finished build.
type Status string

// Build outcomes.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Result is what one build produced.
type Result struct {
	Name       string
	Type       string
	Status     Status
	SnapshotID string // set as soon as the snapshot exists, even if a later step fails
	// ArtifactID and BuilderID are Packer's artifact: the snapshot ID and
	// "packer.vultr", or "Null" and "packer.null" for the null builder.
	ArtifactID, BuilderID string
	Description           string
	Region                string
	Plan                  string
	Image                 string
	Start, End            time.Time
	Phases                []Phase
	Err                   error
	// KeptInstance and KeptSSHKey are set when on-error=abort kept a failed
	// build's instance and key.
	KeptInstance, KeptSSHKey string
	// Kept lists what the build kept on purpose, each with its Why
	// (on-error=abort, a snapshot still pending): no advice to clean up
	// may delete them.
	Kept []leftovers.Resource
	// Left lists temporary resources that cleanup could not delete.
	Left []leftovers.Resource
	// SBOM is the snapshot's SBOM, made by an hcp-sbom provisioner (or
	// the provenance post-processor's sbom_scan_path); nil without one.
	SBOM *SBOM
	// Attestations are the statements the provenance post-processor
	// wrote.
	Attestations []Attestation
	// Checks are the vultr-verify post-processor's checks of the
	// snapshot.
	Checks []Check
}

// Check is one boot-and-check of the snapshot.
type Check struct {
	Snapshot string
	Took     time.Duration
	Err      error
}

// Verified reports whether the build's snapshot was checked ("" when it
// was not): "true" when every check passed.
func (r *Result) Verified() string {
	if len(r.Checks) == 0 {
		return ""
	}
	for _, c := range r.Checks {
		if c.Err != nil {
			return "false"
		}
	}
	return "true"
}

// SBOM is a build's software bill of materials.
type SBOM struct {
	Doc      []byte
	Format   string // "cyclonedx" or "spdx"
	Packages int
	Path     string // where it was written; "" when it was not
	// OS and List are what it lists, when it was made here (nil for a
	// template's own SBOM): another format can be made from them.
	OS   sbom.OS
	List []sbom.Package
}

// Attestation is one statement the provenance post-processor wrote.
type Attestation struct {
	Kind    string // "provenance" or "sbom"
	Path    string
	Signing string // "none", "key" or "keyless"
	Bundle  string // the Sigstore bundle of a keyless signature
}

// Duration is the build's wall time.
func (r *Result) Duration() time.Duration { return r.End.Sub(r.Start) }

// Run validates every build with the cloud (pre-flight) before creating
// anything, then runs the builds, at most ParallelBuilds at a time. It
// returns one Result per build, in spec order, and the joined errors.
func Run(ctx context.Context, s *spec.Spec, o Options) ([]*Result, error) {
	o = o.withDefaults()
	if len(s.Builds) == 0 {
		return nil, errors.New("no builds to run (check -only/-except)")
	}

	// One build asks the API at most 10 times in any second (6/s with
	// bursts of 5, so pre-flight and the creates never wait), pre-flight
	// included; builds sharing a client share its overall limit too.
	ctxs := make([]context.Context, len(s.Builds))
	for i := range ctxs {
		ctxs[i] = vultr.WithRateLimit(ctx, 6, 5)
	}
	preps, err := preflight(ctxs, s, o)
	if err != nil {
		return nil, err
	}

	run := newRunState()
	results := make([]*Result, len(s.Builds))
	limit := o.ParallelBuilds
	if limit <= 0 || limit > len(s.Builds) {
		limit = len(s.Builds)
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range s.Builds {
		i := i
		b := &s.Builds[i]
		results[i] = &Result{Name: b.Name, Type: b.Type, Description: b.Vultr.SnapshotDescription}
		wg.Add(1)
		go func(r *Result, p prepared) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				r.Status, r.Err = Cancelled, fmt.Errorf("build %s: not started: %w", b.Name, context.Cause(ctx))
				return
			}
			if b.Type == "null" {
				runNull(ctxs[i], s, b, run, r, o)
				return
			}
			runOne(ctxs[i], s, b, p, run, r, o)
		}(results[i], preps[i])
	}
	wg.Wait()

	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Connect == nil {
		o.Connect = func(ctx context.Context, cfg remote.Config) (Comm, error) { return remote.Connect(ctx, cfg) }
	}
	if o.OnError == "" {
		o.OnError = "cleanup"
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = 5 * time.Minute
	}
	if o.CancelBudget <= 0 {
		o.CancelBudget = 6 * time.Second
	}
	if o.Secrets == nil {
		o.Secrets = nopSecrets{}
	}
	if o.Tracker == nil {
		o.Tracker = nopTracker{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return o
}

type nopSecrets struct{}

func (nopSecrets) Add(...string)     {}
func (nopSecrets) Secrets() []string { return nil }

// SecretValues lists the run's secrets, for provisioners that must keep
// them off command lines.
func (o Options) SecretValues() []string {
	if o.Secrets == nil {
		return nil
	}
	return o.Secrets.Secrets()
}

type nopTracker struct{}

func (nopTracker) Track(leftovers.Kind, string)        {}
func (nopTracker) Untrack(leftovers.Kind, string)      {}
func (nopTracker) Keep(leftovers.Kind, string, string) {}

// runState is what the builds of one run share: the snapshots the run has
// made (retention never deletes them, and a lost snapshot-create answer
// never adopts one), and a lock per description, so that two builds of the
// run never create snapshots of one description at the same moment.
type runState struct {
	mu    sync.Mutex
	made  map[string]bool
	gates map[string]*sync.Mutex
	// keys is each account's current temporary SSH key, per comment (see
	// sharedKey).
	keys   map[keyScope]*sharedKey
	keySeq int
}

func newRunState() *runState {
	return &runState{made: map[string]bool{}, gates: map[string]*sync.Mutex{}, keys: map[keyScope]*sharedKey{}}
}

// madeHere reports whether this run made snapshot id.
func (r *runState) madeHere(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.made[id]
}

func (r *runState) recordSnapshot(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.made[id] = true
}

// gate is the lock for snapshot creates of one description.
func (r *runState) gate(description string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.gates[description]
	if !ok {
		g = &sync.Mutex{}
		r.gates[description] = g
	}
	return g
}

// preflight resolves every build's region, plan and image against the live
// catalogue, all builds at once, and reports every problem together.
func preflight(ctxs []context.Context, s *spec.Spec, o Options) ([]prepared, error) {
	out := make([]prepared, len(s.Builds))
	errs := make([]error, len(s.Builds))
	var wg sync.WaitGroup
	for i := range s.Builds {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := &s.Builds[i]
			end := o.UI.Phase(b.Name, "pre-flight")
			defer end()
			if b.Type == "null" {
				o.UI.Message(b.Name, "The null builder: no cloud, no image")
				return
			}
			cloud, err := o.Cloud(b.Vultr.APIKey)
			if err != nil {
				errs[i] = fmt.Errorf("build %s: %w", b.Name, err)
				return
			}
			rv, err := cloud.Resolve(ctxs[i], b.Vultr)
			if err == nil {
				err = checkIPv6(b, rv, o)
			}
			if err != nil {
				errs[i] = fmt.Errorf("build %s: pre-flight: %w", b.Name, err)
				return
			}
			for _, w := range rv.Warnings {
				o.UI.Warn(b.Name, w, spec.Pos{})
			}
			o.UI.Message(b.Name, fmt.Sprintf("Region %s, plan %s, image %s", describe(rv.Region, rv.RegionCity), describe(rv.Plan, rv.PlanSummary), rv.ImageName))
			out[i] = prepared{cloud: cloud, resolved: rv}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// checkIPv6 fails a build on a plan without IPv4 that this host cannot
// reach: GitHub-hosted runners have no IPv6. ssh_host or a bastion is
// reached another way.
func checkIPv6(b *spec.Build, rv *vultr.Resolved, o Options) error {
	if !rv.IPv6Only || b.SSH.Host != "" || b.SSH.Bastion != nil || o.IPv6Reachable == nil || o.IPv6Reachable() {
		return nil
	}
	return spec.Diagnostics{{Pos: b.Vultr.Plan.Pos, Path: b.Vultr.Plan.Key,
		Summary: fmt.Sprintf("plan %s has no IPv4 address, and this host cannot reach IPv6 (GitHub-hosted runners cannot)", rv.Plan),
		Detail:  "use a plan with IPv4, run on a runner with IPv6, or reach the machine through ssh_bastion_host or ssh_host"}}
}

// prepared is a build that passed pre-flight.
type prepared struct {
	cloud    Cloud
	resolved *vultr.Resolved
}

func describe(id, detail string) string {
	if detail == "" || detail == id {
		return id
	}
	return id + " (" + detail + ")"
}
