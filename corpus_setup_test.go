package main

// A corpus directory's `setup` file prepares what its template reaches
// besides the emulator, one directive a line:
//
//	ssh-key NAME     an ed25519 key pair: the private half in keys/NAME,
//	                 the public half in the emulator's account as NAME
//	socks5 USER PW   a SOCKS5 proxy; its address in CORPUS_SOCKS5_HOST and
//	                 CORPUS_SOCKS5_PORT
//	signing-key NAME an ECDSA P-256 key pair: keys/NAME.pem (private) and
//	                 keys/NAME.pub.pem
//	sigstore WF      an in-process Sigstore (Fulcio, GitHub's OIDC token
//	                 endpoint) for a job of workflow ref WF: the runner's
//	                 token variables, GITHUB_WORKFLOW_REF, CORPUS_FULCIO_URL,
//	                 and the trusted root in keys/trusted_root.json
//	fault KIND       the emulator injects a fault of this kind (every time)
//	bastion-ca       a jump host (Debian's sshd) that trusts a CA: the
//	                 user key in keys/bastion, its certificate in
//	                 keys/bastion-cert.pub, the address in
//	                 CORPUS_BASTION_HOST and CORPUS_BASTION_PORT
//
// and its `expect` file may also say, for a build:
//
//	artifact Null           the build's artifact ID (no image to read)
//	local PATH = VALUE      a file the build wrote in the working directory
//	local PATH ~ VALUE      such a file holds VALUE
//	local PATH !~ VALUE     such a file does not hold VALUE
//	verify OK ARGS          `verify-attestation ARGS` succeeds
//	verify FAIL:TEXT ARGS   it fails, saying TEXT
//
// In a local PATH and in ARGS, {id} is the build's snapshot ID and a PATH
// may be a glob that matches one file; in ARGS, tampered:PATH is a copy
// of that attestation whose statement names another description.
//	no-temporary-key        the build created no SSH key in the account
//	proxied                 the SOCKS5 proxy carried the build's SSH
//	log TEXT                the build's log holds TEXT
//
// A `console` file holds `packer console` lines: "> EXPR" and, on the
// next line, what the console prints for it, run on the directory.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/sigstoretest"
	"github.com/vultr-image-action/vultr-image-action/internal/socks5test"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu/machine"
)

// corpusSetup runs a corpus directory's setup file, and returns the
// environment it adds to the build.
func corpusSetup(t *testing.T, r *corpusRun) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.abs, "setup"))
	if err != nil {
		return nil
	}
	var env []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "ssh-key" && len(f) == 2:
			pub := writeKey(t, filepath.Join(r.abs, "keys", f[1]), nil)
			r.accountKeys = append(r.accountKeys, registerKey(t, r.e, f[1], pub))
		case f[0] == "socks5" && len(f) == 3:
			p, err := socks5test.Start(f[1], f[2])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			r.proxy = p
			host, port, _ := net.SplitHostPort(p.Addr())
			env = append(env, "CORPUS_SOCKS5_HOST="+host, "CORPUS_SOCKS5_PORT="+port)
		case f[0] == "bastion-ca":
			env = append(env, bastionCA(t, r.abs)...)
		case f[0] == "fault" && len(f) == 2:
			r.e.srv.Inject(vultremu.Fault{Kind: vultremu.FaultKind(f[1])})
		case f[0] == "signing-key" && len(f) == 2:
			signingKey(t, filepath.Join(r.abs, "keys", f[1]))
		case f[0] == "sigstore" && len(f) == 2:
			dir := filepath.Join(r.abs, "keys")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			ss := sigstoretest.Start(t, dir, f[1])
			env = append(append(env, ss.Env()...), "CORPUS_FULCIO_URL="+ss.FulcioURL)
		default:
			t.Fatalf("%s/setup: cannot read %q", r.name, line)
		}
	}
	return env
}

// writeKey writes a fresh ed25519 private key to path (and, when ca is
// set, a user certificate for root next to it), and returns the public key.
func writeKey(t *testing.T, path string, ca ssh.Signer) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	if ca != nil {
		cert := &ssh.Certificate{Key: sshPub, Serial: 1, CertType: ssh.UserCert, KeyId: "corpus", ValidPrincipals: []string{"root"}, ValidBefore: ssh.CertTimeInfinity,
			Permissions: ssh.Permissions{Extensions: map[string]string{"permit-port-forwarding": "", "permit-pty": ""}}}
		if err := cert.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sshPub
}

// registerKey adds a public key to the emulator's account, as a user
// would through the API, and returns its ID.
func registerKey(t *testing.T, e *emu, name string, pub ssh.PublicKey) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "ssh_key": strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v2/ssh-keys", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		SSHKey struct{ ID string } `json:"ssh_key"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
		t.Fatalf("register ssh key %s: %s %v", name, res.Status, err)
	}
	return out.SSHKey.ID
}

