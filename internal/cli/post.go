package cli

import (
	"context"
	"encoding/json"

	"github.com/vultr-image-action/vultr-image-action/internal/app"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/leftovers"
)

// runActionPost is the post-entrypoint: it reads what the main step saved
// (the resources it recorded, those it kept, its run ID and API URL) and
// its inputs, and hands them to app.Post, which deletes what is left.
func runActionPost(ctx context.Context, env Env) error {
	act := ghaction.New(env.Stdout, env.Getenv)
	apiURL := act.State(stateAPIURL)
	if apiURL == "" {
		apiURL = env.Getenv("VULTR_API_URL")
	}
	in, _ := readInputs(act, env)
	return app.Post(ctx, env, app.PostRequest{
		Tracked: stateResources(act, stateInstances, stateSSHKeys),
		Kept:    keptResources(act),
		RunID:   act.State(stateRunID),
		APIURL:  apiURL,
		Build:   in.job,
		Action:  act,
	})
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
