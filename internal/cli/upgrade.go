package cli

import (
	"fmt"
	"os"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/hcl2template"
)

// upgradeToHCL2 writes the HCL2 form of a JSON template.
func upgradeToHCL2(env Env, path, out string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return &app.UsageError{Err: fmt.Errorf("read template: %w", err)}
	}
	hcl, err := hcl2template.Upgrade(src)
	if err != nil {
		return &app.UsageError{Err: fmt.Errorf("%s: %w", path, err)}
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
