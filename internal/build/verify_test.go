package build

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// secondFails fails the second call of one kind: the check's, after the
// build's own.
type secondFails struct {
	*fakeCloud
	call string
	mu   sync.Mutex
	n    int
}

func (s *secondFails) nth(call string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if call != s.call {
		return false
	}
	s.n++
	return s.n == 2
}

func (s *secondFails) CreateInstance(ctx context.Context, r vultr.CreateInstanceRequest) (*vultr.Instance, error) {
	if s.nth("CreateInstance") {
		return nil, errInjected
	}
	return s.fakeCloud.CreateInstance(ctx, r)
}

func (s *secondFails) DeleteInstance(ctx context.Context, id string) error {
	if s.nth("DeleteInstance") {
		return errInjected
	}
	return s.fakeCloud.DeleteInstance(ctx, id)
}

func verifiedSpec(keep bool) *spec.Spec {
	s := testSpec()
	sh := &spec.Shell{Inline: []string{"check"}, RemotePath: "/tmp/check.sh", ValidExitCodes: []int{0}, ExecuteCommand: "chmod +x {{.Path}}; {{.Path}}"}
	s.Builds[0].PostProcessors = [][]spec.PostProcessor{{{Type: "vultr-verify", Config: &spec.Verify{Shell: sh, Timeout: time.Minute, Keep: keep}}}}
	return s
}

// Only the snapshot's own failure deletes it: a cloud that refuses the
// check's create, or the delete of its instance, leaves it, unchecked.
func TestVerifyDeletesOnlyASnapshotThatFailed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, second, failCmd string
		keep                  bool
		wantDelete            bool
		want                  string
	}{
		{"passes", "", "", false, false, ""},
		{"check fails", "", "chmod +x /tmp/check.sh; /tmp/check.sh", false, true, "failed its check and was deleted"},
		{"check fails, keep", "", "chmod +x /tmp/check.sh; /tmp/check.sh", true, false, "kept for debugging"},
		{"create refused", "CreateInstance", "", false, false, "stays (the cloud failed, not the snapshot)"},
		{"instance delete refused", "DeleteInstance", "", false, false, "stays (the cloud failed, not the snapshot)"},
	} {
		cloud := newCloud()
		sf := &secondFails{fakeCloud: cloud, call: c.second}
		o := options(cloud, &fakeComm{cloud: cloud, failCmd: c.failCmd}, nil)
		o.Cloud = func(string) (Cloud, error) { return sf, nil }
		o.CleanupTimeout = time.Second
		results, err := Run(context.Background(), verifiedSpec(c.keep), o)
		deleted := slices.Contains(cloud.callsSoFar(), "DeleteSnapshot")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want one saying %q", c.name, err, c.want)
		case deleted != c.wantDelete:
			t.Errorf("%s: snapshot deleted %v, want %v", c.name, deleted, c.wantDelete)
		}
		if want := map[bool]string{true: "true", false: "false"}[c.want == ""]; len(results) != 1 || results[0].Verified() != want {
			t.Errorf("%s: verified %q, want %q", c.name, results[0].Verified(), want)
		}
		if c.wantDelete && results[0].SnapshotID != "" {
			t.Errorf("%s: the result still names deleted snapshot %s", c.name, results[0].SnapshotID)
		}
		if c.second == "DeleteInstance" && len(results[0].Left) != 1 {
			t.Errorf("%s: left %v, want the check's instance reported", c.name, results[0].Left)
		}
		if errors.Is(err, ErrVerifyFailed) != c.wantDelete && !c.keep {
			t.Errorf("%s: errors.Is(ErrVerifyFailed) = %v", c.name, errors.Is(err, ErrVerifyFailed))
		}
	}
}
