package hcl2template

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/zclconf/go-cty/cty"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// builds turns every build block into the template's builders,
// provisioners, post-processors and error-cleanup-provisioners.
func (l *loader) builds(first *hcl.File, top *topBlocks, ctx *hcl.EvalContext) (*decode.Node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	root := &decode.Node{Kind: decode.Object, Pos: spec.Pos{File: first.Body.MissingItemRange().Filename, Line: 1, Col: 1}}
	var builders, provs, pps, ecps []*decode.Node
	used := map[string]bool{}
	for _, b := range top.builds {
		if d, ok := description(b, ctx); ok {
			root.Keys = append(root.Keys, d)
		}
		parts, ds := l.build(b, top.sources, ctx)
		diags = append(diags, ds...)
		builders = append(builders, parts.builders...)
		for _, ref := range parts.sources {
			used[ref] = true
		}
		provs = append(provs, parts.provs...)
		pps = append(pps, parts.pps...)
		ecps = append(ecps, parts.ecps...)
	}
	if len(top.builds) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "the template needs a build block", Detail: `add build { sources = ["source.vultr.example"] }`})
	}
	if !diags.HasErrors() {
		diags = append(diags, unusedSources(top, used)...)
	}
	add := func(key string, items []*decode.Node) {
		if len(items) > 0 {
			root.Keys = append(root.Keys, decode.Member{Key: key, KeyPos: root.Pos, Value: &decode.Node{Kind: decode.Array, Pos: root.Pos, Items: items}})
		}
	}
	add("builders", builders)
	add("provisioners", provs)
	add("post-processors", pps)
	add("error-cleanup-provisioner", ecps)
	return root, diags
}

// description is a build block's description, as the template's.
func description(b *hcl.Block, ctx *hcl.EvalContext) (decode.Member, bool) {
	attrs, _ := b.Body.JustAttributes()
	a, ok := attrs["description"]
	if !ok {
		return decode.Member{}, false
	}
	val, ds := a.Expr.Value(ctx)
	if ds.HasErrors() || val.Type() != cty.String {
		return decode.Member{}, false
	}
	return decode.Member{Key: "description", KeyPos: pos(a.NameRange), Value: valueNode(val, pos(a.Expr.Range()))}, true
}

// buildSchema is what a build block may hold.
var buildSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "sources"}, {Name: "description"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source", LabelNames: []string{"ref"}},
		{Type: "provisioner", LabelNames: []string{"type"}},
		{Type: "error-cleanup-provisioner", LabelNames: []string{"type"}},
		{Type: "post-processor", LabelNames: []string{"type"}},
		{Type: "post-processors"},
		{Type: "hcp_packer_registry"},
	},
}

// buildParts are what one build block contributes to the template.
type buildParts struct {
	builders, provs, pps, ecps []*decode.Node
	sources                    []string // "vultr.base": the sources it builds
}

// build turns one build block into builders, provisioners and
// post-processor sequences, each scoped to the block's builds.
func (l *loader) build(b *hcl.Block, srcs map[string]*hcl.Block, ctx *hcl.EvalContext) (buildParts, hcl.Diagnostics) {
	// dynamic "provisioner" { for_each = ...; labels = [...]; content {...} }
	body := dynblock.Expand(b.Body, ctx)
	content, diags := body.Content(buildSchema)
	uses, ds := sourceUses(content)
	diags = append(diags, ds...)
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
	built, ds := l.sources(uses, srcs, ctx, buildName)
	diags = append(diags, ds...)
	parts := buildParts{builders: built.nodes}
	for _, u := range uses {
		parts.sources = append(parts.sources, u.ref)
	}
	ds = l.buildChildren(content.Blocks, ctx, built, &parts)
	return parts, append(diags, ds...)
}

