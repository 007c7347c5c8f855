package processor

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ModelPrice is the on-demand price of a family of models: USD per 1,000
// input (prompt) and output (completion) tokens. Prefix is matched against
// the base model id (anthropic.claude-3-5-sonnet…); the longest matching
// prefix wins, so a family default ("anthropic.") sits next to precise
// entries.
type ModelPrice struct {
	Prefix      string  `yaml:"prefix"`
	InputPer1K  float64 `yaml:"input_per_1k"`
	OutputPer1K float64 `yaml:"output_per_1k"`
}

// DefaultPrices returns approximate us-east-1 on-demand list prices of the
// Anthropic, Amazon, Meta, Mistral and Cohere families on Bedrock. They are
// estimates for ranking alerts by money at stake, not a bill: set
// Config.Prices to your negotiated prices.
func DefaultPrices() []ModelPrice {
	return []ModelPrice{
		// Anthropic.
		{"anthropic.", 0.003, 0.015},
		{"anthropic.claude-opus-4", 0.015, 0.075},
		{"anthropic.claude-3-opus", 0.015, 0.075},
		{"anthropic.claude-sonnet-4", 0.003, 0.015},
		{"anthropic.claude-3-7-sonnet", 0.003, 0.015},
		{"anthropic.claude-3-5-sonnet", 0.003, 0.015},
		{"anthropic.claude-3-sonnet", 0.003, 0.015},
		{"anthropic.claude-haiku-4", 0.001, 0.005},
		{"anthropic.claude-3-5-haiku", 0.0008, 0.004},
		{"anthropic.claude-3-haiku", 0.00025, 0.00125},
		{"anthropic.claude-v2", 0.008, 0.024},
		{"anthropic.claude-instant", 0.0008, 0.0024},
		// Amazon.
		{"amazon.", 0.0008, 0.0032},
		{"amazon.nova-premier", 0.0025, 0.0125},
		{"amazon.nova-pro", 0.0008, 0.0032},
		{"amazon.nova-lite", 0.00006, 0.00024},
		{"amazon.nova-micro", 0.000035, 0.00014},
		{"amazon.titan-text-premier", 0.0005, 0.0015},
		{"amazon.titan-text-express", 0.0002, 0.0006},
		{"amazon.titan-text-lite", 0.00015, 0.0002},
		{"amazon.titan-embed", 0.0001, 0},
		// Meta.
		{"meta.", 0.00072, 0.00072},
		{"meta.llama4-maverick", 0.00024, 0.00097},
		{"meta.llama4-scout", 0.00017, 0.00066},
		{"meta.llama3-3-70b", 0.00072, 0.00072},
		{"meta.llama3-2-90b", 0.00072, 0.00072},
		{"meta.llama3-2-11b", 0.00016, 0.00016},
		{"meta.llama3-2-3b", 0.00015, 0.00015},
		{"meta.llama3-2-1b", 0.0001, 0.0001},
		{"meta.llama3-1-405b", 0.0024, 0.0024},
		{"meta.llama3-1-70b", 0.00072, 0.00072},
		{"meta.llama3-1-8b", 0.00022, 0.00022},
		{"meta.llama3-70b", 0.00265, 0.0035},
		{"meta.llama3-8b", 0.0003, 0.0006},
		// Mistral.
		{"mistral.", 0.002, 0.006},
		{"mistral.mistral-large-2402", 0.004, 0.012},
		{"mistral.mistral-large", 0.002, 0.006},
		{"mistral.mistral-small", 0.001, 0.003},
		{"mistral.mixtral-8x7b", 0.00045, 0.0007},
		{"mistral.mistral-7b", 0.00015, 0.0002},
		// Cohere.
		{"cohere.", 0.003, 0.015},
		{"cohere.command-r-plus", 0.003, 0.015},
		{"cohere.command-r", 0.0005, 0.0015},
		{"cohere.command-light", 0.0003, 0.0006},
		{"cohere.command-text", 0.0015, 0.002},
		{"cohere.embed", 0.0001, 0},
	}
}

func validatePrices(ps []ModelPrice) error {
	var errs []error
	for i, p := range ps {
		if p.Prefix == "" {
			errs = append(errs, fmt.Errorf("prices[%d]: prefix is required", i))
		}
		if p.InputPer1K < 0 || p.OutputPer1K < 0 || math.IsNaN(p.InputPer1K) || math.IsNaN(p.OutputPer1K) {
			errs = append(errs, fmt.Errorf("prices[%d] %q: prices must not be negative", i, p.Prefix))
		}
	}
	return errors.Join(errs...)
}

