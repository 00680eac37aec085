package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
)

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
		return app.UsageErrorf("cleanup needs at least one -instance, -ssh-key or -run (use sweep to find leftovers)")
	}
	for _, r := range runs {
		if !leftovers.ValidRunID(r) {
			return app.UsageErrorf("-run %q is not a run ID of this tool (such as 1a2b3c4d or gh123-1-1a2b3c4d)", r)
		}
	}
	var named []leftovers.Resource
	for _, id := range instances {
		named = append(named, leftovers.Resource{Kind: leftovers.Instance, ID: id})
	}
	for _, id := range keys {
		named = append(named, leftovers.Resource{Kind: leftovers.SSHKey, ID: id})
	}
	rep, err := app.Cleanup(ctx, env, app.CleanupRequest{APIKey: env.Getenv("VULTR_API_KEY"), APIURL: env.Getenv("VULTR_API_URL"),
		Resources: named, Runs: runs, Keep: keep})
	for _, r := range rep.Gone {
		fmt.Fprintf(env.Stdout, "%s %s is already gone\n", r.Kind, r.ID)
	}
	for _, r := range rep.Kept {
		fmt.Fprintf(env.Stdout, "Keeping %s (-keep)\n", r)
	}
	printDeleted(env, rep.Deleted)
	return err
}

// printDeleted says what was deleted.
func printDeleted(env Env, deleted []leftovers.Resource) {
	for _, r := range deleted {
		fmt.Fprintf(env.Stdout, "Deleted %s\n", r)
	}
}

func cmdSweep(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "sweep", "sweep [-older-than 6h] [-yes]")
	var r app.SweepRequest
	fs.DurationVar(&r.OlderThan, "older-than", 6*time.Hour, "only resources created more than this `duration` ago")
	fs.BoolVar(&r.Yes, "yes", false, "delete; without it, only list what would be deleted")
	if err := parse(fs, args); err != nil {
		return err
	}
	if r.OlderThan <= 0 {
		return app.UsageErrorf("-older-than must be positive")
	}
	r.APIKey = env.Getenv("VULTR_API_KEY")
	return runSweep(ctx, env, r)
}

// runSweep sweeps, and says what it found and deleted.
func runSweep(ctx context.Context, env Env, r app.SweepRequest) error {
	rep, err := app.Sweep(ctx, env, r)
	if err != nil && len(rep.Found) == 0 {
		return err // nothing was found, or the look-up failed: nothing to say
	}
	verb := "Would delete"
	if r.Yes {
		verb = "Deleting"
	}
	for _, res := range rep.Found {
		tags := ""
		if len(res.Tags) > 0 {
			tags = " (tags " + strings.Join(res.Tags, ",") + ")"
		}
		fmt.Fprintf(env.Stdout, "%s %s created %s%s\n", verb, res, res.Created.Format(time.RFC3339), tags)
	}
	if r.Action != nil {
		_ = r.Action.SetOutput("swept", fmt.Sprint(len(rep.Found)))
	}
	printDeleted(env, rep.Deleted)
	switch {
	case err != nil:
		return err
	case len(rep.Found) == 0:
		fmt.Fprintf(env.Stdout, "Nothing older than %s to sweep.\n", r.OlderThan)
	case !r.Yes:
		fmt.Fprintf(env.Stdout, "%d resources would be deleted; run again with -yes (or the action input yes: true) to delete them.\n", len(rep.Found))
	}
	return nil
}
