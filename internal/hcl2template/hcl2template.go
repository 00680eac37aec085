// Package hcl2template is the HCL2 front end (.pkr.hcl). It evaluates
// variables, locals and expressions with HCL and go-cty's function library,
// then hands the result to the JSON front end's decoder as the same Node
// tree, so both formats produce an identical *spec.Spec and share every
// validation and message.
package hcl2template

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Load reads a .pkr.hcl file, or every .pkr.hcl file of a directory (with
// its *.auto.pkrvars.hcl), and resolves it with opts (-var, -var-file,
// -only, -except; PKR_VAR_name through opts.Getenv).
func Load(path string, opts decode.Options) (*spec.Spec, error) {
	ev, err := evaluatePath(path, opts)
	if err != nil {
		return nil, err
	}
	o := ev.opts
	o.Vars, o.VarFiles = nil, nil
	s, err := decode.Spec(ev.name, ev.root, o, ev.vars, nil)
	if s != nil {
		s.Dir = ev.dir
		for _, v := range ev.secrets.all() {
			if !slices.Contains(s.Secrets, v) {
				s.Secrets = append(s.Secrets, v)
			}
		}
		s.Warnings = append(ev.warnings, s.Warnings...)
	}
	return s, err
}

// evaluated is a template after HCL: the Node tree the JSON front end's
// decoder reads, and the warnings so far.
type evaluated struct {
	*loader
	name     string // the file, or the directory of several
	root     *decode.Node
	vars     []spec.Variable
	warnings spec.Diagnostics
}

// evaluatePath parses and evaluates the template's files.
func evaluatePath(path string, opts decode.Options) (*evaluated, error) {
	l, files, names, autoVars, err := parsePath(path, opts)
	if err != nil {
		return nil, err
	}
	root, vars, diags := l.evaluate(files, append(autoVars, opts.VarFiles...))
	if diags.HasErrors() {
		return nil, toDiagnostics(diags, l.parser)
	}
	ev := &evaluated{loader: l, name: path, root: root, vars: vars, warnings: toDiagnostics(diags, l.parser)} // diags holds only warnings here
	if len(names) == 1 {
		ev.name = names[0]
	}
	return ev, nil
}

// parsePath reads the template's files (a file, or a directory's
// .pkr.hcl files) and its automatic var files, and returns the loader that
// evaluates them.
func parsePath(path string, opts decode.Options) (l *loader, files []*hcl.File, names, autoVars []string, err error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	names, autoVars, err = collect(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	for _, f := range names {
		file, ds := parseFile(p, f, opts.ReadFile)
		diags = append(diags, ds...)
		if file != nil {
			files = append(files, file)
		}
	}
	if diags.HasErrors() {
		return nil, nil, nil, nil, toDiagnostics(diags, p)
	}
	l = &loader{opts: opts, parser: p, dir: dirOf(path), secrets: secretSink{notify: opts.Secret}}
	return l, files, names, autoVars, nil
}

func dirOf(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return path
	}
	return filepath.Dir(path)
}

// collect lists the template files and automatic variable files.
func collect(path string) (files, autoVars []string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read template: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read template directory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, ".auto.pkrvars.hcl"), strings.HasSuffix(n, ".auto.pkrvars.json"):
			autoVars = append(autoVars, filepath.Join(path, n))
		case strings.HasSuffix(n, ".pkr.hcl"), strings.HasSuffix(n, ".pkr.json"):
			files = append(files, filepath.Join(path, n))
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%s holds no .pkr.hcl files", path)
	}
	return files, autoVars, nil
}

type loader struct {
	opts   decode.Options
	parser *hclparse.Parser
	dir    string
	// secrets are values read from services (vault, consul_key).
	secrets secretSink
}

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "packer"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "local", LabelNames: []string{"name"}},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "build"},
	},
}

// cwd is the working directory: Options.Cwd, or the process's.
func (l *loader) cwd() string {
	if l.opts.Cwd != "" {
		return l.opts.Cwd
	}
	wd, _ := os.Getwd()
	return wd
}

