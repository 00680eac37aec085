// Package hcl2template is the HCL2 front end (.pkr.hcl). It evaluates
// variables, locals and expressions with HCL and go-cty's function library,
// then hands the result to the JSON front end's decoder as the same Node
// tree, so both formats produce an identical *spec.Spec and share every
// validation and message.
package hcl2template

import (
	"fmt"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

// Load reads a .pkr.hcl file, or every .pkr.hcl file of a directory (with
// its *.auto.pkrvars.hcl), and resolves it with opts (-var, -var-file,
// -only, -except; PKR_VAR_name through opts.Getenv).
func Load(path string, opts template.Options) (*spec.Spec, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	files, autoVars, err := collect(path)
	if err != nil {
		return nil, err
	}
	p := hclparse.NewParser()
	var bodies []*hcl.File
	var diags hcl.Diagnostics
	for _, f := range files {
		file, ds := parseFile(p, f, opts.ReadFile)
		diags = append(diags, ds...)
		if file != nil {
			bodies = append(bodies, file)
		}
	}
	if diags.HasErrors() {
		return nil, toDiagnostics(diags, p)
	}
	l := &loader{opts: opts, parser: p, dir: dirOf(path)}
	root, vars, ds := l.evaluate(bodies, append(autoVars, opts.VarFiles...))
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, toDiagnostics(diags, p)
	}
	o := opts
	o.Vars, o.VarFiles = nil, nil
	name := path
	if len(files) == 1 {
		name = files[0]
	}
	s, err := template.FromNode(name, root, o, vars)
	if s != nil {
		s.Dir = l.dir
		s.Secrets = append(s.Secrets, l.secrets.all()...)
		s.Warnings = append(toDiagnostics(diags, p), s.Warnings...) // diags holds only warnings here
	}
	return s, err
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
	opts   template.Options
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

type variable struct {
	validations []*hcl.Block
	name        string
	typ         cty.Type
	defaults    *typeexpr.Defaults // of optional() object attributes
	def         hcl.Expression
	sensitive   bool
	rng         hcl.Range
	value       cty.Value
	set         bool
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

// evaluate turns the HCL files into the JSON template's Node shape.
func (l *loader) evaluate(files []*hcl.File, varFiles []string) (*template.Node, []spec.Variable, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]*variable{}
	var order []string
	var localAttrs []*hcl.Attribute
	var sources, datas []*hcl.Block
	var builds []*hcl.Block
	for _, f := range files {
		content, ds := f.Body.Content(topSchema)
		diags = append(diags, ds...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				v, ds := decodeVariable(b)
				diags = append(diags, ds...)
				if _, dup := vars[v.name]; dup {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %q is declared twice", v.name), Subject: &b.DefRange})
					continue
				}
				vars[v.name] = v
				order = append(order, v.name)
			case "locals":
				attrs, ds := b.Body.JustAttributes()
				diags = append(diags, ds...)
				for _, a := range attrs {
					localAttrs = append(localAttrs, a)
				}
			case "local":
				attrs, ds := b.Body.JustAttributes()
				diags = append(diags, ds...)
				if a, ok := attrs["expression"]; ok {
					a.Name = b.Labels[0]
					localAttrs = append(localAttrs, a)
				}
			case "source":
				sources = append(sources, b)
			case "data":
				datas = append(datas, b)
			case "build":
				builds = append(builds, b)
			case "packer":
				// required_plugins: the vultr builder is built in, so
				// required_plugins.vultr is satisfied. required_version is
				// checked against the Packer version this tool implements.
				diags = append(diags, checkRequiredVersion(b)...)
			}
		}
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}

	// Values: defaults < var files (auto first) < PKR_VAR_ < -var, later wins.
	defCtx := &hcl.EvalContext{Functions: l.functions(true), Variables: map[string]cty.Value{"path": l.pathObject()}}
	for _, name := range order {
		v := vars[name]
		if v.def != nil {
			val, ds := v.def.Value(defCtx)
			diags = append(diags, ds...)
			v.value, v.set = l.convert(val, v, v.def.Range(), &diags), true
		}
	}
	for _, vf := range varFiles {
		f, ds := parseFile(l.parser, vf, l.opts.ReadFile)
		diags = append(diags, ds...)
		if f == nil {
			continue
		}
		attrs, ds := f.Body.JustAttributes()
		diags = append(diags, ds...)
		for _, a := range sortedAttrs(attrs) {
			v, ok := vars[a.Name]
			if !ok {
				// As in Packer: a var file may serve several templates.
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: fmt.Sprintf("undefined variable: %q is set in a var file but not declared in the template%s", a.Name, didYouMean(a.Name, order)), Subject: &a.NameRange})
				continue
			}
			val, ds := a.Expr.Value(nil)
			diags = append(diags, ds...)
			v.value, v.set = l.convert(val, v, a.Expr.Range(), &diags), true
		}
	}
	for _, name := range order {
		if env := l.opts.Getenv("PKR_VAR_" + name); env != "" {
			v := vars[name]
			v.value, v.set = l.convert(l.cliValue(env, v, &diags), v, v.rng, &diags), true
		}
	}
	for _, kv := range l.opts.Vars {
		k, val, ok := strings.Cut(kv, "=")
		v, declared := vars[k]
		// The value may be a secret: only the name is ever shown.
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "a -var is not name=value (its text is not shown: it may be a secret)"})
			continue
		}
		if !declared {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("-var %s: variable %q is not declared%s", k, k, didYouMean(k, order))})
			continue
		}
		v.value, v.set = l.convert(l.cliValue(val, v, &diags), v, v.rng, &diags), true
	}
	varObj := map[string]cty.Value{}
	var out []spec.Variable
	for _, name := range order {
		v := vars[name]
		if !v.set {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %s is required; set it with -var %s=... or in a var file", name, name), Subject: &v.rng})
			continue
		}
		varObj[name] = v.value
		sv, _ := convert.Convert(v.value, cty.String)
		str := ""
		if sv.IsKnown() && !sv.IsNull() {
			str = sv.AsString()
		}
		out = append(out, spec.Variable{Name: name, Value: str, Sensitive: v.sensitive, Pos: pos(v.rng)})
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(varObj), "path": l.pathObject(),
		"packer": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal(template.SupportedPackerVersion)})}, Functions: l.functions(false)}
	// validation { condition = ..., error_message = "..." }
	for _, name := range order {
		for _, vb := range vars[name].validations {
			attrs, ds := vb.Body.JustAttributes()
			diags = append(diags, ds...)
			cond, ok := attrs["condition"]
			if !ok {
				continue
			}
			val, ds := cond.Expr.Value(ctx)
			diags = append(diags, ds...)
			if ds.HasErrors() || val.Type() != cty.Bool || val.IsNull() || val.True() {
				continue
			}
			msg := fmt.Sprintf("invalid value for variable %s", name)
			if m, ok := attrs["error_message"]; ok {
				if mv, ds := m.Expr.Value(nil); !ds.HasErrors() && mv.Type() == cty.String {
					msg = mv.AsString()
				}
			}
			rng := cond.Expr.Range()
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: msg, Detail: fmt.Sprintf("variable %s failed its validation", name), Subject: &rng})
		}
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	if ds := l.localsAndData(ctx, localAttrs, datas); ds.HasErrors() {
		return nil, nil, append(diags, ds...)
	}

	// Sources by "type.name".
	srcs := map[string]*hcl.Block{}
	for _, b := range sources {
		srcs[b.Labels[0]+"."+b.Labels[1]] = b
	}
	root := &template.Node{Kind: template.Object, Pos: spec.Pos{File: files[0].Body.MissingItemRange().Filename, Line: 1, Col: 1}}
	var builders, provs, pps, ecps []*template.Node
	for _, b := range builds {
		if attrs, _ := b.Body.JustAttributes(); attrs != nil {
			if a, ok := attrs["description"]; ok {
				if val, ds := a.Expr.Value(ctx); !ds.HasErrors() && val.Type() == cty.String {
					root.Keys = append(root.Keys, template.Member{Key: "description", KeyPos: pos(a.NameRange), Value: valueNode(val, pos(a.Expr.Range()))})
				}
			}
		}
		bn, prov, pp, ecp, ds := l.build(b, srcs, ctx)
		diags = append(diags, ds...)
		builders = append(builders, bn...)
		provs = append(provs, prov...)
		pps = append(pps, pp...)
		ecps = append(ecps, ecp...)
	}
	if len(builds) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "the template needs a build block", Detail: `add build { sources = ["source.vultr.example"] }`})
	}
	add := func(key string, items []*template.Node) {
		if len(items) > 0 {
			root.Keys = append(root.Keys, template.Member{Key: key, KeyPos: root.Pos, Value: &template.Node{Kind: template.Array, Pos: root.Pos, Items: items}})
		}
	}
	add("builders", builders)
	add("provisioners", provs)
	add("post-processors", pps)
	add("error-cleanup-provisioner", ecps)
	return root, out, diags
}

