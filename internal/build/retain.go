package build

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

// retentionPlan decides which snapshots retention deletes after a build
// made mine. It keeps the newest keep snapshots that the rule matches and
// deletes only what it can vouch for:
//
//   - a snapshot this run made (madeHere) is never deleted, and counts
//     towards keep;
//   - a pending snapshot is never deleted (another run may be making it);
//   - a snapshot whose date_created cannot be read, or that is not older
//     than mine (a concurrent run's), is never deleted;
//
// The rule is the exact description, or, with KeepSnapshotsPrefix, every
// description that starts with the prefix.
func retentionPlan(list []vultr.Snapshot, v spec.Vultr, mine vultr.Snapshot, madeHere func(string) bool) []vultr.Snapshot {
	if v.KeepSnapshots <= 0 {
		return nil
	}
	match := func(d string) bool { return d == v.SnapshotDescription }
	if p := v.KeepSnapshotsPrefix; p != "" {
		match = func(d string) bool { return strings.HasPrefix(d, p) }
	}
	ours := 1 // mine, listed or not yet
	var older []vultr.Snapshot
	for _, s := range list {
		switch {
		case s.ID == mine.ID || !match(s.Description):
		case madeHere(s.ID):
			ours++
		case s.Status == "complete" && !s.DateCreated.IsZero() && s.DateCreated.Before(mine.DateCreated):
			older = append(older, s)
		}
	}
	sort.SliceStable(older, func(i, j int) bool { return older[i].DateCreated.After(older[j].DateCreated) })
	keepOthers := max(v.KeepSnapshots-ours, 0)
	if keepOthers >= len(older) {
		return nil
	}
	return older[keepOthers:]
}

// retain applies retention after a successful build. Its dry run lists
// exactly what the real run would delete: both follow retentionPlan.
func retain(ctx context.Context, st *state, o Options) error {
	v := st.b.Vultr
	if msg := RetentionMatchesNothing(v); msg != "" {
		o.UI.Message(st.b.Name, "Retention skipped: "+msg)
		return nil
	}
	mine := *st.snapshot
	if mine.DateCreated.IsZero() {
		// Without it, a concurrent run's newer snapshot could look older.
		o.UI.Warn(st.b.Name, fmt.Sprintf("keep_snapshots: the API gave snapshot %s no readable date_created, so retention cannot tell older snapshots from newer ones; nothing deleted", mine.ID), spec.Pos{})
		return nil
	}
	filter := v.SnapshotDescription
	if v.KeepSnapshotsPrefix != "" {
		filter = "" // a prefix is matched here, on every snapshot
	}
	list, err := st.cloud.ListSnapshots(ctx, filter)
	if err != nil {
		return fmt.Errorf("list snapshots for retention: %w", err)
	}
	doomed := retentionPlan(list, v, mine, st.run.madeHere)
	rule := fmt.Sprintf("described %q", v.SnapshotDescription)
	if v.KeepSnapshotsPrefix != "" {
		rule = fmt.Sprintf("whose description starts with %q", v.KeepSnapshotsPrefix)
	}
	if len(doomed) == 0 {
		o.UI.Message(st.b.Name, fmt.Sprintf("Retention: at most %d snapshots %s exist; nothing to delete", v.KeepSnapshots, rule))
		return nil
	}
	verb := "Deleted"
	if v.RetentionDryRun {
		verb = "Would delete (retention_dry_run)"
	}
	var errs []error
	for _, d := range doomed {
		if !v.RetentionDryRun {
			if err := st.cloud.DeleteSnapshot(ctx, d.ID); err != nil {
				errs = append(errs, fmt.Errorf("delete snapshot %s: %w", d.ID, err))
				continue
			}
		}
		o.UI.Message(st.b.Name, fmt.Sprintf("%s old snapshot %s %q (%s)", verb, d.ID, d.Description, d.DateCreated.Format(time.RFC3339)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("keep %d snapshots %s: %w", v.KeepSnapshots, rule, err)
	}
	return nil
}

// RetentionMatchesNothing says why retention, when asked for, can match no
// earlier snapshot (a description that changes on every run) and how to
// make it work; "" when it can.
func RetentionMatchesNothing(v spec.Vultr) string {
	if v.KeepSnapshots <= 0 || !v.DescriptionVaries() || v.KeepSnapshotsPrefix != "" {
		return ""
	}
	return fmt.Sprintf("keep_snapshots: snapshot_description %q changes on every run, so it matches no earlier snapshot and retention deletes nothing; %s", v.SnapshotDescription, prefixAdvice(v.SnapshotDescription, v.VariesExample))
}

// prefixAdvice says how to make retention work for a description that
// changes from run to run. other, when given, is the same description
// rendered at another time: their common start suggests the prefix.
func prefixAdvice(desc, other string) string {
	if p := stablePrefix(desc, other); p != "" {
		return fmt.Sprintf("set a stable snapshot_description, or keep_snapshots_prefix = %q to match every snapshot whose description starts with it", p)
	}
	return "set a stable snapshot_description, or keep_snapshots_prefix to the part of it that never changes"
}

// stablePrefix is the common start of two renderings of a description, cut
// back to just after its last separator, so that no part of a date or an
// ID is kept.
func stablePrefix(a, b string) string {
	if b == "" {
		return ""
	}
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	p := a[:n]
	i := strings.LastIndexAny(p, " -_:/.,")
	if i < 0 {
		return ""
	}
	return p[:i+1]
}
