package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/attest"
	"github.com/vultr-image-action/vultr-image-action/internal/sbom"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// errSecretInStatement stops a statement that would carry a secret.
var errSecretInStatement = errors.New("the statement would hold a secret value; nothing was written")

// writeProvenance is Packer's provenance post-processor for a snapshot:
// the SLSA provenance statement (and, with sbom, the SBOM's statement and
// the SBOM), unsigned or signed, in the output directory. Each file is
// written whole or not at all.
func writeProvenance(ctx context.Context, s *spec.Spec, b *spec.Build, r *Result, o Options, p *spec.Provenance) error {
	stem := attest.OutputStem(b.Name, r.BuilderID, r.ArtifactID)
	if err := os.MkdirAll(p.OutputDir, 0o755); err != nil {
		return fmt.Errorf("create output_dir: %w", err)
	}
	in, err := provenanceInput(ctx, s, b, r, o, p)
	if err != nil {
		return err
	}
	subject := []attest.Subject{attest.CloudSubject(r.BuilderID, r.ArtifactID)}
	var sbomStatement *attest.Statement
	if p.SBOM {
		doc, err := sbomFor(ctx, b, r, p, o.Now())
		if err != nil {
			return err
		}
		raw := filepath.Join(p.OutputDir, stem+".sbom.cdx.json")
		if doc.Format == sbom.FormatSPDX {
			raw = filepath.Join(p.OutputDir, stem+".sbom.spdx.json")
		}
		if err := writeAtomic(raw, doc.Doc); err != nil {
			return fmt.Errorf("write the SBOM: %w", err)
		}
		if doc.Path == "" {
			doc.Path = raw
		}
		r.SBOM = doc
		in.SBOM = &attest.Byproduct{Name: filepath.Base(raw), MediaType: mediaType(doc.Format), Digest: attest.SHA256(doc.Doc)}
		var pred any
		if err := json.Unmarshal(doc.Doc, &pred); err != nil {
			return fmt.Errorf("read the SBOM: %w", err)
		}
		st := attest.Wrap(subject, predicateType(doc.Format), pred)
		sbomStatement = &st
	}
	st := attest.ProvenanceStatement(ctx, in)
	if err := writeStatement(ctx, o, p, "provenance", filepath.Join(p.OutputDir, stem+".provenance.json"), st, r); err != nil {
		return err
	}
	if sbomStatement != nil {
		return writeStatement(ctx, o, p, "sbom", filepath.Join(p.OutputDir, stem+".sbom.att.json"), *sbomStatement, r)
	}
	return nil
}

func mediaType(format string) string {
	if format == sbom.FormatSPDX {
		return "application/spdx+json"
	}
	return "application/vnd.cyclonedx+json"
}

func predicateType(format string) string {
	if format == "spdx" {
		return attest.SPDXPredicate
	}
	return attest.CycloneDXPredicate
}

// sbomFor is the SBOM the statement attests, in sbom_format: read from
// sbom_scan_path, or the build's hcp-sbom provisioner's (made again in
// that format when it was made here; a template's own SBOM must already
// be in it).
func sbomFor(ctx context.Context, b *spec.Build, r *Result, p *spec.Provenance, now time.Time) (*SBOM, error) {
	format := p.SBOMFormat
	if format == "" {
		format = sbom.FormatCycloneDX
	}
	if p.SBOMScanPath != "" {
		osr, pkgs, err := sbom.Scan(ctx, sbom.Dir{}, p.SBOMScanPath)
		if err != nil {
			return nil, fmt.Errorf("make the SBOM of sbom_scan_path %s: %w", p.SBOMScanPath, err)
		}
		doc, err := sbom.Write(format, b.Name, osr, pkgs, now)
		if err != nil {
			return nil, err
		}
		return &SBOM{Doc: doc, Format: format, Packages: len(pkgs), OS: osr, List: pkgs}, nil
	}
	if r.SBOM == nil {
		return nil, fmt.Errorf("sbom = true, and build %s made no SBOM (its hcp-sbom provisioner did not run)", b.Name)
	}
	c := *r.SBOM
	if c.Format == format {
		return &c, nil
	}
	if c.List == nil {
		return nil, fmt.Errorf("sbom_format = %q, and the hcp-sbom provisioner's SBOM (source) is %s: give the provisioner an SBOM in %s, or use its auto_generate", format, c.Format, format)
	}
	doc, err := sbom.Write(format, b.Name, c.OS, c.List, now)
	if err != nil {
		return nil, err
	}
	c.Doc, c.Format, c.Path = doc, format, ""
	return &c, nil
}

// provenanceInput gathers what the statement records. Variables that are
// sensitive, or hold a secret, are redacted.
func provenanceInput(ctx context.Context, s *spec.Spec, b *spec.Build, r *Result, o Options, p *spec.Provenance) (attest.Input, error) {
	files, err := templateFiles(s.Path, o.WorkDir)
	if err != nil {
		return attest.Input{}, err
	}
	secrets := o.SecretValues()
	vars, sensitive := map[string]string{}, map[string]bool{}
	for _, v := range s.Variables {
		vars[v.Name] = redactIf(v.Sensitive, v.Value, secrets)
		sensitive[v.Name] = v.Sensitive
	}
	// As Packer does, a name that is a sensitive variable's is redacted
	// whatever user_variables gives it.
	for k, v := range p.UserVariables {
		vars[k] = redactIf(sensitive[k], v, secrets)
	}
	return attest.Input{
		BuildType: p.BuildType, BuildName: b.Name, BuilderType: b.Type,
		Snapshot: attest.SnapshotRecord{ID: r.SnapshotID, Description: r.Description, Region: r.Region, Plan: r.Plan, Image: r.Image},
		Template: p.Template, OnlyBuilds: p.OnlyBuilds, Variables: vars, Files: files, SourceURI: p.SourceURI,
		Getenv: o.Getenv, WorkDir: o.WorkDir, ToolVersion: o.Version, PackerVersion: schema.PackerVersion,
		Started: r.Start, Finished: o.Now(),
	}, nil
}

