package hcl2template

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// localsAndData evaluates locals and data sources together, until no more
// can be: either may refer to the other, as in Packer. A data source runs
// once. It sets local and data in ctx.
func (l *loader) localsAndData(ctx *hcl.EvalContext, locals []*hcl.Attribute, datas []*hcl.Block) hcl.Diagnostics {
	localVals := map[string]cty.Value{}
	dataVals := map[string]map[string]cty.Value{}
	publish := func() {
		ctx.Variables["local"] = cty.ObjectVal(localVals)
		byType := map[string]cty.Value{}
		for typ, names := range dataVals {
			byType[typ] = cty.ObjectVal(names)
		}
		ctx.Variables["data"] = cty.ObjectVal(byType)
	}
	pendingLocals, pendingData := locals, datas
	for len(pendingLocals)+len(pendingData) > 0 {
		var nextLocals []*hcl.Attribute
		var nextData []*hcl.Block
		var last hcl.Diagnostics
		for _, a := range pendingLocals {
			publish()
			val, ds := a.Expr.Value(ctx)
			if ds.HasErrors() {
				nextLocals, last = append(nextLocals, a), append(last, ds...)
				continue
			}
			localVals[a.Name] = val
		}
		for _, b := range pendingData {
			publish()
			out, ds, ready := l.dataSource(b, ctx)
			if !ready {
				nextData, last = append(nextData, b), append(last, ds...)
				continue
			}
			if ds.HasErrors() {
				return ds
			}
			if dataVals[b.Labels[0]] == nil {
				dataVals[b.Labels[0]] = map[string]cty.Value{}
			}
			dataVals[b.Labels[0]][b.Labels[1]] = out
		}
		if len(nextLocals)+len(nextData) == len(pendingLocals)+len(pendingData) {
			return last
		}
		pendingLocals, pendingData = nextLocals, nextData
	}
	publish()
	return nil
}

// dataSource evaluates one data block. ready is false while its arguments
// refer to what is not evaluated yet.
func (l *loader) dataSource(b *hcl.Block, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics, bool) {
	attrs, ds := b.Body.JustAttributes()
	if ds.HasErrors() {
		return cty.NilVal, ds, true
	}
	args := map[string]cty.Value{}
	for name, a := range attrs {
		v, ds := a.Expr.Value(ctx)
		if ds.HasErrors() {
			return cty.NilVal, ds, false
		}
		args[name] = v
	}
	r := b.DefRange
	fail := func(format string, a ...any) (cty.Value, hcl.Diagnostics, bool) {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("data %q %q: ", b.Labels[0], b.Labels[1]) + fmt.Sprintf(format, a...), Subject: &r}}, true
	}
	switch b.Labels[0] {
	case "null":
		in, ok := args["input"]
		if !ok {
			return fail("needs an input")
		}
		return cty.ObjectVal(map[string]cty.Value{"input": in, "output": in}), nil, true
	case "http":
		// Asked once per command, however often the template is rendered
		// (the retention probe renders it twice).
		key, _ := ctyjson.Marshal(cty.ObjectVal(args), cty.ObjectVal(args).Type())
		v, err := l.opts.Fetches.Do("data http "+string(key), func() (any, error) {
			out, ds, _ := l.httpData(args, fail)
			if ds.HasErrors() {
				return nil, ds
			}
			return out, nil
		})
		if err != nil {
			var ds hcl.Diagnostics
			if errors.As(err, &ds) {
				return cty.NilVal, ds, true
			}
			return fail("%v", err)
		}
		return v.(cty.Value), nil, true
	default:
		return fail("data source type %q is not supported (supported: null, http)", b.Labels[0])
	}
}

// httpData is Packer's http data source: a request whose answer's body
// and headers the template can use; a status other than 2xx fails.
func (l *loader) httpData(args map[string]cty.Value, fail func(string, ...any) (cty.Value, hcl.Diagnostics, bool)) (cty.Value, hcl.Diagnostics, bool) {
	str := func(k, def string) string {
		if v, ok := args[k]; ok && v.Type() == cty.String && !v.IsNull() {
			return v.AsString()
		}
		return def
	}
	url := str("url", "")
	if url == "" {
		return fail("needs a url")
	}
	var body io.Reader
	if rb := str("request_body", ""); rb != "" {
		body = strings.NewReader(rb)
	}
	req, err := http.NewRequest(strings.ToUpper(str("method", "GET")), url, body)
	if err != nil {
		return fail("%v", err)
	}
	if h, ok := args["request_headers"]; ok && !h.IsNull() && (h.Type().IsMapType() || h.Type().IsObjectType()) {
		for k, v := range h.AsValueMap() {
			if v.Type() == cty.String {
				req.Header.Set(k, v.AsString())
			}
		}
	}
	shown := req.URL.Scheme + "://" + req.URL.Host + req.URL.Path // a query may hold a token
	resp, err := serviceClient.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return fail("request to %s failed: %v", shown, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(resp.Body, 16<<20)); err != nil {
		return fail("read the answer: %v", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("%s answered %s", shown, resp.Status)
	}
	headers := map[string]cty.Value{}
	for k := range resp.Header {
		headers[k] = cty.StringVal(resp.Header.Get(k))
	}
	hv := cty.MapValEmpty(cty.String)
	if len(headers) > 0 {
		hv = cty.MapVal(headers)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"url": cty.StringVal(url), "body": cty.StringVal(b.String()),
		"status_code": cty.NumberIntVal(int64(resp.StatusCode)), "response_headers": hv,
	}), nil, true
}
