// Package leftovers is the one home of what this tool leaves in an account
// and how it is found again: the naming scheme of its temporary resources
// (the tool tag, a run tag per build, a key name per run), finding one
// run's resources, finding old ones to sweep, and deleting them.
//
// Everything here checks tags and names on the client. Vultr does not
// document whether its tag filter is exact, so a filtered list is only a
// hint: nothing is adopted or deleted whose tags this package has not read
// itself. Snapshots are never touched: they are what builds make.
package leftovers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// The naming scheme. Every instance a build creates carries ToolTag and
// RunTag(run, build); every temporary key is named KeyName(run, n): a
// run's builds share one key per account.
const (
	ToolTag      = "vultr-image-action"
	runTagPrefix = "vultr-image-action-run:"
	keyPrefix    = "vultr-image-action-"
)

// runIDPattern is what NewRunID makes: 8 hex digits, after the GitHub run
// and attempt when there is one.
const runIDPattern = `(?:gh[0-9]+-[0-9]+-)?[0-9a-f]{8}`

var (
	runIDRE  = regexp.MustCompile(`^` + runIDPattern + `$`)
	runTagRE = regexp.MustCompile(`^` + regexp.QuoteMeta(runTagPrefix) + `(` + runIDPattern + `):(.+)$`)
	keyRE    = regexp.MustCompile(`^` + regexp.QuoteMeta(keyPrefix) + `(` + runIDPattern + `)-(.+)$`)
)

// ValidRunID reports whether id has the shape NewRunID gives.
func ValidRunID(id string) bool { return runIDRE.MatchString(id) }

// RunTag is the tag that names one build of one run.
func RunTag(runID, build string) string { return runTagPrefix + runID + ":" + build }

// VerifyTag is the run tag of the instance that checks one build's
// snapshot (the vultr-verify post-processor).
func VerifyTag(runID, build string) string { return RunTag(runID, build+"/verify") }

// KeyName is the name of a run's n-th temporary SSH key in one account.
func KeyName(runID string, n int) string { return fmt.Sprintf("%s%s-key%d", keyPrefix, runID, n) }

