package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
)

// postBudget bounds the whole post step: the runner gives a post step its
// own time, but a job waits for it. It holds the look-ups and one
// deleteBudget (deletes run concurrently).
const postBudget = deleteBudget + 30*time.Second

// PostRequest is what the action's main step left for its post step: the
// resources it recorded as live, those it kept on purpose (each with
// why), its run ID, and the build request it ran (whose template gives
// the API keys the builds used).
type PostRequest struct {
	Tracked, Kept []leftovers.Resource
	RunID         string
	APIURL        string
	Build         BuildRequest
	Action        *ghaction.Action
}

// Post deletes any instance or key the main step recorded or tagged and
// did not delete (it was killed, timed out, or ran out of its cancel
// budget), with the credentials the main step used, derived the same
// way. It leaves alone what was kept, and says how to delete that.
func Post(ctx context.Context, w World, r PostRequest) error {
	act := r.Action
	if len(r.Tracked) == 0 && r.RunID == "" && len(r.Kept) == 0 {
		fmt.Fprintln(w.Stdout, "Nothing to clean up: the build deleted everything it created.")
		return nil
	}
	sess := NewSession(w, act, r.APIURL, r.Build.APIKey)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postBudget)
	defer cancel()
	keys, kerr := postAPIKeys(w, r.Build, sess)
	if kerr != nil {
		_ = act.Annotate(ghaction.LevelWarning, sess.Red.String(kerr.Error()), ghaction.Location{Title: "Post step: template not loaded"})
	}
	var errs []error
	found := 0
	for _, key := range keys {
		cl, err := sess.Cloud(key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets, err := findPostTargets(ctx, cl, r.RunID, r.Tracked)
		errs = append(errs, err)
		targets = slices.DeleteFunc(targets, func(t leftovers.Resource) bool { return isKept(r.Kept, t) })
		found += len(targets)
		if len(targets) > 0 {
			deleted, err := deleteAll(ctx, sess.Red, cl, targets, r.Kept...)
			for _, d := range deleted {
				fmt.Fprintf(w.Stdout, "Deleted %s\n", d)
			}
			errs = append(errs, err)
		}
	}
	if found == 0 && len(r.Kept) == 0 {
		fmt.Fprintln(w.Stdout, "Nothing to clean up: the build deleted everything it created.")
	}
	for _, k := range r.Kept {
		msg := fmt.Sprintf("%s was kept: %s. It is billed until deleted; delete it with: %s (VULTR_API_KEY set to the build's key)", k, k.Why, leftovers.CleanupCommand([]leftovers.Resource{k}))
		_ = act.Annotate(ghaction.LevelWarning, msg, ghaction.Location{Title: "Kept on purpose: " + k.String()})
	}
	if err := errors.Join(errs...); err != nil {
		err = sess.Red.Error(err)
		_ = act.Annotate(ghaction.LevelError, err.Error(), ghaction.Location{Title: "Cleanup failed: resources may still be billed"})
		return &ShownError{Err: err}
	}
	return nil
}

func isKept(kept []leftovers.Resource, r leftovers.Resource) bool {
	return slices.ContainsFunc(kept, func(k leftovers.Resource) bool { return k.Kind == r.Kind && k.ID == r.ID })
}

// postAPIKeys derives the API keys of the main step's builds: the template
// loaded with the same inputs and environment, each build's api_key (which
// defaults to the api-key input). When the template cannot be loaded, the
// input alone is used, and the error says why.
func postAPIKeys(w World, j BuildRequest, sess *Session) ([]string, error) {
	var keys []string
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var err error
	if j.Template != "" {
		o := jobTemplateOptions(j, jobGetenv(w, j), newUUID())
		o.secret = sess.Red.Add
		s, lerr := loadJobTemplate(j, o, sess.Red)
		if lerr != nil {
			err = fmt.Errorf("cannot derive the builds' API keys from %s (%v); cleaning up with the api-key input only", j.Template, lerr)
		} else {
			for _, b := range s.Builds {
				add(b.Vultr.APIKey)
			}
		}
	}
	add(j.APIKey)
	if len(keys) == 0 {
		add(w.Getenv("VULTR_API_KEY"))
	}
	return keys, err
}

// findPostTargets finds, in one account, the tracked resources (checked to
// be this tool's) and every resource tagged or named for the run.
func findPostTargets(ctx context.Context, cl leftovers.Cloud, runID string, tracked []leftovers.Resource) ([]leftovers.Resource, error) {
	out, _, err := leftovers.Verify(ctx, cl, tracked)
	errs := []error{err}
	if runID != "" {
		found, err := leftovers.FindRun(ctx, cl, runID)
		if err != nil {
			errs = append(errs, fmt.Errorf("find resources of run %s: %w", runID, err))
		}
		out = append(out, found...)
	}
	return leftovers.Dedupe(out), errors.Join(errs...)
}
