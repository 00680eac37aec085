package cli

import (
	"context"
	"fmt"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
)

// cmdVerifyAttestation is Packer's verify-attestation, plus -snapshot:
// the statement must name that snapshot, and the snapshot must still
// exist with the description it was attested with.
func cmdVerifyAttestation(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "verify-attestation", "verify-attestation [flags] ATTESTATION")
	var r app.VerifyRequest
	fs.StringVar(&r.Mode, "signing-mode", "", "how it was signed: key or keyless (default: guessed)")
	fs.StringVar(&r.Key, "key", "", "the PEM key `file` (public or private) of key mode")
	fs.StringVar(&r.Verifier, "verifier", "", "a PEM public key `file` of key mode")
	fs.StringVar(&r.PredicateType, "predicate-type", "", "the predicate type the statement must have")
	fs.StringVar(&r.BuilderID, "builder-id", "", "the SLSA builder ID it must name (GitHub: the workflow ref)")
	fs.StringVar(&r.SourceURI, "source-uri", "", "a source URI it must name")
	fs.StringVar(&r.Snapshot, "snapshot", "", "the snapshot `ID` it must be about; checked to exist with its attested description (needs VULTR_API_KEY)")
	fs.StringVar(&r.TrustedRoot, "trusted-root-path", "", "a Sigstore trusted root (JSON) for keyless; default the public one")
	fs.StringVar(&r.Identity, "keyless-identity", "", "the keyless certificate's expected identity")
	fs.StringVar(&r.Issuer, "keyless-oidc-issuer", "", "the keyless certificate's expected OIDC issuer")
	fs.StringVar(&r.Bundle, "bundle", "", "the Sigstore bundle (default: the .sigstore.json beside the attestation)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return app.UsageErrorf("verify-attestation needs one attestation file")
	}
	r.Attestation = fs.Arg(0)
	r.APIKey, r.APIURL = env.Getenv("VULTR_API_KEY"), env.Getenv("VULTR_API_URL")
	if err := app.VerifyAttestation(ctx, env, r); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Attestation verified.")
	return nil
}
