package remote

// Tests of the communicator keys Packer's SDK has: certificates, ciphers
// and key exchanges, a SOCKS5 proxy, tunnels, agent forwarding, and the
// bastion's agent and keyboard-interactive logins. Each runs against
// Debian's sshd (needs root) or the in-process server.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/vultr-image-action/vultr-image-action/internal/socks5test"
	"github.com/vultr-image-action/vultr-image-action/internal/sshserver"
	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

// keyFiles writes a fresh ed25519 key to dir, and, when ca is set, an
// OpenSSH user certificate for it signed by ca for principal "root".
func keyFiles(t *testing.T, dir string, ca ssh.Signer) (keyFile, certFile string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "user")
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, "id_user")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if ca == nil {
		return keyFile, ""
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	cert := &ssh.Certificate{Key: sshPub, Serial: 1, CertType: ssh.UserCert, KeyId: "vultr-image-action test",
		ValidPrincipals: []string{"root"}, ValidAfter: 0, ValidBefore: ssh.CertTimeInfinity,
		// ssh-keygen's default extensions: a jump host needs port forwarding.
		Permissions: ssh.Permissions{Extensions: map[string]string{"permit-pty": "", "permit-port-forwarding": "", "permit-agent-forwarding": "", "permit-user-rc": ""}}}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	certFile = keyFile + "-cert.pub"
	if err := os.WriteFile(certFile, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return keyFile, certFile
}

func bootWith(t *testing.T, spec func(*vultremu.MachineSpec)) *sshdMachine {
	t.Helper()
	ms := realSSHD(t)
	return bootSSHDSpec(t, ms, spec)
}

// lockedBuffer takes a command's stdout and stderr, written concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func echoRun(t *testing.T, c *Client, cmd string) string {
	t.Helper()
	var out lockedBuffer
	if err := c.Run(context.Background(), cmd, nil, &out, &out); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out.String())
	}
	return strings.TrimSpace(out.String())
}

// ssh_certificate_file (and the bastion's): a machine that trusts a CA,
// and no authorized key for the user's key, lets the certificate in and
// refuses the bare key.
func TestOpenSSHCertificates(t *testing.T) {
	t.Parallel()
	ca := newSigner(t)
	caLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))
	trusting := func(s *vultremu.MachineSpec) { s.TrustedUserCAKeys = []string{caLine} }
	m := bootWith(t, trusting)
	key, cert := keyFiles(t, t.TempDir(), ca)
	cfg := Config{Host: m.host, Port: m.port, User: "root", PrivateKeyFile: key, CertificateFile: cert, Timeout: 20 * time.Second, Backoff: 20 * time.Millisecond}
	if got := echoRun(t, connect(t, cfg), "echo certified"); got != "certified" {
		t.Errorf("got %q", got)
	}
	bare := cfg
	bare.CertificateFile, bare.Timeout, bare.HandshakeAttempts = "", 10*time.Second, 1
	var ae *AuthError
	if _, err := Connect(context.Background(), bare); !errors.As(err, &ae) {
		t.Errorf("the bare key: err = %v, want an authentication failure", err)
	}

	// The bastion's certificate: the jump host trusts the CA, the target
	// the usual key.
	jump, target := bootWith(t, trusting), bootWith(t, nil)
	b := Config{Host: jump.host, Port: jump.port, User: "root", PrivateKeyFile: key, CertificateFile: cert, Timeout: 20 * time.Second, Backoff: 20 * time.Millisecond}
	tc := target.config()
	tc.Bastion = &b
	if got := echoRun(t, connect(t, tc), "echo through-certified-bastion"); got != "through-certified-bastion" {
		t.Errorf("got %q", got)
	}
	// A certificate for another key is refused before any dial.
	other, _ := keyFiles(t, t.TempDir(), nil)
	wrong := cfg
	wrong.PrivateKeyFile = other
	if _, err := Connect(context.Background(), wrong); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a certificate for another key: err = %v", err)
	}
}

