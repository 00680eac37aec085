package main

// The snapshot is booted once and checked before anyone deploys it: the
// action's verify input, and the check's instance under every way a run
// can end.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/vultremu"
)

func TestActionVerifyInput(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, verify string
		code         int
		verified     string
		snapshots    int
	}{
		{"passes", "test -f /etc/hostname || test -d /etc\nuname -a", 0, "true", 1},
		{"fails", "echo checking\nexit 7", 1, "false", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "", fastDelays)
			r := newActionRun(t, e, "examples/server.json", map[string]string{"verify": c.verify})
			if code := r.run(t); code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, r.stdout.String())
			}
			out := fileCommands(t, r.output)
			if out["verified"] != c.verified {
				t.Errorf("output verified = %q, want %q", out["verified"], c.verified)
			}
			var arts []map[string]any
			if err := json.Unmarshal([]byte(out["artifacts"]), &arts); err != nil || len(arts) != 1 || arts[0]["verified"] != c.verified {
				t.Errorf("artifacts %s, want verified %q (%v)", out["artifacts"], c.verified, err)
			}
			if n := len(e.srv.Snapshots()); n != c.snapshots {
				t.Errorf("snapshots %d, want %d", n, c.snapshots)
			}
			if c.code != 0 && out["snapshot-id"] != "" {
				t.Errorf("output snapshot-id %q names a snapshot that failed its check", out["snapshot-id"])
			}
			summary, _ := os.ReadFile(r.summary)
			if !strings.Contains(string(summary), "#### Snapshot checks") {
				t.Errorf("the summary shows no check:\n%s", summary)
			}
			assertNothingLeft(t, e)
			assertNoSecrets(t, r, e.key)
		})
	}
}

// startHungCheck runs the action with a check whose instance never answers
// SSH, and returns once that instance exists and GITHUB_STATE names it.
func startHungCheck(t *testing.T) (*emu, *actionRun) {
	t.Helper()
	e := startEmulator(t, "", fastDelays)
	e.srv.Inject(vultremu.Fault{Kind: vultremu.FaultSnapshotBootFail})
	r := newActionRun(t, e, "examples/server.json", map[string]string{"verify": "true"})
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the check's instance", 30*time.Second, func() bool {
		for _, in := range e.srv.Instances() {
			if in.SnapshotID != "" {
				return strings.Contains(fileCommands(t, r.state)["instances"], in.ID)
			}
		}
		return false
	})
	return e, r
}

func TestSIGTERMDuringVerifyLeavesNothing(t *testing.T) {
	t.Parallel()
	e, r := startHungCheck(t)
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := r.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit = %v, want status 130\n%s", err, r.stdout.String())
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("took %s to clean up after SIGTERM; GitHub kills the step after 10s", d)
	}
	assertNothingLeft(t, e)
	if !strings.Contains(r.stdout.String(), "Destroyed check instance") {
		t.Errorf("the log does not report the check's instance destroyed:\n%s", r.stdout.String())
	}
}

func TestPostStepCleansUpAfterSIGKILLDuringVerify(t *testing.T) {
	t.Parallel()
	e, r := startHungCheck(t)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	if len(e.srv.Instances()) != 1 {
		t.Fatalf("after SIGKILL, instances = %d, want the check's", len(e.srv.Instances()))
	}
	if out, err := r.post(t); err != nil {
		t.Fatalf("post step: %v\n%s", err, out)
	}
	assertNothingLeft(t, e)
}
