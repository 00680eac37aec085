package hcl2template

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// Console evaluates HCL2 expressions as `packer console` does, in a
// template's context: its variables (with -var, -var-file and PKR_VAR_),
// locals, data sources, path.* and the function library.
type Console struct {
	ctx  *hcl.EvalContext
	vars []spec.Variable
}

// consoleHelp is what "help" prints.
const consoleHelp = `The console evaluates HCL2 expressions in the template's context, one per
line: "upper(var.region)", "local.name", "path.root".

"variables" lists the variables and locals, with their values (sensitive
ones masked). "exit" (or the end of the input) ends the console.`

// NewConsole loads the template at path (a file or a directory) for the
// console; with path "" there is no template: functions and path.cwd only.
func NewConsole(path string, opts decode.Options) (*Console, error) {
	if path == "" {
		// What vault() and consul_key() read is a secret here too.
		l := &loader{opts: opts, dir: ".", secrets: secretSink{notify: opts.Secret}}
		return &Console{ctx: &hcl.EvalContext{Functions: l.functions(false), Variables: map[string]cty.Value{"path": l.pathObject()}}}, nil
	}
	l, files, _, autoVars, err := parsePath(path, opts)
	if err != nil {
		return nil, err
	}
	_, ctx, vars, diags := l.context(files, append(autoVars, opts.VarFiles...))
	if diags.HasErrors() {
		return nil, toDiagnostics(diags, l.parser)
	}
	return &Console{ctx: ctx, vars: vars}, nil
}

// Eval evaluates one line: an expression, or "help", "variables", "exit".
func (c *Console) Eval(line string) (out string, exit bool, err error) {
	switch line = strings.TrimSpace(line); line {
	case "":
		return "", false, nil
	case "exit":
		return "", true, nil
	case "help":
		return consoleHelp, false, nil
	case "variables":
		return c.variables(), false, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(line), "<console-input>", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return "", false, consoleError(diags)
	}
	v, diags := expr.Value(c.ctx)
	if diags.HasErrors() {
		return "", false, consoleError(diags)
	}
	return printable(v), false, nil
}

// variables lists the input variables and locals, as packer console does.
func (c *Console) variables() string {
	var b strings.Builder
	b.WriteString("> input-variables:\n\n")
	for _, v := range c.vars {
		fmt.Fprintf(&b, "var.%s: %q\n", v.Name, v.Value)
	}
	b.WriteString("\n> local-variables:\n\n")
	if l, ok := c.ctx.Variables["local"]; ok && l.Type().IsObjectType() {
		names := make([]string, 0)
		for n := range l.Type().AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "local.%s: %q\n", n, printable(l.GetAttr(n)))
		}
	}
	return b.String()
}

// printable is a value as the console shows it: a string as it is, other
// values as JSON.
func printable(v cty.Value) string {
	switch {
	case !v.IsWhollyKnown():
		return "<unknown>"
	case v.IsNull():
		return "null"
	case v.Type() == cty.String:
		return v.AsString()
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	var pretty any
	if json.Unmarshal(b, &pretty) == nil {
		if out, err := json.MarshalIndent(pretty, "", "  "); err == nil {
			return string(out)
		}
	}
	return string(b)
}

func consoleError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			m := d.Summary
			if d.Detail != "" {
				m += ": " + d.Detail
			}
			msgs = append(msgs, m)
		}
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}