// crossRegionPrefixes are the geography segments of system-defined
// cross-region inference profile ids (us.anthropic.claude-…).
var crossRegionPrefixes = []string{"us-gov.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "global."}

// baseModelID reduces what a request names as its model to a base model id,
// or "" when the model cannot be known from the id alone: foundation-model
// ARNs give their model id, system-defined inference profiles (ids or ARNs,
// us.anthropic.… or global.anthropic.…) the model behind them; application
// inference profiles, provisioned throughput and custom or imported model
// ARNs hide it.
func baseModelID(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if strings.HasPrefix(m, "arn:") {
		_, res, ok := strings.Cut(m, ":foundation-model/")
		if !ok {
			_, res, ok = strings.Cut(m, ":inference-profile/")
		}
		if !ok {
			return ""
		}
		m = res
	}
	for _, p := range crossRegionPrefixes {
		if rest, ok := strings.CutPrefix(m, p); ok && strings.Contains(rest, ".") {
			m = rest
			break
		}
	}
	if !strings.Contains(m, ".") || strings.Contains(m, "/") {
		return ""
	}
	return m
}

// priceOf returns the price of model by the longest matching prefix.
func priceOf(ps []ModelPrice, model string) (ModelPrice, bool) {
	id := baseModelID(model)
	if id == "" {
		return ModelPrice{}, false
	}
	best := -1
	for i := range ps {
		if strings.HasPrefix(id, strings.ToLower(ps[i].Prefix)) && (best < 0 || len(ps[i].Prefix) > len(ps[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return ModelPrice{}, false
	}
	return ps[best], true
}

// costOf is the estimated USD cost of one call; ok is false when the model
// has no price.
func (en *Engine) costOf(model string, in, out int64) (usd float64, ok bool) {
	p, ok := en.prices.of(en.cfg.Prices, model)
	if !ok {
		return 0, false
	}
	return float64(in)/1000*p.InputPer1K + float64(out)/1000*p.OutputPer1K, true
}

// priceCache remembers priceOf by model id as the request names it: a
// stream names few models, and priceOf compares each with every price.
// Its zero value is ready.
type priceCache struct {
	m map[string]cachedPrice
	// last and lastPrice: the model asked for last (calls come in runs).
	last      string
	lastPrice cachedPrice
}

type cachedPrice struct {
	p  ModelPrice
	ok bool
}

// maxCachedPrices bounds priceCache; past it the cache starts again.
const maxCachedPrices = 256

func (c *priceCache) of(ps []ModelPrice, model string) (ModelPrice, bool) {
	if model == c.last && c.m != nil {
		return c.lastPrice.p, c.lastPrice.ok
	}
	e, hit := c.m[model]
	if !hit {
		p, ok := priceOf(ps, model)
		if c.m == nil || len(c.m) >= maxCachedPrices {
			c.m = make(map[string]cachedPrice, 16)
		}
		e = cachedPrice{p, ok}
		c.m[model] = e
	}
	c.last, c.lastPrice = model, e
	return e.p, e.ok
}

// maxUnknownModels caps metrics.cost_unknown_models.
const maxUnknownModels = 8

// costTally adds up the estimated cost of calls and names the models with no
// price. Its zero value is ready; it is kept in window state, so it encodes
// small.
type costTally struct {
	USD     float64  `json:"usd,omitempty"`
	Priced  bool     `json:"p,omitempty"` // at least one call had a price
	Unknown []string `json:"unk,omitempty"`
}

// unknownModelName names a call with token counts but no model id.
const unknownModelName = "(no model id)"

func (c *costTally) add(en *Engine, model string, in, out int64) {
	if usd, ok := en.costOf(model, in, out); ok {
		c.USD += usd
		c.Priced = true
		return
	}
	name := model
	if name == "" {
		name = unknownModelName
	}
	if !contains(c.Unknown, name) && len(c.Unknown) < maxUnknownModels {
		c.Unknown = append(c.Unknown, name)
	}
}

// put writes the tally into alert metrics: estimated_cost_usd when any call
// had a price, cost_unknown_models when some did not.
func (c *costTally) put(m map[string]any) {
	if c.Priced {
		m["estimated_cost_usd"] = roundCost(c.USD)
	}
	if len(c.Unknown) > 0 {
		m["cost_unknown_models"] = append([]string(nil), c.Unknown...)
	}
}

// roundCost keeps six decimals (a millionth of a dollar).
func roundCost(usd float64) float64 { return math.Round(usd*1e6) / 1e6 }
