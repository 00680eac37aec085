package vultr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"slices"
	"time"

	"github.com/vultr/govultr/v3"
)

// Instance is what a build needs to know of an instance.
type Instance struct {
	ID, Label, Region, Plan           string
	Status, PowerStatus, ServerStatus string
	MainIP, V6MainIP                  string
	DefaultPassword                   string
	Tags                              []string
	DateCreated                       time.Time
	OSID, AppID                       int
	Disk                              int // GB
}

// SSHKey is an SSH key.
type SSHKey struct {
	ID, Name    string
	DateCreated time.Time
}

// Snapshot is a snapshot.
type Snapshot struct {
	ID, Description, Status string
	Size                    int64
	DateCreated             time.Time
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func fromInstance(i *govultr.Instance) *Instance {
	return &Instance{ID: i.ID, Label: i.Label, Region: i.Region, Plan: i.Plan, Status: i.Status, PowerStatus: i.PowerStatus,
		ServerStatus: i.ServerStatus, MainIP: i.MainIP, V6MainIP: i.V6MainIP, DefaultPassword: i.DefaultPassword,
		Tags: i.Tags, DateCreated: parseTime(i.DateCreated), OSID: i.OsID, AppID: i.AppID, Disk: i.Disk}
}

func fromSnapshot(s *govultr.Snapshot) *Snapshot {
	return &Snapshot{ID: s.ID, Description: s.Description, Status: s.Status, Size: int64(s.Size), DateCreated: parseTime(s.DateCreated)}
}

// InstanceReady: active, running, and server_status ok (booted).
func InstanceReady(i *Instance) bool {
	return i.Status == "active" && i.PowerStatus == "running" && i.ServerStatus == "ok"
}

// ErrInstanceFailed is an instance that Vultr reports failed
// (server_status "error"): waiting longer cannot help.
var ErrInstanceFailed = errors.New("instance failed")

// knownStates are the statuses an instance passes through on its way to
// ready, documented and observed (isomounting for ISO builds, starting for
// power).
var knownStates = map[string][]string{
	"status":        {"pending", "active", "suspended", "resizing"},
	"power_status":  {"running", "stopped", "starting"},
	"server_status": {"none", "locked", "installingbooting", "isomounting", "ok"},
}

// BootState says whether an instance is ready (active, running, and
// server_status ok), failed (server_status error: an error naming the
// instance), or still on its way. A status this client does not know is
// reported to unknown, once per value, and waited on: never taken as
// ready.
func BootState(i *Instance, unknown func(field, value string)) (bool, error) {
	if i.ServerStatus == "error" || i.Status == "error" {
		return false, fmt.Errorf("%w: instance %s reports status %q, server_status %q", ErrInstanceFailed, i.ID, i.Status, i.ServerStatus)
	}
	for field, v := range map[string]string{"status": i.Status, "power_status": i.PowerStatus, "server_status": i.ServerStatus} {
		if v != "" && !slices.Contains(knownStates[field], v) && unknown != nil {
			unknown(field, v)
		}
	}
	return InstanceReady(i), nil
}

// InstanceStopped: powered off.
func InstanceStopped(i *Instance) bool { return i.PowerStatus == "stopped" }

// createTimeout bounds one create request. A create runs to its answer
// even when the build is cancelled: cancelling it halfway would leave a
// resource that exists with no ID to delete it by.
const createTimeout = 60 * time.Second

// lookupTimeout bounds the look-up after an ambiguous create. It is a
// budget of its own: a create that used all of createTimeout must still be
// looked for.
const lookupTimeout = 60 * time.Second

// createCtx is one create request's context: not cancelled with the build.
func (c *Client) createCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.cfg.CreateTimeout)
}

// lookupCtx is the look-up's context after an ambiguous create.
func (c *Client) lookupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LookupTimeout)
}

// AmbiguousCreateError is a create that may have happened: the API gave no
// clear answer and no look-up could tell. The caller must look again
// (by RunTag, for instances) before it gives up on what it may have made.
type AmbiguousCreateError struct {
	What   string // "instance", "snapshot", "ssh key"
	RunTag string // instances only
	Err    error
}

func (e *AmbiguousCreateError) Error() string {
	return fmt.Sprintf("the %s create may have happened (no clear answer, and a look-up could not tell): %v", e.What, e.Err)
}

func (e *AmbiguousCreateError) Unwrap() error { return e.Err }

