package vultr

import (
	"context"
	"errors"
	"time"

	"github.com/vultr/govultr/v3"
)

// SSHKey is an SSH key.
type SSHKey struct {
	ID, Name    string
	DateCreated time.Time
	// Unclear is set on a created key when an earlier try of the create
	// had no clear answer: that try may still appear, with the same name.
	Unclear bool
}

// CreateSSHKey registers a public key. Key names are unique per run, so a
// create whose answer was lost is found by name instead of re-sent.
func (c *Client) CreateSSHKey(ctx context.Context, name, publicKey string) (*SSHKey, error) {
	key, unclear, err := createThenLookUp(ctx, c, "ssh key", func(actx context.Context) (*SSHKey, error) {
		k, _, err := c.gv.SSHKey.Create(actx, &govultr.SSHKeyReq{Name: name, SSHKey: publicKey})
		if err != nil {
			return nil, err
		}
		if k == nil || k.ID == "" {
			return nil, badAnswer("no ssh key in the answer")
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
	if key != nil {
		key.Unclear = unclear
	}
	return key, err
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
	all, err := list(ctx, c, govultr.ListOptions{}, func(ctx context.Context, o *govultr.ListOptions) ([]govultr.SSHKey, *govultr.Meta, error) {
		items, meta, _, err := c.gv.SSHKey.List(ctx, o)
		return items, meta, err
	})
	out := make([]SSHKey, 0, len(all))
	for _, k := range all {
		out = append(out, SSHKey{ID: k.ID, Name: k.Name, DateCreated: parseTime(k.DateCreated)})
	}
	return out, err
}