func (l *loader) convert(val cty.Value, v *variable, rng hcl.Range, diags *hcl.Diagnostics) cty.Value {
	if v.typ == cty.NilType || v.typ == cty.DynamicPseudoType {
		return val
	}
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	c, err := convert.Convert(val, v.typ)
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %s: %v", v.name, err), Subject: &rng})
		return val
	}
	return c
}

func decodeVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	v := &variable{name: b.Labels[0], rng: b.DefRange}
	content, diags := b.Body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	})
	if a, ok := content.Attributes["type"]; ok {
		// Every type constraint Packer takes: object(), tuple(), optional().
		t, defaults, ds := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = append(diags, ds...)
		v.typ, v.defaults = t, defaults
	}
	if a, ok := content.Attributes["default"]; ok {
		v.def = a.Expr
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		val, ds := a.Expr.Value(nil)
		diags = append(diags, ds...)
		v.sensitive = val.Type() == cty.Bool && val.True()
	}
	for _, b := range content.Blocks {
		v.validations = append(v.validations, b)
	}
	return v, diags
}

// build turns one build block into builders, provisioners and
// post-processor sequences, with only filters for its sources.
func (l *loader) build(b *hcl.Block, srcs map[string]*hcl.Block, ctx *hcl.EvalContext) (builders, provs, pps, ecps []*template.Node, diags hcl.Diagnostics) {
	// dynamic "provisioner" { for_each = ...; labels = [...]; content {...} }
	body := dynblock.Expand(b.Body, ctx)
	content, diags := body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "sources"}, {Name: "description"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "source", LabelNames: []string{"ref"}},
			{Type: "provisioner", LabelNames: []string{"type"}},
			{Type: "error-cleanup-provisioner", LabelNames: []string{"type"}},
			{Type: "post-processor", LabelNames: []string{"type"}},
			{Type: "post-processors"},
			{Type: "hcp_packer_registry"},
		},
	})
	type use struct {
		ref      string
		override hcl.Body
		rng      hcl.Range
	}
	var uses []use
	if a, ok := content.Attributes["sources"]; ok {
		exprs, ds := hcl.ExprList(a.Expr)
		diags = append(diags, ds...)
		for _, e := range exprs {
			// Packer writes sources as strings: "source.vultr.example".
			if val, ds := e.Value(nil); !ds.HasErrors() && val.Type() == cty.String {
				uses = append(uses, use{ref: strings.TrimPrefix(val.AsString(), "source."), rng: e.Range()})
				continue
			}
			trav, ds := hcl.AbsTraversalForExpr(e)
			diags = append(diags, ds...)
			if len(trav) == 3 && trav.RootName() == "source" {
				uses = append(uses, use{ref: trav[1].(hcl.TraverseAttr).Name + "." + trav[2].(hcl.TraverseAttr).Name, rng: e.Range()})
			}
		}
	}
	for _, sb := range content.Blocks {
		if sb.Type == "source" {
			uses = append(uses, use{ref: strings.TrimPrefix(sb.Labels[0], "source."), override: sb.Body, rng: sb.DefRange})
		}
	}
	if len(uses) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "the build block has no sources", Detail: `add sources = ["source.vultr.NAME"] or a source "source.vultr.NAME" {} block`, Subject: &b.DefRange})
	}
	buildName := ""
	if a, ok := content.Attributes["name"]; ok {
		if v, ds := a.Expr.Value(ctx); !ds.HasErrors() && v.Type() == cty.String {
			buildName = v.AsString()
		}
	}
	ctx = ctx.NewChild()
	ctx.Variables = map[string]cty.Value{"build": l.buildObject(buildName)}
	var names, types []string
	for _, u := range uses {
		src, ok := srcs[u.ref]
		if !ok {
			var known []string
			for k := range srcs {
				known = append(known, "source."+k)
			}
			sort.Strings(known)
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("no source %q", "source."+u.ref), Detail: "declared sources: " + strings.Join(known, ", "), Subject: &u.rng})
			continue
		}
		typ, name := src.Labels[0], src.Labels[1]
		// Packer's way to reuse a source: `name` in the build block's
		// source block renames the build.
		if u.override != nil {
			if renamed, ok := overrideName(u.override, withSource(ctx, typ, name)); ok {
				name = renamed
			}
		}
		sctx := withSource(ctx, typ, name)
		var node *template.Node
		if typ == "vultr" {
			var ds hcl.Diagnostics
			node, ds = l.bodyNode(src.Body, sctx, map[string]string{"type": typ, "name": name})
			diags = append(diags, ds...)
			if u.override != nil {
				over, ds := l.bodyNode(u.override, sctx, nil)
				diags = append(diags, ds...)
				node = template.Merge(node, over)
			}
		} else {
			// Another cloud's source: not evaluated (its plugin's schema is
			// not ours); the build is skipped, or refused, by name.
			at := pos(src.DefRange)
			node = &template.Node{Kind: template.Object, Pos: at}
			for _, kv := range [][2]string{{"type", typ}, {"name", name}} {
				node.Keys = append(node.Keys, template.Member{Key: kv[0], KeyPos: at, Value: &template.Node{Kind: template.String, Pos: at, Str: kv[1]}})
			}
		}
		// The build answers to Packer's names too: "vultr.web", and with a
		// named build block "app.vultr.web".
		node.Aliases = []string{typ + "." + name}
		if buildName != "" {
			node.Aliases = append(node.Aliases, buildName+"."+typ+"."+name)
		}
		builders = append(builders, node)
		names = append(names, name)
		types = append(types, typ)
	}
	// Provisioners and post-processors belong to their build block's builds.
	only := func(n *template.Node) *template.Node {
		n.Scope = append([]string{}, names...)
		return n
	}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "provisioner":
			if !refersTo(blk.Body, "source") {
				n, ds := l.bodyNode(blk.Body, ctx, map[string]string{"type": blk.Labels[0]})
				diags = append(diags, ds...)
				provs = append(provs, only(n))
				continue
			}
			// A provisioner that uses source.name is one per source.
			for i, nm := range names {
				n, ds := l.bodyNode(blk.Body, withSource(ctx, types[i], nm), map[string]string{"type": blk.Labels[0]})
				diags = append(diags, ds...)
				n.Scope = []string{nm}
				provs = append(provs, n)
			}
		case "error-cleanup-provisioner":
			n, ds := l.bodyNode(blk.Body, ctx, map[string]string{"type": blk.Labels[0]})
			diags = append(diags, ds...)
			ecps = append(ecps, only(n))
		case "hcp_packer_registry":
			r := blk.DefRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "hcp_packer_registry: nothing is published to HCP Packer", Detail: "vultr-image-action builds the images; it does not publish their metadata to HCP Packer. Use the snapshot-ids and artifacts outputs (or the manifest post-processor) to record them.", Subject: &r})
		case "post-processor":
			seqs, ds := l.sequence(blk, []*hcl.Block{blk}, ctx, names, types, only)
			diags = append(diags, ds...)
			pps = append(pps, seqs...)
		case "post-processors":
			inner, ds := blk.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}}})
			diags = append(diags, ds...)
			seqs, ds := l.sequence(blk, inner.Blocks, ctx, names, types, only)
			diags = append(diags, ds...)
			pps = append(pps, seqs...)
		}
	}
	return builders, provs, pps, ecps, diags
}

