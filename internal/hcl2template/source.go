package hcl2template

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
)

// sourceUse is one source a build block builds: from its sources list, or
// from a source block, which may rename it and override its attributes.
type sourceUse struct {
	ref      string // "vultr.example"
	override hcl.Body
	rng      hcl.Range
}

// sourceUses lists the sources a build block names, in order.
func sourceUses(content *hcl.BodyContent) ([]sourceUse, hcl.Diagnostics) {
	var uses []sourceUse
	var diags hcl.Diagnostics
	if a, ok := content.Attributes["sources"]; ok {
		exprs, ds := hcl.ExprList(a.Expr)
		diags = append(diags, ds...)
		for _, e := range exprs {
			// Packer writes sources as strings: "source.vultr.example".
			if val, ds := e.Value(nil); !ds.HasErrors() && val.Type() == cty.String {
				uses = append(uses, sourceUse{ref: strings.TrimPrefix(val.AsString(), "source."), rng: e.Range()})
				continue
			}
			trav, ds := hcl.AbsTraversalForExpr(e)
			diags = append(diags, ds...)
			if len(trav) == 3 && trav.RootName() == "source" {
				uses = append(uses, sourceUse{ref: trav[1].(hcl.TraverseAttr).Name + "." + trav[2].(hcl.TraverseAttr).Name, rng: e.Range()})
				continue
			}
			if !ds.HasErrors() {
				rng := e.Range()
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "a source is written source.TYPE.NAME", Detail: `for example "source.vultr.example"`, Subject: &rng})
			}
		}
	}
	for _, sb := range content.Blocks {
		if sb.Type == "source" {
			uses = append(uses, sourceUse{ref: strings.TrimPrefix(sb.Labels[0], "source."), override: sb.Body, rng: sb.DefRange})
		}
	}
	return uses, diags
}

// builtSources are the builders a build block makes, with each one's name
// and source type, in order.
type builtSources struct {
	nodes        []*decode.Node
	names, types []string
}

// sources makes one builder Node per source use: the source's attributes,
// with the build block's overrides merged in.
func (l *loader) sources(uses []sourceUse, srcs map[string]*hcl.Block, ctx *hcl.EvalContext, buildName string) (builtSources, hcl.Diagnostics) {
	var out builtSources
	var diags hcl.Diagnostics
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
		node, ds := l.sourceNode(src, u.override, withSource(ctx, typ, name), typ, name)
		diags = append(diags, ds...)
		// The build answers to Packer's names too: "vultr.web", and with a
		// named build block "app.vultr.web".
		node.Aliases = []string{typ + "." + name}
		if buildName != "" {
			node.Aliases = append(node.Aliases, buildName+"."+typ+"."+name)
		}
		out.nodes = append(out.nodes, node)
		out.names = append(out.names, name)
		out.types = append(out.types, typ)
	}
	return out, diags
}

// sourceNode evaluates a vultr (or null) source, with a build block's overrides. Another
// cloud's source is not evaluated (its plugin's schema is not ours): the
// build is skipped, or refused, by name.
func (l *loader) sourceNode(src *hcl.Block, override hcl.Body, ctx *hcl.EvalContext, typ, name string) (*decode.Node, hcl.Diagnostics) {
	if typ != "vultr" && typ != "null" {
		at := pos(src.DefRange)
		node := &decode.Node{Kind: decode.Object, Pos: at}
		for _, kv := range [][2]string{{"type", typ}, {"name", name}} {
			node.Keys = append(node.Keys, decode.Member{Key: kv[0], KeyPos: at, Value: &decode.Node{Kind: decode.String, Pos: at, Str: kv[1]}})
		}
		return node, nil
	}
	node, diags := l.bodyNode(src.Body, ctx, map[string]string{"type": typ, "name": name})
	if override != nil {
		over, ds := l.bodyNode(override, ctx, nil)
		diags = append(diags, ds...)
		node = decode.Merge(node, over)
	}
	return node, diags
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