// Account checks the key works.
func (c *Client) Account(ctx context.Context) error {
	return c.retry(ctx, func(ctx context.Context) error {
		_, _, err := c.gv.Account.Get(ctx)
		return err
	})
}

// CreateSSHKey registers a public key. Key names are unique per run, so a
// create whose answer was lost is found by name instead of re-sent.
func (c *Client) CreateSSHKey(ctx context.Context, name, publicKey string) (*SSHKey, error) {
	return createThenLookUp(ctx, c, "ssh key", func(actx context.Context) (*SSHKey, error) {
		k, _, err := c.gv.SSHKey.Create(actx, &govultr.SSHKeyReq{Name: name, SSHKey: publicKey})
		if err != nil {
			return nil, err
		}
		return &SSHKey{ID: k.ID, Name: k.Name, DateCreated: parseTime(k.DateCreated)}, nil
	}, func(lctx context.Context) (*SSHKey, error) {
		keys, err := c.ListSSHKeys(lctx)
		if err != nil {
			return nil, err
		}
		var found []SSHKey
		for _, k := range keys {
			if k.Name == name {
				found = append(found, k)
			}
		}
		return one(found, "ssh keys named "+name)
	})
}

// createThenLookUp sends a create, and after an answer that leaves it
// unclear whether the create happened (5xx, 429, no answer) looks for the
// result before it sends again: never two. Each request and each look-up
// has its own deadline, and none ends with the build's cancellation. When
// the attempts run out with the question still open, the error is an
// *AmbiguousCreateError.
func createThenLookUp[T any](ctx context.Context, c *Client, what string, create, lookUp func(context.Context) (*T, error)) (*T, error) {
	// Nothing is sent for a build that is already cancelled; once sent, a
	// create runs to its answer.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		var out *T
		actx, cancel := c.createCtx(ctx)
		err := c.call(actx, func(actx context.Context) error {
			var err error
			out, err = create(actx)
			return err
		})
		cancel()
		if err == nil {
			return out, nil
		}
		if !temporary(err) && !errors.Is(err, context.DeadlineExceeded) {
			if attempt > 1 {
				// An earlier attempt may have created it (this failure may
				// even be because of it: a quota, a name in use).
				return nil, &AmbiguousCreateError{What: what, Err: err}
			}
			return nil, err
		}
		// The create may have happened. Look before anything else.
		lctx, lcancel := c.lookupCtx(ctx)
		found, lerr := lookUp(lctx)
		lcancel()
		switch {
		case lerr == nil && found != nil:
			c.cfg.Logf("create %s: the API answered %v, but the look-up found what it made: using it", what, err)
			return found, nil
		case lerr != nil:
			// Unknown whether it exists: sending again could make two.
			return nil, &AmbiguousCreateError{What: what, Err: errors.Join(err, lerr)}
		}
		if attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			return nil, &AmbiguousCreateError{What: what, Err: errors.Join(err, ctx.Err())}
		}
		if werr := sleep(ctx, c.backoff(attempt, err)); werr != nil {
			return nil, &AmbiguousCreateError{What: what, Err: errors.Join(err, werr)}
		}
	}
}

// ErrAmbiguousMatch is a look-up that found more than one candidate.
var ErrAmbiguousMatch = errors.New("more than one candidate")

// one returns the only element of found, nil for none, and an error for
// more than one: a look-up adopts only what can be nothing else.
func one[T any](found []T, what string) (*T, error) {
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("%d %s: %w", len(found), what, ErrAmbiguousMatch)
}

