// Package template is the Packer JSON template front end. It reads a JSON
// template with every value's position, owns its top level (the
// "variables" and "sensitive-variables" sections, var files, -var,
// min_packer_version and comments) and hands the rest, as a tree, to
// package decode, which every front end shares.
package template

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// topLevelKeys are the keys a Packer JSON template may have.
var topLevelKeys = []string{"description", "min_packer_version", "variables", "sensitive-variables", "builders", "provisioners", "post-processors", "error-cleanup-provisioner", "_comment"}

// Load reads and resolves the JSON template at path.
func Load(path string, opts decode.Options) (*spec.Spec, error) {
	opts.SetDefaults()
	src, err := opts.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(path, src, opts)
}

// Parse resolves a JSON template from its source.
func Parse(file string, src []byte, opts decode.Options) (*spec.Spec, error) {
	opts.SetDefaults()
	root, diags := parseJSON(file, src)
	if root == nil {
		return nil, diags
	}
	if root.Kind != decode.Object {
		return decode.Spec(file, root, opts, nil, diags)
	}
	f := &front{file: file, opts: opts, diags: diags}
	f.topLevel(root)
	vars := f.variables(root.Get("variables"), root.Get("sensitive-variables"))
	return decode.Spec(file, root, opts, vars, f.diags)
}

// front collects the JSON front end's diagnostics.
type front struct {
	file  string
	opts  decode.Options
	diags spec.Diagnostics
}

func (f *front) errorAt(pos spec.Pos, path, summary, detail string) {
	f.diags = append(f.diags, spec.Diagnostic{Pos: pos, Path: path, Summary: summary, Detail: detail})
}

// topLevel checks the keys of the template object and min_packer_version.
func (f *front) topLevel(root *decode.Node) {
	for _, m := range root.Keys {
		if strings.HasPrefix(m.Key, "_") || slices.Contains(topLevelKeys, m.Key) {
			continue
		}
		detail := strings.TrimPrefix(textdist.DidYouMean(m.Key, topLevelKeys), "; ")
		if detail == "" {
			detail = "valid keys: " + strings.Join(slices.Sorted(slices.Values(topLevelKeys)), ", ")
		}
		f.errorAt(m.KeyPos, m.Key, fmt.Sprintf("unknown key %q in the template", m.Key), detail)
	}
	m := root.Get("min_packer_version")
	if m == nil || m.Value.Kind == decode.Null {
		return
	}
	if m.Value.Kind != decode.String {
		f.errorAt(m.Value.Pos, "min_packer_version", fmt.Sprintf("want a string, got %s", m.Value.Kind), "")
		return
	}
	if v := m.Value.Str; decode.CompareVersions(v, decode.SupportedPackerVersion) > 0 {
		f.errorAt(m.Value.Pos, "min_packer_version", fmt.Sprintf("this template needs Packer %s; vultr-image-action implements Packer %s's template language", v, decode.SupportedPackerVersion), "lower min_packer_version, or remove it")
	}
}

// declaration is one entry of the "variables" section.
type declaration struct {
	name     string
	pos      spec.Pos
	def      *decode.Node
	required bool
}

// variables resolves the "variables" section: defaults, then var files in
// order, then -var in order (later wins), as Packer does.
func (f *front) variables(variables, sensitive *decode.Member) []spec.Variable {
	decls := f.declarations(variables)
	declared := make([]string, 0, len(decls))
	for _, dc := range decls {
		declared = append(declared, dc.name)
	}
	sens := f.sensitive(sensitive, declared)
	overrides := f.varFiles(declared)
	for _, kv := range f.opts.Vars {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || k == "":
			f.errorAt(spec.Pos{}, "-var", "a -var is not name=value (its text is not shown: it may be a secret)", "")
		case !slices.Contains(declared, k):
			f.errorAt(spec.Pos{}, "-var "+k, fmt.Sprintf("variable %q is not declared in the template's \"variables\"", k), strings.TrimPrefix(textdist.DidYouMean(k, declared), "; "))
		default:
			overrides[k] = v
		}
	}
	return f.values(decls, overrides, sens)
}

