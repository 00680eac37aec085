package build

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// keyPair is a temporary SSH key. The private half never
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

// sharedKey is a run's temporary SSH key in one account. Every build with
// that account's API key boots with it: one create and one delete for the
// run, where parallel builds would otherwise queue for the API with one
// each. It leaves the account when the last build holding it lets go (once
// SSH has let it in, or at cleanup); a build that starts after that gets a
// new one.
type sharedKey struct {
	name    string        // in the account (leftovers.KeyName)
	comment string        // in authorized_keys
	created chan struct{} // closed when the create has ended
	// Set by the create, before created is closed.
	pair      *keyPair
	id        string
	err       error
	ambiguous bool // a try of the create had no clear answer: look for the name too

	mu      sync.Mutex
	holders int
	gone    bool // deleted, or its create failed: not to be handed out
	kept    bool // on-error=abort kept it
}

// keyScope is what builds must have in common to share a temporary key:
// the account, and the key's comment in authorized_keys
// (temporary_key_pair_name; "" for the key's own name).
type keyScope struct {
	account Cloud
	comment string
}

// holdSSHKey hands out the account's current shared key with this comment
// and counts the caller in; create is true when the caller must create it.
func (r *runState) holdSSHKey(account Cloud, comment, runID string) (k *sharedKey, create bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	scope := keyScope{account, comment}
	if k = r.keys[scope]; k != nil {
		k.mu.Lock()
		usable := !k.gone
		if usable {
			k.holders++
		}
		k.mu.Unlock()
		if usable {
			return k, false
		}
	}
	r.keySeq++
	k = &sharedKey{name: leftovers.KeyName(runID, r.keySeq), comment: comment, created: make(chan struct{}), holders: 1}
	if k.comment == "" {
		k.comment = k.name
	}
	r.keys[scope] = k
	return k, true
}

// create makes the key in the account, once, for every holder.
func (k *sharedKey) create(ctx context.Context, account Cloud, o Options) {
	defer close(k.created)
	pair, err := newKeyPair(k.comment)
	if err != nil {
		k.err = err
		return
	}
	o.Secrets.Add(pair.privatePEM)
	created, err := account.CreateSSHKey(ctx, k.name, pair.authorizedKey)
	var amb *vultr.AmbiguousCreateError
	k.ambiguous = errors.As(err, &amb) || created != nil && created.Unclear
	if err != nil {
		k.err = fmt.Errorf("create ssh key %s: %w", k.name, err)
		k.mu.Lock()
		k.gone = true
		k.mu.Unlock()
		return
	}
	k.pair, k.id = pair, created.ID
	o.Tracker.Track(leftovers.SSHKey, created.ID)
}

// wait waits for the create, or for ctx.
func (k *sharedKey) wait(ctx context.Context) error {
	select {
	case <-k.created:
		return k.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keyDeleteBudget bounds one delete of the shared key: a slow API must not
// hold up the build that lets go of it for longer.
const keyDeleteBudget = 30 * time.Second

// release counts one holder out; the last one deletes the key (by name,
// when its create had no clear answer, or when a later try of it
// succeeded after an unclear one). The delete runs outside the key's lock,
// on a budget of its own: no other build waits on it. A failed delete
// keeps the holder counted, so that its cleanup tries again.
func (k *sharedKey) release(ctx context.Context, st *state, o Options) error {
	select {
	case <-k.created:
	case <-ctx.Done():
		return fmt.Errorf("wait for the create of ssh key %s: %w", k.name, ctx.Err())
	}
	k.mu.Lock()
	if k.holders--; k.holders > 0 || k.kept {
		k.mu.Unlock()
		return nil
	}
	k.gone = true // from now on, a new build gets a new key
	k.mu.Unlock()

	dctx, cancel := context.WithTimeout(ctx, keyDeleteBudget)
	defer cancel()
	var err error
	if k.id != "" {
		if err = st.cloud.DeleteSSHKey(dctx, k.id); err == nil {
			o.Tracker.Untrack(leftovers.SSHKey, k.id)
			o.UI.Message(st.b.Name, "Deleted temporary SSH key "+k.id)
		}
	}
	if err == nil && k.ambiguous {
		err = deleteKeysNamed(dctx, st, k.name, k.id, o)
	}
	if err != nil {
		k.mu.Lock()
		k.holders++
		k.mu.Unlock()
	}
	return err
}