// bodyNode evaluates a block's attributes into an object Node.
func (l *loader) bodyNode(body hcl.Body, ctx *hcl.EvalContext, fixed map[string]string) (*template.Node, hcl.Diagnostics) {
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
	n := &template.Node{Kind: template.Object, Pos: pos(body.MissingItemRange())}
	keys := make([]string, 0, len(fixed))
	for k := range fixed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.Keys = append(n.Keys, template.Member{Key: k, KeyPos: n.Pos, Value: &template.Node{Kind: template.String, Pos: n.Pos, Str: fixed[k]}})
	}
	for _, a := range sortedAttrs(attrs) {
		val, ds := a.Expr.Value(ctx)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		n.Keys = append(n.Keys, template.Member{Key: a.Name, KeyPos: pos(a.NameRange), Value: valueNode(val, pos(a.Expr.Range()))})
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
func valueNode(v cty.Value, p spec.Pos) *template.Node {
	switch {
	case v.IsNull() || !v.IsKnown():
		return &template.Node{Kind: template.Null, Pos: p}
	case v.Type() == cty.String:
		return &template.Node{Kind: template.String, Pos: p, Str: v.AsString()}
	case v.Type() == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			i, _ := bf.Int(new(big.Int))
			return &template.Node{Kind: template.Number, Pos: p, Str: i.String()}
		}
		return &template.Node{Kind: template.Number, Pos: p, Str: bf.Text('g', -1)}
	case v.Type() == cty.Bool:
		return &template.Node{Kind: template.Bool, Pos: p, Bool: v.True()}
	case v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType():
		n := &template.Node{Kind: template.Array, Pos: p}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			n.Items = append(n.Items, valueNode(e, p))
		}
		return n
	case v.Type().IsMapType() || v.Type().IsObjectType():
		n := &template.Node{Kind: template.Object, Pos: p}
		m := v.AsValueMap()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Keys = append(n.Keys, template.Member{Key: k, KeyPos: p, Value: valueNode(m[k], p)})
		}
		return n
	}
	return &template.Node{Kind: template.Null, Pos: p}
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
				sd.Snippet = template.Snippet(f.Bytes, d.Subject.Start.Line, d.Subject.Start.Column)
			}
		}
		out = append(out, sd)
	}
	return out
}

