// Package frontend is the one way a template is read: it picks the front
// end by the path (HCL2 for .pkr.hcl, .pkr.json and directories, JSON
// otherwise), so that neither front end needs to know the other.
package frontend

import (
	"os"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

// Load reads and resolves the template at path.
func Load(path string, opts decode.Options) (*spec.Spec, error) {
	if IsHCL2(path) {
		return hcl2template.Load(path, opts)
	}
	return template.Load(path, opts)
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
