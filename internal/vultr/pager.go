package vultr

import (
	"context"

	"github.com/vultr/govultr/v3"
)

// list reads every page of a list call, following the cursor. Each page is
// retried on its own.
func list[T any](ctx context.Context, c *Client, o govultr.ListOptions, page func(ctx context.Context, o *govultr.ListOptions) ([]T, *govultr.Meta, error)) ([]T, error) {
	o.PerPage = 500
	var out []T
	for {
		var items []T
		var meta *govultr.Meta
		if err := c.retry(ctx, func(ctx context.Context) error {
			var err error
			items, meta, err = page(ctx, &o)
			if err == nil && meta == nil {
				// Every list answer of the API has "meta"; one without is
				// not a list, and reading it as empty would hide things.
				err = badAnswer(`no "meta" in a list answer`)
			}
			return err
		}); err != nil {
			return nil, err
		}
		out = append(out, items...)
		if meta == nil || meta.Links == nil || meta.Links.Next == "" {
			return out, nil
		}
		o.Cursor = meta.Links.Next
	}
}
