package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Kind is one provisioner type, declared in one place (its own file in
// this package): its keys (a table of package schema, from which the
// unknown-key errors and docs/templates.md's tables come), how its block
// is decoded and checked, and how it runs. Adding a provisioner is adding
// a Kind and its entry in Kinds.
type Kind struct {
	// Block is the kind's key table.
	Block *schema.Block
	// Machineless kinds run here: they need no machine, so a build with
	// communicator = "none" may use them.
	Machineless bool
	// Decode reads the block's keys into the kind's settings (a pointer
	// to its own type), reporting each problem through f.
	Decode func(f Fields) any
	// Check, when set, says why the settings cannot run in build b
	// (summary, then what to do); "" when they can.
	Check func(b *spec.Build) (problem, fix string)
	// Run runs the settings Decode made.
	Run func(ctx context.Context, config any, env *Env) error
}

// Kinds are the provisioner types this tool runs, by type.
var Kinds = map[string]*Kind{
	"shell":         &shellKind,
	"file":          &fileKind,
	"shell-local":   &shellLocalKind,
	"breakpoint":    &breakpointKind,
	"sleep":         &sleepKind,
	"hcp-sbom":      &hcpSBOMKind,
	"ansible-local": &ansibleLocalKind,
	"ansible":       &ansibleKind,
}

// Types are the types of Kinds, sorted.
func Types() []string { return slices.Sorted(maps.Keys(Kinds)) }

// MachinelessTypes are the types that need no machine, sorted.
func MachinelessTypes() []string {
	var out []string
	for _, t := range Types() {
		if Kinds[t].Machineless {
			out = append(out, t)
		}
	}
	return out
}

// runAs adapts a kind's typed run function to Kind.Run.
func runAs[T any](run func(ctx context.Context, c *T, env *Env) error) func(context.Context, any, *Env) error {
	return func(ctx context.Context, config any, env *Env) error {
		c, ok := config.(*T)
		if !ok {
			return fmt.Errorf("provisioner settings are %T, want %T", config, c)
		}
		return run(ctx, c, env)
	}
}

// Fields is a provisioner block being decoded, as the front-end-neutral
// decoder (package decode) presents it: each key's value, read and
// type-checked, and where to report a problem. Every read marks its key
// as known; a key no Decode reads is an unknown key. Problems are
// collected: a Decode never stops at the first.
type Fields interface {
	// String interpolates Packer's template functions; a number reads as
	// its literal, as in Packer.
	String(key string) (string, bool)
	// Raw reads a string as written, without interpolation.
	Raw(key string) (string, bool)
	// Command reads a string keeping the run-time placeholders ({{.Vars}},
	// {{.Path}}, {{.Script}}, ...); Commands reads a list so.
	Command(key string) (string, bool)
	Commands(key string) ([]string, bool)
	Strings(key string) ([]string, bool)
	StringMap(key string) (map[string]string, bool)
	Int(key string) (int, bool)
	Ints(key string) ([]int, bool)
	Bool(key string) (bool, bool)
	Duration(key string) (time.Duration, bool)
	// Has reports whether key is set to anything but null.
	Has(key string) bool
	// Present marks key read, whatever its value (null included), and
	// reports whether the block holds it: for a key that only warns.
	Present(key string) bool
	// SetOf returns those of keys that are set. (The block's groups of
	// alternatives, declared with schema.Key.OneOf, are checked before
	// Decode runs.)
	SetOf(keys ...string) []string
	// Local resolves a local path p read from key (item i of a list, or
	// -1) against the working directory, as Packer does. With mustExist,
	// a path that does not exist fails validate.
	Local(key string, i int, p string, mustExist bool) string
	// Stat checks a local path (already resolved) as validate does.
	Stat(path string) error
	// Missing reports a required key that is not set (at the block).
	Missing(key, summary, fix string)
	// BadValue reports key's value; BadItem item i of key's list; BadKey
	// the key itself (a key that cannot take effect).
	BadValue(key, summary, fix string)
	BadItem(key string, i int, summary, fix string)
	BadKey(key, summary, fix string)
	// Warn reports, without failing, that key does less than it says.
	Warn(key, summary, fix string)
	// Secret records a value that must never be shown.
	Secret(v string)
}
