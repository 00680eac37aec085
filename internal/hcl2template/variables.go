package hcl2template

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

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

// variables gives every declared variable its value, in Packer's order of
// precedence (defaults < var files, automatic ones first < PKR_VAR_ <
// -var; later wins), checks the validation blocks, and returns the context
// that the rest of the template is evaluated in.
func (l *loader) variables(top *topBlocks, varFiles []string) (*hcl.EvalContext, []spec.Variable, hcl.Diagnostics) {
	diags := l.defaultValues(top)
	diags = append(diags, l.varFileValues(top, varFiles)...)
	diags = append(diags, l.commandLineValues(top)...)
	varObj := map[string]cty.Value{}
	var out []spec.Variable
	for _, name := range top.order {
		v := top.vars[name]
		if !v.set {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("variable %s is required; set it with -var %s=... or in a var file", name, name), Subject: &v.rng})
			continue
		}
		varObj[name] = v.value
		if v.sensitive {
			// Known now: mask it in every diagnostic from here on, a
			// failed function's message included.
			l.secrets.addValue(v.value)
		}
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
		"packer": cty.ObjectVal(map[string]cty.Value{"version": cty.StringVal(decode.SupportedPackerVersion)})}, Functions: l.functions(false)}
	return ctx, out, append(diags, validateVariables(top, ctx)...)
}

// defaultValues evaluates each default, with functions but no variables.
func (l *loader) defaultValues(top *topBlocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := &hcl.EvalContext{Functions: l.functions(true), Variables: map[string]cty.Value{"path": l.pathObject()}}
	for _, name := range top.order {
		v := top.vars[name]
		if v.def != nil {
			val, ds := v.def.Value(ctx)
			diags = append(diags, ds...)
			v.value, v.set = l.convert(val, v, v.def.Range(), &diags), true
		}
	}
	return diags
}

// varFileValues reads the var files, in order.
func (l *loader) varFileValues(top *topBlocks, varFiles []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, vf := range varFiles {
		f, ds := parseFile(l.parser, vf, l.opts.ReadFile)
		diags = append(diags, ds...)
		if f == nil {
			continue
		}
		attrs, ds := f.Body.JustAttributes()
		diags = append(diags, ds...)
		for _, a := range sortedAttrs(attrs) {
			v, ok := top.vars[a.Name]
			if !ok {
				// As in Packer: a var file may serve several templates.
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: fmt.Sprintf("undefined variable: %q is set in a var file but not declared in the template%s", a.Name, didYouMean(a.Name, top.order)), Subject: &a.NameRange})
				continue
			}
			val, ds := a.Expr.Value(nil)
			diags = append(diags, ds...)
			v.value, v.set = l.convert(val, v, a.Expr.Range(), &diags), true
		}
	}
	return diags
}

// commandLineValues reads PKR_VAR_name, then -var (which wins).
func (l *loader) commandLineValues(top *topBlocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range top.order {
		if env := l.opts.Getenv("PKR_VAR_" + name); env != "" {
			v := top.vars[name]
			v.value, v.set = l.convert(l.cliValue(env, v, &diags), v, v.rng, &diags), true
		}
	}
	for _, kv := range l.opts.Vars {
		k, val, ok := strings.Cut(kv, "=")
		v, declared := top.vars[k]
		// The value may be a secret: only the name is ever shown.
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "a -var is not name=value (its text is not shown: it may be a secret)"})
			continue
		}
		if !declared {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("-var %s: variable %q is not declared%s", k, k, didYouMean(k, top.order))})
			continue
		}
		v.value, v.set = l.convert(l.cliValue(val, v, &diags), v, v.rng, &diags), true
	}
	return diags
}

// validateVariables checks validation { condition = ..., error_message = "..." }.
func validateVariables(top *topBlocks, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range top.order {
		for _, vb := range top.vars[name].validations {
			// Both are required, as in Packer.
			content, ds := vb.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}}})
			diags = append(diags, ds...)
			attrs := content.Attributes
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
	return diags
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

// didYouMean suggests the declared name closest to name, if one is close.
func didYouMean(name string, declared []string) string {
	best := textdist.Closest(name, declared, 1)
	if len(best) == 1 && textdist.Distance(name, best[0]) <= max(2, len(name)/3) {
		return fmt.Sprintf("; did you mean %q?", best[0])
	}
	return ""
}