// withSource adds source.type and source.name to an evaluation context.
func withSource(ctx *hcl.EvalContext, typ, name string) *hcl.EvalContext {
	c := ctx.NewChild()
	c.Variables = map[string]cty.Value{"source": cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal(typ), "name": cty.StringVal(name)})}
	return c
}

// refersTo reports whether any attribute of body reads root.
func refersTo(body hcl.Body, root string) bool {
	attrs, _ := body.JustAttributes()
	for _, a := range attrs {
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() == root {
				return true
			}
		}
	}
	return false
}

// checkRequiredVersion reads packer { required_version = ">= 1.9.0" } and
// checks it against the version this tool implements.
func checkRequiredVersion(b *hcl.Block) hcl.Diagnostics {
	content, _, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "required_version"}}})
	a, ok := content.Attributes["required_version"]
	if !ok {
		return diags
	}
	v, ds := a.Expr.Value(nil)
	diags = append(diags, ds...)
	if ds.HasErrors() || v.Type() != cty.String {
		return diags
	}
	for _, c := range strings.Split(v.AsString(), ",") {
		c = strings.TrimSpace(c)
		op := strings.TrimRight(c, "0123456789. v")
		cmp := template.CompareVersions(template.SupportedPackerVersion, strings.TrimSpace(strings.TrimPrefix(c, op)))
		ok := true
		switch strings.TrimSpace(op) {
		case ">=":
			ok = cmp >= 0
		case ">":
			ok = cmp > 0
		case "<=":
			ok = cmp <= 0
		case "<":
			ok = cmp < 0
		case "!=":
			ok = cmp != 0
		case "", "=":
			ok = cmp == 0
		case "~>":
			// ~> 1.9 allows 1.x >= 1.9; ~> 1.9.2 allows 1.9.x >= 1.9.2.
			want := strings.Split(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(c, op)), "v"), ".")
			have := strings.Split(template.SupportedPackerVersion, ".")
			n := len(want) - 1
			ok = cmp >= 0 && (n == 0 || template.CompareVersions(have[0], want[0]) == 0 && (n == 1 || template.CompareVersions(have[1], want[1]) == 0))
		}
		if !ok {
			rng := a.Expr.Range()
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("required_version %q excludes Packer %s, whose template language vultr-image-action implements", v.AsString(), template.SupportedPackerVersion),
				Detail:  "relax required_version", Subject: &rng})
			break
		}
	}
	return diags
}

