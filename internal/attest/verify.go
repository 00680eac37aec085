package attest

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Policy is what verify-attestation checks beyond the signature, as
// Packer's flags say it, plus the snapshot.
type Policy struct {
	// Mode is the signing mode; "" guesses it from the envelope and keys.
	Mode string
	// Verifier is the public key, certificate or private key (PEM) of key
	// mode.
	Verifier []byte
	// Keyless holds the expected identity, issuer and trusted root, and
	// Bundle the Sigstore bundle, of keyless mode.
	Keyless Keyless
	Bundle  []byte

	PredicateType string
	BuilderID     string
	SourceURI     string
	// Snapshot, when set, must be the statement's subject: its name
	// "packer.vultr:<id>" and the digest of its identity record.
	Snapshot string
}

// Checked is what a verified statement says about its snapshot.
type Checked struct {
	Statement Statement
	// Description is the snapshot's description recorded in the
	// provenance ("" when the statement has none).
	Description string
}

// Verify checks an attestation (a DSSE envelope) against policy.
func Verify(ctx context.Context, envelopeJSON []byte, p Policy) (*Checked, error) {
	var env Envelope
	if err := json.Unmarshal(envelopeJSON, &env); err != nil {
		return nil, fmt.Errorf("the attestation is not a DSSE envelope: %w", err)
	}
	if env.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("the attestation's payloadType is %q, not %q", env.PayloadType, InTotoPayloadType)
	}
	if err := checkSignature(ctx, env, p); err != nil {
		return nil, err
	}
	payload, err := env.PayloadBytes()
	if err != nil {
		return nil, err
	}
	return checkPolicy(payload, p)
}

func checkSignature(ctx context.Context, env Envelope, p Policy) error {
	_, certErr := env.Certificate()
	mode := p.Mode
	if mode == "" {
		switch {
		case certErr == nil:
			mode = SigningKeyless
		case len(p.Verifier) > 0:
			mode = SigningKey
		default:
			return errors.New("cannot tell how the attestation was signed: give -key (or -verifier), or -keyless-identity and -keyless-oidc-issuer")
		}
	}
	switch mode {
	case SigningKey:
		if len(p.Verifier) == 0 {
			return errors.New("checking a key signature needs -key or -verifier")
		}
		if certErr == nil {
			return errors.New("the attestation was signed keyless: check it with -keyless-identity and -keyless-oidc-issuer, not a key")
		}
		pub, err := ParseVerifier(p.Verifier)
		if err != nil {
			return fmt.Errorf("read the verifier: %w", err)
		}
		return VerifyEnvelope(env, crypto.PublicKey(pub))
	case SigningKeyless:
		if len(p.Bundle) == 0 {
			return errors.New("checking a keyless signature needs its Sigstore bundle (-bundle, or the .sigstore.json beside the attestation)")
		}
		return p.Keyless.Verify(ctx, env, p.Bundle)
	case SigningKMS:
		return errors.New(`signing_mode "kms" is not supported by this tool (see docs/compatibility.md)`)
	default:
		return fmt.Errorf("unknown signing mode %q: want key or keyless", mode)
	}
}

// provenanceView is the part of a provenance statement the policy reads.
type provenanceView struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     struct {
		BuildDefinition struct {
			ResolvedDependencies []ResolvedDependency `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder    Builder `json:"builder"`
			Byproducts []struct {
				Name    string          `json:"name"`
				Content json.RawMessage `json:"content"`
			} `json:"byproducts"`
		} `json:"runDetails"`
	} `json:"predicate"`
}

func checkPolicy(payload []byte, p Policy) (*Checked, error) {
	var st Statement
	var v provenanceView
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("the attestation's statement: %w", err)
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, fmt.Errorf("the attestation's statement: %w", err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("the statement's _type is %q, not %q", st.Type, StatementType)
	}
	if p.PredicateType != "" && st.PredicateType != p.PredicateType {
		return nil, fmt.Errorf("the predicate type is %q, not %q", st.PredicateType, p.PredicateType)
	}
	if p.Snapshot != "" {
		want := CloudSubject(VultrBuilderID, p.Snapshot)
		if !slices.ContainsFunc(st.Subject, func(s Subject) bool {
			return s.Name == want.Name && strings.EqualFold(s.Digest["sha256"], want.Digest["sha256"])
		}) {
			return nil, fmt.Errorf("the attestation is not about snapshot %s: its subject is %s", p.Snapshot, subjectNames(st.Subject))
		}
	}
	c := &Checked{Statement: st}
	if p.BuilderID != "" || p.SourceURI != "" || p.Snapshot != "" {
		if st.PredicateType != SLSAProvenanceV1 {
			if p.BuilderID != "" || p.SourceURI != "" {
				return nil, fmt.Errorf("builder and source checks need predicate type %q, got %q", SLSAProvenanceV1, st.PredicateType)
			}
			return c, nil
		}
		if p.BuilderID != "" && v.Predicate.RunDetails.Builder.ID != p.BuilderID {
			return nil, fmt.Errorf("the builder is %q, not %q", v.Predicate.RunDetails.Builder.ID, p.BuilderID)
		}
		if p.SourceURI != "" && !slices.ContainsFunc(v.Predicate.BuildDefinition.ResolvedDependencies, func(d ResolvedDependency) bool { return d.URI == p.SourceURI }) {
			return nil, fmt.Errorf("the attestation does not name source %q", p.SourceURI)
		}
		for _, b := range v.Predicate.RunDetails.Byproducts {
			if b.Name != SnapshotByproduct {
				continue
			}
			var snap SnapshotRecord
			if err := json.Unmarshal(b.Content, &snap); err == nil {
				c.Description = snap.Description
			}
		}
	}
	return c, nil
}

func subjectNames(ss []Subject) string {
	if len(ss) == 0 {
		return "empty"
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// SnapshotRecord is this tool's byproduct "vultr-snapshot": what was
// built, and where.
type SnapshotRecord struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Region      string `json:"region"`
	Plan        string `json:"plan"`
	Image       string `json:"image"`
}

// ErrSnapshotGone is a statement about a snapshot that no longer exists.
var ErrSnapshotGone = errors.New("the snapshot no longer exists")

// CheckSnapshot checks that the attested snapshot still exists and, when
// the statement records its description, still has it. describe returns
// the snapshot's description, or an error that is ErrSnapshotGone when it
// is gone.
func CheckSnapshot(ctx context.Context, c *Checked, id string, describe func(ctx context.Context, id string) (string, error)) error {
	desc, err := describe(ctx, id)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", id, err)
	}
	if c.Description != "" && desc != c.Description {
		return fmt.Errorf("snapshot %s is described %q now, and the attestation says %q: it is not the snapshot that was attested", id, desc, c.Description)
	}
	return nil
}
