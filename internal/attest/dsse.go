package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// Envelope is a DSSE envelope, field for field as Packer writes it.
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     string              `json:"payload"`
	Signatures  []EnvelopeSignature `json:"signatures"`
}

// EnvelopeSignature is one signature; Cert is the Fulcio certificate
// (PEM) of a keyless signature.
type EnvelopeSignature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
	Cert  string `json:"cert,omitempty"`
}

// PAE is DSSE's pre-authentication encoding: what is signed.
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// PayloadBytes decodes the envelope's payload.
func (e Envelope) PayloadBytes() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("decode the envelope's payload: %w", err)
	}
	return b, nil
}

// ErrNoPEM is a key file without a PEM block.
var ErrNoPEM = errors.New("no PEM block found")

// KeySigner signs with a PEM private key: ECDSA (P-256 as Packer's docs
// show), Ed25519 or RSA, each as Packer's key mode signs.
type KeySigner struct {
	key   crypto.Signer
	keyID string
}

// ParsePrivateKey reads a PEM private key (PKCS#8, PKCS#1 or SEC 1).
// Errors never quote the key.
func ParsePrivateKey(pemBytes []byte) (*KeySigner, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, ErrNoPEM
	}
	var signer crypto.Signer
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T cannot sign", k)
		}
		signer = s
	} else if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		signer = k
	} else if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		signer = k
	} else {
		return nil, fmt.Errorf("the %q PEM block is not a private key this tool reads (PKCS#8, PKCS#1 or EC)", block.Type)
	}
	pub, err := PublicKeyPEM(signer.Public())
	if err != nil {
		return nil, err
	}
	return &KeySigner{key: signer, keyID: sha256Hex(pub)}, nil
}

// KeyID is Packer's key ID: the sha256 of the public key's PEM.
func (s *KeySigner) KeyID() string { return s.keyID }

// Public is the signer's public key.
func (s *KeySigner) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs the statement's payload and wraps it in an envelope.
func (s *KeySigner) Sign(_ context.Context, payload []byte) (Envelope, error) {
	pae := PAE(InTotoPayloadType, payload)
	msg, opts := pae, crypto.SignerOpts(crypto.Hash(0))
	if _, ok := s.key.Public().(ed25519.PublicKey); !ok {
		d := sha256.Sum256(pae)
		msg, opts = d[:], crypto.SHA256
	}
	sig, err := s.key.Sign(rand.Reader, msg, opts)
	if err != nil {
		return Envelope{}, fmt.Errorf("sign: %w", err)
	}
	return Envelope{PayloadType: InTotoPayloadType, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []EnvelopeSignature{{KeyID: s.keyID, Sig: base64.StdEncoding.EncodeToString(sig)}}}, nil
}

// PublicKeyPEM is a public key as PKIX PEM.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseVerifier reads what checks a key signature, as Packer's verifier
// does: a PEM public key, a certificate, or the private key itself.
func ParseVerifier(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, ErrNoPEM
	}
	if pub, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return pub, nil
	}
	if c, err := x509.ParseCertificate(block.Bytes); err == nil {
		return c.PublicKey, nil
	}
	if s, err := ParsePrivateKey(pemBytes); err == nil {
		return s.Public(), nil
	}
	return nil, fmt.Errorf("the %q PEM block is not a public key, certificate or private key", block.Type)
}

// verifySig checks one DSSE signature over pae with pub.
func verifySig(pub crypto.PublicKey, pae, sig []byte) error {
	d := sha256.Sum256(pae)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, d[:], sig) {
			return errors.New("the ECDSA signature does not match")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, pae, sig) {
			return errors.New("the Ed25519 signature does not match")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig); err != nil {
			return errors.New("the RSA signature does not match")
		}
	default:
		return fmt.Errorf("a %T key cannot check a signature", pub)
	}
	return nil
}

// VerifyEnvelope checks that one of the envelope's signatures is pub's.
func VerifyEnvelope(e Envelope, pub crypto.PublicKey) error {
	if len(e.Signatures) == 0 {
		return errors.New("the envelope has no signature")
	}
	payload, err := e.PayloadBytes()
	if err != nil {
		return err
	}
	pae := PAE(e.PayloadType, payload)
	var last error
	for _, s := range e.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			last = fmt.Errorf("decode a signature: %w", err)
			continue
		}
		if last = verifySig(pub, pae, sig); last == nil {
			return nil
		}
	}
	return fmt.Errorf("signature verification failed: %w", last)
}

// SHA256 is b's digest set: its sha256.
func SHA256(b []byte) DigestSet { return DigestSet{"sha256": sha256Hex(b)} }

func sha256Hex(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}
