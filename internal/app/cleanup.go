package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
)

// deleteBudget bounds each delete of cleanup, sweep and the post step;
// deletes run concurrently. It outlasts Vultr's install lock (about 90 s,
// during which an instance cannot be deleted), so a run cancelled seconds
// after its create leaves nothing.
const deleteBudget = 150 * time.Second

// CleanupRequest names what a killed build left: resources by ID (each
// checked to be this tool's before it is deleted) and whole runs.
type CleanupRequest struct {
	APIKey, APIURL string
	Resources      []leftovers.Resource
	Runs           []string
	// Keep are IDs a run's cleanup never deletes (kept on purpose).
	Keep []string
}

// CleanupReport is what cleanup found and did.
type CleanupReport struct {
	Gone    []leftovers.Resource // named, and already deleted
	Kept    []leftovers.Resource // of a run, and in Keep
	Deleted []leftovers.Resource
}

// Cleanup deletes what r names. Its error says what is left and the
// command that deletes it.
func Cleanup(ctx context.Context, w World, r CleanupRequest) (CleanupReport, error) {
	var rep CleanupReport
	if r.APIKey == "" {
		return rep, &UsageError{Err: errors.New("VULTR_API_KEY is not set")}
	}
	sess := NewSession(w, nil, r.APIURL, r.APIKey)
	cl, err := sess.Cloud(r.APIKey)
	if err != nil {
		return rep, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*deleteBudget)
	defer cancel()
	targets, gone, err := leftovers.Verify(ctx, cl, r.Resources)
	rep.Gone = gone
	var errs []error
	if err != nil {
		errs = append(errs, sess.Red.Error(err))
	}
	for _, run := range r.Runs {
		found, err := leftovers.FindRun(ctx, cl, run)
		if err != nil {
			errs = append(errs, fmt.Errorf("find resources of run %s: %w", run, sess.Red.Error(err)))
		}
		for _, res := range found {
			if slices.Contains(r.Keep, res.ID) {
				rep.Kept = append(rep.Kept, res)
				continue
			}
			targets = append(targets, res)
		}
	}
	deleted, err := deleteAll(ctx, sess.Red, cl, leftovers.Dedupe(targets))
	rep.Deleted = deleted
	return rep, errors.Join(append(errs, err)...)
}

// deleteAll deletes resources concurrently; its error names what is left
// and how to delete it, except kept.
func deleteAll(ctx context.Context, red *redact.Redactor, cl leftovers.Cloud, rs []leftovers.Resource, kept ...leftovers.Resource) ([]leftovers.Resource, error) {
	outcomes := leftovers.Delete(ctx, cl, rs, deleteBudget)
	var deleted []leftovers.Resource
	for _, o := range outcomes {
		if o.Err == nil {
			deleted = append(deleted, o.Resource)
		}
	}
	if left := leftovers.Failed(outcomes); len(left) > 0 {
		return deleted, fmt.Errorf("%w; try again later with: %s", red.Error(leftovers.Errors(outcomes)), leftovers.CleanupCommand(left, kept...))
	}
	return deleted, nil
}

// SweepRequest finds this tool's resources older than OlderThan, and
// deletes them when Yes.
type SweepRequest struct {
	APIKey    string
	OlderThan time.Duration
	Yes       bool
	Action    *ghaction.Action
}

// SweepReport is what sweep found and deleted. When the look-up fails it
// is empty: a partial listing is never reported.
type SweepReport struct {
	Found   []leftovers.Resource
	Deleted []leftovers.Resource
}

// Sweep finds this tool's instances and temporary keys older than the
// threshold (by their tags and names, read here) and deletes them when
// asked. It covers runner crashes, where no post step runs.
func Sweep(ctx context.Context, w World, r SweepRequest) (SweepReport, error) {
	var rep SweepReport
	if r.APIKey == "" {
		return rep, &UsageError{Err: errors.New("an API key is required (VULTR_API_KEY, or the api-key input)")}
	}
	sess := NewSession(w, r.Action, w.Getenv("VULTR_API_URL"), r.APIKey)
	cl, err := sess.Cloud(r.APIKey)
	if err != nil {
		return rep, err
	}
	found, err := leftovers.FindOld(ctx, cl, time.Now().Add(-r.OlderThan))
	if err != nil {
		// A partial listing is no report: nothing is said found.
		return rep, sess.Red.Error(err)
	}
	rep.Found = found
	if !r.Yes || len(found) == 0 {
		return rep, nil
	}
	rep.Deleted, err = deleteAll(ctx, sess.Red, cl, rep.Found)
	return rep, err
}
