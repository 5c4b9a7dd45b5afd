package form

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/wharfhq/wharf/host/jsonlimit"
)

// decodeJSON decodes one JSON value, numbers kept exact, refusing one
// beyond jsonlimit.Body before parsing it.
func decodeJSON(raw []byte) (any, error) {
	return decodeLimited(raw, jsonlimit.Body)
}

// decodeLimited is decodeJSON within lim.
func decodeLimited(raw []byte, lim jsonlimit.Limits) (any, error) {
	if err := lim.Check(raw); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// Decode decodes a spec or config object, keeping numbers exact (as
// json.Number), for Build. Anything that is not a JSON object within
// jsonlimit.Body gives an empty document: the form then starts blank
// instead of failing.
func Decode(raw json.RawMessage) map[string]any {
	v, err := decodeJSON(raw)
	if err != nil {
		return map[string]any{}
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// Encode marshals a document that Parse returned without errors.
func Encode(doc map[string]any) json.RawMessage {
	b, _ := json.Marshal(doc)
	return b
}
