package cli

import (
	"context"
	"encoding/json"
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

// runActionPost is the post-entrypoint: it deletes any instance or key the
// main step recorded or tagged and did not delete (it was killed, timed
// out, or ran out of its cancel budget), with the credentials the main
// step used, derived the same way: from the template and the inputs. It
// leaves alone what on-error=abort kept, and says how to delete that.
func runActionPost(ctx context.Context, env Env) error {
	act := ghaction.New(env.Stdout, env.Getenv)
	tracked := postTargets(act)
	kept := keptResources(act)
	if len(tracked) == 0 && act.State(stateRunID) == "" && len(kept) == 0 {
		fmt.Fprintln(env.Stdout, "Nothing to clean up: the build deleted everything it created.")
		return nil
	}
	apiURL := act.State(stateAPIURL)
	if apiURL == "" {
		apiURL = env.Getenv("VULTR_API_URL")
	}
	in, _ := readInputs(act, env)
	sess := newSession(env, act, apiURL, in.apiKey)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postBudget)
	defer cancel()

	keys, kerr := postAPIKeys(env, in, sess)
	if kerr != nil {
		_ = act.Annotate(ghaction.LevelWarning, sess.red.String(kerr.Error()), ghaction.Location{Title: "Post step: template not loaded"})
	}
	var errs []error
	found := 0
	for _, key := range keys {
		cl, err := sess.cloud(key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets, err := findPostTargets(ctx, cl, act.State(stateRunID), tracked)
		errs = append(errs, err)
		targets = slices.DeleteFunc(targets, func(r leftovers.Resource) bool { return isKept(kept, r) })
		found += len(targets)
		if len(targets) > 0 {
			errs = append(errs, deleteAll(ctx, env.Stdout, sess.red, cl, targets, kept...))
		}
	}
	if found == 0 && len(kept) == 0 {
		fmt.Fprintln(env.Stdout, "Nothing to clean up: the build deleted everything it created.")
	}
	for _, k := range kept {
		msg := fmt.Sprintf("%s was kept: %s. It is billed until deleted; delete it with: %s (VULTR_API_KEY set to the build's key)", k, k.Why, leftovers.CleanupCommand([]leftovers.Resource{k}))
		_ = act.Annotate(ghaction.LevelWarning, msg, ghaction.Location{Title: "Kept on purpose: " + k.String()})
	}
	if err := errors.Join(errs...); err != nil {
		err = sess.red.Error(err)
		_ = act.Annotate(ghaction.LevelError, err.Error(), ghaction.Location{Title: "Cleanup failed: resources may still be billed"})
		return &reportedError{err: err}
	}
	return nil
}

// postTargets are the resources the main step recorded as live.
func postTargets(act *ghaction.Action) []leftovers.Resource {
	return stateResources(act, stateInstances, stateSSHKeys)
}

// keptResources are the resources the build kept on purpose, each with
// why.
func keptResources(act *ghaction.Action) []leftovers.Resource {
	kept := stateResources(act, stateKeptInstances, stateKeptSSHKeys)
	var why map[string]string
	_ = json.Unmarshal([]byte(act.State(stateKeptWhy)), &why)
	for i := range kept {
		kept[i].Why = why[kept[i].ID]
		if kept[i].Why == "" {
			kept[i].Why = "the build kept it"
		}
	}
	return kept
}

// stateResources reads the instance and key IDs saved under two state names.
func stateResources(act *ghaction.Action, instances, keys string) []leftovers.Resource {
	var out []leftovers.Resource
	for _, id := range splitIDs(act.State(instances)) {
		out = append(out, leftovers.Resource{Kind: leftovers.Instance, ID: id})
	}
	for _, id := range splitIDs(act.State(keys)) {
		out = append(out, leftovers.Resource{Kind: leftovers.SSHKey, ID: id})
	}
	return out
}

func isKept(kept []leftovers.Resource, r leftovers.Resource) bool {
	return slices.ContainsFunc(kept, func(k leftovers.Resource) bool { return k.Kind == r.Kind && k.ID == r.ID })
}

// postAPIKeys derives the API keys of the main step's builds: the template
// loaded with the same inputs and environment, each build's api_key (which
// defaults to the api-key input). When the template cannot be loaded, the
// input alone is used, and the error says why.
func postAPIKeys(env Env, in actionInputs, sess *session) ([]string, error) {
	var keys []string
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var err error
	if in.job.template != "" {
		j := in.job
		j.apiKey = in.apiKey
		o := jobTemplateOptions(j, jobGetenv(env, j), newUUID())
		o.secret = sess.red.Add
		s, lerr := loadJobTemplate(j, o, sess.red)
		if lerr != nil {
			err = fmt.Errorf("cannot derive the builds' API keys from %s (%v); cleaning up with the api-key input only", j.template, lerr)
		} else {
			for _, b := range s.Builds {
				add(b.Vultr.APIKey)
			}
		}
	}
	add(in.apiKey)
	if len(keys) == 0 {
		add(env.Getenv("VULTR_API_KEY"))
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
