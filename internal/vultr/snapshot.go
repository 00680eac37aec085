package vultr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vultr/govultr/v3"
)

// Snapshot is a snapshot.
type Snapshot struct {
	ID, Description, Status string
	Size                    int64
	DateCreated             time.Time
}

// checkSnapshot converts an answer's snapshot, which must be there and
// have an ID.
func checkSnapshot(s *govultr.Snapshot) (*Snapshot, error) {
	if s == nil || s.ID == "" {
		return nil, badAnswer("no snapshot in the answer")
	}
	return fromSnapshot(s), nil
}

func fromSnapshot(s *govultr.Snapshot) *Snapshot {
	return &Snapshot{ID: s.ID, Description: s.Description, Status: s.Status, Size: int64(s.Size), DateCreated: parseTime(s.DateCreated)}
}

// clockSkew is how far the API's date_created may sit before this host's
// clock when both saw the same moment.
const clockSkew = time.Minute

// CreateSnapshot starts a snapshot of an instance. Snapshots carry no tags,
// so after an ambiguous answer it adopts a snapshot only when exactly one
// can be this build's: pending or already complete (a small disk's can be),
// with this description, created since the call began, and not known to
// this run already (known reports the IDs of
// snapshots that other builds of the run made). With none it sends again;
// with more than one it fails without sending again: no duplicate, and no
// sibling's snapshot reported as this build's artifact.
func (c *Client) CreateSnapshot(ctx context.Context, instanceID, description string, known func(id string) bool) (*Snapshot, error) {
	started := time.Now().Truncate(time.Second).Add(-clockSkew)
	snap, _, err := createThenLookUp(ctx, c, "snapshot", func(actx context.Context) (*Snapshot, error) {
		s, _, err := c.gv.Snapshot.Create(actx, &govultr.SnapshotReq{InstanceID: instanceID, Description: description})
		if err != nil {
			return nil, err
		}
		return checkSnapshot(s)
	}, func(lctx context.Context) (*Snapshot, error) {
		list, err := c.ListSnapshots(lctx, description)
		if err != nil {
			return nil, err
		}
		var found []Snapshot
		for _, sn := range list {
			if (sn.Status == "pending" || sn.Status == "complete") && !sn.DateCreated.IsZero() && !sn.DateCreated.Before(started) && (known == nil || !known(sn.ID)) {
				found = append(found, sn)
			}
		}
		return one(found, fmt.Sprintf("new snapshots described %q", description))
	})
	return snap, err
}

// GetSnapshot reads a snapshot.
func (c *Client) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	var s *Snapshot
	err := c.retry(ctx, func(ctx context.Context) error {
		got, _, err := c.gv.Snapshot.Get(ctx, id)
		if err != nil {
			return err
		}
		s, err = checkSnapshot(got)
		return err
	})
	return s, err
}

// ListSnapshots lists snapshots with this description ("" for all).
func (c *Client) ListSnapshots(ctx context.Context, description string) ([]Snapshot, error) {
	all, err := list(ctx, c, govultr.ListOptions{Description: description}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.Snapshot, *govultr.Meta, error) {
		items, meta, _, err := c.gv.Snapshot.List(ctx, o)
		return items, meta, err
	})
	var out []Snapshot
	for i := range all {
		// The API's description filter is not trusted to be exact.
		if description == "" || all[i].Description == description {
			out = append(out, *fromSnapshot(&all[i]))
		}
	}
	return out, err
}

// DeleteSnapshot deletes a snapshot; one already gone counts as deleted.
func (c *Client) DeleteSnapshot(ctx context.Context, id string) error {
	err := c.retry(ctx, func(ctx context.Context) error { return c.gv.Snapshot.Delete(ctx, id) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ErrSnapshotFailed is a snapshot that ended in a state other than complete.
var ErrSnapshotFailed = errors.New("snapshot failed")

// WaitSnapshot polls a snapshot until it is complete.
func (c *Client) WaitSnapshot(ctx context.Context, id string, o WaitOptions) (*Snapshot, error) {
	b := c.snapshotBatch()
	defer b.begin()()
	return wait(ctx, c.scaledWait(o, snapshotPollMax(o.DiskGB)), "snapshot "+id, func(ctx context.Context, notBefore time.Time) (*Snapshot, string, bool, error) {
		s, err := b.read(ctx, c, id, notBefore, func(ctx context.Context) (*govultr.Snapshot, error) {
			got, _, err := c.gv.Snapshot.Get(ctx, id)
			if err == nil && (got == nil || got.ID == "") {
				err = badAnswer("no snapshot in the answer")
			}
			return got, err
		})
		if err != nil {
			return nil, "", false, err
		}
		switch s.Status {
		case "complete":
			return fromSnapshot(&s), s.Status, true, nil
		case "pending":
			return nil, s.Status, false, nil
		default:
			return nil, s.Status, false, fmt.Errorf("%w: snapshot %s is %q", ErrSnapshotFailed, id, s.Status)
		}
	})
}
