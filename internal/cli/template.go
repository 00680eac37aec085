package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/template"
)

type templateOptions struct {
	vars, varFiles []string
	only, except   []string
	getenv         func(string) string
	now            time.Time
	runUUID        string
	syntaxOnly     bool
}

// loadTemplate reads a Packer template: JSON, or HCL2 (a .pkr.hcl file or a
// directory of them).
func loadTemplate(path string, o templateOptions) (*spec.Spec, error) {
	if isHCL2(path) {
		return loadHCL2(path, o)
	}
	return template.Load(path, template.Options{
		Vars:       o.vars,
		VarFiles:   o.varFiles,
		Only:       o.only,
		Except:     o.except,
		Getenv:     o.getenv,
		Now:        o.now,
		RunUUID:    o.runUUID,
		SyntaxOnly: o.syntaxOnly,
	})
}

func isHCL2(path string) bool {
	if strings.HasSuffix(path, ".pkr.hcl") || strings.HasSuffix(path, ".pkr.json") {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func loadHCL2(path string, _ templateOptions) (*spec.Spec, error) {
	return nil, fmt.Errorf("%s: HCL2 templates: %w", path, errNotYet)
}

func upgradeToHCL2(_ Env, path, _ string) error {
	return fmt.Errorf("%s: hcl2_upgrade: %w", path, errNotYet)
}
