package cli

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

func cmdValidate(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "validate", "validate [-syntax-only] [-var k=v]... [-var-file f]... TEMPLATE")
	var j job
	var vars, varFiles multiFlag
	var only, except listFlag
	syntaxOnly := fs.Bool("syntax-only", false, "only check the template's syntax, like packer validate -syntax-only")
	fs.Var(&vars, "var", "set a template variable, `key=value` (repeatable)")
	fs.Var(&varFiles, "var-file", "`file` of variables (repeatable)")
	fs.Var(&only, "only", "validate only these builds (globs)")
	fs.Var(&except, "except", "skip these builds (globs)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("validate takes exactly one template path, got %d arguments", fs.NArg())
	}
	j.vars, j.varFiles, j.only, j.except = vars, varFiles, only, except
	var act *ghaction.Action
	if ghaction.InActions(env.Getenv) {
		act = ghaction.New(env.Stdout, env.Getenv)
	}
	return runValidate(env, fs.Arg(0), j, *syntaxOnly, act)
}

// placeholderKey stands in for a missing API key during validation, so a
// pull request without access to secrets can still check its template.
const placeholderKey = "validate-placeholder-api-key"

// addSecretsBut registers secrets with red, but not the placeholder: it is
// no secret, and masking it would only add noise.
func addSecretsBut(red *redact.Redactor, placeholder string) func(...string) {
	return func(vs ...string) {
		for _, v := range vs {
			if v != placeholder {
				red.Add(v)
			}
		}
	}
}

func runValidate(env Env, path string, j job, syntaxOnly bool, act *ghaction.Action) error {
	red := newSession(env, act, "", j.apiKey).red
	console := ui.New(ui.Options{Out: env.Stdout, Redactor: red, Action: act, Workspace: env.Getenv("GITHUB_WORKSPACE")})
	getenv := func(k string) string {
		v := env.Getenv(k)
		if k == "VULTR_API_KEY" {
			if j.apiKey != "" {
				return j.apiKey
			}
			if v == "" {
				return placeholderKey
			}
		}
		return v
	}
	cwd := j.workDir
	if cwd == "" {
		cwd, _ = env.Getwd()
	}
	opts := templateOptions{
		vars: j.vars, varFiles: j.varFiles, only: j.only, except: j.except,
		getenv: getenv, now: time.Now(), runUUID: newUUID(), syntaxOnly: syntaxOnly, cwd: cwd, fetches: &decode.Fetches{},
		secret: addSecretsBut(red, placeholderKey),
	}
	s, err := loadTemplate(path, opts)
	if s != nil {
		red.Add(s.Secrets...)
		for _, w := range s.Warnings {
			console.Warn("", w.Error(), w.Pos)
		}
	}
	if err != nil {
		reportTemplateError(console, err)
		return &reportedError{err: &UsageError{Err: red.Error(err)}}
	}
	warnLocalPrograms(console, s, exec.LookPath)
	if !syntaxOnly {
		markVaryingDescriptions(path, opts, s)
		warnRetention(console, s)
	}
	if syntaxOnly {
		console.Raw("Syntax-only check passed. Everything looks okay.\n")
	} else {
		console.Raw("The configuration is valid.\n")
	}
	return nil
}

func cmdInspect(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "inspect", "inspect [-var k=v]... [-var-file f]... TEMPLATE")
	var vars, varFiles multiFlag
	fs.Var(&vars, "var", "set a template variable, `key=value` (repeatable)")
	fs.Var(&varFiles, "var-file", "`file` of variables (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("inspect takes exactly one template path, got %d arguments", fs.NArg())
	}
	getenv := func(k string) string {
		v := env.Getenv(k)
		if k == "VULTR_API_KEY" && v == "" {
			return placeholderKey
		}
		return v
	}
	red := newSession(env, nil, "").red
	cwd, _ := env.Getwd()
	s, err := loadTemplate(fs.Arg(0), templateOptions{vars: vars, varFiles: varFiles, getenv: getenv, now: time.Now(), runUUID: newUUID(), cwd: cwd, secret: addSecretsBut(red, placeholderKey)})
	if err != nil {
		reportTemplateError(ui.New(ui.Options{Out: env.Stderr, Redactor: red}), err)
		return &reportedError{err: &UsageError{Err: red.Error(err)}}
	}
	red.Add(s.Secrets...)
	fmt.Fprint(env.Stdout, inspectText(s, red))
	return nil
}

// inspectText renders a template like `packer inspect`, with sensitive
// values (those red masks) shown as <sensitive>.
func inspectText(s *spec.Spec, red *redact.Redactor) string {
	var b strings.Builder
	if s.Description != "" {
		fmt.Fprintf(&b, "Description:\n\n%s\n\n", s.Description)
	}
	if len(s.Variables) == 0 {
		b.WriteString("Variables:\n\n  <No variables>\n\n")
	} else {
		b.WriteString("Variables and their values:\n\n")
		vars := append([]spec.Variable(nil), s.Variables...)
		sort.SliceStable(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
		for _, v := range vars {
			val := v.Value
			if v.Sensitive || (val != "" && red.String(val) != val) || val == placeholderKey {
				val = "<sensitive>"
			}
			fmt.Fprintf(&b, "  %s = %q\n", v.Name, val)
		}
		b.WriteString("\n")
	}
	b.WriteString("Builders:\n\n")
	for _, bd := range s.Builds {
		fmt.Fprintf(&b, "  %-20s %s\n", bd.Name, bd.Type)
		fmt.Fprintf(&b, "    region: %s, plan: %s, image: %s %s\n", ref(bd.Vultr.Region), ref(bd.Vultr.Plan), bd.Vultr.Image.Kind, ref(bd.Vultr.Image.Ref))
		fmt.Fprintf(&b, "    snapshot description: %q, instance label: %q\n", bd.Vultr.SnapshotDescription, bd.Vultr.InstanceLabel)
	}
	b.WriteString("\nProvisioners:\n\n")
	any := false
	for _, bd := range s.Builds {
		for _, p := range bd.Provisioners {
			any = true
			fmt.Fprintf(&b, "  %s: %d %s\n", bd.Name, p.Index, p.Type)
		}
	}
	if !any {
		b.WriteString("  <No provisioners>\n")
	}
	b.WriteString("\nPost-processors:\n\n")
	any = false
	for _, bd := range s.Builds {
		for _, seq := range bd.PostProcessors {
			var names []string
			for _, pp := range seq {
				names = append(names, pp.Type)
			}
			any = true
			fmt.Fprintf(&b, "  %s: %s\n", bd.Name, strings.Join(names, " -> "))
		}
	}
	if !any {
		b.WriteString("  <No post-processors>\n")
	}
	return red.String(b.String())
}

func ref(r spec.Ref) string {
	if r.ID != "" {
		return r.ID
	}
	if r.Name != "" {
		return fmt.Sprintf("%q (by name)", r.Name)
	}
	return "-"
}

func cmdHCL2Upgrade(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "hcl2_upgrade", "hcl2_upgrade [-output-file FILE] TEMPLATE.json")
	out := fs.String("output-file", "", "write the HCL2 template here (default: TEMPLATE.json.pkr.hcl)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("hcl2_upgrade takes exactly one JSON template path")
	}
	return upgradeToHCL2(env, fs.Arg(0), *out)
}
