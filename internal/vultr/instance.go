package vultr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
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
	// Unclear is set on a created instance when an earlier try of the
	// create had no clear answer: that try may still appear, with the same
	// run tag, so cleanup must look for the tag too.
	Unclear bool
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// checkInstance converts an answer's instance, which must be there and
// have an ID.
func checkInstance(i *govultr.Instance) (*Instance, error) {
	if i == nil || i.ID == "" {
		return nil, badAnswer("no instance in the answer")
	}
	return fromInstance(i), nil
}

func fromInstance(i *govultr.Instance) *Instance {
	return &Instance{ID: i.ID, Label: i.Label, Region: i.Region, Plan: i.Plan, Status: i.Status, PowerStatus: i.PowerStatus,
		ServerStatus: i.ServerStatus, MainIP: i.MainIP, V6MainIP: i.V6MainIP, DefaultPassword: i.DefaultPassword,
		Tags: i.Tags, DateCreated: parseTime(i.DateCreated), OSID: i.OsID, AppID: i.AppID, Disk: i.Disk}
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

// CreateInstanceRequest is what to create.
type CreateInstanceRequest struct {
	Region, Plan               string
	OSID, AppID                int
	ImageID, SnapshotID, ISOID string
	Label, Hostname            string
	Tags                       []string
	// RunTag is unique to this build; it is added to Tags and is how a
	// create whose answer was lost is found.
	RunTag string
	// ListTag is a tag every instance of this tool carries: when several
	// builds wait at once, their polls list the instances by it.
	ListTag    string
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
	c.rememberTag(r.ListTag)
	inst, unclear, err := createThenLookUp(ctx, c, "instance", func(actx context.Context) (*Instance, error) {
		inst, _, err := c.gv.Instance.Create(actx, req)
		if err != nil {
			return nil, err
		}
		return checkInstance(inst)
	}, func(lctx context.Context) (*Instance, error) { return findByTag(lctx, c, r.RunTag) })
	var amb *AmbiguousCreateError
	if errors.As(err, &amb) {
		amb.RunTag = r.RunTag
	}
	if inst != nil {
		inst.Unclear = unclear
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
	all, err := list(ctx, c, govultr.ListOptions{Tag: f.Tag, Label: f.Label}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Instance, *govultr.Meta, error) {
		items, meta, _, err := c.gv.Instance.List(ctx, o)
		return items, meta, err
	})
	out := make([]Instance, 0, len(all))
	for i := range all {
		out = append(out, *fromInstance(&all[i]))
	}
	return out, err
}

// GetInstance reads an instance.
func (c *Client) GetInstance(ctx context.Context, id string) (*Instance, error) {
	var inst *Instance
	err := c.retry(ctx, func(ctx context.Context) error {
		got, _, err := c.gv.Instance.Get(ctx, id)
		if err != nil {
			return err
		}
		inst, err = checkInstance(got)
		return err
	})
	return inst, err
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
	var rl rateBudget
	for attempt := 1; ; attempt++ {
		err := c.call(rl.next(ctx), func(ctx context.Context) error { return c.gv.Instance.Delete(ctx, id) })
		if again, rerr := rl.refused(ctx, c, err); again {
			attempt--
			continue
		} else if rerr != nil {
			return rerr
		}
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
			if gerr == nil || !temporary(gerr) || attempt >= c.cfg.MaxAttempts+5 {
				return errors.Join(err, gerr)
			}
			// Cannot tell yet: try the delete again.
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
	_, err := c.WaitInstance(ctx, id, func(i *Instance) (bool, error) { return !installing(i), nil }, WaitOptions{Floor: lockPollMax / 2, Max: lockPollMax})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// WaitInstance polls an instance until cond is true.
func (c *Client) WaitInstance(ctx context.Context, id string, cond func(*Instance) (bool, error), o WaitOptions) (*Instance, error) {
	b := c.instanceBatch()
	defer b.begin()()
	return wait(ctx, c.scaledWait(o, instancePollMax), "instance "+id, func(ctx context.Context, notBefore time.Time) (*Instance, string, bool, error) {
		inst, err := b.read(ctx, c, id, notBefore, func(ctx context.Context) (*govultr.Instance, error) {
			got, _, err := c.gv.Instance.Get(ctx, id)
			if err == nil && (got == nil || got.ID == "") {
				err = badAnswer("no instance in the answer")
			}
			return got, err
		})
		if err != nil {
			return nil, "", false, err
		}
		i := fromInstance(&inst)
		done, err := cond(i)
		return i, fmt.Sprintf("%s/%s/%s", i.Status, i.PowerStatus, i.ServerStatus), done, err
	})
}