// didYouMean suggests the declared name closest to name, if one is close.
func didYouMean(name string, declared []string) string {
	best := textdist.Closest(name, declared, 1)
	if len(best) == 1 && textdist.Distance(name, best[0]) <= max(2, len(name)/3) {
		return fmt.Sprintf("; did you mean %q?", best[0])
	}
	return ""
}

// overrideName is the `name` a build block's source block gives the build,
// if it sets one.
func overrideName(body hcl.Body, ctx *hcl.EvalContext) (string, bool) {
	attrs, _ := body.JustAttributes()
	a, ok := attrs["name"]
	if !ok {
		return "", false
	}
	v, ds := a.Expr.Value(ctx)
	if ds.HasErrors() || v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
		return "", false
	}
	return v.AsString(), true
}

// cliValue reads a value from -var or PKR_VAR_: as text for a string (or an
// untyped) variable, and as an HCL expression otherwise, as Packer does, so
// that -var 'pkgs=["git","curl"]' is a list. The value is never shown.
func (l *loader) cliValue(text string, v *variable, diags *hcl.Diagnostics) cty.Value {
	if v.typ == cty.NilType || v.typ == cty.String || v.typ == cty.DynamicPseudoType {
		return cty.StringVal(text)
	}
	expr, ds := hclsyntax.ParseExpression([]byte(text), "-var "+v.name, hcl.Pos{Line: 1, Column: 1})
	if ds.HasErrors() {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %s: the value given on the command line or in PKR_VAR_%s is not a valid %s", v.name, v.name, v.typ.FriendlyName()), Subject: &v.rng})
		return cty.DynamicVal
	}
	val, ds := expr.Value(nil)
	if ds.HasErrors() {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %s: the value given on the command line or in PKR_VAR_%s is not a valid %s", v.name, v.name, v.typ.FriendlyName()), Subject: &v.rng})
		return cty.DynamicVal
	}
	return val
}

