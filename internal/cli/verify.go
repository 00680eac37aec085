package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/attest"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// verifyRequest is what verify-attestation checks.
type verifyRequest struct {
	attestation, bundle           string
	mode, key, verifier           string
	predicateType, builderID, src string
	snapshot                      string
	identity, issuer, trustedRoot string
	apiKey, apiURL                string
}

// cmdVerifyAttestation is Packer's verify-attestation, plus -snapshot:
// the statement must name that snapshot, and the snapshot must still
// exist with the description it was attested with.
func cmdVerifyAttestation(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "verify-attestation", "verify-attestation [flags] ATTESTATION")
	var r verifyRequest
	fs.StringVar(&r.mode, "signing-mode", "", "how it was signed: key or keyless (default: guessed)")
	fs.StringVar(&r.key, "key", "", "the PEM key `file` (public or private) of key mode")
	fs.StringVar(&r.verifier, "verifier", "", "a PEM public key `file` of key mode")
	fs.StringVar(&r.predicateType, "predicate-type", "", "the predicate type the statement must have")
	fs.StringVar(&r.builderID, "builder-id", "", "the SLSA builder ID it must name (GitHub: the workflow ref)")
	fs.StringVar(&r.src, "source-uri", "", "a source URI it must name")
	fs.StringVar(&r.snapshot, "snapshot", "", "the snapshot `ID` it must be about; checked to exist with its attested description (needs VULTR_API_KEY)")
	fs.StringVar(&r.trustedRoot, "trusted-root-path", "", "a Sigstore trusted root (JSON) for keyless; default the public one")
	fs.StringVar(&r.identity, "keyless-identity", "", "the keyless certificate's expected identity")
	fs.StringVar(&r.issuer, "keyless-oidc-issuer", "", "the keyless certificate's expected OIDC issuer")
	fs.StringVar(&r.bundle, "bundle", "", "the Sigstore bundle (default: the .sigstore.json beside the attestation)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("verify-attestation needs one attestation file")
	}
	r.attestation = fs.Arg(0)
	r.apiKey, r.apiURL = env.Getenv("VULTR_API_KEY"), env.Getenv("VULTR_API_URL")
	if err := verifyAttestation(ctx, env, r); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Attestation verified.")
	return nil
}

// verifyAttestation runs the checks of r.
func verifyAttestation(ctx context.Context, env Env, r verifyRequest) error {
	if r.snapshot != "" && r.apiKey == "" {
		return usageErrorf("-snapshot checks the snapshot exists: set VULTR_API_KEY")
	}
	envelope, err := os.ReadFile(r.attestation)
	if err != nil {
		return usageErrorf("read the attestation: %w", err)
	}
	p := attest.Policy{Mode: r.mode, PredicateType: r.predicateType, BuilderID: r.builderID, SourceURI: r.src, Snapshot: r.snapshot,
		Keyless: attest.Keyless{Identity: r.identity, Issuer: r.issuer, TrustedRootPath: r.trustedRoot}}
	for _, f := range []string{r.verifier, r.key} {
		if f != "" && p.Verifier == nil {
			if p.Verifier, err = os.ReadFile(f); err != nil {
				return usageErrorf("read the key: %w", err)
			}
		}
	}
	bundle := r.bundle
	if bundle == "" {
		bundle = attest.BundlePath(r.attestation)
	}
	if b, err := os.ReadFile(bundle); err == nil {
		p.Bundle = b
	} else if r.bundle != "" {
		return usageErrorf("read the bundle: %w", err)
	}
	checked, err := attest.Verify(ctx, envelope, p)
	if err != nil {
		return fmt.Errorf("%s: %w", r.attestation, err)
	}
	if r.snapshot == "" {
		return nil
	}
	sess := newSession(env, nil, r.apiURL, r.apiKey)
	cl, err := sess.cloud(r.apiKey)
	if err != nil {
		return err
	}
	return attest.CheckSnapshot(ctx, checked, r.snapshot, func(ctx context.Context, id string) (string, error) {
		s, err := cl.GetSnapshot(ctx, id)
		if errors.Is(err, vultr.ErrNotFound) {
			return "", attest.ErrSnapshotGone
		}
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(s.Status, "complete") {
			return "", fmt.Errorf("its status is %q, not complete", s.Status)
		}
		return s.Description, nil
	})
}