func redactIf(sensitive bool, v string, secrets []string) string {
	if sensitive {
		return attest.RedactedValue
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(v, s) {
			return attest.RedactedValue
		}
	}
	return v
}

// templateFiles are the template's files with their digests: the file,
// or each template and variables file of a directory.
func templateFiles(path, workDir string) ([]attest.ResolvedDependency, error) {
	if path == "" {
		return nil, nil
	}
	paths := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("read the template directory: %w", err)
		}
		paths = nil
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".pkr.hcl") || strings.HasSuffix(n, ".pkr.json") || strings.HasSuffix(n, ".pkrvars.hcl") || strings.HasSuffix(n, ".pkrvars.json")) {
				paths = append(paths, filepath.Join(path, n))
			}
		}
		sort.Strings(paths)
	}
	out := make([]attest.ResolvedDependency, 0, len(paths))
	for _, f := range paths {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("digest the template: %w", err)
		}
		name := f
		if rel, err := filepath.Rel(workDir, f); err == nil && workDir != "" && !strings.HasPrefix(rel, "..") {
			name = rel
		}
		out = append(out, attest.ResolvedDependency{URI: "file:" + filepath.ToSlash(name), Digest: attest.SHA256(b)})
	}
	return out, nil
}

// writeStatement writes one statement: JSON when unsigned, else its
// signed envelope (and a keyless signature's Sigstore bundle). A
// statement holding any of the run's secrets is never written.
func writeStatement(ctx context.Context, o Options, p *spec.Provenance, kind, path string, st attest.Statement, r *Result) error {
	payload, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode the statement: %w", err)
	}
	for _, s := range o.SecretValues() {
		if len(s) >= 4 && strings.Contains(string(payload), s) {
			return fmt.Errorf("%s: %w", kind, errSecretInStatement)
		}
	}
	a := Attestation{Kind: kind, Path: path, Signing: p.SigningMode}
	var out []byte
	switch p.SigningMode {
	case "key":
		env, err := signWithKey(ctx, p, payload)
		if err != nil {
			return err
		}
		out, _ = json.MarshalIndent(env, "", "  ")
	case "keyless":
		env, bundle, err := signKeyless(ctx, o, p, payload)
		if err != nil {
			return err
		}
		a.Bundle = attest.BundlePath(path)
		if err := writeAtomic(a.Bundle, bundle); err != nil {
			return fmt.Errorf("write the Sigstore bundle: %w", err)
		}
		out, _ = json.MarshalIndent(env, "", "  ")
	default:
		out, _ = json.MarshalIndent(st, "", "  ")
	}
	if err := writeAtomic(path, out); err != nil {
		return fmt.Errorf("write the %s statement: %w", kind, err)
	}
	r.Attestations = append(r.Attestations, a)
	return nil
}

// signWithKey signs with signer's PEM key, then checks the signature
// with verifier (or the key's own public key), as Packer does.
func signWithKey(ctx context.Context, p *spec.Provenance, payload []byte) (attest.Envelope, error) {
	pemBytes, err := os.ReadFile(p.Signer)
	if err != nil {
		return attest.Envelope{}, fmt.Errorf("read the signing key: %w", err)
	}
	signer, err := attest.ParsePrivateKey(pemBytes)
	if err != nil {
		return attest.Envelope{}, fmt.Errorf("the signing key %s: %w", p.Signer, err)
	}
	env, err := signer.Sign(ctx, payload)
	if err != nil {
		return attest.Envelope{}, err
	}
	pub := signer.Public()
	if p.Verifier != "" {
		vb, err := os.ReadFile(p.Verifier)
		if err != nil {
			return attest.Envelope{}, fmt.Errorf("read the verifier: %w", err)
		}
		if pub, err = attest.ParseVerifier(vb); err != nil {
			return attest.Envelope{}, fmt.Errorf("the verifier %s: %w", p.Verifier, err)
		}
	}
	if err := attest.VerifyEnvelope(env, pub); err != nil {
		return attest.Envelope{}, fmt.Errorf("check the new signature with the verifier: %w", err)
	}
	return env, nil
}

// signKeyless signs through Sigstore with the job's OIDC token, which is
// a secret from the moment it is read.
func signKeyless(ctx context.Context, o Options, p *spec.Provenance, payload []byte) (attest.Envelope, []byte, error) {
	o.Secrets.Add(o.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
	token, err := attest.Token(ctx, o.Getenv, o.HTTPClient)
	if err != nil {
		return attest.Envelope{}, nil, err
	}
	o.Secrets.Add(token)
	k := attest.Keyless{FulcioURL: p.Keyless.FulcioURL, RekorURL: p.Keyless.RekorURL, UploadTlog: p.Keyless.UploadTlog,
		TrustedRootPath: p.Keyless.TrustedRootPath, Identity: p.Keyless.Identity, Issuer: p.Keyless.Issuer, Token: token}
	env, bundle, err := k.Sign(ctx, payload)
	if err != nil {
		return attest.Envelope{}, nil, err
	}
	if err := k.Verify(ctx, env, bundle); err != nil {
		return attest.Envelope{}, nil, fmt.Errorf("check the new keyless signature: %w", err)
	}
	return env, bundle, nil
}

// writeAtomic writes a file whole, or not at all.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
