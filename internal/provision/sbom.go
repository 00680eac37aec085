package provision

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vultr-image-action/vultr-image-action/internal/sbom"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// runHCPSBOM is Packer's hcp-sbom provisioner: the SBOM the template made
// on the machine (source), checked to be SPDX or CycloneDX JSON, or one
// made here from the machine's package databases (auto_generate), which
// runs nothing on the machine and leaves nothing there. It is written to
// destination.
// MadeSBOM is an SBOM an hcp-sbom provisioner made: the document, its
// format, how many packages it lists, where it was written ("" when it was
// not), and, when it was made here, the OS and packages it lists.
type MadeSBOM struct {
	Doc      []byte
	Format   string
	Count    int
	Path     string
	OS       sbom.OS
	Packages []sbom.Package
}

func runHCPSBOM(ctx context.Context, h *spec.HCPSBOM, env *Env) error {
	var doc []byte
	made := MadeSBOM{Format: h.Format}
	if made.Format == "" {
		made.Format = sbom.FormatCycloneDX
	}
	if h.AutoGenerate {
		env.Logf("Reading the package databases under %s", h.ScanPath)
		osr, pkgs, err := sbom.Scan(ctx, env.Comm, h.ScanPath)
		if err != nil {
			return fmt.Errorf("make the SBOM: %w", err)
		}
		subject := h.Name
		if subject == "" {
			subject = env.BuildName
		}
		if doc, err = sbom.Write(made.Format, subject, osr, pkgs, env.Now()); err != nil {
			return err
		}
		made.Count, made.OS, made.Packages = len(pkgs), osr, pkgs
		env.Logf("SBOM: %d packages of %s", made.Count, orUnknown(osr.PrettyName))
	} else {
		var b bytes.Buffer
		if err := env.Comm.Download(ctx, h.Source, &b); err != nil {
			return fmt.Errorf("download the SBOM %s: %w", h.Source, err)
		}
		var err error
		if made.Format, err = sbom.Format(b.Bytes()); err != nil {
			return fmt.Errorf("the SBOM %s is not an SBOM: %w", h.Source, err)
		}
		doc, made.Count = b.Bytes(), sbom.Count(b.Bytes())
		env.Logf("SBOM %s is %s JSON listing %d packages", h.Source, made.Format, made.Count)
	}
	dst := ""
	if h.Destination != "" {
		var err error
		if dst, err = sbomDestination(h.Destination); err != nil {
			return err
		}
		if err := os.WriteFile(dst, doc, 0o644); err != nil {
			return fmt.Errorf("write the SBOM: %w", err)
		}
		env.Logf("Wrote the SBOM to %s", dst)
	}
	if env.SBOM != nil {
		made.Doc, made.Path = doc, dst
		env.SBOM(made)
	}
	return nil
}

// sbomDestination is where the SBOM goes, as Packer decides: into an
// existing directory (or a path ending in /) as a new file, else the path,
// its directory made when missing.
func sbomDestination(dst string) (string, error) {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() || os.IsPathSeparator(dst[len(dst)-1]) {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return "", fmt.Errorf("create %s: %w", dst, err)
		}
		f, err := os.CreateTemp(dst, "packer-user-sbom-*.json")
		if err != nil {
			return "", fmt.Errorf("create a file in %s: %w", dst, err)
		}
		_ = f.Close()
		return f.Name(), nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("create the destination's directory: %w", err)
	}
	return dst, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown OS"
	}
	return s
}
