package attest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/attest"
	"github.com/vultr-image-action/vultr-image-action/internal/sigstoretest"
)

// The subject of a snapshot is Packer's: its name and the sha256 of the
// identity record Packer marshals (keys in Go's sorted map order).
func TestCloudSubjectIsPackers(t *testing.T) {
	const record = `{"builderId":"packer.vultr","id":"4c2a7f5e-1d1b-4bd2-9f0e-7a3c1c9d8e10"}`
	sum := sha256.Sum256([]byte(record))
	got := attest.CloudSubject("packer.vultr", "4c2a7f5e-1d1b-4bd2-9f0e-7a3c1c9d8e10")
	if got.Name != "packer.vultr:4c2a7f5e-1d1b-4bd2-9f0e-7a3c1c9d8e10" || got.Digest["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("subject %+v, want digest of %s", got, record)
	}
	by := attest.IdentityByproductFor("packer.vultr", "4c2a7f5e-1d1b-4bd2-9f0e-7a3c1c9d8e10")
	if b, _ := base64.StdEncoding.DecodeString(by.Content.(string)); by.Name != "cloud-artifact-identity" || string(b) != record {
		t.Errorf("byproduct %s = %s, want %s", by.Name, b, record)
	}
}

func TestOutputStem(t *testing.T) {
	for _, c := range []struct{ build, id, want string }{
		{"vultr.web", "abc-1", "vultr.web.packer.vultr-abc-1"},
		{"", "abc-1", "packer.vultr-abc-1"},
		{"my build/x", "abc", "my_build_x.packer.vultr-abc"},
		{"packer.vultr-abc", "abc", "packer.vultr-abc"},
	} {
		if got := attest.OutputStem(c.build, "packer.vultr", c.id); got != c.want {
			t.Errorf("OutputStem(%q, %q) = %q, want %q", c.build, c.id, got, c.want)
		}
	}
	if got := attest.BundlePath("out/x.provenance.json"); got != "out/x.provenance.sigstore.json" {
		t.Errorf("BundlePath = %q", got)
	}
}

// DSSE's own example of the pre-authentication encoding.
func TestPAE(t *testing.T) {
	if got := string(attest.PAE("http://example.com/HelloWorld", []byte("hello world"))); got != "DSSEv1 29 http://example.com/HelloWorld 11 hello world" {
		t.Errorf("PAE = %q", got)
	}
}

func keyPEM(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func keys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	return map[string]crypto.Signer{"ecdsa-p256": ec, "ed25519": ed, "rsa": rs}
}