// InstanceRun returns the run an instance belongs to, when it carries both
// the tool tag and a well-formed run tag.
func InstanceRun(in vultr.Instance) (runID string, ok bool) {
	if !slices.Contains(in.Tags, ToolTag) {
		return "", false
	}
	for _, t := range in.Tags {
		if m := runTagRE.FindStringSubmatch(t); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// HasTag reports whether an instance, as read from the API, carries tag
// exactly.
func HasTag(in vultr.Instance, tag string) bool { return slices.Contains(in.Tags, tag) }

// KeyRun returns the run a key belongs to, when its name follows the scheme.
func KeyRun(k vultr.SSHKey) (runID string, ok bool) {
	m := keyRE.FindStringSubmatch(k.Name)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Cloud is what finding and deleting leftovers needs; *vultr.Client has it.
type Cloud interface {
	ListInstances(ctx context.Context, f vultr.ListFilter) ([]vultr.Instance, error)
	GetInstance(ctx context.Context, id string) (*vultr.Instance, error)
	DeleteInstance(ctx context.Context, id string) error
	ListSSHKeys(ctx context.Context) ([]vultr.SSHKey, error)
	DeleteSSHKey(ctx context.Context, id string) error
}

// Kind is a kind of temporary resource.
type Kind string

// Kinds of temporary resources.
const (
	Instance Kind = "instance"
	SSHKey   Kind = "ssh key"
)

// Resource is one temporary resource. A Resource with a Run and no ID
// stands for whatever carries that run's tags (a create whose answer was
// lost).
type Resource struct {
	Kind    Kind
	ID      string
	Run     string
	Name    string    // label or key name
	Created time.Time // zero when the API's date could not be read
	Tags    []string
	// Why says why a resource was kept on purpose ("its snapshot ... is
	// still pending"); "" for one to delete.
	Why string
}

func (r Resource) String() string {
	if r.ID == "" {
		return fmt.Sprintf("any %s tagged %s", r.Kind, r.Name)
	}
	s := fmt.Sprintf("%s %s", r.Kind, r.ID)
	if r.Name != "" {
		s += fmt.Sprintf(" %q", r.Name)
	}
	return s
}

func fromInstance(in vultr.Instance) Resource {
	return Resource{Kind: Instance, ID: in.ID, Name: in.Label, Created: in.DateCreated, Tags: in.Tags}
}

func fromKey(k vultr.SSHKey) Resource {
	return Resource{Kind: SSHKey, ID: k.ID, Name: k.Name, Created: k.DateCreated}
}

// FindRun lists the instances and keys of one run: instances whose tags,
// read here, include the tool tag and one of the run's run tags; keys
// named for the run.
func FindRun(ctx context.Context, c Cloud, runID string) ([]Resource, error) {
	if !ValidRunID(runID) {
		return nil, fmt.Errorf("%q is not a run ID of this tool", runID)
	}
	return find(ctx, c, func(run string, _ time.Time) bool { return run == runID })
}

// FindBuild lists the instances that carry one build's run tag. It is how a
// create whose answer was lost is found and deleted.
func FindBuild(ctx context.Context, c Cloud, runTag string) ([]Resource, error) {
	list, err := c.ListInstances(ctx, vultr.ListFilter{Tag: runTag})
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, in := range list {
		if _, ok := InstanceRun(in); ok && HasTag(in, runTag) {
			out = append(out, fromInstance(in))
		}
	}
	return out, nil
}

// FindOld lists this tool's instances and keys created before cutoff. A
// resource whose creation date cannot be read is never old.
func FindOld(ctx context.Context, c Cloud, cutoff time.Time) ([]Resource, error) {
	return find(ctx, c, func(_ string, created time.Time) bool { return !created.IsZero() && created.Before(cutoff) })
}

func find(ctx context.Context, c Cloud, match func(runID string, created time.Time) bool) ([]Resource, error) {
	list, err := c.ListInstances(ctx, vultr.ListFilter{Tag: ToolTag})
	if err != nil {
		return nil, fmt.Errorf("list instances tagged %s: %w", ToolTag, err)
	}
	var out []Resource
	for _, in := range list {
		if run, ok := InstanceRun(in); ok && match(run, in.DateCreated) {
			out = append(out, fromInstance(in))
		}
	}
	keys, err := c.ListSSHKeys(ctx)
	if err != nil {
		return out, fmt.Errorf("list ssh keys: %w", err)
	}
	for _, k := range keys {
		if run, ok := KeyRun(k); ok && match(run, k.DateCreated) {
			out = append(out, fromKey(k))
		}
	}
	return out, nil
}

// ErrNotOurs is a resource that does not carry this tool's scheme.
var ErrNotOurs = errors.New("not created by vultr-image-action")

// Verify reads the resources named by ID and checks each is this tool's:
// an instance with the tool tag and a run tag, a key named by the scheme.
// It returns the ones that are, and those that no longer exist; a
// resource that is not ours is an error (ErrNotOurs) that names it. Keys
// are listed once, however many are asked for.
func Verify(ctx context.Context, c Cloud, rs []Resource) (ours, gone []Resource, err error) {
	var errs []error
	var keys []vultr.SSHKey
	listed := false
	for _, r := range rs {
		switch r.Kind {
		case Instance:
			in, err := c.GetInstance(ctx, r.ID)
			switch {
			case errors.Is(err, vultr.ErrNotFound):
				gone = append(gone, r)
			case err != nil:
				errs = append(errs, fmt.Errorf("read instance %s: %w", r.ID, err))
			default:
				if _, ok := InstanceRun(*in); !ok {
					errs = append(errs, fmt.Errorf("instance %s (tags %v): %w", r.ID, in.Tags, ErrNotOurs))
					continue
				}
				ours = append(ours, fromInstance(*in))
			}
		case SSHKey:
			if !listed {
				if keys, err = c.ListSSHKeys(ctx); err != nil {
					errs = append(errs, fmt.Errorf("list ssh keys: %w", err))
					continue
				}
				listed = true
			}
			i := slices.IndexFunc(keys, func(k vultr.SSHKey) bool { return k.ID == r.ID })
			switch {
			case i < 0:
				gone = append(gone, r)
			case !isKey(keys[i]):
				errs = append(errs, fmt.Errorf("ssh key %s (%q): %w", r.ID, keys[i].Name, ErrNotOurs))
			default:
				ours = append(ours, fromKey(keys[i]))
			}
		default:
			errs = append(errs, fmt.Errorf("unknown resource kind %q", r.Kind))
		}
	}
	return ours, gone, errors.Join(errs...)
}

func isKey(k vultr.SSHKey) bool {
	_, ok := KeyRun(k)
	return ok
}

// Outcome is what happened to one resource.
type Outcome struct {
	Resource Resource
	Err      error // nil: deleted (or already gone)
}

// Delete deletes resources concurrently, each on its own context bounded by
// budget: a locked instance cannot use up the time of an unrelated key.
// The parent's cancellation stops every delete (in the CLI, a second
// Ctrl-C); its values are kept. Outcomes come back in the order given.
func Delete(ctx context.Context, c Cloud, rs []Resource, budget time.Duration) []Outcome {
	out := make([]Outcome, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			var err error
			switch r.Kind {
			case Instance:
				err = c.DeleteInstance(dctx, r.ID)
			case SSHKey:
				err = c.DeleteSSHKey(dctx, r.ID)
			default:
				err = fmt.Errorf("unknown resource kind %q", r.Kind)
			}
			if err != nil {
				err = fmt.Errorf("delete %s: %w", r, err)
			}
			out[i] = Outcome{Resource: r, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// Failed lists the resources whose delete failed.
func Failed(os []Outcome) []Resource {
	var out []Resource
	for _, o := range os {
		if o.Err != nil {
			out = append(out, o.Resource)
		}
	}
	return out
}

// Errors joins the outcomes' errors.
func Errors(os []Outcome) error {
	var errs []error
	for _, o := range os {
		errs = append(errs, o.Err)
	}
	return errors.Join(errs...)
}

// CleanupCommand is the command that deletes rs later, and nothing else:
// where it names a whole run (-run), each resource of kept (an instance
// kept on purpose: its snapshot still pending, or on-error=abort) is
// excepted with -keep.
func CleanupCommand(rs []Resource, kept ...Resource) string {
	if len(rs) == 0 {
		return ""
	}
	sorted := append([]Resource(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Kind < sorted[j].Kind })
	var b strings.Builder
	b.WriteString("vultr-image-action cleanup")
	runs := map[string]bool{}
	for _, r := range sorted {
		switch {
		case r.ID == "" && r.Run != "":
			if !runs[r.Run] {
				runs[r.Run] = true
				b.WriteString(" -run " + r.Run)
			}
		case r.Kind == Instance:
			b.WriteString(" -instance " + r.ID)
		case r.Kind == SSHKey:
			b.WriteString(" -ssh-key " + r.ID)
		}
	}
	if len(runs) > 0 {
		for _, k := range Dedupe(kept) {
			if k.ID != "" {
				b.WriteString(" -keep " + k.ID)
			}
		}
	}
	return b.String()
}

// Dedupe drops repeated resources, keeping the first of each.
func Dedupe(rs []Resource) []Resource {
	seen := map[string]bool{}
	var out []Resource
	for _, r := range rs {
		k := string(r.Kind) + "/" + r.ID
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// NewRunID names a run in tags and key names: the GitHub run and attempt
// when there is one (so a sweep can tell runs apart), plus randomness.
func NewRunID(getenv func(string) string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	r := hex.EncodeToString(b[:])
	if id := getenv("GITHUB_RUN_ID"); id != "" && digits(id) {
		attempt := getenv("GITHUB_RUN_ATTEMPT")
		if !digits(attempt) {
			attempt = "1"
		}
		return "gh" + id + "-" + attempt + "-" + r
	}
	return r
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