// pathObject is HCL2's path.root (the template's directory) and path.cwd.
func (l *loader) pathObject() cty.Value {
	// Absolute, so "${path.root}/x" means the same to file(), which joins
	// relative paths to the template's directory, and to script paths,
	// which are the working directory's.
	root, err := filepath.Abs(l.dir)
	if err != nil {
		root = l.dir
	}
	return cty.ObjectVal(map[string]cty.Value{
		"root": cty.StringVal(filepath.ToSlash(root)),
		"cwd":  cty.StringVal(filepath.ToSlash(l.cwd())),
	})
}

// evaluate turns the HCL files into the JSON template's Node shape, in
// Packer's order: the top-level blocks are read, variables get their
// values, locals and data sources are evaluated, and each build block
// becomes builders, provisioners and post-processor sequences.
func (l *loader) evaluate(files []*hcl.File, varFiles []string) (*decode.Node, []spec.Variable, hcl.Diagnostics) {
	top, ctx, vars, diags := l.context(files, varFiles)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	root, ds := l.builds(files[0], top, ctx)
	return root, vars, append(diags, ds...)
}

// context evaluates the variables, locals and data sources: the context
// the rest of the template (and the console) is evaluated in.
func (l *loader) context(files []*hcl.File, varFiles []string) (*topBlocks, *hcl.EvalContext, []spec.Variable, hcl.Diagnostics) {
	top, diags := readBlocks(files)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	ctx, vars, ds := l.variables(top, varFiles)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	return top, ctx, vars, append(diags, l.localsAndData(ctx, top.locals, top.datas)...)
}

// topBlocks are a template's top-level blocks, by type.
type topBlocks struct {
	vars    map[string]*variable
	order   []string // variable names, in declaration order
	locals  []*hcl.Attribute
	sources map[string]*hcl.Block // by "type.name"
	datas   []*hcl.Block
	builds  []*hcl.Block
}

// readBlocks sorts the files' top-level blocks. A name declared twice
// (variable, local, source) is an error, as in Packer.
func readBlocks(files []*hcl.File) (*topBlocks, hcl.Diagnostics) {
	top := &topBlocks{vars: map[string]*variable{}, sources: map[string]*hcl.Block{}}
	var diags hcl.Diagnostics
	twice := func(what, name string, at hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s %q is declared twice", what, name), Subject: &at})
	}
	locals := map[string]bool{}
	addLocal := func(a *hcl.Attribute) {
		if locals[a.Name] {
			twice("local", a.Name, a.NameRange)
			return
		}
		locals[a.Name] = true
		top.locals = append(top.locals, a)
	}
	for _, f := range files {
		content, ds := f.Body.Content(topSchema)
		diags = append(diags, ds...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				v, ds := decodeVariable(b)
				diags = append(diags, ds...)
				if _, dup := top.vars[v.name]; dup {
					twice("variable", v.name, b.DefRange)
					continue
				}
				top.vars[v.name] = v
				top.order = append(top.order, v.name)
			case "locals":
				attrs, ds := b.Body.JustAttributes()
				diags = append(diags, ds...)
				for _, a := range sortedAttrs(attrs) {
					addLocal(a)
				}
			case "local":
				attrs, ds := b.Body.JustAttributes()
				diags = append(diags, ds...)
				if a, ok := attrs["expression"]; ok {
					a.Name, a.NameRange = b.Labels[0], b.LabelRanges[0]
					addLocal(a)
				}
			case "source":
				key := b.Labels[0] + "." + b.Labels[1]
				if _, dup := top.sources[key]; dup {
					twice("source", key, b.DefRange)
					continue
				}
				top.sources[key] = b
			case "data":
				top.datas = append(top.datas, b)
			case "build":
				top.builds = append(top.builds, b)
			case "packer":
				// required_plugins: the vultr builder is built in, so
				// required_plugins.vultr is satisfied. required_version is
				// checked against the Packer version this tool implements.
				diags = append(diags, checkRequiredVersion(b)...)
			}
		}
	}
	return top, diags
}