// DeleteSSHKey deletes a key; one already gone counts as deleted.
func (c *Client) DeleteSSHKey(ctx context.Context, id string) error {
	err := c.retry(ctx, func(ctx context.Context) error { return c.gv.SSHKey.Delete(ctx, id) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ListSSHKeys lists every key, following the cursor.
func (c *Client) ListSSHKeys(ctx context.Context) ([]SSHKey, error) {
	var out []SSHKey
	opts := &govultr.ListOptions{PerPage: 500}
	for {
		var page []govultr.SSHKey
		var meta *govultr.Meta
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			page, meta, _, err = c.gv.SSHKey.List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			out = append(out, SSHKey{ID: k.ID, Name: k.Name, DateCreated: parseTime(k.DateCreated)})
		}
		if meta == nil || meta.Links == nil || meta.Links.Next == "" {
			return out, nil
		}
		opts.Cursor = meta.Links.Next
	}
}

// CreateInstanceRequest is what to create.
type CreateInstanceRequest struct {
	Region, Plan               string
	OSID, AppID                int
	ImageID, SnapshotID, ISOID string
	Label, Hostname            string
	Tags                       []string
	// RunTag is unique to this build; it is added to Tags and is how a
	// create whose answer was lost is found.
	RunTag     string
	SSHKeyIDs  []string
	ScriptID   string
	UserData   []byte
	EnableIPv6 bool
	EnableVPC  bool
	VPCIDs     []string
}

// CreateInstance creates an instance and never two: after an ambiguous
// failure (5xx, 429, no answer) it looks for the run tag before trying
// again.
func (c *Client) CreateInstance(ctx context.Context, r CreateInstanceRequest) (*Instance, error) {
	if r.RunTag == "" {
		return nil, errors.New("create instance: a run tag is required")
	}
	req := &govultr.InstanceCreateReq{
		Region: r.Region, Plan: r.Plan, OsID: r.OSID, AppID: r.AppID, ImageID: r.ImageID, SnapshotID: r.SnapshotID, ISOID: r.ISOID,
		Label: r.Label, Hostname: r.Hostname, Tags: append(append([]string{}, r.Tags...), r.RunTag), SSHKeys: r.SSHKeyIDs, ScriptID: r.ScriptID,
		AttachVPC: r.VPCIDs,
	}
	if len(r.UserData) > 0 {
		req.UserData = base64.StdEncoding.EncodeToString(r.UserData)
	}
	if r.EnableIPv6 {
		req.EnableIPv6 = govultr.BoolToBoolPtr(true)
	}
	if r.EnableVPC || len(r.VPCIDs) > 0 {
		req.EnableVPC = govultr.BoolToBoolPtr(true)
	}
	inst, err := createThenLookUp(ctx, c, "instance", func(actx context.Context) (*Instance, error) {
		inst, _, err := c.gv.Instance.Create(actx, req)
		if err != nil {
			return nil, err
		}
		return fromInstance(inst), nil
	}, func(lctx context.Context) (*Instance, error) { return findByTag(lctx, c, r.RunTag) })
	var amb *AmbiguousCreateError
	if errors.As(err, &amb) {
		amb.RunTag = r.RunTag
	}
	return inst, err
}

// findByTag returns the one instance whose tags, as read here, include tag.
// The API's tag filter only narrows the list: it is not trusted to be exact.
func findByTag(ctx context.Context, c *Client, tag string) (*Instance, error) {
	list, err := c.ListInstances(ctx, ListFilter{Tag: tag})
	if err != nil {
		return nil, err
	}
	var found []Instance
	for _, in := range list {
		if slices.Contains(in.Tags, tag) {
			found = append(found, in)
		}
	}
	return one(found, "instances tagged "+tag)
}

// ListFilter narrows ListInstances.
type ListFilter struct{ Tag, Label string }

// ListInstances lists instances, following the cursor.
func (c *Client) ListInstances(ctx context.Context, f ListFilter) ([]Instance, error) {
	var out []Instance
	opts := &govultr.ListOptions{PerPage: 500, Tag: f.Tag, Label: f.Label}
	for {
		var page []govultr.Instance
		var meta *govultr.Meta
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			page, meta, _, err = c.gv.Instance.List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i := range page {
			out = append(out, *fromInstance(&page[i]))
		}
		if meta == nil || meta.Links == nil || meta.Links.Next == "" {
			return out, nil
		}
		opts.Cursor = meta.Links.Next
	}
}

// GetInstance reads an instance.
func (c *Client) GetInstance(ctx context.Context, id string) (*Instance, error) {
	var inst *govultr.Instance
	err := c.retry(ctx, func(ctx context.Context) error {
		var err error
		inst, _, err = c.gv.Instance.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromInstance(inst), nil
}

// HaltInstance powers an instance off (not a clean shutdown).
func (c *Client) HaltInstance(ctx context.Context, id string) error {
	return c.retry(ctx, func(ctx context.Context) error { return c.gv.Instance.Halt(ctx, id) })
}

// DeleteInstance deletes an instance. One already gone counts as deleted:
// a 404, or a 400 ("invalid instance ID", which Vultr answers for an
// instance it has deleted) once a GET confirms it is gone. While the
// instance installs (server_status "none" or "locked") Vultr refuses with
// "Server is currently locked": the delete waits for the install to end,
// polling the instance, then tries again, until ctx ends.
func (c *Client) DeleteInstance(ctx context.Context, id string) error {
	var last error // the last answer, kept to explain a deadline
	for attempt := 1; ; attempt++ {
		err := c.call(ctx, func(ctx context.Context) error { return c.gv.Instance.Delete(ctx, id) })
		var ae *APIError
		switch {
		case err == nil, errors.Is(err, ErrNotFound):
			return nil
		case ctx.Err() != nil:
			return errors.Join(last, err)
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
			gone, gerr := c.instanceGone(ctx, id)
			if gone {
				return nil
			}
			return errors.Join(err, gerr)
		case errors.As(err, &ae) && ae.Locked():
			if werr := c.waitInstall(ctx, id); werr != nil {
				return errors.Join(err, werr)
			}
		case !temporary(err) || attempt >= c.cfg.MaxAttempts+5:
			return err
		}
		last = err
		if werr := sleep(ctx, c.backoff(min(attempt, 3), err)); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// instanceGone reports whether GET answers 404 for the instance.
func (c *Client) instanceGone(ctx context.Context, id string) (bool, error) {
	_, err := c.GetInstance(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	return false, err
}

// installing reports whether Vultr is installing the instance, and so
// refuses to delete it.
func installing(i *Instance) bool { return i.ServerStatus == "none" || i.ServerStatus == "locked" }

// waitInstall waits until the instance is no longer installing (or gone).
func (c *Client) waitInstall(ctx context.Context, id string) error {
	_, err := c.WaitInstance(ctx, id, func(i *Instance) (bool, error) { return !installing(i), nil }, WaitOptions{Max: lockPollMax})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// clockSkew is how far the API's date_created may sit before this host's
// clock when both saw the same moment.
const clockSkew = time.Minute

// CreateSnapshot starts a snapshot of an instance. Snapshots carry no tags,
// so after an ambiguous answer it adopts a snapshot only when exactly one
// can be this build's: pending, with this description, created since the
// call began, and not known to this run already (known reports the IDs of
// snapshots that other builds of the run made). With none it sends again;
// with more than one it fails without sending again: no duplicate, and no
// sibling's snapshot reported as this build's artifact.
func (c *Client) CreateSnapshot(ctx context.Context, instanceID, description string, known func(id string) bool) (*Snapshot, error) {
	started := time.Now().Truncate(time.Second).Add(-clockSkew)
	return createThenLookUp(ctx, c, "snapshot", func(actx context.Context) (*Snapshot, error) {
		s, _, err := c.gv.Snapshot.Create(actx, &govultr.SnapshotReq{InstanceID: instanceID, Description: description})
		if err != nil {
			return nil, err
		}
		return fromSnapshot(s), nil
	}, func(lctx context.Context) (*Snapshot, error) {
		list, err := c.ListSnapshots(lctx, description)
		if err != nil {
			return nil, err
		}
		var found []Snapshot
		for _, sn := range list {
			if sn.Status == "pending" && !sn.DateCreated.IsZero() && !sn.DateCreated.Before(started) && (known == nil || !known(sn.ID)) {
				found = append(found, sn)
			}
		}
		return one(found, fmt.Sprintf("pending snapshots described %q", description))
	})
}

// GetSnapshot reads a snapshot.
func (c *Client) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	var s *govultr.Snapshot
	err := c.retry(ctx, func(ctx context.Context) error {
		var err error
		s, _, err = c.gv.Snapshot.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromSnapshot(s), nil
}

// ListSnapshots lists snapshots with this description ("" for all).
func (c *Client) ListSnapshots(ctx context.Context, description string) ([]Snapshot, error) {
	var out []Snapshot
	opts := &govultr.ListOptions{PerPage: 500, Description: description}
	for {
		var page []govultr.Snapshot
		var meta *govultr.Meta
		err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			page, meta, _, err = c.gv.Snapshot.List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i := range page {
			if description == "" || page[i].Description == description {
				out = append(out, *fromSnapshot(&page[i]))
			}
		}
		if meta == nil || meta.Links == nil || meta.Links.Next == "" {
			return out, nil
		}
		opts.Cursor = meta.Links.Next
	}
}

// DeleteSnapshot deletes a snapshot; one already gone counts as deleted.
func (c *Client) DeleteSnapshot(ctx context.Context, id string) error {
	err := c.retry(ctx, func(ctx context.Context) error { return c.gv.Snapshot.Delete(ctx, id) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// WaitOptions tune a wait.
type WaitOptions struct {
	// Timeout bounds the wait (0: only ctx).
	Timeout time.Duration
	// First is the first poll's delay (default 250ms); polls then back off
	// by about 1.5x each time, with jitter, up to Max (default 2s for
	// instances; for snapshots, from the disk's size: see snapshotPollMax).
	First, Max time.Duration
	// DiskGB is the instance's disk, which sets a snapshot's poll schedule.
	DiskGB int
	// Progress is told the state at most every ProgressEvery (default 15s).
	Progress      func(elapsed time.Duration, state string)
	ProgressEvery time.Duration
}

// TimeoutError is a wait that ran out of time.
type TimeoutError struct {
	What  string
	State string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for %s (last state: %s)", e.After.Round(time.Second), e.What, e.State)
}

// wait polls get until done, with adaptive backoff.
func wait[T any](ctx context.Context, o WaitOptions, what string, get func(ctx context.Context) (T, string, bool, error)) (T, error) {
	var zero T
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 15 * time.Second
	}
	start := time.Now()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	delay := o.First
	lastProgress := start
	state := "unknown"
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && o.Timeout > 0 && time.Since(start) >= o.Timeout {
				return zero, &TimeoutError{What: what, State: state, After: time.Since(start)}
			}
			return zero, ctx.Err()
		case <-t.C:
		}
		v, st, done, err := get(ctx)
		switch {
		case err != nil && temporary(err):
			state = "API error: " + err.Error()
		case err != nil:
			if ctx.Err() != nil {
				continue // reported by the select above
			}
			return zero, err
		case done:
			return v, nil
		default:
			state = st
		}
		if o.Progress != nil && time.Since(lastProgress) >= o.ProgressEvery {
			lastProgress = time.Now()
			o.Progress(time.Since(start), state)
		}
		// Back off by about 1.5x with jitter: early changes are seen within a
		// quarter of a second, long waits cost few requests.
		delay = time.Duration(float64(delay) * (1.4 + 0.2*rand.Float64()))
		if delay > o.Max {
			delay = o.Max
		}
	}
}

// WaitInstance polls an instance until cond is true.
func (c *Client) WaitInstance(ctx context.Context, id string, cond func(*Instance) (bool, error), o WaitOptions) (*Instance, error) {
	return wait(ctx, c.scaledWait(o, instancePollMax), "instance "+id, func(ctx context.Context) (*Instance, string, bool, error) {
		var inst *govultr.Instance
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			inst, _, err = c.gv.Instance.Get(ctx, id)
			return err
		})
		if err != nil {
			return nil, "", false, err
		}
		i := fromInstance(inst)
		ok, err := cond(i)
		return i, fmt.Sprintf("%s/%s/%s", i.Status, i.PowerStatus, i.ServerStatus), ok, err
	})
}

// ErrSnapshotFailed is a snapshot that ended in a state other than complete.
var ErrSnapshotFailed = errors.New("snapshot failed")

// WaitSnapshot polls a snapshot until it is complete.
func (c *Client) WaitSnapshot(ctx context.Context, id string, o WaitOptions) (*Snapshot, error) {
	return wait(ctx, c.scaledWait(o, snapshotPollMax(o.DiskGB)), "snapshot "+id, func(ctx context.Context) (*Snapshot, string, bool, error) {
		var s *govultr.Snapshot
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			s, _, err = c.gv.Snapshot.Get(ctx, id)
			return err
		})
		if err != nil {
			return nil, "", false, err
		}
		switch s.Status {
		case "complete":
			return fromSnapshot(s), s.Status, true, nil
		case "pending":
			return nil, s.Status, false, nil
		default:
			return nil, s.Status, false, fmt.Errorf("%w: snapshot %s is %q", ErrSnapshotFailed, id, s.Status)
		}
	})
}

// scaledWait fills a wait's defaults and applies the client's TimeScale.
func (c *Client) scaledWait(o WaitOptions, defMax time.Duration) WaitOptions {
	if o.First <= 0 {
		o.First = firstPoll
	}
	if o.Max <= 0 {
		o.Max = defMax
	}
	o.First, o.Max = c.scaled(o.First), c.scaled(o.Max)
	return o
}