// buildObject is HCL2's build variable in a build block: its name, and the
// values known only at provision time as placeholders (spec.BuildVars),
// except the run's UUID, known now.
func (l *loader) buildObject(name string) cty.Value {
	vals := map[string]cty.Value{"name": cty.StringVal(name)}
	for _, v := range spec.BuildVars {
		vals[v] = cty.StringVal(spec.BuildVarPlaceholder(v))
	}
	vals["PackerRunUUID"] = cty.StringVal(l.opts.RunUUID)
	return cty.ObjectVal(vals)
}

// sequence turns post-processor blocks into one sequence for the build
// block's builds, or, when one of them uses source.name, one per source
// (as a provisioner that uses it runs once per source).
func (l *loader) sequence(at *hcl.Block, blocks []*hcl.Block, ctx *hcl.EvalContext, names, types []string, scope func(*template.Node) *template.Node) ([]*template.Node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	perSource := false
	for _, pb := range blocks {
		perSource = perSource || refersTo(pb.Body, "source")
	}
	one := func(c *hcl.EvalContext, mark func(*template.Node) *template.Node) *template.Node {
		seq := &template.Node{Kind: template.Array, Pos: pos(at.DefRange)}
		for _, pb := range blocks {
			n, ds := l.bodyNode(pb.Body, c, map[string]string{"type": pb.Labels[0]})
			diags = append(diags, ds...)
			seq.Items = append(seq.Items, mark(n))
		}
		return seq
	}
	if !perSource {
		return []*template.Node{one(ctx, scope)}, diags
	}
	var out []*template.Node
	for i, nm := range names {
		out = append(out, one(withSource(ctx, types[i], nm), func(n *template.Node) *template.Node {
			n.Scope = []string{nm}
			return n
		}))
	}
	return out, diags
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

func init() {
	// template.Load picks this front end for .pkr.hcl, .pkr.json and
	// directories.
	template.RegisterHCL2(Load)
}
