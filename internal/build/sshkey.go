package build

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// keyPair is a temporary SSH key for one build. The private half never
// leaves the process: it is used in memory and registered as a secret.
type keyPair struct {
	signer        ssh.Signer
	authorizedKey string // "ssh-ed25519 AAAA... comment"
	privatePEM    string // for the redactor only
}

func newKeyPair(comment string) (*keyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("ssh signer: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ssh public key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + comment
	return &keyPair{signer: signer, authorizedKey: authorized, privatePEM: string(pem.EncodeToMemory(block))}, nil
}