// ssh_ciphers and ssh_key_exchange_algorithms are what the client offers:
// a machine that accepts only one of each lets in a client offering it,
// and no other.
func TestOpenSSHCiphersAndKeyExchanges(t *testing.T) {
	t.Parallel()
	m := bootWith(t, func(s *vultremu.MachineSpec) {
		s.SSHDOptions = []string{"Ciphers aes256-ctr", "KexAlgorithms curve25519-sha256"}
	})
	ok := m.config()
	ok.Ciphers, ok.KeyExchanges = []string{"aes256-ctr"}, []string{"curve25519-sha256"}
	if got := echoRun(t, connect(t, ok), "echo agreed"); got != "agreed" {
		t.Errorf("got %q", got)
	}
	for _, bad := range []Config{
		func() Config { c := ok; c.Ciphers = []string{"chacha20-poly1305@openssh.com"}; return c }(),
		func() Config { c := ok; c.KeyExchanges = []string{"ecdh-sha2-nistp256"}; return c }(),
	} {
		bad.Timeout = 20 * time.Second
		start := time.Now()
		_, err := Connect(context.Background(), bad)
		var an *ssh.AlgorithmNegotiationError
		if !errors.As(err, &an) || !strings.Contains(err.Error(), "ssh_ciphers") {
			t.Errorf("ciphers %v, kex %v: err = %v, want an algorithm negotiation error that names the keys", bad.Ciphers, bad.KeyExchanges, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("gave up after %s: no common algorithm cannot be cured by waiting", d)
		}
	}
}

// ssh_proxy_*: the machine is reached through a SOCKS5 proxy, with its
// credentials; wrong ones get nowhere.
func TestSOCKS5Proxy(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	p, err := socks5test.Start("proxyuser", "proxy-pw-123")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	cfg := f.config()
	var direct bool
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != p.Addr() {
			direct = true
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cfg.Proxy = &Proxy{Addr: p.Addr(), Username: "proxyuser", Password: "proxy-pw-123"}
	if got := echoRun(t, connect(t, cfg), "echo hi"); !sameLines(got, "hi", "err") {
		t.Errorf("got %q", got)
	}
	connects := p.Connects()
	if len(connects) == 0 || connects[0] != f.srv.Addr() || direct {
		t.Errorf("the proxy connected to %v (direct dial: %v), want the machine %s", connects, direct, f.srv.Addr())
	}
	cfg.Proxy.Password, cfg.Timeout = "wrong", time.Second
	if _, err := Connect(context.Background(), cfg); err == nil {
		t.Error("a wrong proxy password connected")
	}
}

// ssh_local_tunnels and ssh_remote_tunnels, with Packer's
// "port:host:hostport", against OpenSSH.
func TestOpenSSHTunnels(t *testing.T) {
	t.Parallel()
	m := bootWith(t, nil)
	echo := func(prefix string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					line, _ := bufio.NewReader(c).ReadString('\n')
					fmt.Fprintf(c, "%s:%s", prefix, line)
				}()
			}
		}()
		return ln.Addr().String()
	}
	free := func() int {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	localPort, remotePort := free(), free()
	cfg := m.config()
	cfg.LocalTunnels = []Tunnel{{Listen: fmt.Sprintf("localhost:%d", localPort), Forward: echo("machine-side")}}
	cfg.RemoteTunnels = []Tunnel{{Listen: fmt.Sprintf("localhost:%d", remotePort), Forward: echo("runner-side")}}
	c := connect(t, cfg)
	// Local: this host's port reaches what the machine reaches.
	conn, err := net.Dial("tcp", fmt.Sprintf("localhost:%d", localPort))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(conn, "ping")
	got, _ := io.ReadAll(conn)
	conn.Close()
	if string(got) != "machine-side:ping\n" {
		t.Errorf("local tunnel answered %q", got)
	}
	// Remote: the machine's port reaches what this host reaches.
	out := echoRun(t, c, fmt.Sprintf(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d; echo pong >&3; cat <&3'`, remotePort))
	if out != "runner-side:pong" {
		t.Errorf("remote tunnel answered %q", out)
	}
	// The tunnels close with the connection.
	c.Close()
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("localhost:%d", localPort), time.Second); err == nil {
		conn.Close()
		t.Error("the local tunnel outlived the connection")
	}
}

// agentSocket serves an agent holding one key on a unix socket.
func agentSocket(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "via-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: key, Comment: "forwarded-test-key"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

// The local agent is forwarded to the machine's commands unless
// ssh_disable_agent_forwarding, as in Packer.
func TestOpenSSHAgentForwarding(t *testing.T) {
	t.Parallel()
	m := bootWith(t, nil)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	sock := agentSocket(t, key)
	for _, forward := range []bool{true, false} {
		cfg := m.config()
		cfg.ForwardAgent = forward
		cfg.Getenv = func(k string) string {
			if k == "SSH_AUTH_SOCK" {
				return sock
			}
			return ""
		}
		c := connect(t, cfg)
		var out lockedBuffer
		err := c.Run(context.Background(), "ssh-add -l", nil, &out, &out)
		switch {
		case forward && (err != nil || !strings.Contains(out.String(), "forwarded-test-key")):
			t.Errorf("forwarded: ssh-add -l = %q, %v", out.String(), err)
		case !forward && err == nil:
			t.Errorf("not forwarded, yet ssh-add -l listed %q", out.String())
		}
	}
}

// The bastion's own logins: its agent's keys (ssh_bastion_agent_auth), and
// keyboard-interactive questions answered in the terminal
// (ssh_bastion_interactive).
func TestBastionAgentAndInteractiveLogins(t *testing.T) {
	t.Parallel()
	target := start(t, nil)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	agentKey, _ := ssh.NewSignerFromKey(key)
	sock := agentSocket(t, key)
	for _, tc := range []struct {
		name   string
		server sshserver.Config
		client func(*Config)
	}{
		{"agent", sshserver.Config{AuthorizedKeys: []ssh.PublicKey{agentKey.PublicKey()}}, func(c *Config) {
			c.AgentAuth = true
			c.Getenv = func(k string) string { return map[string]string{"SSH_AUTH_SOCK": sock}[k] }
		}},
		{"interactive", sshserver.Config{Password: "otp-123456", KeyboardInteractiveOnly: true}, func(c *Config) {
			c.Interactive = func(_, _ string, questions []string, echos []bool) ([]string, error) {
				if len(questions) != 1 || echos[0] {
					return nil, fmt.Errorf("questions %q echo %v", questions, echos)
				}
				return []string{"otp-123456"}, nil
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := tc.server
			sc.AllowTCPForwarding = true
			sc.Exec = sshserver.ExecFunc(func(context.Context, *sshserver.Session) (int, error) { return 0, nil })
			jump, err := sshserver.Listen("127.0.0.1:0", sc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { jump.Close() })
			host, port, _ := net.SplitHostPort(jump.Addr())
			p, _ := strconv.Atoi(port)
			b := Config{Host: host, Port: p, User: "jump", Timeout: 5 * time.Second, Backoff: 20 * time.Millisecond}
			tc.client(&b)
			cfg := target.config()
			cfg.Bastion = &b
			if got := echoRun(t, connect(t, cfg), "echo hi"); !sameLines(got, "hi", "err") {
				t.Errorf("through the bastion: %q", got)
			}
		})
	}
}

// sameLines reports whether s holds exactly these lines, in any order
// (stdout and stderr interleave).
func sameLines(s string, want ...string) bool {
	got := strings.Split(s, "\n")
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
