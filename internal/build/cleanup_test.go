package build

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestCleanupsRunInReverseOrder(t *testing.T) {
	t.Parallel()
	var got []string
	var c cleanups
	for _, name := range []string{"key", "instance", "connection"} {
		name := name
		c.push(name, func(context.Context) error { got = append(got, name); return nil })
	}
	if err := c.run(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	want := []string{"connection", "instance", "key"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order = %v, want %v", got, want)
	}
	// A second run has nothing left to do.
	got = nil
	if err := c.run(context.Background(), time.Second); err != nil || len(got) != 0 {
		t.Errorf("second run: err %v, ran %v; want nothing", err, got)
	}
}

func TestCleanupsSurviveCancelAndJoinErrors(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(context.Background())
	cancel() // the build was interrupted
	errA := errors.New("delete instance failed")
	var ranB, sawLiveCtx bool
	var c cleanups
	c.push("b", func(ctx context.Context) error {
		ranB = true
		sawLiveCtx = ctx.Err() == nil
		return nil
	})
	c.push("a", func(ctx context.Context) error { return errA })
	err := c.run(parent, time.Second)
	if !errors.Is(err, errA) {
		t.Errorf("err = %v, want it to wrap %v", err, errA)
	}
	if !ranB {
		t.Errorf("an earlier failure stopped later cleanups")
	}
	if !sawLiveCtx {
		t.Errorf("cleanup ran on a cancelled context")
	}
}

func TestCleanupsHaveADeadline(t *testing.T) {
	t.Parallel()
	var c cleanups
	c.push("slow", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return nil
		}
	})
	start := time.Now()
	err := c.run(context.Background(), 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cleanup took %s despite a 50ms budget", d)
	}
}

func TestNewKeyPair(t *testing.T) {
	t.Parallel()
	k, err := newKeyPair("vultr-image-action-run1-vultr")
	if err != nil {
		t.Fatal(err)
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(k.authorizedKey))
	if err != nil {
		t.Fatalf("authorized key does not parse: %v", err)
	}
	if got, want := pub.Type(), ssh.KeyAlgoED25519; got != want {
		t.Errorf("key type = %s, want %s", got, want)
	}
	if got, want := comment, "vultr-image-action-run1-vultr"; got != want {
		t.Errorf("comment = %q, want %q", got, want)
	}
	if string(k.signer.PublicKey().Marshal()) != string(pub.Marshal()) {
		t.Errorf("signer and authorized key differ")
	}
	if !strings.Contains(k.privatePEM, "OPENSSH PRIVATE KEY") {
		t.Errorf("private PEM not in OpenSSH format")
	}
	k2, err := newKeyPair("x")
	if err != nil {
		t.Fatal(err)
	}
	if k2.authorizedKey == k.authorizedKey {
		t.Errorf("two key pairs are identical")
	}
}
