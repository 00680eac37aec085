// Package frontend is the one way a template is read: it picks the front
// end by the path (HCL2 for .pkr.hcl, .pkr.json and directories, JSON
// otherwise), so that neither front end needs to know the other.
package frontend

import (
	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

// Load reads and resolves the template at path.
func Load(path string, opts template.Options) (*spec.Spec, error) {
	if template.IsHCL2(path) {
		return hcl2template.Load(path, opts)
	}
	return template.Load(path, opts)
}