func (f *front) declarations(variables *decode.Member) []declaration {
	if variables == nil {
		return nil
	}
	if variables.Value.Kind != decode.Object {
		f.errorAt(variables.Value.Pos, "variables", fmt.Sprintf("want an object of variable defaults, got %s", variables.Value.Kind), `e.g. "variables": {"region": "ewr"}`)
		return nil
	}
	var decls []declaration
	for _, m := range variables.Value.Keys {
		dc := declaration{name: m.Key, pos: m.KeyPos, def: m.Value}
		switch m.Value.Kind {
		case decode.Null:
			dc.required = true
		case decode.String, decode.Number, decode.Bool:
		default:
			f.errorAt(m.Value.Pos, "variables."+m.Key, fmt.Sprintf("a variable's default must be a string or null, got %s", m.Value.Kind), "")
			continue
		}
		decls = append(decls, dc)
	}
	return decls
}

// sensitive reads "sensitive-variables": names of declared variables.
func (f *front) sensitive(sensitive *decode.Member, declared []string) map[string]bool {
	sens := map[string]bool{}
	if sensitive == nil {
		return sens
	}
	v := sensitive.Value
	if v.Kind != decode.Array {
		f.errorAt(v.Pos, "sensitive-variables", fmt.Sprintf("want an array of strings, got %s", v.Kind), "")
		return sens
	}
	for i, it := range v.Items {
		p := fmt.Sprintf("sensitive-variables[%d]", i)
		switch {
		case it.Kind != decode.String:
			f.errorAt(it.Pos, p, fmt.Sprintf("want a string, got %s", it.Kind), "")
		case !slices.Contains(declared, it.Str):
			f.errorAt(it.Pos, p, fmt.Sprintf("%q is not a declared variable", it.Str), strings.TrimPrefix(textdist.DidYouMean(it.Str, declared), "; "))
			sens[it.Str] = true
		default:
			sens[it.Str] = true
		}
	}
	return sens
}

// varFiles reads the -var-file files, in order.
func (f *front) varFiles(declared []string) map[string]string {
	overrides := map[string]string{}
	for _, file := range f.opts.VarFiles {
		data, err := f.opts.ReadFile(file)
		if err != nil {
			f.errorAt(spec.Pos{File: file}, "", fmt.Sprintf("read var file: %v", errors.Unwrap(err)), "")
			continue
		}
		vf, ds := parseJSON(file, data)
		f.diags = append(f.diags, ds...)
		if vf == nil {
			continue
		}
		if vf.Kind != decode.Object {
			f.errorAt(vf.Pos, "", "a var file must be a JSON object of variable values", `e.g. {"region": "ewr"}`)
			continue
		}
		for _, m := range vf.Keys {
			if !slices.Contains(declared, m.Key) {
				f.errorAt(m.KeyPos, m.Key, fmt.Sprintf("variable %q is set here but not declared in the template's \"variables\"", m.Key), strings.TrimPrefix(textdist.DidYouMean(m.Key, declared), "; "))
				continue
			}
			switch m.Value.Kind {
			case decode.String, decode.Number:
				overrides[m.Key] = m.Value.Str
			case decode.Bool:
				overrides[m.Key] = strconv.FormatBool(m.Value.Bool)
			default:
				f.errorAt(m.Value.Pos, m.Key, fmt.Sprintf("want a string, got %s", m.Value.Kind), "")
			}
		}
	}
	return overrides
}

// values gives each declared variable its value. A sensitive value is
// told to Options.Secret the moment it is known.
func (f *front) values(decls []declaration, overrides map[string]string, sens map[string]bool) []spec.Variable {
	defaults := decode.NewDefaults(f.file, f.opts)
	var out []spec.Variable
	for _, dc := range decls {
		val, ok := overrides[dc.name]
		switch {
		case ok:
		case dc.required:
			f.errorAt(dc.pos, "variables."+dc.name, fmt.Sprintf("variable %s is required; set it with -var %s=... or in a var file", dc.name, dc.name), "")
			continue
		case dc.def.Kind == decode.Bool:
			val = strconv.FormatBool(dc.def.Bool)
		default:
			v, err := defaults.Render(dc.def.Str)
			if err != nil {
				f.errorAt(dc.def.Pos, "variables."+dc.name, err.Error(), "")
				continue
			}
			val = v
		}
		defaults.Set(dc.name, val)
		if sens[dc.name] && val != "" && f.opts.Secret != nil {
			f.opts.Secret(val)
		}
		out = append(out, spec.Variable{Name: dc.name, Value: val, Sensitive: sens[dc.name], Pos: dc.pos})
	}
	return out
}
