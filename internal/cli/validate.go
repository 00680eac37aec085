package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

func cmdValidate(_ context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "validate", "validate [-syntax-only] [-var k=v]... [-var-file f]... TEMPLATE")
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
		return app.UsageErrorf("validate takes exactly one template path, got %d arguments", fs.NArg())
	}
	r := app.ValidateRequest{Template: fs.Arg(0), Vars: vars, VarFiles: varFiles, Only: only, Except: except, SyntaxOnly: *syntaxOnly}
	if ghaction.InActions(env.Getenv) {
		r.Action = ghaction.New(env.Stdout, env.Getenv)
	}
	if _, err := app.Validate(env, r); err != nil {
		return err
	}
	if r.SyntaxOnly {
		fmt.Fprintln(env.Stdout, "Syntax-only check passed. Everything looks okay.")
	} else {
		fmt.Fprintln(env.Stdout, "The configuration is valid.")
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
		return app.UsageErrorf("inspect takes exactly one template path, got %d arguments", fs.NArg())
	}
	s, red, err := app.Inspect(env, app.ValidateRequest{Template: fs.Arg(0), Vars: vars, VarFiles: varFiles})
	if err != nil {
		return err
	}
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
			if v.Sensitive || (val != "" && red.String(val) != val) || val == app.PlaceholderKey {
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
		return app.UsageErrorf("hcl2_upgrade takes exactly one JSON template path")
	}
	return upgradeToHCL2(env, fs.Arg(0), *out)
}
