package build

import (
	"context"
	"errors"

	"github.com/vultr-image-action/vultr-image-action/internal/remote"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// nullArtifact is the artifact of Packer's null builder.
const (
	nullArtifactID = "Null"
	nullBuilderID  = "packer.null"
)

// runNull runs Packer's null builder: no cloud, no image. With SSH it
// connects to the machine at ssh_host and provisions it; with communicator
// "none" its provisioners run here. Then the post-processors, as for any
// build.
func runNull(ctx context.Context, s *spec.Spec, b *spec.Build, run *runState, r *Result, o Options) {
	st := &state{b: b, run: run, pin: &remote.Pin{}, bastionPin: &remote.Pin{}, host: b.SSH.Host, instance: &vultr.Instance{ID: nullArtifactID}}
	r.Start = o.Now()
	var undo cleanups
	err := func() error {
		if b.SSH.Communicator != "none" {
			if err := r.phase(ctx, o, "connect over SSH", func(ctx context.Context) error { return stepConnect(ctx, st, &undo, o) }); err != nil {
				return err
			}
		}
		return r.phase(ctx, o, "provision", func(ctx context.Context) error { return stepProvision(ctx, st, &undo, o) })
	}()
	cerr := undo.run(ctx, o.Stop, o.CleanupTimeout).err // the connection only
	r.ArtifactID, r.BuilderID = nullArtifactID, nullBuilderID
	if err == nil && cerr == nil && len(b.PostProcessors) > 0 {
		err = r.phase(ctx, o, "post-process", func(ctx context.Context) error { return postProcess(ctx, nil, s, b, r, o) })
	}
	r.finish(ctx, b, errors.Join(err, cerr), o)
}
