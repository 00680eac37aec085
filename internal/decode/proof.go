package decode

import (
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// AddVerify gives every vultr build a vultr-verify post-processor that
// runs commands (the action's verify input), before its other
// post-processors: a snapshot that fails its check is neither attested
// nor recorded. It fails as validate would for a build it cannot check.
func AddVerify(s *spec.Spec, commands []string, pos spec.Pos) error {
	d := &decoder{}
	kind := build.PostProcessorKinds["vultr-verify"]
	for i := range s.Builds {
		b := &s.Builds[i]
		if b.Type != "vultr" {
			continue
		}
		sh := provision.DefaultShell()
		sh.Inline = append([]string(nil), commands...)
		pp := spec.PostProcessor{Index: -1, Type: "vultr-verify", Pos: pos, Name: "verify input", Config: &spec.Verify{Shell: sh, Timeout: 10 * time.Minute}}
		b.PostProcessors = append([][]spec.PostProcessor{{pp}}, b.PostProcessors...)
		key, problem, fix := kind.Check(b, nil, pp.Config)
		d.reportCheck(pp, key, problem, fix)
	}
	if d.diags.HasErrors() {
		return d.diags
	}
	return nil
}
