package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
)

// deleteBudget bounds each delete of the cleanup and sweep commands and of
// the post step; deletes run concurrently. It outlasts Vultr's install
// lock (about 90 s, during which an instance cannot be deleted), so a run
// cancelled seconds after its create leaves nothing.
const deleteBudget = 150 * time.Second

func cmdCleanup(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "cleanup", "cleanup [-instance ID]... [-ssh-key ID]... [-run RUN-ID [-keep ID]...]")
	var instances, keys, runs, keep multiFlag
	fs.Var(&instances, "instance", "delete this instance `ID` (repeatable); it must carry this tool's tags")
	fs.Var(&keys, "ssh-key", "delete this SSH key `ID` (repeatable); it must be one of this tool's temporary keys")
	fs.Var(&runs, "run", "delete every instance and key of this `run-id` (repeatable)")
	fs.Var(&keep, "keep", "with -run: never delete this instance or key `ID` (repeatable; one the build kept on purpose)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(instances)+len(keys)+len(runs) == 0 {
		fs.Usage()
		return usageErrorf("cleanup needs at least one -instance, -ssh-key or -run (use sweep to find leftovers)")
	}
	for _, r := range runs {
		if !leftovers.ValidRunID(r) {
			return usageErrorf("-run %q is not a run ID of this tool (such as 1a2b3c4d or gh123-1-1a2b3c4d)", r)
		}
	}
	key := env.Getenv("VULTR_API_KEY")
	if key == "" {
		return usageErrorf("VULTR_API_KEY is not set")
	}
	sess := newSession(env, nil, env.Getenv("VULTR_API_URL"), key)
	cl, err := sess.cloud(key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*deleteBudget)
	defer cancel()
	var named []leftovers.Resource
	for _, id := range instances {
		named = append(named, leftovers.Resource{Kind: leftovers.Instance, ID: id})
	}
	for _, id := range keys {
		named = append(named, leftovers.Resource{Kind: leftovers.SSHKey, ID: id})
	}
	targets, gone, err := leftovers.Verify(ctx, cl, named)
	var errs []error
	if err != nil {
		errs = append(errs, sess.red.Error(err))
	}
	for _, r := range gone {
		fmt.Fprintf(env.Stdout, "%s %s is already gone\n", r.Kind, r.ID)
	}
	for _, run := range runs {
		found, err := leftovers.FindRun(ctx, cl, run)
		if err != nil {
			errs = append(errs, fmt.Errorf("find resources of run %s: %w", run, sess.red.Error(err)))
		}
		for _, r := range found {
			if slices.Contains(keep, r.ID) {
				fmt.Fprintf(env.Stdout, "Keeping %s (-keep)\n", r)
				continue
			}
			targets = append(targets, r)
		}
	}
	errs = append(errs, deleteAll(ctx, env.Stdout, sess.red, cl, leftovers.Dedupe(targets)))
	return errors.Join(errs...)
}

// deleteAll deletes resources concurrently and prints each outcome; the
// advice for what is left excepts kept.
func deleteAll(ctx context.Context, w io.Writer, red *redact.Redactor, cl leftovers.Cloud, rs []leftovers.Resource, kept ...leftovers.Resource) error {
	outcomes := leftovers.Delete(ctx, cl, rs, deleteBudget)
	for _, o := range outcomes {
		if o.Err == nil {
			fmt.Fprintf(w, "Deleted %s\n", o.Resource)
		}
	}
	if left := leftovers.Failed(outcomes); len(left) > 0 {
		return fmt.Errorf("%w; try again later with: %s", red.Error(leftovers.Errors(outcomes)), leftovers.CleanupCommand(left, kept...))
	}
	return nil
}

type sweepOptions struct {
	olderThan time.Duration
	yes       bool
	apiKey    string
}

func cmdSweep(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "sweep", "sweep [-older-than 6h] [-yes]")
	var o sweepOptions
	fs.DurationVar(&o.olderThan, "older-than", 6*time.Hour, "only resources created more than this `duration` ago")
	fs.BoolVar(&o.yes, "yes", false, "delete; without it, only list what would be deleted")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.olderThan <= 0 {
		return usageErrorf("-older-than must be positive")
	}
	o.apiKey = env.Getenv("VULTR_API_KEY")
	return runSweep(ctx, env, o, nil)
}

// runSweep finds this tool's instances and temporary keys older than the
// threshold (by their tags and names, read here) and deletes them when
// confirmed. It covers runner crashes, where no post step runs.
func runSweep(ctx context.Context, env Env, o sweepOptions, act *ghaction.Action) error {
	if o.apiKey == "" {
		return usageErrorf("an API key is required (VULTR_API_KEY, or the api-key input)")
	}
	sess := newSession(env, act, env.Getenv("VULTR_API_URL"), o.apiKey)
	cl, err := sess.cloud(o.apiKey)
	if err != nil {
		return err
	}
	found, err := leftovers.FindOld(ctx, cl, time.Now().Add(-o.olderThan))
	if err != nil {
		return sess.red.Error(err)
	}
	verb := "Would delete"
	if o.yes {
		verb = "Deleting"
	}
	for _, r := range found {
		tags := ""
		if len(r.Tags) > 0 {
			tags = " (tags " + strings.Join(r.Tags, ",") + ")"
		}
		fmt.Fprintf(env.Stdout, "%s %s created %s%s\n", verb, r, r.Created.Format(time.RFC3339), tags)
	}
	if act != nil {
		_ = act.SetOutput("swept", fmt.Sprint(len(found)))
	}
	switch {
	case len(found) == 0:
		fmt.Fprintf(env.Stdout, "Nothing older than %s to sweep.\n", o.olderThan)
		return nil
	case !o.yes:
		fmt.Fprintf(env.Stdout, "%d resources would be deleted; run again with -yes (or the action input yes: true) to delete them.\n", len(found))
		return nil
	}
	return deleteAll(ctx, env.Stdout, sess.red, cl, found)
}
