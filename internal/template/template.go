// Package template is the Packer JSON template front end: it reads a
// template, applies variables and Packer's template functions, validates
// every key and produces a *spec.Spec. Every problem is reported at once,
// each with file:line:col, the key's path and what would be valid.
package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Options are the command line's say in a template.
type Options struct {
	Vars     []string // -var k=v, in order (later wins)
	VarFiles []string // -var-file paths, in order (later wins; -var beats files)
	Only     []string // build-name globs
	Except   []string
	Getenv   func(string) string
	Now      time.Time // {{timestamp}}, fixed for the run
	RunUUID  string
	// SyntaxOnly stops after syntax and structure, like
	// packer validate -syntax-only.
	SyntaxOnly bool
	// Cwd is the working directory ({{pwd}}, HCL2's path.cwd); default the
	// process's.
	Cwd string
	// Fetches, when set, remembers what services answered (data "http",
	// vault(), consul_key()), so a template rendered twice in one command
	// asks them once.
	Fetches *Fetches
	// ReadFile reads var files and checks scripts exist; default os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Stat checks provisioner sources exist; default os.Stat.
	Stat func(string) (os.FileInfo, error)
	// Secret is told each value that must never be shown (a sensitive
	// variable, an API key, a password, a value read from a secret store)
	// the moment it is known: before anything, a diagnostic of a failed
	// load included, could quote it. Nil: the values only reach
	// spec.Spec.Secrets.
	Secret func(string)
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Stat == nil {
		o.Stat = os.Stat
	}
	if o.Cwd == "" {
		o.Cwd, _ = os.Getwd()
	}
}

