// Package sigstoretest is an in-process Sigstore for tests: a Fulcio
// that issues short-lived certificates for GitHub Actions identities,
// GitHub's OIDC token endpoint, and the trusted root that checks them.
// Its CA comes from sigstore-go's test helpers; nothing reaches the
// network.
package sigstoretest

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// Issuer is GitHub Actions' OIDC issuer, which the certificates name.
const Issuer = "https://token.actions.githubusercontent.com"

// Sigstore is the running fake.
type Sigstore struct {
	// FulcioURL is Fulcio's base URL; TokenURL and RequestToken are what
	// the runner gives a job with "id-token: write"
	// (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN).
	FulcioURL, TokenURL, RequestToken string
	// Workflow is the job's workflow ref, and Identity the certificate's
	// subject made from it.
	Workflow, Identity string
	// TrustedRoot is the path of the trusted root (JSON) that checks the
	// certificates.
	TrustedRoot string

	rootCert, inter *x509.Certificate
	interKey        any
	mu              sync.Mutex
	issued          int
	audiences       []string
}

// Start runs a fake Sigstore for a job of workflow ("OWNER/REPO/.github/
// workflows/FILE@REF"), writing the trusted root under dir.
func Start(t testing.TB, dir, workflow string) *Sigstore {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{Workflow: workflow, Identity: "https://github.com/" + workflow, RequestToken: "request-" + rand.Text(),
		rootCert: rootCert, inter: inter, interKey: interKey}
	fulcio := httptest.NewServer(http.HandlerFunc(s.signingCert))
	t.Cleanup(fulcio.Close)
	tokens := httptest.NewServer(http.HandlerFunc(s.token))
	t.Cleanup(tokens.Close)
	s.FulcioURL, s.TokenURL = fulcio.URL, tokens.URL+"/token?api-version=2.0"
	now := time.Now()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{inter}, ValidityPeriodStart: now.Add(-time.Hour), ValidityPeriodEnd: now.Add(24 * time.Hour), URI: fulcio.URL,
	}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s.TrustedRoot = dir + "/trusted_root.json"
	if err := os.WriteFile(s.TrustedRoot, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Env is the job's environment for keyless signing.
func (s *Sigstore) Env() []string {
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.RequestToken, "GITHUB_WORKFLOW_REF=" + s.Workflow}
}

// Issued is how many certificates Fulcio issued.
func (s *Sigstore) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Audiences are the audiences tokens were asked for.
func (s *Sigstore) Audiences() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.audiences...)
}

// token is GitHub's OIDC endpoint: an unsigned JWT (Fulcio here trusts
// its own tokens) naming the job's workflow.
func (s *Sigstore) token(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.RequestToken {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	aud := r.URL.Query().Get("audience")
	s.mu.Lock()
	s.audiences = append(s.audiences, aud)
	s.mu.Unlock()
	claims, _ := json.Marshal(map[string]any{"iss": Issuer, "aud": aud, "sub": "repo:" + s.Workflow, "job_workflow_ref": s.Workflow, "exp": time.Now().Add(5 * time.Minute).Unix()})
	jwt := b64(`{"alg":"none","typ":"JWT"}`) + "." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	_ = json.NewEncoder(w).Encode(map[string]string{"value": jwt})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signingCert is Fulcio's /api/v2/signingCert: a ten-minute certificate
// for the request's public key, naming the token's workflow and issuer.
func (s *Sigstore) signingCert(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v2/signingCert" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	claims, ok := s.claims(r.Header.Get("Authorization"))
	if !ok || claims["aud"] != "sigstore" {
		http.Error(w, "the token is not one of ours, for audience sigstore", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct{ Content string } `json:"publicKey"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		http.Error(w, "no public key", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	san, _ := url.Parse("https://github.com/" + claims["job_workflow_ref"].(string))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, URIs: []*url.URL{san},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(Issuer)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.inter, pub, s.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.issued++
	s.mu.Unlock()
	chain := []string{pemCert(der), pemCert(s.inter.Raw), pemCert(s.rootCert.Raw)}
	_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

func (s *Sigstore) claims(auth string) (map[string]any, bool) {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err != nil || json.Unmarshal(b, &c) != nil || c["iss"] != Issuer {
		return nil, false
	}
	_, ok = c["job_workflow_ref"].(string)
	return c, ok
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
