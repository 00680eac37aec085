package attest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Keyless is keyless signing through Sigstore, as Packer's keyless mode
// does it: an OIDC token buys a short-lived Fulcio certificate for a fresh
// key, the statement is signed with it, and the result is a Sigstore
// bundle (with a Rekor entry when UploadTlog is set).
type Keyless struct {
	FulcioURL, RekorURL string
	UploadTlog          bool
	// TrustedRootPath pins the Sigstore trusted root; empty fetches the
	// public one (over the network, through TUF).
	TrustedRootPath string
	// Identity and Issuer are the certificate's expected subject (GitHub:
	// the workflow ref) and OIDC issuer.
	Identity, Issuer string
	// Token is the OIDC identity token (see Token).
	Token string

	tm root.TrustedMaterial // loaded once
}

// ErrNoToken is keyless signing without an OIDC token.
var ErrNoToken = errors.New(`signing_mode = "keyless" needs an OIDC token: in GitHub Actions give the job "permissions: id-token: write"; elsewhere set SIGSTORE_ID_TOKEN (or use signing_mode = "key")`)

// Token finds the ambient OIDC token as Packer does: SIGSTORE_ID_TOKEN,
// GitLab's CI_JOB_JWT_V2 and CI_JOB_JWT, or GitHub Actions' token
// endpoint, asked for audience "sigstore".
func Token(ctx context.Context, getenv func(string) string, client *http.Client) (string, error) {
	for _, k := range []string{"SIGSTORE_ID_TOKEN", "CI_JOB_JWT_V2", "CI_JOB_JWT"} {
		if t := strings.TrimSpace(getenv(k)); t != "" {
			return t, nil
		}
	}
	reqURL, reqToken := strings.TrimSpace(getenv("ACTIONS_ID_TOKEN_REQUEST_URL")), strings.TrimSpace(getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
	if reqURL == "" || reqToken == "" {
		return "", ErrNoToken
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL")
	}
	q := u.Query()
	if q.Get("audience") == "" {
		q.Set("audience", "sigstore")
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("ask GitHub for an OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask GitHub for an OIDC token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("ask GitHub for an OIDC token: %s (does the job have \"permissions: id-token: write\"?)", resp.Status)
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || strings.TrimSpace(body.Value) == "" {
		return "", errors.New("ask GitHub for an OIDC token: the answer holds no token")
	}
	return strings.TrimSpace(body.Value), nil
}

// TrustedMaterial is the Sigstore trusted root that keyless checks use,
// loaded once. The public one comes over the network through TUF, whose
// client takes no context: the wait for it ends with ctx all the same.
func (k *Keyless) TrustedMaterial(ctx context.Context) (root.TrustedMaterial, error) {
	if k.tm != nil {
		return k.tm, nil
	}
	type answer struct {
		tm  root.TrustedMaterial
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		var a answer
		if k.TrustedRootPath == "" {
			a.tm, a.err = root.FetchTrustedRoot()
		} else {
			a.tm, a.err = root.NewTrustedRootFromPath(k.TrustedRootPath)
		}
		ch <- a
	}()
	select {
	case a := <-ch:
		if a.err != nil {
			return nil, a.err
		}
		k.tm = a.tm
		return a.tm, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Sign signs payload keyless and returns Packer's envelope (signature and
// certificate) and the Sigstore bundle's JSON.
func (k *Keyless) Sign(ctx context.Context, payload []byte) (Envelope, []byte, error) {
	if k.Token == "" {
		return Envelope{}, nil, ErrNoToken
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("make a key: %w", err)
	}
	fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: orDefault(k.FulcioURL, DefaultFulcioURL)})
	der, err := fulcio.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: k.Token})
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("get a Fulcio certificate from %s: %w", orDefault(k.FulcioURL, DefaultFulcioURL), err)
	}
	opts := sign.BundleOptions{CertificateProvider: fixedCert(der), Context: ctx}
	if k.UploadTlog {
		tm, err := k.TrustedMaterial(ctx)
		if err != nil {
			return Envelope{}, nil, fmt.Errorf("load the Sigstore trusted root: %w", err)
		}
		opts.TransparencyLogs = []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: orDefault(k.RekorURL, DefaultRekorURL)})}
		opts.TrustedRoot = tm
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: InTotoPayloadType}, kp, opts)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("make the Sigstore bundle: %w", err)
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("read the Sigstore bundle: %w", err)
	}
	env, err := envelopeOf(b)
	if err != nil {
		return Envelope{}, nil, err
	}
	env.Signatures[0].Cert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	js, err := b.MarshalJSON()
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("encode the Sigstore bundle: %w", err)
	}
	return env, js, nil
}

