// Package attest makes and checks Packer's proof of a build: an in-toto v1
// statement with an SLSA v1 provenance predicate (or an SBOM predicate),
// wrapped in a DSSE envelope signed with a key or keyless through Sigstore.
// The shapes, names and digests are Packer 1.16's (internal/provenance and
// internal/attestation), so tools that read Packer's statements read
// these.
package attest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Packer's constants.
const (
	StatementType       = "https://in-toto.io/Statement/v1"
	SLSAProvenanceV1    = "https://slsa.dev/provenance/v1"
	CycloneDXPredicate  = "https://cyclonedx.org/bom"
	SPDXPredicate       = "https://spdx.dev/Document"
	DefaultBuildType    = "https://packer.io/buildtypes/hcl2/v1"
	LocalBuilderID      = "https://packer.io/local-build"
	InTotoPayloadType   = "application/vnd.in-toto+json"
	RedactedValue       = "[sensitive value redacted]"
	IdentityByproduct   = "cloud-artifact-identity"
	SnapshotByproduct   = "vultr-snapshot"
	VultrBuilderID      = "packer.vultr"
	SigningNone         = "none"
	SigningKey          = "key"
	SigningKMS          = "kms"
	SigningKeyless      = "keyless"
	GitHubOIDCIssuer    = "https://token.actions.githubusercontent.com"
	DefaultFulcioURL    = "https://fulcio.sigstore.dev"
	DefaultRekorURL     = "https://rekor.sigstore.dev"
	sigstoreBundleExt   = ".sigstore.json"
	provenanceExtension = ".provenance.json"
)

// DigestSet maps an algorithm to a hex digest.
type DigestSet map[string]string

// Subject is what a statement is about.
type Subject struct {
	Name   string    `json:"name"`
	Digest DigestSet `json:"digest"`
}

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     any       `json:"predicate"`
}

// Wrap makes a statement about subjects.
func Wrap(subjects []Subject, predicateType string, predicate any) Statement {
	return Statement{Type: StatementType, Subject: subjects, PredicateType: predicateType, Predicate: predicate}
}

// Provenance is the SLSA v1 provenance predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what the build was asked to do.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResolvedDependency `json:"resolvedDependencies,omitempty"`
}

// ResolvedDependency is an input the build read: the source, a template
// file.
type ResolvedDependency struct {
	URI    string    `json:"uri"`
	Digest DigestSet `json:"digest,omitempty"`
}

// RunDetails is who ran the build, and what it made besides the subject.
type RunDetails struct {
	Builder    Builder     `json:"builder"`
	Metadata   Metadata    `json:"metadata,omitempty"`
	Byproducts []Byproduct `json:"byproducts,omitempty"`
}

// Builder is the SLSA builder.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Metadata is the run's identity.
type Metadata struct {
	InvocationID string `json:"invocationId,omitempty"`
	StartedOn    string `json:"startedOn,omitempty"`
	FinishedOn   string `json:"finishedOn,omitempty"`
}

// Byproduct is something the build made besides the subject.
type Byproduct struct {
	Name      string    `json:"name"`
	Digest    DigestSet `json:"digest,omitempty"`
	MediaType string    `json:"mediaType,omitempty"`
	Content   any       `json:"content,omitempty"`
}

// identityRecord is Packer's record of an artifact with no local files.
//
// Packer adds the artifact's registry state ("state") when it can encode
// it as JSON. A plugin's artifact reaches Packer's post-processor over the
// SDK's msgpack RPC, which decodes the state into a
// map[interface{}]interface{}; encoding/json refuses that type, and Packer
// then leaves "state" out (internal/provenance/subject.go). So a vultr
// plugin's snapshot is recorded by builder ID and snapshot ID alone.
func identityRecord(builderID, id string) []byte {
	b, _ := json.Marshal(map[string]string{"builderId": builderID, "id": id})
	return b
}

// CloudSubject is Packer's subject for an artifact with no local files (a
// Vultr snapshot): "<builder-id>:<id>", and the sha256 of its identity
// record.
func CloudSubject(builderID, id string) Subject {
	sum := sha256.Sum256(identityRecord(builderID, id))
	return Subject{Name: builderID + ":" + id, Digest: DigestSet{"sha256": hex.EncodeToString(sum[:])}}
}

// IdentityByproductFor is Packer's "cloud-artifact-identity" byproduct:
// the identity record, base64.
func IdentityByproductFor(builderID, id string) Byproduct {
	return Byproduct{Name: IdentityByproduct, Content: base64.StdEncoding.EncodeToString(identityRecord(builderID, id))}
}

// OutputStem is Packer's stem of every file the provenance post-processor
// writes for a build: "<build>.<builder-id>-<id>", made safe for a file
// name.
func OutputStem(build, builderID, id string) string {
	base := SafeFilename(fmt.Sprintf("%s-%s", builderID, id))
	name := SafeFilename(strings.TrimSpace(build))
	if name == "" || base == name || strings.HasPrefix(base, name+".") {
		return base
	}
	return name + "." + base
}

// SafeFilename keeps letters, digits, '.', '-' and '_', as Packer does.
func SafeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '.', r == '-', r == '_':
			return r
		default:
			return '_'
		}
	}, s)
}

// BundlePath is where a statement's Sigstore bundle goes, as in Packer.
func BundlePath(attestation string) string {
	if s, ok := strings.CutSuffix(attestation, ".json"); ok {
		return s + sigstoreBundleExt
	}
	return attestation + sigstoreBundleExt
}
