package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vultr-image-action/vultr-image-action/internal/attest"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// VerifyRequest is what verify-attestation checks: Packer's flags, plus
// the snapshot the statement must name (checked to still exist as
// attested).
type VerifyRequest struct {
	Attestation, Bundle                 string
	Mode, Key, Verifier                 string
	PredicateType, BuilderID, SourceURI string
	Snapshot                            string
	Identity, Issuer, TrustedRoot       string
	APIKey, APIURL                      string
}

// VerifyAttestation runs the checks of r.
func VerifyAttestation(ctx context.Context, w World, r VerifyRequest) error {
	if r.Snapshot != "" && r.APIKey == "" {
		return UsageErrorf("-snapshot checks the snapshot exists: set VULTR_API_KEY")
	}
	envelope, err := os.ReadFile(r.Attestation)
	if err != nil {
		return UsageErrorf("read the attestation: %w", err)
	}
	p := attest.Policy{Mode: r.Mode, PredicateType: r.PredicateType, BuilderID: r.BuilderID, SourceURI: r.SourceURI, Snapshot: r.Snapshot,
		Keyless: attest.Keyless{Identity: r.Identity, Issuer: r.Issuer, TrustedRootPath: r.TrustedRoot}}
	for _, f := range []string{r.Verifier, r.Key} {
		if f != "" && p.Verifier == nil {
			if p.Verifier, err = os.ReadFile(f); err != nil {
				return UsageErrorf("read the key: %w", err)
			}
		}
	}
	bundle := r.Bundle
	if bundle == "" {
		bundle = attest.BundlePath(r.Attestation)
	}
	if b, err := os.ReadFile(bundle); err == nil {
		p.Bundle = b
	} else if r.Bundle != "" {
		return UsageErrorf("read the bundle: %w", err)
	}
	checked, err := attest.Verify(ctx, envelope, p)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Attestation, err)
	}
	if r.Snapshot == "" {
		return nil
	}
	sess := NewSession(w, nil, r.APIURL, r.APIKey)
	cl, err := sess.Cloud(r.APIKey)
	if err != nil {
		return err
	}
	return attest.CheckSnapshot(ctx, checked, r.Snapshot, func(ctx context.Context, id string) (string, error) {
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