// buildChildren reads a build block's provisioners, post-processors and
// error-cleanup-provisioner. Each belongs to the block's builds; one that
// uses source.name is one per build.
func (l *loader) buildChildren(blocks []*hcl.Block, ctx *hcl.EvalContext, srcs builtSources, parts *buildParts) hcl.Diagnostics {
	var diags hcl.Diagnostics
	only := func(n *decode.Node) *decode.Node {
		n.Scope = append([]string{}, srcs.names...)
		return n
	}
	for _, blk := range blocks {
		switch blk.Type {
		case "provisioner":
			if !refersTo(blk.Body, "source") {
				n, ds := l.bodyNode(blk.Body, ctx, map[string]string{"type": blk.Labels[0]})
				diags = append(diags, ds...)
				parts.provs = append(parts.provs, only(n))
				continue
			}
			for i, nm := range srcs.names {
				n, ds := l.bodyNode(blk.Body, withSource(ctx, srcs.types[i], nm), map[string]string{"type": blk.Labels[0]})
				diags = append(diags, ds...)
				n.Scope = []string{nm}
				parts.provs = append(parts.provs, n)
			}
		case "error-cleanup-provisioner":
			n, ds := l.bodyNode(blk.Body, ctx, map[string]string{"type": blk.Labels[0]})
			diags = append(diags, ds...)
			parts.ecps = append(parts.ecps, only(n))
		case "hcp_packer_registry":
			r := blk.DefRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "hcp_packer_registry: nothing is published to HCP Packer", Detail: "vultr-image-action builds the images; it does not publish their metadata to HCP Packer. Use the snapshot-ids and artifacts outputs (or the manifest post-processor) to record them.", Subject: &r})
		case "post-processor":
			seqs, ds := l.sequence(blk, []*hcl.Block{blk}, ctx, srcs, only)
			diags = append(diags, ds...)
			parts.pps = append(parts.pps, seqs...)
		case "post-processors":
			inner, ds := blk.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}}})
			diags = append(diags, ds...)
			seqs, ds := l.sequence(blk, inner.Blocks, ctx, srcs, only)
			diags = append(diags, ds...)
			parts.pps = append(parts.pps, seqs...)
		}
	}
	return diags
}

// sequence turns post-processor blocks into one sequence for the build
// block's builds, or, when one of them uses source.name, one per source
// (as a provisioner that uses it runs once per source).
func (l *loader) sequence(at *hcl.Block, blocks []*hcl.Block, ctx *hcl.EvalContext, srcs builtSources, scope func(*decode.Node) *decode.Node) ([]*decode.Node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	perSource := false
	for _, pb := range blocks {
		perSource = perSource || refersTo(pb.Body, "source")
	}
	one := func(c *hcl.EvalContext, mark func(*decode.Node) *decode.Node) *decode.Node {
		seq := &decode.Node{Kind: decode.Array, Pos: pos(at.DefRange)}
		for _, pb := range blocks {
			n, ds := l.bodyNode(pb.Body, c, map[string]string{"type": pb.Labels[0]})
			diags = append(diags, ds...)
			seq.Items = append(seq.Items, mark(n))
		}
		return seq
	}
	if !perSource {
		return []*decode.Node{one(ctx, scope)}, diags
	}
	var out []*decode.Node
	for i, nm := range srcs.names {
		out = append(out, one(withSource(ctx, srcs.types[i], nm), func(n *decode.Node) *decode.Node {
			n.Scope = []string{nm}
			return n
		}))
	}
	return out, diags
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

// unusedSources warns about sources that no build block builds: Packer
// ignores them without a word, which hides a typo in a sources list.
func unusedSources(top *topBlocks, used map[string]bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, key := range slices.Sorted(maps.Keys(top.sources)) {
		if !used[key] {
			r := top.sources[key].DefRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: fmt.Sprintf("source.%s is not used by any build block: it builds nothing", key), Detail: fmt.Sprintf(`add "source.%s" to a build block's sources, or remove it`, key), Subject: &r})
		}
	}
	return diags
}
