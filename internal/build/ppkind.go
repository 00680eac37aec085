package build

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// PostProcessorKind is one post-processor type, declared in one place (the
// file of this package that runs it): its keys (a table of package
// schema), how its block is decoded and checked, and how it runs. Adding
// a post-processor is adding a kind and its entry in PostProcessorKinds.
type PostProcessorKind struct {
	// Block is the kind's key table.
	Block *schema.Block
	// Decode reads the block's keys into the kind's settings (a pointer
	// to its type), reporting each problem through f; nil settings turn
	// the post-processor off.
	Decode func(f provision.Fields) any
	// Check, when set, says why the settings cannot run in build b, after
	// earlier (the build's post-processors that run before it): the key at
	// fault ("" for the block), the problem and what to do; "" problem
	// when they can.
	Check func(b *spec.Build, earlier []spec.PostProcessor, config any) (key, problem, fix string)
	// run runs the settings Decode made.
	run func(ctx context.Context, p ppRun, config any) error
}

// ppRun is what a post-processor runs with: the build, its result so
// far, and the run's options.
type ppRun struct {
	st *state
	s  *spec.Spec
	b  *spec.Build
	r  *Result
	o  Options
	pp spec.PostProcessor
}

// PostProcessorKinds are the post-processor types this tool runs, by type.
var PostProcessorKinds = map[string]*PostProcessorKind{
	"manifest":     &manifestKind,
	"shell-local":  &shellLocalKind,
	"provenance":   &provenanceKind,
	"vultr-verify": &verifyKind,
}

// PostProcessorTypes are the types of PostProcessorKinds, sorted.
func PostProcessorTypes() []string { return slices.Sorted(maps.Keys(PostProcessorKinds)) }

// ppAs adapts a kind's typed run function to PostProcessorKind.run.
func ppAs[T any](run func(ctx context.Context, p ppRun, c *T) error) func(context.Context, ppRun, any) error {
	return func(ctx context.Context, p ppRun, config any) error {
		c, ok := config.(*T)
		if !ok {
			return fmt.Errorf("post-processor settings are %T, want %T", config, c)
		}
		return run(ctx, p, c)
	}
}

// oneOf fails validate when key holds a value other than those allowed.
func oneOf(f provision.Fields, key string, allowed []string, why string) {
	if v, ok := f.String(key); ok && v != "" && !slices.Contains(allowed, v) {
		f.BadValue(key, fmt.Sprintf("%s = %q is not supported: %s", key, v, why), "valid: "+textdist.QuoteList(allowed))
	}
}
