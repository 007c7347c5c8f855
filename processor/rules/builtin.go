package rules

import (
	"embed"
	"fmt"
	"sync"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

var (
	builtinOnce  sync.Once
	builtinRules []*Rule
	builtinErr   error
)

// Builtin returns the built-in rule pack embedded in the binary. The rules
// are shared: callers must not modify them.
func Builtin() ([]*Rule, error) {
	builtinOnce.Do(func() {
		builtinRules, builtinErr = LoadFS(builtinFS, "builtin", "builtin")
		if builtinErr != nil {
			builtinErr = fmt.Errorf("built-in rules: %w", builtinErr)
		}
	})
	return builtinRules, builtinErr
}

// Load returns the built-in pack merged with the rules of dir (which add
// rules or override built-in ones by id); dir "" means the built-in pack
// alone.
func Load(dir string) ([]*Rule, error) {
	base, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return Merge(base, nil), nil
	}
	extra, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	return Merge(base, extra), nil
}