// bodyNode evaluates a block's attributes into an object Node.
func (l *loader) bodyNode(body hcl.Body, ctx *hcl.EvalContext, fixed map[string]string) (*decode.Node, hcl.Diagnostics) {
	attrs, diags := body.JustAttributes()
	// Read them again through Content: a body that a dynamic block made
	// gives its iterator (provisioner.key, provisioner.value) only so.
	if !diags.HasErrors() {
		schema := &hcl.BodySchema{}
		for name := range attrs {
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
		}
		if content, ds := body.Content(schema); !ds.HasErrors() {
			attrs = content.Attributes
		}
	}
	n := &decode.Node{Kind: decode.Object, Pos: pos(body.MissingItemRange())}
	keys := make([]string, 0, len(fixed))
	for k := range fixed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.Keys = append(n.Keys, decode.Member{Key: k, KeyPos: n.Pos, Value: &decode.Node{Kind: decode.String, Pos: n.Pos, Str: fixed[k]}})
	}
	for _, a := range sortedAttrs(attrs) {
		val, ds := a.Expr.Value(ctx)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		n.Keys = append(n.Keys, decode.Member{Key: a.Name, KeyPos: pos(a.NameRange), Value: valueNode(val, pos(a.Expr.Range()))})
	}
	return n, diags
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Range.Start.Byte != out[j].Range.Start.Byte {
			return out[i].Range.Start.Byte < out[j].Range.Start.Byte
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// valueNode converts an evaluated value to a Node.
func valueNode(v cty.Value, p spec.Pos) *decode.Node {
	switch {
	case v.IsNull() || !v.IsKnown():
		return &decode.Node{Kind: decode.Null, Pos: p}
	case v.Type() == cty.String:
		return &decode.Node{Kind: decode.String, Pos: p, Str: v.AsString()}
	case v.Type() == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			i, _ := bf.Int(new(big.Int))
			return &decode.Node{Kind: decode.Number, Pos: p, Str: i.String()}
		}
		return &decode.Node{Kind: decode.Number, Pos: p, Str: bf.Text('g', -1)}
	case v.Type() == cty.Bool:
		return &decode.Node{Kind: decode.Bool, Pos: p, Bool: v.True()}
	case v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType():
		n := &decode.Node{Kind: decode.Array, Pos: p}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			n.Items = append(n.Items, valueNode(e, p))
		}
		return n
	case v.Type().IsMapType() || v.Type().IsObjectType():
		n := &decode.Node{Kind: decode.Object, Pos: p}
		m := v.AsValueMap()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Keys = append(n.Keys, decode.Member{Key: k, KeyPos: p, Value: valueNode(m[k], p)})
		}
		return n
	}
	return &decode.Node{Kind: decode.Null, Pos: p}
}

func pos(r hcl.Range) spec.Pos {
	return spec.Pos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

// toDiagnostics converts HCL diagnostics, keeping ranges and snippets.
func toDiagnostics(ds hcl.Diagnostics, p *hclparse.Parser) spec.Diagnostics {
	var out spec.Diagnostics
	for _, d := range ds {
		sd := spec.Diagnostic{Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			sd.Severity = spec.Warning
		}
		if d.Subject != nil {
			sd.Pos = pos(*d.Subject)
			sd.End = spec.Pos{File: d.Subject.Filename, Line: d.Subject.End.Line, Col: d.Subject.End.Column}
			if f := p.Files()[d.Subject.Filename]; f != nil {
				sd.Snippet = decode.Snippet(f.Bytes, d.Subject.Start.Line, d.Subject.Start.Column)
			}
		}
		out = append(out, sd)
	}
	return out
}

// parseFile reads a file through read (Options.ReadFile) and parses it:
// HCL's native syntax, or its JSON syntax for .pkr.json (and .json var
// files).
func parseFile(p *hclparse.Parser, name string, read func(string) ([]byte, error)) (*hcl.File, hcl.Diagnostics) {
	src, err := read(name)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("read %s: %v", name, err)}}
	}
	if strings.HasSuffix(name, ".json") {
		return p.ParseJSON(src, name)
	}
	return p.ParseHCL(src, name)
}
