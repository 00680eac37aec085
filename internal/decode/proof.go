package decode

import (
	"fmt"
	"slices"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// provenance decodes Packer's provenance post-processor. Keys whose
// values this tool cannot honour fail validate, naming the value.
func (d *decoder) provenance(o *object, opts Options) *spec.Provenance {
	p := &spec.Provenance{OutputDir: opts.Cwd, SigningMode: "none"}
	p.BuildType, _, _ = o.str("build_type")
	if v, _, ok := o.str("output_dir"); ok && v != "" {
		p.OutputDir = resolveLocal(v, opts.Cwd)
	}
	p.Template, _, _ = o.str("template")
	p.OnlyBuilds, _ = o.strList("only_builds")
	p.UserVariables, _ = o.strMap("user_variables")
	p.SourceURI, _, _ = o.str("source_uri")
	p.SBOM, _ = o.boolv("sbom")
	if v, _, ok := o.str("sbom_scan_path"); ok && v != "" {
		p.SBOMScanPath = resolveLocal(v, opts.Cwd)
	}
	p.SBOMFormat = "cyclonedx"
	if v, _, ok := o.str("sbom_format"); ok && v != "" {
		p.SBOMFormat = v
	}
	d.oneOf(o, "sbom_format", []string{"cyclonedx", "spdx"}, "the SBOM is CycloneDX or SPDX JSON")
	d.oneOf(o, "sbom_scope", []string{"squashed"}, "a snapshot is one file system, with no layers")
	if m := o.member("sbom_exclude"); m != nil {
		d.errorAt(m.KeyPos, join(o.path, "sbom_exclude"), "sbom_exclude cannot take effect: the SBOM comes from the package databases, not from scanning paths", "remove sbom_exclude")
	}
	d.signing(o, p, opts)
	if on, ok := o.boolv("provenance"); ok && !on {
		return nil // checked as Packer checks it, then skipped
	}
	return p
}

// oneOf fails validate when key holds a value other than those allowed.
func (d *decoder) oneOf(o *object, key string, allowed []string, why string) {
	v, pos, ok := o.str(key)
	if ok && v != "" && !slices.Contains(allowed, v) {
		d.errorAt(pos, join(o.path, key), fmt.Sprintf("%s = %q is not supported: %s", key, v, why), "valid: "+quoteJoin(allowed))
	}
}

// signing decodes the signing keys with Packer's rules.
func (d *decoder) signing(o *object, p *spec.Provenance, opts Options) {
	mode, pos, _ := o.str("signing_mode")
	if mode != "" {
		p.SigningMode = mode
	}
	signer, _, _ := o.str("signer")
	key, keyPos, _ := o.str("key")
	if key != "" {
		if signer != "" && signer != key {
			d.errorAt(keyPos, join(o.path, "key"), "signer and key must match when both are set", "set one of them")
		}
		signer = key
	}
	if v, _, ok := o.str("verifier"); ok && v != "" {
		p.Verifier = resolveLocal(v, opts.Cwd)
	}
	k := &p.Keyless
	k.FulcioURL, _, _ = o.str("fulcio_url")
	k.RekorURL, _, _ = o.str("rekor_url")
	k.UploadTlog, _ = o.boolv("upload_tlog")
	if v, _, ok := o.str("trusted_root_path"); ok && v != "" {
		k.TrustedRootPath = resolveLocal(v, opts.Cwd)
	}
	k.Identity, _, _ = o.str("keyless_identity")
	k.Issuer, _, _ = o.str("keyless_oidc_issuer")
	where := join(o.path, "signing_mode")
	switch p.SigningMode {
	case "none":
	case "key":
		if signer == "" {
			d.errorAt(pos, where, `signing_mode "key" requires signer or key`, "set signer to a PEM private key file")
			return
		}
		p.Signer = resolveLocal(signer, opts.Cwd)
		if _, err := opts.Stat(p.Signer); err != nil {
			d.errorAt(pos, join(o.path, "signer"), fmt.Sprintf("the signing key %s cannot be read: %v", p.Signer, err), "")
		}
	case "keyless":
		if p.Verifier != "" {
			d.errorAt(pos, join(o.path, "verifier"), `signing_mode "keyless" does not take a verifier: keyless attestations are checked against keyless_identity and keyless_oidc_issuer`, "remove verifier")
		}
		if k.Identity == "" || k.Issuer == "" {
			d.errorAt(pos, where, `signing_mode "keyless" requires keyless_identity and keyless_oidc_issuer`,
				`in GitHub Actions: keyless_identity = "https://github.com/OWNER/REPO/.github/workflows/FILE@REF", keyless_oidc_issuer = "https://token.actions.githubusercontent.com"`)
		}
	case "kms":
		d.errorAt(pos, where, `signing_mode "kms" is not supported: no KMS can be tested here`, `use "key" with a PEM key from your secret store, or "keyless"`)
	default:
		d.errorAt(pos, where, fmt.Sprintf("signing_mode %q is not a signing mode", p.SigningMode), `valid: "none", "key", "keyless"`)
	}
}

// checkProvenance fails a provenance post-processor its build cannot
// feed: a build with no snapshot, or sbom = true with no SBOM to attest.
func (d *decoder) checkProvenance(b *spec.Build) {
	for _, seq := range b.PostProcessors {
		for _, pp := range seq {
			if pp.Provenance == nil {
				continue
			}
			where := fmt.Sprintf("post-processors[%d]", pp.Index)
			if b.Type != "vultr" {
				d.errorAt(pp.Pos, where, fmt.Sprintf("the provenance post-processor attests a snapshot, and build %s (%s) makes none", b.Name, b.Type), fmt.Sprintf("add except = [%q] to it", b.Name))
				continue
			}
			if pp.Provenance.SBOM && pp.Provenance.SBOMScanPath == "" && !slices.ContainsFunc(b.Provisioners, func(p spec.Provisioner) bool { return p.Type == "hcp-sbom" }) {
				d.errorAt(pp.Pos, where+".sbom", fmt.Sprintf("sbom = true needs the SBOM of build %s's snapshot, and the build has no hcp-sbom provisioner (a snapshot has no local files to scan)", b.Name),
					`add provisioner "hcp-sbom" { auto_generate = true } to the build, or set sbom_scan_path`)
			}
		}
	}
}

// vultrVerify decodes this tool's vultr-verify post-processor: the keys of
// a shell provisioner, and its own.
func (d *decoder) vultrVerify(o *object, s *spec.Spec, opts Options) *spec.Verify {
	v := &spec.Verify{Shell: provision.DecodeShell(fields{o: o, s: s, opts: opts}), Timeout: 10 * time.Minute}
	if t, ok := o.dur("timeout"); ok && t > 0 {
		v.Timeout = t
	}
	switch f, pos, _ := o.str("on_failure"); f {
	case "", "delete":
	case "keep":
		v.Keep = true
	default:
		d.errorAt(pos, join(o.path, "on_failure"), fmt.Sprintf("on_failure %q is not a choice", f), `valid: "delete" (the default) and "keep"`)
	}
	v.Region, _, _ = o.str("region_id")
	v.Plan, _, _ = o.str("plan_id")
	return v
}

// checkVerify fails a vultr-verify post-processor that cannot check its
// build, or that comes too late (after the snapshot is recorded or
// attested): a build with no snapshot, or one that leaves no way to log in to
// the snapshot (Vultr restores a snapshot's disk as it was: the build's
// own credentials are what let the check in).
func (d *decoder) checkVerify(b *spec.Build) {
	recorded := "" // a post-processor before this point that records or attests the snapshot
	for _, seq := range b.PostProcessors {
		for _, pp := range seq {
			if pp.Provenance != nil || pp.Manifest != nil {
				recorded = pp.Type
			}
			if pp.Verify == nil {
				continue
			}
			where := fmt.Sprintf("post-processors[%d]", pp.Index)
			switch {
			case recorded != "":
				d.errorAt(pp.Pos, where, fmt.Sprintf("the vultr-verify post-processor comes after a %s post-processor in build %s: a snapshot that fails its check would already be recorded or attested", recorded, b.Name),
					"move vultr-verify before the manifest and provenance post-processors")
			case b.Type != "vultr":
				d.errorAt(pp.Pos, where, fmt.Sprintf("the vultr-verify post-processor boots a snapshot, and build %s (%s) makes none", b.Name, b.Type), fmt.Sprintf("add except = [%q] to it", b.Name))
			case b.SSH.ClearAuthorizedKeys && b.SSH.PrivateKeyFile == "" && b.SSH.Password == "" && !b.SSH.AgentAuth:
				d.errorAt(pp.Pos, where, fmt.Sprintf("the vultr-verify post-processor cannot log in to build %s's snapshot: ssh_clear_authorized_keys removes the temporary key it would use, and the build has no other credential", b.Name),
					"set ssh_private_key_file (with its public key in the image) or ssh_password, or drop ssh_clear_authorized_keys")
			}
		}
	}
}

// AddVerify gives every vultr build a vultr-verify post-processor that
// runs commands (the action's verify input), before its other
// post-processors: a snapshot that fails its check is neither attested
// nor recorded. It fails as validate would for a build it cannot check.
func AddVerify(s *spec.Spec, commands []string, pos spec.Pos) error {
	d := &decoder{}
	for i := range s.Builds {
		b := &s.Builds[i]
		if b.Type != "vultr" {
			continue
		}
		sh := provision.DefaultShell()
		sh.Inline = append([]string(nil), commands...)
		pp := spec.PostProcessor{Index: -1, Type: "vultr-verify", Pos: pos, Name: "verify input", Verify: &spec.Verify{Shell: sh, Timeout: 10 * time.Minute}}
		b.PostProcessors = append([][]spec.PostProcessor{{pp}}, b.PostProcessors...)
		d.checkVerify(b)
	}
	if d.diags.HasErrors() {
		return d.diags
	}
	return nil
}
