package build

import (
	"context"
	"fmt"
	"slices"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// provenanceKind is Packer core's provenance post-processor: a signed
// in-toto SLSA statement that names the snapshot (provenance.go writes it).
var provenanceKind = PostProcessorKind{
	Block:  &schema.Provenance,
	Decode: decodeProvenance,
	Check:  checkProvenance,
	run: func(ctx context.Context, p ppRun, config any) error {
		pv, _ := config.(*spec.Provenance)
		if pv == nil {
			p.o.UI.Message(p.b.Name, "provenance = false: no attestation")
			return nil
		}
		before := len(p.r.Attestations)
		err := writeProvenance(ctx, p.s, p.b, p.r, p.o, pv)
		for _, a := range p.r.Attestations[before:] {
			p.o.UI.Message(p.b.Name, fmt.Sprintf("Wrote %s attestation (signing: %s) to %s", a.Kind, a.Signing, a.Path))
		}
		if err != nil {
			return fmt.Errorf("snapshot %s stays, unattested: %w", p.r.SnapshotID, err)
		}
		return nil
	},
}

// decodeProvenance reads the provenance post-processor. Keys whose values
// this tool cannot honour fail validate, naming the value.
func decodeProvenance(f provision.Fields) any {
	p := &spec.Provenance{OutputDir: f.Local("output_dir", -1, ".", false), SigningMode: "none"}
	p.BuildType, _ = f.String("build_type")
	if v, ok := f.String("output_dir"); ok && v != "" {
		p.OutputDir = f.Local("output_dir", -1, v, false)
	}
	p.Template, _ = f.String("template")
	p.OnlyBuilds, _ = f.Strings("only_builds")
	p.UserVariables, _ = f.StringMap("user_variables")
	p.SourceURI, _ = f.String("source_uri")
	p.SBOM, _ = f.Bool("sbom")
	if v, ok := f.String("sbom_scan_path"); ok && v != "" {
		p.SBOMScanPath = f.Local("sbom_scan_path", -1, v, false)
	}
	p.SBOMFormat = "cyclonedx"
	if v, ok := f.String("sbom_format"); ok && v != "" {
		p.SBOMFormat = v
	}
	oneOf(f, "sbom_format", []string{"cyclonedx", "spdx"}, "the SBOM is CycloneDX or SPDX JSON")
	oneOf(f, "sbom_scope", []string{"squashed"}, "a snapshot is one file system, with no layers")
	if f.Present("sbom_exclude") {
		f.BadKey("sbom_exclude", "sbom_exclude cannot take effect: the SBOM comes from the package databases, not from scanning paths", "remove sbom_exclude")
	}
	decodeSigning(f, p)
	if on, ok := f.Bool("provenance"); ok && !on {
		return nil // checked as Packer checks it, then skipped
	}
	return p
}

// decodeSigning reads the signing keys with Packer's rules.
func decodeSigning(f provision.Fields, p *spec.Provenance) {
	if mode, _ := f.String("signing_mode"); mode != "" {
		p.SigningMode = mode
	}
	signer, _ := f.String("signer")
	keyName := "signer"
	if key, _ := f.String("key"); key != "" {
		if signer != "" && signer != key {
			f.BadValue("key", "signer and key must match when both are set", "set one of them")
		}
		signer, keyName = key, "key"
	}
	if v, ok := f.String("verifier"); ok && v != "" {
		p.Verifier = f.Local("verifier", -1, v, false)
	}
	k := &p.Keyless
	k.FulcioURL, _ = f.String("fulcio_url")
	k.RekorURL, _ = f.String("rekor_url")
	k.UploadTlog, _ = f.Bool("upload_tlog")
	if v, ok := f.String("trusted_root_path"); ok && v != "" {
		k.TrustedRootPath = f.Local("trusted_root_path", -1, v, false)
	}
	k.Identity, _ = f.String("keyless_identity")
	k.Issuer, _ = f.String("keyless_oidc_issuer")
	switch p.SigningMode {
	case "none":
	case "key":
		if signer == "" {
			f.BadValue("signing_mode", `signing_mode "key" requires signer or key`, "set signer to a PEM private key file")
			return
		}
		p.Signer = f.Local(keyName, -1, signer, false)
		if err := f.Stat(p.Signer); err != nil {
			f.BadValue(keyName, fmt.Sprintf("the signing key %s cannot be read: %v", p.Signer, err), "")
		}
	case "keyless":
		if p.Verifier != "" {
			f.BadKey("verifier", `signing_mode "keyless" does not take a verifier: keyless attestations are checked against keyless_identity and keyless_oidc_issuer`, "remove verifier")
		}
		if k.Identity == "" || k.Issuer == "" {
			f.BadValue("signing_mode", `signing_mode "keyless" requires keyless_identity and keyless_oidc_issuer`,
				`in GitHub Actions: keyless_identity = "https://github.com/OWNER/REPO/.github/workflows/FILE@REF", keyless_oidc_issuer = "https://token.actions.githubusercontent.com"`)
		}
	case "kms":
		f.BadValue("signing_mode", `signing_mode "kms" is not supported: no KMS can be tested here`, `use "key" with a PEM key from your secret store, or "keyless"`)
	default:
		f.BadValue("signing_mode", fmt.Sprintf("signing_mode %q is not a signing mode", p.SigningMode), `valid: "none", "key", "keyless"`)
	}
}

// checkProvenance fails a provenance post-processor its build cannot
// feed: a build with no snapshot, or sbom = true with no SBOM to attest.
func checkProvenance(b *spec.Build, _ []spec.PostProcessor, config any) (key, problem, fix string) {
	p, _ := config.(*spec.Provenance)
	switch {
	case p == nil:
		return "", "", ""
	case b.Type != "vultr":
		return "", fmt.Sprintf("the provenance post-processor attests a snapshot, and build %s (%s) makes none", b.Name, b.Type), fmt.Sprintf("add except = [%q] to it", b.Name)
	case p.SBOM && p.SBOMScanPath == "" && !slices.ContainsFunc(b.Provisioners, func(p spec.Provisioner) bool { return p.Type == "hcp-sbom" }):
		return "sbom", fmt.Sprintf("sbom = true needs the SBOM of build %s's snapshot, and the build has no hcp-sbom provisioner (a snapshot has no local files to scan)", b.Name),
			`add provisioner "hcp-sbom" { auto_generate = true } to the build, or set sbom_scan_path`
	}
	return "", "", ""
}