func statement(t *testing.T, id string) []byte {
	t.Helper()
	st := attest.Wrap([]attest.Subject{attest.CloudSubject("packer.vultr", id)}, attest.SLSAProvenanceV1, attest.Provenance{
		BuildDefinition: attest.BuildDefinition{BuildType: attest.DefaultBuildType, ResolvedDependencies: []attest.ResolvedDependency{{URI: "git+https://github.com/o/r@refs/heads/main"}}},
		RunDetails: attest.RunDetails{Builder: attest.Builder{ID: "o/r/.github/workflows/b.yml@refs/heads/main"},
			Byproducts: []attest.Byproduct{{Name: attest.SnapshotByproduct, Content: attest.SnapshotRecord{ID: id, Description: "web 1"}}}},
	})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeySigning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ks := keys(t)
	for name, k := range ks {
		t.Run(name, func(t *testing.T) {
			s, err := attest.ParsePrivateKey(keyPEM(t, k))
			if err != nil {
				t.Fatal(err)
			}
			env, err := s.Sign(ctx, statement(t, "snap-1"))
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(env)
			pub, _ := attest.PublicKeyPEM(k.Public())
			for what, v := range map[string][]byte{"public key": pub, "private key": keyPEM(t, k)} {
				c, err := attest.Verify(ctx, js, attest.Policy{Verifier: v, Snapshot: "snap-1"})
				if err != nil {
					t.Fatalf("verify with the %s: %v", what, err)
				}
				if c.Description != "web 1" {
					t.Errorf("description %q", c.Description)
				}
			}
			for other, ok := range ks {
				if other == name {
					continue
				}
				pub, _ := attest.PublicKeyPEM(ok.Public())
				if _, err := attest.Verify(ctx, js, attest.Policy{Verifier: pub}); err == nil {
					t.Errorf("the %s key checks a %s signature", other, name)
				}
			}
			tampered := env
			tampered.Payload = base64.StdEncoding.EncodeToString(statement(t, "snap-2"))
			tjs, _ := json.Marshal(tampered)
			if _, err := attest.Verify(ctx, tjs, attest.Policy{Verifier: pub}); err == nil || !strings.Contains(err.Error(), "signature") {
				t.Errorf("a changed statement verifies: %v", err)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := keys(t)["ecdsa-p256"]
	s, _ := attest.ParsePrivateKey(keyPEM(t, k))
	env, _ := s.Sign(ctx, statement(t, "snap-1"))
	js, _ := json.Marshal(env)
	pub, _ := attest.PublicKeyPEM(k.Public())
	for _, c := range []struct {
		name string
		p    attest.Policy
		err  string
	}{
		{"all match", attest.Policy{Snapshot: "snap-1", PredicateType: attest.SLSAProvenanceV1, BuilderID: "o/r/.github/workflows/b.yml@refs/heads/main", SourceURI: "git+https://github.com/o/r@refs/heads/main"}, ""},
		{"another snapshot", attest.Policy{Snapshot: "snap-2"}, "not about snapshot snap-2"},
		{"another predicate", attest.Policy{PredicateType: attest.CycloneDXPredicate}, "predicate type"},
		{"another builder", attest.Policy{BuilderID: "x"}, "builder"},
		{"another source", attest.Policy{SourceURI: "git+https://github.com/o/other"}, "source"},
		{"keyless asked of a key signature", attest.Policy{Mode: attest.SigningKeyless, Keyless: attest.Keyless{Identity: "i", Issuer: "x"}}, "Sigstore bundle"},
		{"kms", attest.Policy{Mode: attest.SigningKMS}, "kms"},
	} {
		c.p.Verifier = pub
		_, err := attest.Verify(ctx, js, c.p)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
	if _, err := attest.Verify(ctx, js, attest.Policy{}); err == nil {
		t.Error("a signature verifies with no key")
	}
}

func TestCheckSnapshot(t *testing.T) {
	ctx := context.Background()
	c := &attest.Checked{Description: "web 1"}
	describe := func(desc string, err error) func(context.Context, string) (string, error) {
		return func(context.Context, string) (string, error) { return desc, err }
	}
	if err := attest.CheckSnapshot(ctx, c, "s", describe("web 1", nil)); err != nil {
		t.Error(err)
	}
	if err := attest.CheckSnapshot(ctx, c, "s", describe("web 2", nil)); err == nil {
		t.Error("a snapshot with another description passes")
	}
	if err := attest.CheckSnapshot(ctx, c, "s", describe("", attest.ErrSnapshotGone)); !errors.Is(err, attest.ErrSnapshotGone) {
		t.Errorf("a deleted snapshot: %v", err)
	}
}

// Keyless end to end against an in-process Fulcio and GitHub token
// endpoint: the certificate names the workflow, and only that identity
// verifies.
func TestKeyless(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ss := sigstoretest.Start(t, t.TempDir(), "o/r/.github/workflows/build.yml@refs/heads/main")
	env := map[string]string{}
	for _, kv := range ss.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	token, err := attest.Token(ctx, func(k string) string { return env[k] }, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if a := ss.Audiences(); len(a) != 1 || a[0] != "sigstore" {
		t.Errorf("token audiences %v, want [sigstore]", a)
	}
	k := attest.Keyless{FulcioURL: ss.FulcioURL, TrustedRootPath: ss.TrustedRoot, Identity: ss.Identity, Issuer: sigstoretest.Issuer, Token: token}
	e, bundle, err := k.Sign(ctx, statement(t, "snap-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ss.Issued() != 1 {
		t.Errorf("Fulcio issued %d certificates", ss.Issued())
	}
	js, _ := json.Marshal(e)
	p := attest.Policy{Keyless: attest.Keyless{TrustedRootPath: ss.TrustedRoot, Identity: ss.Identity, Issuer: sigstoretest.Issuer}, Bundle: bundle, Snapshot: "snap-1"}
	if _, err := attest.Verify(ctx, js, p); err != nil {
		t.Fatalf("verify: %v", err)
	}
	wrong := p
	wrong.Keyless.Identity = "https://github.com/o/r/.github/workflows/other.yml@refs/heads/main"
	if _, err := attest.Verify(ctx, js, wrong); err == nil {
		t.Error("another workflow's identity verifies")
	}
	other := sigstoretest.Start(t, t.TempDir(), "o/r/.github/workflows/build.yml@refs/heads/main")
	foreign := p
	foreign.Keyless.TrustedRootPath = other.TrustedRoot
	if _, err := attest.Verify(ctx, js, foreign); err == nil {
		t.Error("a certificate from another CA verifies")
	}
	changed := e
	changed.Payload = base64.StdEncoding.EncodeToString(statement(t, "snap-2"))
	cjs, _ := json.Marshal(changed)
	if _, err := attest.Verify(ctx, cjs, p); err == nil {
		t.Error("a changed statement verifies against the bundle")
	}
	if _, err := attest.Token(ctx, func(string) string { return "" }, http.DefaultClient); !errors.Is(err, attest.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
}

// The source of a local checkout is recorded without the credentials its
// remote's URL may hold, as Packer strips them, and without a query.
func TestLocalGitSourceHoldsNoCredentials(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"},
		{"remote", "add", "origin", "https://bot:ghp_secret123@example.com/o/r.git?private_token=tok456"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	st := attest.ProvenanceStatement(context.Background(), attest.Input{Snapshot: attest.SnapshotRecord{ID: "s"}, WorkDir: dir, Getenv: func(string) string { return "" }})
	b, _ := json.Marshal(st)
	for _, secret := range []string{"ghp_secret123", "tok456", "bot"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the statement holds %q: %s", secret, b)
		}
	}
	if !strings.Contains(string(b), `"uri":"git+https://example.com/o/r.git@refs/heads/main"`) {
		t.Errorf("the source is not recorded: %s", b)
	}
}
