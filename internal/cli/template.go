package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
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
	opts := template.Options{
		Vars:       o.vars,
		VarFiles:   o.varFiles,
		Only:       o.only,
		Except:     o.except,
		Getenv:     o.getenv,
		Now:        o.now,
		RunUUID:    o.runUUID,
		SyntaxOnly: o.syntaxOnly,
	}
	if isHCL2(path) {
		return hcl2template.Load(path, opts)
	}
	return template.Load(path, opts)
}

func isHCL2(path string) bool {
	if strings.HasSuffix(path, ".pkr.hcl") || strings.HasSuffix(path, ".pkr.json") {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// upgradeToHCL2 writes the HCL2 form of a JSON template.
func upgradeToHCL2(env Env, path, out string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("read template: %w", err)}
	}
	hcl, err := hcl2template.Upgrade(src)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("%s: %w", path, err)}
	}
	if out == "" {
		out = path + ".pkr.hcl"
	}
	if err := os.WriteFile(out, hcl, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(env.Stdout, "Successfully created %s\n", out)
	return nil
}
