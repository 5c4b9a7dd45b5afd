package form

import (
	"encoding/json"
	"sync"

	"github.com/wharfhq/wharf/host/schema"
)

// schemaCache compiles each schema once.
var schemaCache sync.Map // string(raw) → *schema.Schema

// Compile compiles a JSON Schema, once: the portal draws the same plugin
// schemas (and the engine their object sub-schemas) on every page. The
// cache holds what plugins declare, so it grows only with the plugins
// loaded.
func Compile(raw json.RawMessage) (*schema.Schema, error) {
	if s, ok := schemaCache.Load(string(raw)); ok {
		return s.(*schema.Schema), nil
	}
	s, err := schema.Compile(raw)
	if err != nil {
		return nil, err
	}
	schemaCache.Store(string(raw), s)
	return s, nil
}
