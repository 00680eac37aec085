package hcl2template

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
)

// The functions that read a service: vault() and consul_key() work when
// their environment is configured (VAULT_ADDR and VAULT_TOKEN;
// CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN), through the proxy-aware default
// transport, and fail with an error that names what is missing otherwise.
// What they read is registered as a secret.

// serviceClient reads services; its transport honours HTTPS_PROXY.
var serviceClient = &http.Client{Timeout: 30 * time.Second}

// secretSink collects values that must be masked, and passes each on to
// notify (decode.Options.Secret) the moment it is known.
type secretSink struct {
	mu     sync.Mutex
	vals   []string
	notify func(string)
}

func (s *secretSink) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	s.vals = append(s.vals, v)
	s.mu.Unlock()
	if s.notify != nil {
		s.notify(v)
	}
}

// addValue adds every string that v holds: a sensitive variable may be a
// list, a map or an object.
func (s *secretSink) addValue(v cty.Value) {
	_ = cty.Walk(v, func(_ cty.Path, leaf cty.Value) (bool, error) {
		// Strings only, as Packer masks: a sensitive object's true or
		// 5432 would otherwise be masked in every later line of the job.
		if leaf.IsKnown() && !leaf.IsNull() && leaf.Type() == cty.String {
			s.add(leaf.AsString())
		}
		return true, nil
	})
}

func (s *secretSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.vals...)
}

func getJSON(u, header, token string, out any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set(header, token)
	}
	resp, err := serviceClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", strings.SplitN(u, "?", 2)[0], resp.Status)
	}
	if s, ok := out.(*string); ok {
		*s = string(body)
		return nil
	}
	return json.Unmarshal(body, out)
}

// vaultAnswer is Vault's answer to a read.
type vaultAnswer struct {
	Data map[string]any `json:"data"`
}

// vaultFunc reads a key of a Vault secret: KV version 2 (data.data) or 1
// (data).
func vaultFunc(getenv func(string) string, sink *secretSink, fetches *decode.Fetches) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "key", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			addr, token := getenv("VAULT_ADDR"), getenv("VAULT_TOKEN")
			if addr == "" || token == "" {
				return cty.NilVal, fmt.Errorf("vault() needs VAULT_ADDR and VAULT_TOKEN in the environment")
			}
			path, key := strings.Trim(args[0].AsString(), "/"), args[1].AsString()
			got, err := fetches.Do("vault "+path, func() (any, error) {
				var a vaultAnswer
				err := getJSON(strings.TrimRight(addr, "/")+"/v1/"+path, "X-Vault-Token", token, &a)
				return a, err
			})
			if err != nil {
				return cty.NilVal, fmt.Errorf("vault(%q): %w", path, err)
			}
			data := got.(vaultAnswer).Data
			if inner, ok := data["data"].(map[string]any); ok {
				data = inner
			}
			v, ok := data[key]
			if !ok {
				return cty.NilVal, fmt.Errorf("vault(%q): the secret has no key %q", path, key)
			}
			s := fmt.Sprint(v)
			sink.add(s)
			return cty.StringVal(s), nil
		},
	})
}

// consulKeyFunc reads a Consul KV key's raw value.
func consulKeyFunc(getenv func(string) string, sink *secretSink, fetches *decode.Fetches) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "key", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			addr := getenv("CONSUL_HTTP_ADDR")
			if addr == "" {
				return cty.NilVal, fmt.Errorf("consul_key() needs CONSUL_HTTP_ADDR in the environment")
			}
			if !strings.Contains(addr, "://") {
				addr = "http://" + addr
			}
			key := strings.Trim(args[0].AsString(), "/")
			u := strings.TrimRight(addr, "/") + "/v1/kv/" + (&url.URL{Path: key}).EscapedPath() + "?raw"
			got, err := fetches.Do("consul "+key, func() (any, error) {
				var raw string
				err := getJSON(u, "X-Consul-Token", getenv("CONSUL_HTTP_TOKEN"), &raw)
				return raw, err
			})
			if err != nil {
				return cty.NilVal, fmt.Errorf("consul_key(%q): %w", key, err)
			}
			raw := got.(string)
			sink.add(raw)
			return cty.StringVal(raw), nil
		},
	})
}
