package processor

import (
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// rulesReadRaw reports whether an enabled rule of rs names a field that is
// read from the raw record (schemas.PathReadsRaw) anywhere it names fields
// (rules.Rule.Fields): its query, overrides, grouping, suppression, evidence
// fields or the settings of its kind. When it is false, an Engine running rs
// raises the same alerts from events decoded with schemas.Config.DropRaw:
// no rule reads Event.Raw, and the engine keeps no *Event after Process
// returns (state holds snaps, alerts are built from them).
//
// Disabled rules do not count: New does not run them.
func rulesReadRaw(rs []*rules.Rule) bool {
	for _, r := range rs {
		if !r.IsEnabled() {
			continue
		}
		for _, f := range r.Fields() {
			if schemas.PathReadsRaw(f) {
				return true
			}
		}
	}
	return false
}
