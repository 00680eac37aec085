package hcl2template

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
)

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
		cmp := decode.CompareVersions(decode.SupportedPackerVersion, strings.TrimSpace(strings.TrimPrefix(c, op)))
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
			have := strings.Split(decode.SupportedPackerVersion, ".")
			n := len(want) - 1
			ok = cmp >= 0 && (n == 0 || decode.CompareVersions(have[0], want[0]) == 0 && (n == 1 || decode.CompareVersions(have[1], want[1]) == 0))
		}
		if !ok {
			rng := a.Expr.Range()
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("required_version %q excludes Packer %s, whose template language vultr-image-action implements", v.AsString(), decode.SupportedPackerVersion),
				Detail:  "relax required_version", Subject: &rng})
			break
		}
	}
	return diags
}
