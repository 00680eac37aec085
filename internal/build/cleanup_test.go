package build

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

func TestCleanupsRunInReverseOrder(t *testing.T) {
	t.Parallel()
	var got []string
	var c cleanups
	for _, name := range []string{"key", "instance", "connection"} {
		name := name
		c.push(name, func(context.Context) error { got = append(got, name); return nil })
	}
	if err := c.run(context.Background(), nil, time.Second).err; err != nil {
		t.Fatal(err)
	}
	want := []string{"connection", "instance", "key"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order = %v, want %v", got, want)
	}
	// A second run has nothing left to do.
	got = nil
	if err := c.run(context.Background(), nil, time.Second).err; err != nil || len(got) != 0 {
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
	err := c.run(parent, nil, time.Second).err
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
	err := c.run(context.Background(), nil, 50*time.Millisecond).err
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cleanup took %s despite a 50ms budget", d)
	}
}

// A locked instance delete must not use up the key delete's time: the
// deletes run together, each on its own budget, and the one that failed is
// reported as left.
func TestCleanupsDeleteConcurrentlyEachOnItsOwnBudget(t *testing.T) {
	t.Parallel()
	var c cleanups
	keyDeleted := make(chan time.Duration, 1)
	start := time.Now()
	c.pushDelete(leftovers.Resource{Kind: leftovers.SSHKey, ID: "key-1"}, func(ctx context.Context) error {
		time.Sleep(100 * time.Millisecond) // a slow but working delete
		keyDeleted <- time.Since(start)
		return ctx.Err()
	})
	c.pushDelete(leftovers.Resource{Kind: leftovers.Instance, ID: "inst-1"}, func(ctx context.Context) error {
		<-ctx.Done() // "Server is currently locked" for longer than the budget
		return ctx.Err()
	})
	res := c.run(context.Background(), nil, 150*time.Millisecond)
	if !errors.Is(res.err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the locked delete's deadline", res.err)
	}
	select {
	case d := <-keyDeleted:
		if d > 140*time.Millisecond {
			t.Errorf("key delete finished after %s: it waited for the locked instance", d)
		}
	default:
		t.Fatal("the key delete never ran")
	}
	if got, want := len(res.left), 1; got != want || res.left[0].ID != "inst-1" {
		t.Errorf("left = %v, want just inst-1", res.left)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cleanup took %s with a 150ms budget per delete", d)
	}
}

// A second Ctrl-C (stop) ends every wait at once, and says what is left.
func TestCleanupsStopWhenTheUserInsists(t *testing.T) {
	t.Parallel()
	var c cleanups
	c.pushDelete(leftovers.Resource{Kind: leftovers.Instance, ID: "inst-1"}, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	stop, insist := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, insist)
	start := time.Now()
	res := c.run(context.Background(), stop, time.Hour)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cleanup ran %s after the stop", d)
	}
	if len(res.left) != 1 || res.err == nil {
		t.Errorf("left %v, err %v; want inst-1 left with an error", res.left, res.err)
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

// warnUI records warnings.
type warnUI struct {
	quietUI
	mu    sync.Mutex
	warns []string
}

func (u *warnUI) Warn(_ string, msg string, _ spec.Pos) {
	u.mu.Lock()
	u.warns = append(u.warns, msg)
	u.mu.Unlock()
}

// An instance whose snapshot is still pending when the wait ends is kept,
// and said so with the command that deletes it: deleting it may leave the
// snapshot incomplete (Packer deletes it). A build that was stopped
// (cancelled, or out of its time) deletes it, with a warning that says why.
func TestCleanupKeepsTheInstanceOfAPendingSnapshot(t *testing.T) {
	t.Parallel()
	for _, stop := range []string{"", "cancel", "timeout"} {
		cloud := newCloud()
		cloud.snapshotStatus = "pending"
		tr := &recTracker{}
		o := options(cloud, &fakeComm{cloud: cloud}, tr)
		ui := &warnUI{}
		o.UI = ui
		ctx, cancel := context.WithCancel(context.Background())
		switch stop {
		case "":
			cloud.failAt = "WaitSnapshot"
		case "cancel":
			cloud.block = "WaitSnapshot"
			go func() {
				for !slices.Contains(cloud.callsSoFar(), "WaitSnapshot") {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
		case "timeout":
			cloud.block = "WaitSnapshot"
			ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
		}
		_, err := Run(ctx, testSpec(), o)
		cancel()
		var pending *SnapshotPendingError
		warned := strings.Join(ui.warns, "\n")
		switch {
		case stop == "" && !errors.As(err, &pending):
			t.Errorf("not stopped: err = %v, want a SnapshotPendingError", err)
		case stop == "" && !strings.Contains(err.Error(), "vultr-image-action cleanup -instance "+pending.InstanceID):
			t.Errorf("the error does not say how to delete the kept instance: %v", err)
		case stop == "" && (len(cloud.instances) != 1 || !slices.Contains(tr.log, "=instance:"+pending.InstanceID)):
			t.Errorf("not stopped: instances %v, tracker %v; want the instance kept, and marked kept for the post step", cloud.instances, tr.log)
		case stop == "cancel" && (len(cloud.instances) != 0 || !strings.Contains(warned, "was cancelled") || !strings.Contains(warned, "may be incomplete")):
			t.Errorf("cancelled: instances %v, warnings %q; want the instance deleted, with a warning", cloud.instances, ui.warns)
		case stop == "timeout" && (len(cloud.instances) != 0 || !strings.Contains(warned, "ran out of time")):
			t.Errorf("out of time: instances %v, warnings %q; want the instance deleted, with a warning that says so", cloud.instances, ui.warns)
		}
		if len(cloud.keys) != 0 {
			t.Errorf("stop=%q: the key was left", stop)
		}
	}
}