// forgetAccountKeys deletes the keys setup put in the account: they are
// the user's, not the build's leftovers.
func forgetAccountKeys(t *testing.T, r *corpusRun) {
	t.Helper()
	for _, id := range r.accountKeys {
		req, _ := http.NewRequest(http.MethodDelete, r.e.url+"/v2/ssh-keys/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+r.e.key)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
}

// bastionCA boots a jump host running Debian's sshd that trusts a fresh
// CA, and writes a user key with the CA's certificate.
func bastionCA(t *testing.T, dir string) []string {
	t.Helper()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must have %s (installed by .ci/run)", sshd)
		}
		t.Skipf("needs %s", sshd)
	}
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	ca, _ := ssh.NewSignerFromKey(caKey)
	writeKey(t, filepath.Join(dir, "keys", "bastion"), ca)
	ms, err := machine.New(machine.Options{SSHD: sshd, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Close)
	// A loopback address of its own: another test process may run a
	// bastion too.
	ip := fmt.Sprintf("127.250.%d.%d", os.Getpid()%250, 1+time.Now().Nanosecond()%250)
	m, err := ms.Boot(context.Background(), vultremu.MachineSpec{InstanceID: "corpus-bastion", IPv4: ip,
		TrustedUserCAKeys: []string{strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Destroy() })
	host, port, _ := net.SplitHostPort(m.Addr())
	return []string{"CORPUS_BASTION_HOST=" + host, "CORPUS_BASTION_PORT=" + port}
}

// checkConsole runs the directory's console file, if it has one.
func checkConsole(t *testing.T, r *corpusRun) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.abs, "console"))
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		expr, ok := strings.CutPrefix(sc.Text(), "> ")
		if !ok || !sc.Scan() {
			continue
		}
		want := sc.Text()
		cmd := exec.Command(binary, "console", ".")
		cmd.Dir, cmd.Env = r.abs, r.cmd.Env
		cmd.Stdin = strings.NewReader(expr + "\n")
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("console %q = %q (%v), want %q", expr, got, err, want)
		}
	}
}

// checkExtras checks the expect file's lines about more than the image.
func checkExtras(t *testing.T, r *corpusRun, build, id string, exp *expectation) {
	t.Helper()
	for p, lacks := range exp.localLack {
		b, err := os.ReadFile(localPath(t, r, p, id))
		for _, v := range lacks {
			if err != nil || strings.Contains(string(b), v) {
				t.Errorf("%s: %s here (%v) holds %q", build, p, err, v)
			}
		}
	}
	for _, v := range exp.verifies {
		checkVerify(t, r, build, id, v)
	}
	for p, v := range exp.local {
		b, err := os.ReadFile(filepath.Join(r.abs, p))
		if err != nil || strings.TrimSpace(string(b)) != v {
			t.Errorf("%s: %s here = %q (%v), want %q", build, p, b, err, v)
		}
	}
	if exp.noTempKey {
		posts := 0
		for _, req := range r.e.srv.Requests() {
			if req.Method == http.MethodPost && req.Path == "/v2/ssh-keys" {
				posts++
			}
		}
		if posts != len(r.accountKeys) {
			t.Errorf("%s: the build created %d SSH keys in the account", build, posts-len(r.accountKeys))
		}
	}
	for p, want := range exp.localHas {
		b, err := os.ReadFile(localPath(t, r, p, id))
		for _, w := range want {
			if w = strings.ReplaceAll(w, "{id}", id); err != nil || !strings.Contains(string(b), w) {
				t.Errorf("%s: %s here (%v) does not hold %q", build, p, err, w)
			}
		}
	}
	for _, l := range exp.logs {
		if !strings.Contains(string(r.out), l) {
			t.Errorf("%s: the log does not say %q", build, l)
		}
	}
	if exp.proxied && (r.proxy == nil || len(r.proxy.Connects()) == 0) {
		t.Errorf("%s: the SOCKS5 proxy carried nothing", build)
	}
}

// localPath is a file the build wrote here: p with {id} replaced, a glob
// that must match one file.
func localPath(t *testing.T, r *corpusRun, p, id string) string {
	t.Helper()
	p = filepath.Join(r.abs, strings.ReplaceAll(p, "{id}", id))
	if !strings.ContainsAny(p, "*?[") {
		return p
	}
	m, _ := filepath.Glob(p)
	if len(m) != 1 {
		t.Errorf("%s matches %d files: %v", p, len(m), m)
		return p
	}
	return m[0]
}

// checkVerify runs one verify-attestation line of the expect file.
func checkVerify(t *testing.T, r *corpusRun, build, id, line string) {
	t.Helper()
	want, rest, _ := strings.Cut(line, " ")
	var args []string
	for _, a := range strings.Fields(rest) {
		a = strings.ReplaceAll(a, "{id}", id)
		switch {
		case strings.HasPrefix(a, "tampered:"):
			a = tamper(t, localPath(t, r, strings.TrimPrefix(a, "tampered:"), id))
		case strings.ContainsAny(a, "*?["):
			a = localPath(t, r, a, id)
		}
		args = append(args, a)
	}
	cmd := exec.Command(binary, append([]string{"verify-attestation"}, args...)...)
	cmd.Dir, cmd.Env = r.abs, r.cmd.Env
	out, err := cmd.CombinedOutput()
	text, fails := strings.CutPrefix(want, "FAIL:")
	switch {
	case !fails && err != nil:
		t.Errorf("%s: verify-attestation %v: %v\n%s", build, args, err, out)
	case fails && (err == nil || !strings.Contains(string(out), strings.ReplaceAll(text, "_", " "))):
		t.Errorf("%s: verify-attestation %v = %v, want a failure saying %q:\n%s", build, args, err, strings.ReplaceAll(text, "_", " "), out)
	}
}

// tamper copies an attestation (a DSSE envelope) with its statement
// changed: the snapshot's description becomes another.
func tamper(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(payload), `"description":"`, `"description":"tampered `, 1)
	if changed == string(payload) {
		t.Fatalf("%s: no description to change", path)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(changed))
	out, _ := json.Marshal(env)
	dst := path + ".tampered.json"
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// signingKey writes a fresh ECDSA P-256 key pair: path.pem and
// path.pub.pem.
func signingKey(t *testing.T, path string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(k.Public())
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		t.Fatal(err)
	}
}