// IsHCL2 reports whether path is an HCL2 template: a .pkr.hcl or .pkr.json
// file, or a directory of them.
func IsHCL2(path string) bool {
	if strings.HasSuffix(path, ".pkr.hcl") || strings.HasSuffix(path, ".pkr.json") {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Load reads and resolves a JSON template (package frontend picks the
// front end for any path).
func Load(path string, opts Options) (*spec.Spec, error) {
	if IsHCL2(path) {
		return nil, fmt.Errorf("%s is an HCL2 template: read it with package frontend", path)
	}
	opts.defaults()
	src, err := opts.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(path, src, opts)
}

// topLevelKeys are the keys a Packer JSON template may have.
var topLevelKeys = []string{"description", "min_packer_version", "variables", "sensitive-variables", "builders", "provisioners", "post-processors", "error-cleanup-provisioner", "_comment"}

// Parse resolves a template from its source.
func Parse(file string, src []byte, opts Options) (*spec.Spec, error) {
	opts.defaults()
	root, diags := parseJSON(file, src)
	if root == nil {
		return nil, diags
	}
	return fromNode(file, root, diags, opts, nil)
}

// FromNode resolves a template given as a Node tree in the JSON template's
// shape. Other front ends (HCL2) build that tree, with their variables
// already evaluated and passed as vars, so every front end produces the
// same *spec.Spec through the same decoding and validation.
func FromNode(file string, root *Node, opts Options, vars []spec.Variable) (*spec.Spec, error) {
	opts.defaults()
	return fromNode(file, root, nil, opts, vars)
}

func fromNode(file string, root *Node, diags spec.Diagnostics, opts Options, preset []spec.Variable) (*spec.Spec, error) {
	d := &decoder{diags: diags, onSecret: opts.Secret, in: &interp{getenv: opts.Getenv, now: opts.Now, runUUID: opts.RunUUID, dir: filepath.Dir(file), cwd: opts.Cwd, vars: map[string]string{}}}
	s := &spec.Spec{Path: file, Dir: filepath.Dir(file)}
	top := d.object(root, "")
	if top == nil {
		return nil, d.diags
	}
	// Structure first: every key known, sections of the right shape.
	for _, m := range top.n.Keys {
		if strings.HasPrefix(m.Key, "_") {
			top.used[m.Key] = true // comments
		}
	}
	if desc, _, ok := top.raw("description"); ok {
		s.Description = desc
	}
	if v, pos, ok := top.raw("min_packer_version"); ok && newerThan(v, SupportedPackerVersion) {
		d.errorAt(pos, "min_packer_version", fmt.Sprintf("this template needs Packer %s; vultr-image-action implements Packer %s's template language", v, SupportedPackerVersion), "lower min_packer_version, or remove it")
	}
	builders := top.member("builders")
	provisioners := top.member("provisioners")
	errorCleanup := top.member("error-cleanup-provisioner")
	postProcessors := top.member("post-processors")
	variables := top.member("variables")
	sensitive := top.member("sensitive-variables")
	top.unknown(topLevelKeys, "the template")
	if builders == nil || builders.Value.Kind != Array || len(builders.Value.Items) == 0 {
		pos := root.Pos
		if builders != nil {
			pos = builders.Value.Pos
		}
		d.errorAt(pos, "builders", "the template needs a \"builders\" array with at least one builder", `add "builders": [{"type": "vultr", ...}]`)
	}

	// Variables: defaults, then var files, then -var.
	if preset != nil {
		for _, v := range preset {
			d.in.vars[v.Name] = v.Value
			s.Variables = append(s.Variables, v)
			if v.Sensitive {
				d.secret(s, v.Value)
			}
		}
	} else {
		d.variables(s, variables, sensitive, opts)
	}
	if opts.SyntaxOnly {
		if d.diags.HasErrors() {
			return nil, d.diags
		}
		s.Warnings = warnings(d.diags)
		return s, nil
	}
	if d.diags.HasErrors() {
		// Undefined variables would cascade into every use; stop here.
		return nil, d.diags
	}

	if builders != nil && builders.Value.Kind == Array {
		d.builders(s, builders.Value, opts)
	}
	var provs []rawProvisioner
	if provisioners != nil {
		provs = d.provisioners(provisioners.Value, s, opts)
	}
	var pps [][]rawPostProcessor
	if postProcessors != nil {
		pps = d.postProcessors(postProcessors.Value)
	}
	var ecps []rawProvisioner
	if errorCleanup != nil {
		ecps = d.errorCleanupProvisioners(errorCleanup.Value, s, opts)
	}
	d.assemble(s, provs, pps, opts)
	d.assembleErrorCleanup(s, ecps, opts)
	d.filter(s, opts)
	if d.diags.HasErrors() {
		return nil, d.diags
	}
	s.Warnings = warnings(d.diags)
	return s, nil
}

func warnings(ds spec.Diagnostics) spec.Diagnostics {
	var out spec.Diagnostics
	for _, x := range ds {
		if x.Severity == spec.Warning {
			out = append(out, x)
		}
	}
	return out
}

// newerThan compares dotted versions numerically.
func newerThan(a, b string) bool { return CompareVersions(a, b) > 0 }

// CompareVersions compares dotted versions ("v1.16.0", "1.9") numerically:
// -1, 0 or 1. Non-digits in a part (a pre-release suffix) are ignored.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	num := func(parts []string, i int) int {
		if i >= len(parts) {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' }))
		return n
	}
	for i := 0; i < max(len(pa), len(pb)); i++ {
		if x, y := num(pa, i), num(pb, i); x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (d *decoder) variables(s *spec.Spec, variables, sensitive *Member, opts Options) {
	type decl struct {
		name     string
		pos      spec.Pos
		def      *Node
		required bool
	}
	var decls []decl
	declared := map[string]bool{}
	if variables != nil {
		if variables.Value.Kind != Object {
			d.errorAt(variables.Value.Pos, "variables", fmt.Sprintf("want an object of variable defaults, got %s", variables.Value.Kind), `e.g. "variables": {"region": "ewr"}`)
		} else {
			for _, m := range variables.Value.Keys {
				dc := decl{name: m.Key, pos: m.KeyPos, def: m.Value}
				switch m.Value.Kind {
				case Null:
					dc.required = true
				case String, Number, Bool:
				default:
					d.errorAt(m.Value.Pos, "variables."+m.Key, fmt.Sprintf("a variable's default must be a string or null, got %s", m.Value.Kind), "")
					continue
				}
				decls = append(decls, dc)
				declared[m.Key] = true
			}
		}
	}
	sens := map[string]bool{}
	if sensitive != nil {
		names, _ := d.strListRaw(sensitive.Value, "sensitive-variables")
		for i, n := range names {
			if !declared[n] {
				pos := sensitive.Value.Pos
				if sensitive.Value.Kind == Array && i < len(sensitive.Value.Items) {
					pos = sensitive.Value.Items[i].Pos
				}
				d.errorAt(pos, fmt.Sprintf("sensitive-variables[%d]", i), fmt.Sprintf("%q is not a declared variable", n), strings.TrimPrefix(suggest(n, keysOfBool(declared)), "; "))
			}
			sens[n] = true
		}
	}

	// Overrides: var files in order, then -var in order.
	overrides := map[string]string{}
	for _, f := range opts.VarFiles {
		data, err := opts.ReadFile(f)
		if err != nil {
			d.errorAt(spec.Pos{File: f}, "", fmt.Sprintf("read var file: %v", errors.Unwrap(err)), "")
			continue
		}
		vf, ds := parseJSON(f, data)
		d.diags = append(d.diags, ds...)
		if vf == nil {
			continue
		}
		if vf.Kind != Object {
			d.errorAt(vf.Pos, "", "a var file must be a JSON object of variable values", `e.g. {"region": "ewr"}`)
			continue
		}
		for _, m := range vf.Keys {
			if !declared[m.Key] {
				d.errorAt(m.KeyPos, m.Key, fmt.Sprintf("variable %q is set here but not declared in the template's \"variables\"", m.Key), strings.TrimPrefix(suggest(m.Key, keysOfBool(declared)), "; "))
				continue
			}
			switch m.Value.Kind {
			case String, Number:
				overrides[m.Key] = m.Value.Str
			case Bool:
				overrides[m.Key] = strconv.FormatBool(m.Value.Bool)
			default:
				d.errorAt(m.Value.Pos, m.Key, fmt.Sprintf("want a string, got %s", m.Value.Kind), "")
			}
		}
	}
	for _, kv := range opts.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			d.errorAt(spec.Pos{}, "-var", "a -var is not name=value (its text is not shown: it may be a secret)", "")
			continue
		}
		if !declared[k] {
			d.errorAt(spec.Pos{}, "-var "+k, fmt.Sprintf("variable %q is not declared in the template's \"variables\"", k), strings.TrimPrefix(suggest(k, keysOfBool(declared)), "; "))
			continue
		}
		overrides[k] = v
	}

	// Defaults may use {{env}} and earlier variables, as in Packer.
	d.in.allowEnv = true
	for _, dc := range decls {
		val, ok := overrides[dc.name]
		switch {
		case ok:
		case dc.required:
			d.errorAt(dc.pos, "variables."+dc.name, fmt.Sprintf("variable %s is required; set it with -var %s=... or in a var file", dc.name, dc.name), "")
			continue
		case dc.def.Kind == Bool:
			val = strconv.FormatBool(dc.def.Bool)
		default:
			v, err := d.in.render(dc.def.Str)
			if err != nil {
				d.errorAt(dc.def.Pos, "variables."+dc.name, err.Error(), "")
				continue
			}
			val = v
		}
		d.in.vars[dc.name] = val
		s.Variables = append(s.Variables, spec.Variable{Name: dc.name, Value: val, Sensitive: sens[dc.name], Pos: dc.pos})
		if sens[dc.name] {
			d.secret(s, val)
		}
	}
	d.in.allowEnv = false
}

func keysOfBool(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (d *decoder) strListRaw(v *Node, p string) ([]string, bool) {
	if v.Kind != Array {
		d.errorAt(v.Pos, p, fmt.Sprintf("want an array of strings, got %s", v.Kind), "")
		return nil, false
	}
	var out []string
	for i, it := range v.Items {
		if it.Kind != String {
			d.errorAt(it.Pos, fmt.Sprintf("%s[%d]", p, i), fmt.Sprintf("want a string, got %s", it.Kind), "")
			continue
		}
		out = append(out, it.Str)
	}
	return out, true
}

// filter applies -only and -except: globs against build names and their
// aliases ("vultr.*", "*.web", "app.vultr.web", "web"). Another cloud's
// build must be filtered out: it is then reported as skipped; left in, it
// is an error that names it and says which filter builds the rest.
func (d *decoder) filter(s *spec.Spec, opts Options) {
	all := append(append([]spec.Build{}, s.Builds...), d.foreign...)
	check := func(flag string, globs []string) {
		for _, g := range globs {
			if _, err := path.Match(g, ""); err != nil {
				d.errorAt(spec.Pos{}, flag, fmt.Sprintf("invalid pattern %q: %v", g, err), "")
				continue
			}
			matched := false
			for i := range all {
				matched = matched || matchesAny([]string{g}, &all[i])
			}
			if !matched {
				d.errorAt(spec.Pos{}, flag, fmt.Sprintf("%q matches no build", g), "builds: "+strings.Join(buildNames(all), ", "))
			}
		}
	}
	check("-only", opts.Only)
	check("-except", opts.Except)
	keep := func(b *spec.Build) bool {
		return (len(opts.Only) == 0 || matchesAny(opts.Only, b)) && !matchesAny(opts.Except, b)
	}
	var out []spec.Build
	for i := range s.Builds {
		if keep(&s.Builds[i]) {
			out = append(out, s.Builds[i])
		}
	}
	for i := range d.foreign {
		f := &d.foreign[i]
		full := f.Type + "." + f.Name
		if !keep(f) {
			s.Skipped = append(s.Skipped, full)
			d.warnAt(f.Pos, "", fmt.Sprintf("skipping %s: vultr-image-action builds only Vultr images", full), "")
			continue
		}
		d.errorAt(f.Pos, "", fmt.Sprintf("%s uses the %q builder: vultr-image-action builds only Vultr images", full, f.Type), "build the Vultr sources and skip the others with -only 'vultr.*' (the action's only: input), or -except '"+f.Type+".*'")
	}
	s.Builds = out
}

// FormatDiagnostics renders diagnostics one per line, each with its
// snippet when there is one.
func FormatDiagnostics(ds spec.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s: %s\n", d.Severity, d.Error())
		if d.Snippet != "" {
			b.WriteString(d.Snippet)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// jsonString quotes s as JSON, for messages.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Fetches remembers the answers of services a template reads, for the
// length of one command. A nil *Fetches remembers nothing.
type Fetches struct {
	mu sync.Mutex
	m  map[string]fetched
}

type fetched struct {
	v   any
	err error
}

// Do returns the remembered answer for key, or fetch's, remembered.
func (f *Fetches) Do(key string, fetch func() (any, error)) (any, error) {
	if f == nil {
		return fetch()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.m[key]; ok {
		return r.v, r.err
	}
	v, err := fetch()
	if f.m == nil {
		f.m = map[string]fetched{}
	}
	f.m[key] = fetched{v, err}
	return v, err
}