// envelopeOf is the bundle's DSSE envelope in Packer's form.
func envelopeOf(b *sgbundle.Bundle) (Envelope, error) {
	e, err := b.Envelope()
	if err != nil {
		return Envelope{}, fmt.Errorf("the Sigstore bundle holds no DSSE envelope: %w", err)
	}
	raw := e.RawEnvelope()
	if raw == nil || len(raw.Signatures) == 0 {
		return Envelope{}, errors.New("the Sigstore bundle holds no DSSE envelope")
	}
	return Envelope{PayloadType: raw.PayloadType, Payload: raw.Payload,
		Signatures: []EnvelopeSignature{{KeyID: raw.Signatures[0].KeyID, Sig: base64.StdEncoding.EncodeToString(e.Signature())}}}, nil
}

// fixedCert hands sign.Bundle the certificate already obtained.
type fixedCert []byte

func (c fixedCert) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return append([]byte(nil), c...), nil
}

// Verify checks a keyless envelope against its Sigstore bundle: the
// bundle holds this envelope, its certificate chains to the trusted root
// and names Identity and Issuer, and its signature holds. Without a Rekor
// entry or timestamp the certificate must still be valid now (Fulcio's
// last ten minutes), as in Packer.
func (k *Keyless) Verify(ctx context.Context, env Envelope, bundleJSON []byte) error {
	if k.Identity == "" || k.Issuer == "" {
		return errors.New("checking a keyless signature needs the identity (the workflow ref) and the OIDC issuer")
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("read the Sigstore bundle: %w", err)
	}
	inner, err := envelopeOf(&b)
	if err != nil {
		return err
	}
	if inner.PayloadType != env.PayloadType || inner.Payload != env.Payload {
		return errors.New("the Sigstore bundle signs another statement than this one")
	}
	if !slicesContainSig(env.Signatures, inner.Signatures[0].Sig) {
		return errors.New("the Sigstore bundle's signature is none of the attestation's")
	}
	tm, err := k.TrustedMaterial(ctx)
	if err != nil {
		return fmt.Errorf("load the Sigstore trusted root: %w", err)
	}
	opts := []verify.VerifierOption{verify.WithCurrentTime()}
	if entries, _ := b.TlogEntries(); len(entries) > 0 {
		opts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	}
	v, err := verify.NewVerifier(tm, opts...)
	if err != nil {
		return fmt.Errorf("set up the Sigstore verifier: %w", err)
	}
	id, err := verify.NewShortCertificateIdentity(k.Issuer, "", k.Identity, "")
	if err != nil {
		return fmt.Errorf("the expected identity: %w", err)
	}
	if _, err := v.Verify(&b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(id))); err != nil {
		return fmt.Errorf("the keyless signature: %w", err)
	}
	return nil
}

// slicesContainSig reports whether one of sigs is sig (both base64).
func slicesContainSig(sigs []EnvelopeSignature, sig string) bool {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	for _, s := range sigs {
		if got, err := base64.StdEncoding.DecodeString(s.Sig); err == nil && bytes.Equal(got, want) {
			return true
		}
	}
	return false
}

// Certificate is the signing certificate an envelope carries.
func (e Envelope) Certificate() (*x509.Certificate, error) {
	for _, s := range e.Signatures {
		if strings.TrimSpace(s.Cert) == "" {
			continue
		}
		block, _ := pem.Decode([]byte(s.Cert))
		if block == nil {
			return nil, errors.New("the signature's certificate is not PEM")
		}
		return x509.ParseCertificate(block.Bytes)
	}
	return nil, errors.New("the attestation carries no signing certificate")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
