package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/vultr"
)

type cleanupOptions struct {
	apiKey, apiURL     string
	instances, sshKeys []string
	// runID, when set, also finds this run's resources by tag and name:
	// those created in the instant before their IDs were recorded.
	runID  string
	action *ghaction.Action
}

func cmdCleanup(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "cleanup", "cleanup [-instance ID]... [-ssh-key ID]...")
	var instances, keys multiFlag
	fs.Var(&instances, "instance", "delete this instance `ID` (repeatable)")
	fs.Var(&keys, "ssh-key", "delete this SSH key `ID` (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(instances)+len(keys) == 0 {
		fs.Usage()
		return usageErrorf("cleanup needs at least one -instance or -ssh-key (use sweep to find leftovers)")
	}
	key := env.Getenv("VULTR_API_KEY")
	if key == "" {
		return usageErrorf("VULTR_API_KEY is not set")
	}
	return cleanupResources(ctx, env, cleanupOptions{apiKey: key, apiURL: env.Getenv("VULTR_API_URL"), instances: instances, sshKeys: keys})
}

// cleanupResources deletes instances, then keys. A resource that is already
// gone counts as deleted, so running it twice is harmless. It never touches
// snapshots.
func cleanupResources(ctx context.Context, env Env, o cleanupOptions) error {
	red := redact.New(o.apiKey)
	cl, err := vultr.New(vultr.Config{APIKey: o.apiKey, BaseURL: o.apiURL, UserAgent: "vultr-image-action/" + Version})
	if err != nil {
		return fmt.Errorf("vultr client: %w", err)
	}
	// The post step must finish well inside the runner's limits.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 50*time.Second)
	defer cancel()
	var errs []error
	if o.runID != "" {
		more, keys, err := findRun(ctx, cl, o.runID)
		if err != nil {
			errs = append(errs, fmt.Errorf("find resources of run %s: %w", o.runID, red.Error(err)))
		}
		o.instances = union(o.instances, more)
		o.sshKeys = union(o.sshKeys, keys)
	}
	if len(o.instances)+len(o.sshKeys) == 0 && len(errs) == 0 {
		fmt.Fprintln(env.Stdout, "Nothing to clean up: the build deleted everything it created.")
		return nil
	}
	for _, id := range o.instances {
		if err := cl.DeleteInstance(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("delete instance %s: %w", id, red.Error(err)))
			continue
		}
		fmt.Fprintf(env.Stdout, "Deleted instance %s\n", id)
	}
	for _, id := range o.sshKeys {
		if err := cl.DeleteSSHKey(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("delete ssh key %s: %w", id, red.Error(err)))
			continue
		}
		fmt.Fprintf(env.Stdout, "Deleted SSH key %s\n", id)
	}
	err = errors.Join(errs...)
	if err != nil && o.action != nil {
		_ = o.action.Annotate(ghaction.LevelError, red.String(err.Error()), ghaction.Location{Title: "Cleanup failed: resources may still be billed"})
		return &reportedError{err: err}
	}
	return err
}

// findRun lists the instances and keys a run created: instances carry
// its run tag, keys its name prefix.
func findRun(ctx context.Context, cl *vultr.Client, runID string) (instances, keys []string, err error) {
	list, err := cl.ListInstances(ctx, vultr.ListFilter{Tag: build.ToolTag})
	if err != nil {
		return nil, nil, err
	}
	for _, in := range list {
		for _, tag := range in.Tags {
			if strings.HasPrefix(tag, build.RunTagPrefix+runID+":") {
				instances = append(instances, in.ID)
				break
			}
		}
	}
	ks, err := cl.ListSSHKeys(ctx)
	if err != nil {
		return instances, nil, err
	}
	for _, k := range ks {
		if strings.HasPrefix(k.Name, build.KeyPrefix+runID+"-") {
			keys = append(keys, k.ID)
		}
	}
	return instances, keys, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
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

// runSweep finds instances tagged by this tool and temporary keys named by
// it, older than the threshold, and deletes them when confirmed. It covers
// runner crashes, where no post step runs.
func runSweep(ctx context.Context, env Env, o sweepOptions, act *ghaction.Action) error {
	if o.apiKey == "" {
		return usageErrorf("an API key is required (VULTR_API_KEY, or the api-key input)")
	}
	red := redact.New(o.apiKey)
	cl, err := vultr.New(vultr.Config{APIKey: o.apiKey, BaseURL: env.Getenv("VULTR_API_URL"), UserAgent: "vultr-image-action/" + Version})
	if err != nil {
		return fmt.Errorf("vultr client: %w", err)
	}
	cutoff := time.Now().Add(-o.olderThan)
	instances, err := cl.ListInstances(ctx, vultr.ListFilter{Tag: build.ToolTag})
	if err != nil {
		return fmt.Errorf("list instances tagged %s: %w", build.ToolTag, red.Error(err))
	}
	keys, err := cl.ListSSHKeys(ctx)
	if err != nil {
		return fmt.Errorf("list ssh keys: %w", red.Error(err))
	}
	verb := "Would delete"
	if o.yes {
		verb = "Deleting"
	}
	var errs []error
	n := 0
	for _, in := range instances {
		if !in.DateCreated.Before(cutoff) {
			continue
		}
		n++
		fmt.Fprintf(env.Stdout, "%s instance %s %q created %s (tags %s)\n", verb, in.ID, in.Label, in.DateCreated.Format(time.RFC3339), strings.Join(in.Tags, ","))
		if o.yes {
			if err := cl.DeleteInstance(ctx, in.ID); err != nil {
				errs = append(errs, fmt.Errorf("delete instance %s: %w", in.ID, red.Error(err)))
			}
		}
	}
	for _, k := range keys {
		if !strings.HasPrefix(k.Name, build.KeyPrefix) || !k.DateCreated.Before(cutoff) {
			continue
		}
		n++
		fmt.Fprintf(env.Stdout, "%s SSH key %s %q created %s\n", verb, k.ID, k.Name, k.DateCreated.Format(time.RFC3339))
		if o.yes {
			if err := cl.DeleteSSHKey(ctx, k.ID); err != nil {
				errs = append(errs, fmt.Errorf("delete ssh key %s: %w", k.ID, red.Error(err)))
			}
		}
	}
	switch {
	case n == 0:
		fmt.Fprintf(env.Stdout, "Nothing older than %s to sweep.\n", o.olderThan)
	case !o.yes:
		fmt.Fprintf(env.Stdout, "%d resources would be deleted; run again with -yes (or the action input yes: true) to delete them.\n", n)
	}
	if act != nil {
		_ = act.SetOutput("swept", fmt.Sprint(n))
	}
	return errors.Join(errs...)
}
