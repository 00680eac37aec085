package app

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/frontend"
	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

type templateOptions struct {
	vars, varFiles []string
	only, except   []string
	getenv         func(string) string
	now            time.Time
	runUUID        string
	syntaxOnly     bool
	// cwd is the working directory: relative paths in the template are
	// relative to it, as in Packer.
	cwd string
	// fetches remembers what services answered, so that a second
	// rendering (markVaryingDescriptions) asks them nothing.
	fetches *decode.Fetches
	// secret is told each secret value the moment loading finds it (the
	// run's redactor's Add), so a failed load's diagnostics are masked.
	secret func(...string)
}

// loadTemplate reads a Packer template: JSON, or HCL2 (a .pkr.hcl file or a
// directory of them).
func loadTemplate(path string, o templateOptions) (*spec.Spec, error) {
	opts := decode.Options{
		Vars:       o.vars,
		VarFiles:   o.varFiles,
		Only:       o.only,
		Except:     o.except,
		Getenv:     o.getenv,
		Now:        o.now,
		RunUUID:    o.runUUID,
		SyntaxOnly: o.syntaxOnly,
		Cwd:        o.cwd,
		Fetches:    o.fetches,
	}
	if o.secret != nil {
		opts.Secret = func(v string) { o.secret(v) }
	}
	return frontend.Load(path, opts)
}

// markVaryingDescriptions sets VariesExample on the builds with
// retention whose snapshot_description changes from run to run: the
// template is loaded once more, at another time with another run UUID,
// and the descriptions compared. This sees {{timestamp}}, formatdate(),
// uuid() and whatever locals they flow through, in both front ends.
func markVaryingDescriptions(path string, o templateOptions, s *spec.Spec) {
	wants := false
	for _, b := range s.Builds {
		wants = wants || b.Vultr.KeepSnapshots > 0
	}
	if !wants {
		return
	}
	o.now = o.now.Add(variesProbe)
	o.runUUID = newUUID()
	other, err := loadTemplate(path, o)
	if err != nil {
		return
	}
	desc := map[string]string{}
	for _, b := range other.Builds {
		desc[b.Name] = b.Vultr.SnapshotDescription
	}
	for i := range s.Builds {
		v := &s.Builds[i].Vultr
		if d, ok := desc[s.Builds[i].Name]; ok && d != v.SnapshotDescription {
			v.VariesExample = d
		}
	}
}

// variesProbe is how far apart the two renderings are: every field of a
// date differs (years, months, days, hours, minutes, seconds).
const variesProbe = (3*365+40)*24*time.Hour + 13*time.Hour + 17*time.Minute + 23*time.Second

// warnLocalPrograms warns, before anything is created, about shell-local
// steps whose programs this environment lacks (the action's image has sh,
// bash, coreutils, ssh, curl, jq and git; anything else must come from the
// runner, through the setup action and `vultr-image-action build`).
func warnLocalPrograms(console *ui.Console, s *spec.Spec, look func(string) (string, error)) {
	seen := map[string]bool{}
	check := func(sl *spec.ShellLocal, what string, pos spec.Pos) {
		if sl == nil || (len(sl.OnlyOn) > 0 && !slices.Contains(sl.OnlyOn, runtime.GOOS)) {
			return
		}
		for _, p := range provision.MissingPrograms(sl, look) {
			key := what + pos.String() + p
			if seen[key] {
				continue
			}
			seen[key] = true
			console.Warn("", fmt.Sprintf("%s needs %q, which this environment does not have; install it, or run vultr-image-action on a runner that has it (see the setup action)", what, p), pos)
		}
	}
	for _, b := range s.Builds {
		for _, p := range b.Provisioners {
			sl, _ := p.Config.(*spec.ShellLocal)
			check(sl, fmt.Sprintf("shell-local provisioner %d", p.Index), p.Pos)
		}
		for _, seq := range b.PostProcessors {
			for _, pp := range seq {
				sl, _ := pp.Config.(*spec.ShellLocal)
				check(sl, fmt.Sprintf("shell-local post-processor %d", pp.Index), pp.Pos)
			}
		}
		if b.ErrorCleanup != nil {
			sl, _ := b.ErrorCleanup.Config.(*spec.ShellLocal)
			check(sl, "the shell-local error-cleanup-provisioner", b.ErrorCleanup.Pos)
		}
	}
}

// warnRetention warns, before anything is created, about retention that
// would match nothing: a description that changes on every run.
func warnRetention(console *ui.Console, s *spec.Spec) {
	for _, b := range s.Builds {
		if msg := build.RetentionMatchesNothing(b.Vultr); msg != "" {
			console.Warn(b.Name, msg, b.Pos)
		}
	}
}
