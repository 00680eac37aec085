package hcl2template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Upgrade converts a Packer JSON template to HCL2, as `packer hcl2_upgrade`
// does: variables become variable blocks ({{user `x`}} becomes var.x, and
// {{env `X`}} in a default becomes env("X")), each builder a source, and
// provisioners and post-processors go into one build block. Other {{ }}
// functions are kept as they are: both front ends evaluate them the same
// way, so the upgraded template builds to the identical model.
func Upgrade(src []byte) ([]byte, error) {
	var t map[string]any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse JSON template: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.\n\n")
	sensitive := map[string]bool{}
	if list, ok := t["sensitive-variables"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				sensitive[s] = true
			}
		}
	}
	if vars, ok := t["variables"].(map[string]any); ok {
		for _, name := range sortedKeys(vars) {
			fmt.Fprintf(&b, "variable %q {\n  type = string\n", name)
			if def := vars[name]; def != nil {
				fmt.Fprintf(&b, "  default = %s\n", expr(def, true))
			}
			if sensitive[name] {
				b.WriteString("  sensitive = true\n")
			}
			b.WriteString("}\n\n")
		}
	}
	builders, _ := t["builders"].([]any)
	var refs []string
	// Filters and overrides name builds as HCL2 does: "vultr.web".
	full := map[string]string{}
	for i, raw := range builders {
		bm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("builders[%d] is not an object", i)
		}
		typ, _ := bm["type"].(string)
		name, _ := bm["name"].(string)
		if name == "" {
			name = typ
		}
		fmt.Fprintf(&b, "source %q %q {\n", typ, name)
		for _, k := range sortedKeys(bm) {
			if k == "type" || k == "name" {
				continue
			}
			fmt.Fprintf(&b, "  %s = %s\n", k, expr(bm[k], false))
		}
		b.WriteString("}\n\n")
		refs = append(refs, fmt.Sprintf("%q", "source."+typ+"."+name))
		full[name] = typ + "." + name
	}
	b.WriteString("build {\n")
	if d, ok := t["description"].(string); ok {
		fmt.Fprintf(&b, "  description = %s\n", expr(d, false))
	}
	fmt.Fprintf(&b, "  sources = [%s]\n", strings.Join(refs, ", "))
	if provs, ok := t["provisioners"].([]any); ok {
		for _, raw := range provs {
			pm, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			writeBlock(&b, "  ", "provisioner", renameBuilds(pm, full))
		}
	}
	if ec, ok := t["error-cleanup-provisioner"].(map[string]any); ok {
		writeBlock(&b, "  ", "error-cleanup-provisioner", renameBuilds(ec, full))
	}
	if pps, ok := t["post-processors"]; ok {
		var seqs []any
		switch v := pps.(type) {
		case []any:
			seqs = v
		default:
			seqs = []any{v}
		}
		for _, seq := range seqs {
			items, isSeq := seq.([]any)
			if !isSeq {
				items = []any{seq}
			}
			b.WriteString("\n  post-processors {\n")
			for _, it := range items {
				m, ok := it.(map[string]any)
				if s, isStr := it.(string); isStr {
					m, ok = map[string]any{"type": s}, true
				}
				if ok {
					writeBlock(&b, "    ", "post-processor", renameBuilds(m, full))
				}
			}
			b.WriteString("  }\n")
		}
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func writeBlock(b *bytes.Buffer, indent, kind string, m map[string]any) {
	typ, _ := m["type"].(string)
	fmt.Fprintf(b, "\n%s%s %q {\n", indent, kind, typ)
	for _, k := range sortedKeys(m) {
		if k == "type" {
			continue
		}
		fmt.Fprintf(b, "%s  %s = %s\n", indent, k, expr(m[k], false))
	}
	fmt.Fprintf(b, "%s}\n", indent)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var (
	userRE  = regexp.MustCompile("\\{\\{\\s*user\\s+`([^`]+)`\\s*\\}\\}")
	envRE   = regexp.MustCompile("\\{\\{\\s*env\\s+`([^`]+)`\\s*\\}\\}")
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// expr writes a JSON value as an HCL expression.
func expr(v any, inDefault bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case string:
		return str(x, inDefault)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = expr(e, inDefault)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range sortedKeys(x) {
			key := strconv.Quote(k)
			if identRE.MatchString(k) {
				key = k
			}
			parts = append(parts, key+" = "+expr(x[k], inDefault))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return "null"
}

// str writes a string literal, turning user and env references into HCL
// interpolations and escaping what HCL would read as a template.
func str(s string, inDefault bool) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	q = strings.ReplaceAll(q, "%{", "%%{")
	q = userRE.ReplaceAllString(q, "${var.$1}")
	if inDefault {
		q = envRE.ReplaceAllString(q, `${env("$1")}`)
	}
	return q
}

// renameBuilds rewrites only, except and override, which name builds, to
// the names HCL2 gives them ("web" becomes "vultr.web"), as Packer's
// hcl2_upgrade does: Packer's HCL2 filters know no other names.
func renameBuilds(m map[string]any, full map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range []string{"only", "except"} {
		if list, ok := m[k].([]any); ok {
			renamed := make([]any, len(list))
			for i, n := range list {
				renamed[i] = n
				if s, ok := n.(string); ok && full[s] != "" {
					renamed[i] = full[s]
				}
			}
			out[k] = renamed
		}
	}
	if ov, ok := m["override"].(map[string]any); ok {
		renamed := map[string]any{}
		for name, v := range ov {
			if full[name] != "" {
				name = full[name]
			}
			renamed[name] = v
		}
		out["override"] = renamed
	}
	return out
}
