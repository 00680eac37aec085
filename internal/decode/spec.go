// Package decode is the front-end-neutral decoder: it turns a template's
// tree (Node), whichever front end built it, into a *spec.Spec. It applies
// Packer's template functions as Packer's plugins do, checks every key
// against package schema's declarations, and validates each block. Every
// problem is reported at once, each with file:line:col, the key's path and
// what would be valid.
package decode

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
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

// SetDefaults fills what is unset: no environment, now, the process's
// files and working directory.
func (o *Options) SetDefaults() {
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

// Spec resolves a template given as a Node tree in the shape of a Packer
// JSON template: "description", "builders", "provisioners",
// "post-processors" and "error-cleanup-provisioner". The front end owns
// the rest of the top level (JSON's "variables", HCL2's variable blocks):
// it passes the variables it resolved as vars, and the diagnostics it
// has so far as parsed. Every front end produces its *spec.Spec here,
// through the same decoding and validation.
func Spec(file string, root *Node, opts Options, vars []spec.Variable, parsed spec.Diagnostics) (*spec.Spec, error) {
	opts.SetDefaults()
	d := &decoder{diags: parsed, onSecret: opts.Secret, in: newInterp(file, opts)}
	s := &spec.Spec{Path: file, Dir: filepath.Dir(file)}
	top := d.object(root, "")
	if top == nil {
		return nil, d.diags
	}
	if desc, _, ok := top.raw("description"); ok {
		s.Description = desc
	}
	builders := top.member("builders")
	if builders == nil || builders.Value.Kind != Array || len(builders.Value.Items) == 0 {
		pos := root.Pos
		if builders != nil {
			pos = builders.Value.Pos
		}
		d.errorAt(pos, "builders", "the template needs a \"builders\" array with at least one builder", `add "builders": [{"type": "vultr", ...}]`)
	}
	for _, v := range vars {
		d.in.vars[v.Name] = v.Value
		s.Variables = append(s.Variables, v)
		if v.Sensitive {
			d.secret(s, v.Value)
		}
	}
	if opts.SyntaxOnly || d.diags.HasErrors() {
		// Undefined variables would cascade into every use; stop here.
		return done(s, d.diags)
	}
	d.builders(s, builders.Value, opts)
	var provs, ecps []rawProvisioner
	var pps [][]rawPostProcessor
	if m := top.member("provisioners"); m != nil {
		provs = d.provisioners(m.Value, s, opts)
	}
	if m := top.member("post-processors"); m != nil {
		pps = d.postProcessors(m.Value)
	}
	if m := top.member("error-cleanup-provisioner"); m != nil {
		ecps = d.errorCleanupProvisioners(m.Value, s, opts)
	}
	d.assemble(s, provs, pps, opts)
	d.assembleErrorCleanup(s, ecps, opts)
	d.filter(s, opts)
	return done(s, d.diags)
}

// done returns the spec with its warnings, or every diagnostic when one
// is an error.
func done(s *spec.Spec, ds spec.Diagnostics) (*spec.Spec, error) {
	if ds.HasErrors() {
		return nil, ds
	}
	s.Warnings = warnings(ds)
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
