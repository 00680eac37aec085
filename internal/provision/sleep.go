package provision

import (
	"context"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
)

// Sleep is Packer core's sleep provisioner.
type Sleep struct {
	Duration time.Duration
}

var sleepKind = Kind{
	Block:       &schema.Sleep,
	Machineless: true,
	Decode: func(f Fields) any {
		s := &Sleep{}
		s.Duration, _ = f.Duration("duration")
		return s
	},
	Run: runAs(func(ctx context.Context, s *Sleep, env *Env) error {
		env.Logf("Sleeping for %s", s.Duration)
		return env.Sleep(ctx, s.Duration)
	}),
}
