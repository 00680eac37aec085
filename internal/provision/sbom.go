package provision

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/sbom"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
)

// HCPSBOM is Packer's hcp-sbom provisioner.
type HCPSBOM struct {
	Source       string // a file on the machine; or AutoGenerate
	AutoGenerate bool
	Destination  string // resolved; "" keeps no local copy
	Name         string // sbom_name
	ScanPath     string // default "/"
	Format       string // "cyclonedx" (default) or "spdx": scanner_args' -o
}

var hcpSBOMKind = Kind{
	Block:  &schema.HCPSBOM,
	Decode: func(f Fields) any { return decodeHCPSBOM(f) },
	Run:    runAs(runHCPSBOM),
}

// sbomNameRE is Packer's rule for sbom_name.
var sbomNameRE = regexp.MustCompile(`^[0-9A-Za-z_-]{3,36}$`)

// decodeHCPSBOM reads the hcp-sbom provisioner with Packer's rules: source
// or auto_generate, never both. Keys about Packer's uploaded scanner are
// accepted and said to have no effect: nothing runs on the machine here.
func decodeHCPSBOM(f Fields) *HCPSBOM {
	h := &HCPSBOM{ScanPath: "/", Format: sbom.FormatCycloneDX}
	h.Source, _ = f.String("source")
	h.AutoGenerate, _ = f.Bool("auto_generate")
	switch {
	case h.Source != "" && h.AutoGenerate:
		f.BadValue("source", "source and auto_generate are mutually exclusive", "use source for an SBOM the template made on the machine, or auto_generate to make one")
	case h.Source == "" && !h.AutoGenerate:
		f.Missing("source", "source must be specified when auto_generate is not enabled", `set "auto_generate": true, or "source"`)
	}
	if dst, ok := f.String("destination"); ok && dst != "" {
		h.Destination = f.Local("destination", -1, dst, false)
		if strings.HasSuffix(dst, "/") {
			h.Destination += "/" // Packer's mark of a directory, kept
		}
	} else {
		f.Warn("destination", "the hcp-sbom provisioner has no destination: the SBOM is made and checked, then not kept", `set "destination" (a file, or an existing directory)`)
	}
	if n, ok := f.String("sbom_name"); ok {
		if !sbomNameRE.MatchString(n) {
			f.BadValue("sbom_name", fmt.Sprintf("sbom_name %q must be 3 to 36 of A-Z, a-z, 0-9, _ and -", n), "")
		}
		h.Name = n
	}
	if p, ok := f.String("scan_path"); ok && p != "" {
		h.ScanPath = p
	}
	if args, ok := f.Strings("scanner_args"); ok {
		switch strings.Join(args, " ") {
		case "-o cyclonedx-json":
		case "-o spdx-json":
			h.Format = sbom.FormatSPDX
		default:
			f.BadValue("scanner_args", fmt.Sprintf("scanner_args %q: the SBOM is made here, as CycloneDX or SPDX JSON", args), `remove scanner_args, or set ["-o", "cyclonedx-json"] or ["-o", "spdx-json"]`)
		}
	}
	for _, k := range []string{"scanner_url", "scanner_checksum", "execute_command", "elevated_user", "elevated_password"} {
		if !f.Present(k) {
			continue
		}
		if k == "elevated_password" {
			v, _ := f.String(k)
			f.Secret(v)
		}
		f.Warn(k, fmt.Sprintf("%s has no effect: Packer uploads and runs a scanner on the machine; here the package databases are read, and nothing runs there", k), "remove it")
	}
	return h
}

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

func runHCPSBOM(ctx context.Context, h *HCPSBOM, env *Env) error {
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
